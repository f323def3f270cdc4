"""Calibration by clicks: the ``/api/calibration`` endpoints behind the console's calibrate page.

GET (no token): ``/api/calibration?camera=C`` (snapshots, their counts and clicks, the latest scan),
``/api/calibration/image?camera=C&image=I`` (a snapshot), ``/api/calibration/scan?camera=C``.
POST (with the console token, checked by the API router): ``snapshot`` (freeze a frame of the live
camera), ``clicks`` (heads and boxes of one snapshot), ``delete`` (a snapshot), ``scan`` (measure the
settings in the background), ``apply`` (write a measured ``max_side``, map correction and count gain
into the YAML, then reload).  The folder is the one ``crowd-monitor calibrate CAMERA`` uses, so the
CLI and the console share their snapshots.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs

import cv2

from ..config import MonitorConfig
from ..errors import UserError
from ..health.messages import Request, Response, error_response, json_response
from ..statedir import state_dir
from . import clicks
from .jobs import ScanJobs
from .scan import measure, settings
from .snapshots import capture, missing_counts

PREFIX = "/api/calibration"
SNAPSHOT_TIMEOUT_S = 20.0


class _Fail(Exception):
    """An answer other than 200, raised from deep inside a handler."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


class CalibrationConsole:
    """Serves ``/api/calibration...``; ``config`` is read at each request (reloads included)."""

    def __init__(self, config: Callable[[], MonitorConfig], config_path: str | Path, reload: Callable[[], None],
                 measure_fn: Callable = measure):
        self._config, self._path, self._reload = config, str(config_path), reload
        self.jobs = ScanJobs(measure_fn)
        self._reads = {"": self._overview, "/image": self._image, "/scan": self._scan_state}
        self._writes = {"/snapshot": self._snapshot, "/clicks": self._clicks, "/delete": self._delete,
                        "/scan": self._scan, "/apply": self._apply}

    def folder(self, camera: str) -> Path:
        """Where a camera's snapshots and counts live (as for ``crowd-monitor calibrate``)."""
        return state_dir(self._config().state_dir) / "calibration" / camera

    # -- routing ----------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        """Answer a request under ``/api/calibration`` (the API router checked the token of a write)."""
        if request.method == "GET":
            return self._answer(self._reads, request.path, request.query)
        if request.method == "POST":
            return self._answer(self._writes, request.path, request.query, request.body)
        return error_response(405, "calibration takes GET and POST")

    def _answer(self, routes: dict, path: str, query: str, *body: bytes) -> Response:
        route = routes.get(path[len(PREFIX):].rstrip("/"))
        if not path.startswith(PREFIX) or route is None:
            return error_response(404, "no such calibration endpoint")
        try:
            params = {k: v[-1] for k, v in parse_qs(query, max_num_fields=10).items()}
            return route(params, *body)
        except _Fail as exc:
            return error_response(exc.code, str(exc))
        except clicks.BadClicks as exc:
            return error_response(400, str(exc))
        except ValueError as exc:  # a bad query string
            return error_response(400, f"bad query: {exc}")

    def _camera(self, params: dict) -> str:
        camera = params.get("camera", "")
        if camera not in self._config().cameras:
            raise _Fail(404, f"no camera {camera[:60]!r} (cameras: {', '.join(self._config().cameras)})")
        return camera

    def _image_name(self, params: dict, folder: Path) -> str:
        name = params.get("image", "")
        if not clicks.IMAGE_NAME.match(name) or not (folder / name).is_file():
            raise _Fail(404, f"no snapshot {name[:60]!r}")
        return name

    # -- reading ----------------------------------------------------------------------------------
    def _overview(self, params: dict) -> Response:
        camera = self._camera(params)
        folder = self.folder(camera)
        marks = clicks.read_clicks(folder)
        shots = []
        for row in clicks.read_rows(folder):
            height, width = _size(folder / row.image)
            shots.append({"image": row.image, "width": width, "height": height, "count": row.count or None,
                          "heads": _heads(row.points), **marks.get(row.image, {})})
        job = self.jobs.latest(camera)
        return json_response({"camera": camera, "folder": str(folder), "snapshots": shots,
                              "max_side": self._config().cameras[camera].max_side,
                              "correction": self._config().cameras[camera].correction,
                              "count_gain": self._config().cameras[camera].count_gain,
                              "scan": job.to_json() if job else None})

    def _image(self, params: dict) -> Response:
        folder = self.folder(self._camera(params))
        name = self._image_name(params, folder)
        kind = "image/png" if name.endswith(".png") else "image/jpeg"
        return Response(200, kind, (folder / name).read_bytes())

    def _scan_state(self, params: dict) -> Response:
        job = self.jobs.latest(self._camera(params))
        return json_response(job.to_json() if job else {"state": "none"})

    # -- writing ----------------------------------------------------------------------------------
    def _snapshot(self, params: dict, body: bytes) -> Response:
        camera = self._camera(params)
        folder = self.folder(camera)
        try:
            path, = capture(camera, self._config().cameras[camera], folder, 1, 0.0, SNAPSHOT_TIMEOUT_S)
        except UserError as exc:
            raise _Fail(504, str(exc)) from None
        clicks.add_snapshot(folder, path.name)
        height, width = _size(path)
        return json_response({"image": path.name, "width": width, "height": height})

    def _clicks(self, params: dict, body: bytes) -> Response:
        folder = self.folder(self._camera(params))
        name = self._image_name(params, folder)
        height, width = _size(folder / name)
        row = clicks.save_clicks(folder, name, _json_body(body), width, height)
        return json_response({"image": name, "count": float(row.count), "heads": _heads(row.points)})

    def _delete(self, params: dict, body: bytes) -> Response:
        folder = self.folder(self._camera(params))
        name = self._image_name(params, folder)
        clicks.remove_snapshot(folder, name)
        return json_response({"deleted": name})

    def _scan(self, params: dict, body: bytes) -> Response:
        camera = self._camera(params)
        folder = self.folder(camera)
        if not clicks.read_rows(folder):
            raise _Fail(409, "no snapshots yet: freeze a few first")
        missing = missing_counts(folder)
        if missing:
            raise _Fail(409, f"{len(missing)} snapshot(s) not counted yet, e.g. {missing[0]}: click their heads "
                             "(none: save an empty snapshot as 0) or delete them")
        job = self.jobs.start(camera, folder, self._config().model)
        if job is None:
            raise _Fail(409, "a scan is already running; wait for it to finish")
        return json_response(job.to_json(), 202)

    def _apply(self, params: dict, body: bytes) -> Response:
        camera = self._camera(params)
        job = self.jobs.latest(camera)
        if job is None or job.state != "done":
            raise _Fail(409, "no finished scan of this camera: run the scan first")
        wanted = _json_body(body)
        side, correction = wanted.get("max_side", job.chosen.max_side), wanted.get("correction", job.chosen.correction)
        picked = next((t for t in job.trials if t.max_side == side and not isinstance(side, bool)
                       and t.correction is correction), None)
        if picked is None:
            raise _Fail(400, f"max_side {str(side)[:20]!r} with correction {str(correction)[:8]!r} was not measured; "
                             f"one of {', '.join(t.describe() for t in job.trials)}")
        changes = settings(camera, job.trials, picked)
        from .yamledit import write_settings

        try:
            backup = write_settings(self._path, changes)
        except (UserError, OSError) as exc:
            raise _Fail(422, str(exc)) from None
        self._reload()
        return json_response({"written": {".".join(key): value for key, value in changes.items()}, "file": self._path,
                              "backup": str(backup), "reload": "requested"})


def _json_body(body: bytes) -> dict:
    """A request's JSON object (an empty body is ``{}``)."""
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise _Fail(400, "the body is not JSON") from None
    if not isinstance(data, dict):
        raise _Fail(400, "the body must be a JSON object")
    return data


def _size(path: Path) -> tuple[int, int]:
    """(height, width) of a snapshot; (0, 0) when it cannot be read."""
    image = cv2.imread(str(path)) if path.is_file() else None
    return (int(image.shape[0]), int(image.shape[1])) if image is not None else (0, 0)


def _heads(points: str) -> int:
    """How many head points a ``points`` cell holds."""
    return len([p for p in points.split(";") if p.strip()])
