"""The config file as the zone editor sees it: read its editable parts, and save a change.

A save is checked with the same loader as ``check-config`` (each problem returned with its key
path, nothing written), written with comments and layout kept and the previous file kept as
``FILE.bak``, then applied through the daemon's reload (what SIGHUP does).  Saves run one at a
time, and only on the version of the file the editor read (else 409: it changed meanwhile).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

from ..calibration.yamledit import WRITE_LOCK, dump_document, load_document, replace_file
from ..config import ConfigError, MonitorConfig, parse_config
from ..config.errors import dotted
from ..config.loader import MAX_CONFIG_BYTES, read_config_text
from ..health.messages import Response, error_response, json_response
from .edits import EditError, apply_edit, parse_edit

log = logging.getLogger(__name__)
RELOAD_WAIT_S = 20.0  # a save answers once the daemon has applied (or rejected) the new file


def version(text: str) -> str:
    """A file's version as the editor quotes it back: the SHA-256 of its text."""
    return hashlib.sha256(text.encode()).hexdigest()


def problems_json(exc: ConfigError) -> list[dict[str, Any]]:
    """Each problem with its key path (a list, and dotted), line and message."""
    return [{"path": list(p.path), "field": dotted(p.path), "line": p.line, "message": p.message}
            for p in exc.problems]


def editable(config: MonitorConfig) -> dict[str, Any]:
    """Per camera what the editor changes: roi, ignore, calibration and its zones' geometry and thresholds."""
    return {name: {"roi": camera.roi, "ignore": camera.ignore,
                   "calibration": camera.calibration.model_dump() if camera.calibration else None,
                   "zones": {zone: {"polygon": spec.polygon, "area_m2": spec.area_m2,
                                    "warning": spec.warning.model_dump(exclude_none=True) if spec.warning else None,
                                    "critical": spec.critical.model_dump(exclude_none=True) if spec.critical else None}
                             for zone, spec in camera.zones.items()}}
            for name, camera in config.cameras.items()}


class ConfigFile:
    """Reads and saves the daemon's config file; ``reload`` is the daemon's SIGHUP path."""

    def __init__(self, path: str, reload: Callable[[], None], reload_status: Callable[[], dict]):
        self.path = str(path)
        self._reload, self._reload_status = reload, reload_status

    def read(self, saving: bool) -> Response:
        """The file's editable parts, its version, and whether saving is possible (a token is configured)."""
        try:
            text = read_config_text(self.path)
            config = parse_config(text, self.path)
        except ConfigError as exc:
            return error_response(409, "the config file on disk does not validate: fix it by hand or restore "
                                  f"{self.path}.bak", problems=problems_json(exc))
        return json_response({"file": self.path, "version": version(text), "saving": saving,
                             "cameras": editable(config)})

    def save(self, body: bytes) -> Response:
        """Validate, write and apply one edit (the caller checked the token)."""
        with WRITE_LOCK:  # shared with calibration's writes: no lost update between them
            try:
                return self._save(parse_edit(body))
            except EditError as exc:
                return error_response(400, str(exc))
            except ConfigError as exc:
                return error_response(409, "the config file on disk does not validate: fix it by hand",
                                      problems=problems_json(exc))

    def _save(self, edit: dict[str, Any]) -> Response:
        text = read_config_text(self.path)
        if version(text) != edit["version"]:
            return error_response(409, "the config file changed since the editor read it: reload the page and "
                                       "edit again")
        try:
            document = load_document(text)
        except Exception as exc:  # ruamel's own errors: the file parses for the loader, not for ruamel
            return error_response(409, f"the config file cannot be edited here: {type(exc).__name__}: {exc}")
        apply_edit(document, edit)
        new_text = dump_document(document)
        if len(new_text.encode()) > MAX_CONFIG_BYTES:
            return error_response(422, "the file would exceed 1 MiB; nothing was written", problems=[])
        try:
            parse_config(new_text, self.path)
        except ConfigError as exc:
            return error_response(422, "the change does not validate; nothing was written", problems=problems_json(exc))
        try:
            backup = replace_file(self.path, new_text)
        except OSError as exc:
            return error_response(500, f"cannot write {self.path}: {exc.strerror or exc} (the directory must be "
                                  "writable by the daemon; see the README)")
        log.warning("console: saved %s (camera %s; previous file kept as %s)", self.path, edit["camera"], backup)
        return json_response({"saved": True, "file": self.path, "backup": str(backup), "version": version(new_text),
                             "reload": self._apply()})

    def _apply(self) -> dict[str, Any]:
        """Reload as SIGHUP does and wait for the outcome: applied, or why not."""
        before = self._reload_status()
        # A load already running read the old file: ours is the one after it.
        expected = before.get("ok", 0) + before.get("failed", 0) + 1 + bool(before.get("in_progress"))
        self._reload()
        deadline = time.monotonic() + RELOAD_WAIT_S
        while time.monotonic() < deadline:
            status = self._reload_status()
            if status.get("ok", 0) + status.get("failed", 0) >= expected and not status.get("in_progress"):
                return {"applied": status.get("last_error") is None, "error": status.get("last_error")}
            time.sleep(0.1)
        return {"applied": None, "error": "the reload is still running; /healthz tells how it ends"}
