"""The publisher's network thread: connect with backoff, republish everything, pump, say goodbye.

One thread owns every paho call except the callbacks: it connects (a fresh client per attempt),
then loops publishing what the API threads queued in ``Core``, until the connection is lost, the
config asks for a new connection, or ``stop()``.  paho's own thread only does the socket I/O.
"""

from __future__ import annotations

import logging
import time

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ..backoff import Backoff
from ..config import MqttConfig
from .connection import Callbacks, ConnectFailure, Session, open_session
from .core import Context, Core
from .discovery import status_topic
from .payloads import ONLINE, STOPPED, encode, stats_body
from .subscribe import Follower, Subscription
from .wire import Work, send

log = logging.getLogger("monitor.publish")

FLUSH_AT_STOP_S = 2.0  # a clean stop waits this long for waiting events to reach the broker
GOODBYE_ACK_S = 2.0  # ... and this long for the broker to acknowledge ``stopped``
STABLE_S = 10.0  # a connection lost sooner than this after connecting waits the backoff before retrying


class Link:
    """Runs in its own thread (``run``) for the publisher's whole life."""

    def __init__(self, core: Core, subscription: Subscription | None = None):
        self.core = core
        self.follower = Follower(subscription)  # other daemons' topics, read on this connection
        self.try_v311 = False  # protocol auto: the broker just refused MQTT 5, use 3.1.1 for the next attempt
        self.calls = Callbacks(on_lost=self._on_lost, on_publish=self._on_publish, on_message=self._on_message)
        self.last_logged = ""
        self.early_drops = 0  # connections lost right after connecting, in a row

    # -- paho callbacks (paho's thread) ------------------------------------------------------------
    def _on_lost(self, reason: str) -> None:
        with self.core.cond:
            self.core.cond.notify_all()

    def _on_publish(self, mid: int, refusal: str | None) -> None:
        self.core.acks.put((mid, refusal))
        with self.core.cond:
            self.core.cond.notify_all()

    def _on_message(self, topic: str, payload: bytes) -> None:
        core = self.core
        with core.cond:
            home_assistant = topic == status_topic(core.context.config)
            if home_assistant and payload.strip() == b"online":
                log.info("Home Assistant announced online: resending discovery and state")
                core.send_discovery = True
                core.state.mark_all()
                core.cond.notify_all()
        if not home_assistant:
            self.follower.deliver(topic, payload)

    # -- the thread --------------------------------------------------------------------------------
    def run(self) -> None:
        """Connect, serve, reconnect with backoff, until stop()."""
        core = self.core
        backoff = broker_backoff(core.context.mqtt)
        while True:
            with core.cond:
                if core.stopping:
                    break
                core.restart = False
                ctx = core.context
                protocol = self._protocol(ctx)
                core.counters.connect_attempts += 1
            try:
                session = open_session(ctx.mqtt, ctx.client_id, protocol, ctx.topics.available, self.calls)
            except ConnectFailure as failure:
                self.early_drops = 0
                delay = self._failed(failure, ctx, protocol, backoff)
                if delay:
                    with core.cond:
                        core.cond.wait_for(lambda: core.stopping or core.restart, timeout=delay)
                continue
            connected_at = time.monotonic()
            try:
                self._serve(session, ctx)
            except Exception:  # a bug must not silently end publishing: log it and reconnect
                log.exception("unexpected error in the MQTT publisher; reconnecting")
                session.lost = True
            if not session.lost or time.monotonic() - connected_at >= STABLE_S:
                backoff = broker_backoff(ctx.mqtt)  # a broker restart: reconnect at once
                self.early_drops = 0
                continue
            # Dropped right after connecting (e.g. two daemons with one client id): no ping-pong storm.
            self._dropped_early(session, ctx, time.monotonic() - connected_at)
            with core.cond:
                core.cond.wait_for(lambda: core.stopping or core.restart, timeout=backoff.next_delay())
        self._final()

    def _dropped_early(self, session: Session, ctx: Context, lasted: float) -> None:
        """Report connections the broker drops right after accepting them, from the second in a row."""
        self.early_drops += 1
        if "taken over" in session.lost_reason.lower():
            why = f"another MQTT client connected with our client id '{ctx.client_id}'"
        elif self.early_drops >= 2:
            why = (f"the MQTT broker {ctx.mqtt.host}:{ctx.mqtt.port} keeps dropping the connection right after"
                   f" accepting it ({session.lost_reason}, after {lasted:.1f} s); if another daemon uses client"
                   f" id '{ctx.client_id}'")
        else:
            return  # once may be a broker restart
        message = f"{why}: set mqtt.client_id to a value unique to each daemon"
        log.error("%s", message)
        with self.core.cond:
            self.core.counters.last_error, self.core.counters.last_error_kind = message, "dropped"

    def _protocol(self, ctx: Context) -> str:
        """MQTT 5 first on every new connection; 3.1.1 only right after a broker refused 5."""
        wanted = ctx.mqtt.protocol
        if wanted != "auto":
            return wanted
        protocol, self.try_v311 = ("3.1.1" if self.try_v311 else "5"), False
        return protocol

    def _failed(self, failure: ConnectFailure, ctx: Context, protocol: str, backoff: Backoff) -> float:
        """Record and log a failed attempt; the delay before the next (0: retry at once)."""
        # Only a CONNACK refusing the protocol version means "3.1.1 only": a connection closed before
        # any CONNACK is a proxy or a restarting broker, and must not cost MQTT 5 (message expiry).
        fallback = ctx.mqtt.protocol == "auto" and protocol == "5" and failure.kind == "protocol"
        if failure.kind == "auth" and not fallback:
            log.error("%s", failure)  # before it shows in health(), so the two never disagree
        with self.core.cond:
            self.core.counters.last_error = str(failure)
            self.core.counters.last_error_kind = failure.kind
        if fallback:
            log.info("%s; trying MQTT 3.1.1", failure)
            self.try_v311 = True
            return 0.0
        if failure.kind == "auth":
            return backoff.maximum  # no retry storm: wrong credentials wait the longest delay
        level = logging.WARNING if str(failure) != self.last_logged else logging.DEBUG
        self.last_logged = str(failure)
        delay = backoff.next_delay()
        log.log(level, "%s; retrying in %.1f s", failure, delay)
        return delay

    def _serve(self, session: Session, ctx: Context) -> None:
        try:
            self._connected(session, ctx)
            self._pump(session, ctx)
        finally:
            self._disconnected(session)

    def _pump(self, session: Session, ctx: Context) -> None:
        """Publish what is queued until the connection ends or we leave."""
        expiry = None
        if session.protocol == "5":
            expiry = Properties(PacketTypes.PUBLISH)
            expiry.MessageExpiryInterval = int(round(ctx.mqtt.state_expiry_s))
        core, heartbeat = self.core, ctx.mqtt.heartbeat_s
        next_beat = time.monotonic() + heartbeat
        leaving = ""
        while not leaving:
            self.follower.follow(session.client)  # a reload may name other topics
            with core.cond:
                core.drain_acks()
                if session.lost:
                    break
                if core.stopping or core.restart:
                    leaving = self._how_to_leave(ctx)
                    break
                now = time.monotonic()
                if now >= next_beat:
                    self._heartbeat(ctx)
                    next_beat = now + heartbeat
                work = self._collect(ctx)
                if work.empty():
                    wake = min(next_beat, core.stats_due) if core.stats is not None else next_beat
                    core.cond.wait(timeout=max(0.01, wake - now))
                    continue
            send(session.client, self.core, ctx.topics, work, expiry)
        if leaving == "abrupt":
            session.end(clean=False)
        elif leaving == "reconnect":
            session.end(clean=True)
        elif leaving == "clean":
            self._flush(session, ctx, expiry)
            self._leave(session, ctx)

    def _how_to_leave(self, ctx: Context) -> str:
        """abrupt (the will says offline), clean (state deleted, ``stopped``) or reconnect. Hold cond."""
        core = self.core
        if core.stopping:
            return "clean" if core.clean_stop else "abrupt"
        # A reload with new connection settings: same broker and prefix need no goodbye.
        return "reconnect" if ctx.same_place(core.context) else "clean"

    def _connected(self, session: Session, ctx: Context) -> None:
        core = self.core
        with core.cond:
            core.set_connected(True)
            core.counters.connections += 1
            core.counters.protocol = session.protocol
            core.counters.last_error = core.counters.last_error_kind = None
            core.send_discovery = True
            core.state.mark_all()
            if core.clear_unknown:  # a previous run's retained state must not pass for ours
                for topic in ctx.plan.retained_topics(ctx.topics) - core.state.topics():
                    core.state.clear(topic)
                core.clear_unknown = False
        log.info("connected to the MQTT broker %s:%s as %s (MQTT %s)", ctx.mqtt.host, ctx.mqtt.port,
                 ctx.client_id, session.protocol)
        self.last_logged = ""
        if ctx.mqtt.homeassistant:
            session.client.subscribe(status_topic(ctx.config), qos=1)
        self.follower.connected()
        info = session.client.publish(ctx.topics.available, ONLINE, qos=1, retain=True)
        with core.cond:
            core.awaiting[info.mid] = ctx.topics.available

    def _heartbeat(self, ctx: Context) -> None:
        """Republish everything; state whose measurement is too old is deleted instead. Hold cond."""
        state = self.core.state
        for topic in state.stale(time.time(), ctx.mqtt.state_expiry_s):
            log.info("clearing stale retained state on %s", topic)
            state.clear(topic)
        state.mark_all()

    def _collect(self, ctx: Context) -> Work:
        """Take what is queued. Hold cond."""
        core = self.core
        work = Work()
        work.clears, work.records = core.state.take()
        if core.send_discovery:
            work.discovery, core.send_discovery = dict(core.context.discovery), False
        work.events = core.outbox.take()
        now = time.monotonic()
        if core.stats is not None and now >= core.stats_due:
            work.stats = encode(stats_body(core.stats, core.health(), time.time()))
            core.stats = None
            core.stats_due = now + ctx.mqtt.stats_interval_s
        work.heatmaps, core.heatmaps = core.heatmaps, {}
        return work

    def _flush(self, session: Session, ctx: Context, expiry: Properties | None) -> None:
        """Give waiting events a few seconds to reach the broker before a clean stop."""
        core = self.core
        deadline = time.monotonic() + FLUSH_AT_STOP_S
        while time.monotonic() < deadline and not session.lost:
            with core.cond:
                core.drain_acks()
                if not len(core.outbox):
                    return
                work = Work(events=core.outbox.take())
            if work.events:
                send(session.client, self.core, ctx.topics, work, expiry)
            with core.cond:
                core.cond.wait(timeout=0.05)

    def _leave(self, session: Session, ctx: Context) -> None:
        """Delete every retained state topic, publish ``stopped``, then DISCONNECT (no will)."""
        for topic in sorted(ctx.plan.retained_topics(ctx.topics)):
            session.client.publish(topic, b"", qos=1, retain=True)
        info = session.client.publish(ctx.topics.available, STOPPED, qos=1, retain=True)
        try:
            info.wait_for_publish(GOODBYE_ACK_S)
        except (RuntimeError, ValueError) as err:
            log.warning("could not publish 'stopped' before leaving: %s", err)
        session.end(clean=True)

    def _disconnected(self, session: Session) -> None:
        core = self.core
        session.end(clean=False)  # the connection is gone or closed: this only joins paho's thread
        with core.cond:
            core.drain_acks()
            back = core.outbox.requeue_inflight()
            core.set_connected(False)
            core.heatmaps.clear()
            stopping = core.stopping
        if session.lost and not stopping:
            log.warning("lost the connection to the MQTT broker (%s); %d unacknowledged event(s) will be"
                        " sent again after reconnecting", session.lost_reason, back)


    def _final(self) -> None:
        with self.core.cond:
            left = self.core.outbox.drop_all()
        if left:
            log.warning("stopped with %d alert event(s) never delivered to the MQTT broker", left)



def broker_backoff(mqtt: MqttConfig) -> Backoff:
    """Reconnect delays for the broker: 1 s doubling up to ``mqtt.reconnect_max_s``, jittered 20% down."""
    cap = mqtt.reconnect_max_s
    return Backoff(min(1.0, cap), cap, jitter=0.2)
