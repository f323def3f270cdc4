"""The zone aggregator: density maps and camera statuses in, readings, zone states and alerts out.

Its clock is the frames' capture time (``DensityResult.frame.captured_at``), so a replay gives the
same alerts at the same times on any machine; ``tick(now)`` only lets time pass without frames
(staleness, and transitions on the last value still valid).
"""

from __future__ import annotations

from ..config import CameraConfig, MonitorConfig, SmoothingConfig
from ..types import AggregateUpdate, AlertEvent, CameraState, CameraStatus, DensityResult, ZoneState
from .alarm import AlertMachine
from .masks import MaskCache, nominal_area
from .remote import RemoteZones, remote_refs
from .rules import resolve_rule
from .sites import Member, site_state, site_value
from .smoothing import WindowSmoother
from .tracks import CameraTrack, ZoneTrack, stale_after_s

ZoneKey = tuple[str, str]  # (camera, zone)


class Aggregator:
    """Per-zone counts, densities and alert state machines for every camera and site zone.

    Not thread-safe: the daemon calls it from one thread (the one that receives results).  Other
    daemons' zones (site zones' ``remote`` members) are read from ``remote``, a thread-safe store.
    """

    def __init__(self, config: MonitorConfig, remote: RemoteZones | None = None) -> None:
        self._config = config
        self._remote = remote
        self._site_inputs: dict[str, tuple] = {}  # per site zone: the remote values its machine last got
        self._site_shown: dict[str, tuple] = {}  # per site zone: (level, stale) last handed out
        self._masks = MaskCache()
        self._cameras: dict[str, CameraTrack] = {}
        self._zones: dict[ZoneKey, ZoneTrack] = {}
        self._sites: dict[str, AlertMachine] = {}
        self._clock = float("-inf")
        self._install(config)

    # -- inputs --------------------------------------------------------------------------------

    def on_result(self, result: DensityResult) -> AggregateUpdate:
        """Count the zones of one density map and run their alert machines at its capture time."""
        camera = self._cameras.get(result.camera)
        ts = float(result.frame.captured_at)
        if camera is None or ts < camera.offline_since:
            return AggregateUpdate()  # unknown camera, or a frame from before the outage was reported
        self._clock = max(self._clock, ts)
        masks = self._masks.get(camera.name, camera.config, result.density.shape, result.extent)
        reading = camera.accept(result, masks.frame_count(result.density))
        events: list[AlertEvent] = []
        states: list[ZoneState] = []
        for name, count in masks.zone_counts(result.density).items():
            zone = self._zones[(camera.name, name)]
            events += zone.machine.update(ts, zone.add(ts, count, masks.zones[name].area_m2))
            states.append(zone.state(False, ts))
        site_events, site_states = self._update_sites({camera.name}, ts)
        return AggregateUpdate((reading,), (*states, *site_states), (*events, *site_events))

    def on_status(self, status: CameraStatus) -> AggregateUpdate:
        """A camera reconnecting, offline or blind makes its zones unknown, without ending their alerts."""
        camera = self._cameras.get(status.camera)
        if camera is None:
            return AggregateUpdate()
        camera.status = status.state
        if status.state == CameraState.ONLINE:
            return AggregateUpdate()  # fresh again with its next result, not before
        self._clock = max(self._clock, float(status.since))
        camera.offline_since = max(camera.offline_since, float(status.since))
        return self._mark_stale({camera.name}, self._clock)

    def tick(self, now: float) -> AggregateUpdate:
        """Let time pass: cameras without results go stale, held levels complete their timers."""
        now = float(now)
        self._clock = max(self._clock, now)
        silent = {name for name, cam in self._cameras.items()
                  if not cam.stale and cam.last_ts is not None and now - cam.last_ts > stale_after_s(cam.config)}
        update = self._mark_stale(silent, now) if silent else AggregateUpdate()
        events = list(update.events)
        changed: dict[ZoneKey, ZoneState] = {(s.camera, s.zone): s for s in update.zones}
        for key, zone in self._zones.items():
            if not self._cameras[key[0]].stale:
                new = zone.machine.hold(now)
                if new:
                    events += new
                    changed[key] = zone.state(False, now)
        for name, machine in self._sites.items():
            new = machine.hold(now)
            if new:
                events += new
                changed[("site", name)] = self._site_state(name, now)
        for name in self._sites:
            new_events, state = self._follow_site(name, now)
            events += new_events
            if state is not None:
                changed[("site", name)] = state
        return AggregateUpdate((), tuple(changed.values()), tuple(events))

    def snapshot(self) -> AggregateUpdate:
        """Every camera's latest reading and every zone's state (to republish after a reconnect)."""
        readings = tuple(cam.reading for cam in self._cameras.values() if cam.reading is not None)
        return AggregateUpdate(readings, self._all_states(), ())

    def reload(self, config: MonitorConfig) -> AggregateUpdate:
        """Apply new zones and thresholds; alerts of zones that still exist keep their id and start."""
        events = self._install(config)
        return AggregateUpdate((), self._all_states(), tuple(events))

    # -- internals ------------------------------------------------------------------------------

    def _install(self, config: MonitorConfig) -> list[AlertEvent]:
        """(Re)build tracks from a config, keeping the state of what still exists."""
        old_config, self._config = self._config, config
        now = self._clock if self._clock > float("-inf") else 0.0
        events: list[AlertEvent] = []
        cameras: dict[str, CameraTrack] = {}
        zones: dict[ZoneKey, ZoneTrack] = {}
        for name, cam_cfg in config.cameras.items():
            smoothing = cam_cfg.smoothing or config.alerts.smoothing
            cameras[name] = self._camera_track(name, cam_cfg, smoothing, old_config)
            for zone_name in cam_cfg.zones:
                zone, new_events = self._zone_track(name, zone_name, smoothing, old_config, now)
                zones[(name, zone_name)] = zone
                events += new_events
        for key, zone in self._zones.items():
            if key not in zones:
                events += zone.machine.close(now)
        sites: dict[str, AlertMachine] = {}
        for site, spec in config.site_zones.items():
            rule = resolve_rule(spec, config.alerts)
            machine = self._sites.get(site)
            if machine is None:
                machine = AlertMachine("site", site, rule)
            else:
                events += machine.set_rule(rule, now)
            sites[site] = machine
        for site, machine in self._sites.items():
            if site not in sites:
                events += machine.close(now)
        self._cameras, self._zones, self._sites = cameras, zones, sites
        self._site_inputs = {}  # members may have changed: every site zone is judged again at the next tick
        self._masks.forget_except(set(cameras))
        return events

    def _zone_track(self, camera: str, zone_name: str, smoothing: SmoothingConfig, old_config: MonitorConfig,
                    now: float) -> tuple[ZoneTrack, list[AlertEvent]]:
        """The zone's track, kept across a reload (new rule; values reset if its geometry changed)."""
        cam_cfg = self._config.cameras[camera]
        rule = resolve_rule(cam_cfg.zones[zone_name], self._config.alerts)
        zone = self._zones.get((camera, zone_name))
        events: list[AlertEvent] = []
        if zone is None:
            zone = ZoneTrack(camera, zone_name, AlertMachine(camera, zone_name, rule), smoothing)
        else:
            events = zone.machine.set_rule(rule, now)
            if _geometry_changed(old_config, cam_cfg, camera, zone_name) or zone.smoother.config != smoothing:
                zone.smoother = WindowSmoother(smoothing)
                zone.reset()
        if zone.count is None:
            zone.area = nominal_area(cam_cfg, zone_name)
        return zone, events

    def _camera_track(self, name: str, cam_cfg: CameraConfig, smoothing: SmoothingConfig,
                      old_config: MonitorConfig) -> CameraTrack:
        """The camera's track, kept across a reload (its whole-frame smoothing restarts if it changed)."""
        track = self._cameras.get(name)
        if track is None:
            return CameraTrack(name, cam_cfg, smoothing)
        old_cam = old_config.cameras.get(name)
        if old_cam is not None and (old_cam.roi != cam_cfg.roi or old_cam.ignore != cam_cfg.ignore
                                    or (old_cam.smoothing or old_config.alerts.smoothing) != smoothing):
            track.smoother = WindowSmoother(smoothing)
        track.config = cam_cfg
        return track

    def _mark_stale(self, names: set[str], now: float) -> AggregateUpdate:
        """Freeze the alert machines of cameras that stopped giving data."""
        states: list[ZoneState] = []
        for name in names:
            self._cameras[name].go_stale()
            for (cam, _), zone in self._zones.items():
                if cam == name:
                    zone.machine.update(now, None)
                    states.append(zone.state(True, now))
        site_events, site_states = self._update_sites(names, now)
        return AggregateUpdate((), (*states, *site_states), tuple(site_events))

    def _local_members(self, site: str) -> list[Member]:
        members = []
        for ref in self._config.site_zones[site].zones:
            cam, _, zone = ref.partition(".")
            members.append(self._zones[(cam, zone)].member(self._cameras[cam].stale))
        return members

    def _remote_members(self, site: str, now: float) -> list[Member]:
        if self._remote is None:
            return []
        return [self._remote.member(ref, now) for ref in remote_refs(self._config.site_zones[site])]

    def _site_state(self, site: str, ts: float, remote: list[Member] | None = None) -> ZoneState:
        remote = self._remote_members(site, ts) if remote is None else remote
        value = site_value(self._local_members(site) + remote, self._config.site_zones[site], ts)
        state = site_state(site, self._sites[site], value, ts)
        self._site_shown[site] = (state.level, state.stale)
        return state

    def _judge_site(self, site: str, ts: float, remote: list[Member]) -> tuple[list[AlertEvent], ZoneState]:
        """Feed a site zone's sum to its alert machine and return its events and state."""
        value = site_value(self._local_members(site) + remote, self._config.site_zones[site], ts)
        self._site_inputs[site] = tuple((m.source, m.count, m.ts) for m in remote)
        events = self._sites[site].update(ts, value.measurement())
        return events, self._site_state(site, ts, remote)

    def _update_sites(self, cameras: set[str], ts: float) -> tuple[list[AlertEvent], list[ZoneState]]:
        """Re-sum and judge the site zones that include any of ``cameras``."""
        events: list[AlertEvent] = []
        states: list[ZoneState] = []
        for site, spec in self._config.site_zones.items():
            if any(ref.partition(".")[0] in cameras for ref in spec.zones):
                new, state = self._judge_site(site, ts, self._remote_members(site, ts))
                events += new
                states.append(state)
        return events, states

    def _follow_site(self, site: str, now: float) -> tuple[list[AlertEvent], ZoneState | None]:
        """Judge a site zone again when another daemon's zone changed; restate it when time alone
        changed what it shows (a state expired, a missing member's last count no longer trusted)."""
        remote = self._remote_members(site, now)
        if tuple((m.source, m.count, m.ts) for m in remote) != self._site_inputs.get(site, ()):
            return self._judge_site(site, now, remote)
        shown = self._site_shown.get(site)
        state = self._site_state(site, now, remote)
        return [], (state if (state.level, state.stale) != shown else None)

    def _all_states(self) -> tuple[ZoneState, ...]:
        now = self._clock if self._clock > float("-inf") else 0.0
        zones = [zone.state(self._cameras[cam].stale, now) for (cam, _), zone in self._zones.items()]
        return (*zones, *(self._site_state(site, now) for site in self._sites))


def _geometry_changed(old: MonitorConfig, new_cam: CameraConfig, camera: str, zone: str) -> bool:
    """True when the zone's count would be measured on a different region or area."""
    old_cam = old.cameras.get(camera)
    if old_cam is None or zone not in old_cam.zones:
        return True
    old_zone, new_zone = old_cam.zones[zone], new_cam.zones[zone]
    return (old_zone.polygon != new_zone.polygon or old_zone.area_m2 != new_zone.area_m2
            or old_cam.roi != new_cam.roi or old_cam.ignore != new_cam.ignore
            or old_cam.calibration != new_cam.calibration)
