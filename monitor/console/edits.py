"""The zone editor's changes, applied to the config's round-trip YAML document.

A save carries one camera: some of its ``zones`` (of each zone only the keys sent change and
``null`` deletes a key; a zone sent as ``null`` is deleted, zones not sent stay as they are), and
optionally its ``roi``, ``ignore`` and ``calibration`` (``null`` or ``[]`` deletes them).  Values are not checked here: the new text goes
through the same loader as ``check-config``, which reports each problem at its key path.
Unchanged values are left alone, so their layout and comments stay as they were.
"""

from __future__ import annotations

import json
from typing import Any

CAMERA_KEYS = ("roi", "ignore", "calibration")
MAX_NAME = 100
COORD_DECIMALS = 4  # relative image points: a tenth of a pixel on a 1000-pixel picture


class EditError(ValueError):
    """The request's body is not an edit (its message goes back with a 400)."""


def parse_edit(body: bytes) -> dict[str, Any]:
    """The JSON body of a save: ``{"version", "camera", "zones"?, "roi"?, "ignore"?, "calibration"?}``."""
    try:
        edit = json.loads(body)
    except (ValueError, RecursionError):
        raise EditError("the body is not JSON") from None
    if not isinstance(edit, dict):
        raise EditError("the body must be a JSON object")
    unknown = sorted(set(edit) - {"version", "camera", "zones", *CAMERA_KEYS})
    if unknown:
        raise EditError(f"unknown key {unknown[0][:40]!r}")
    for key in ("version", "camera"):
        if not isinstance(edit.get(key), str) or not edit[key]:
            raise EditError(f"'{key}' (a string) is required")
    zones = edit.get("zones", {})
    if not isinstance(zones, dict) or not all(z is None or isinstance(z, dict) for z in zones.values()):
        raise EditError("'zones' must map zone names to objects (or null to delete one)")
    if any(not name.strip() or len(name) > MAX_NAME for name in zones):
        raise EditError(f"zone names must be non-empty and at most {MAX_NAME} characters")
    return edit


def apply_edit(document: Any, edit: dict[str, Any]) -> None:
    """Change ``document`` (ruamel round-trip) as ``edit`` says."""
    cameras = document.get("cameras") if hasattr(document, "get") else None
    camera = cameras.get(edit["camera"]) if hasattr(cameras, "get") else None
    if not hasattr(camera, "get"):
        raise EditError(f"camera {edit['camera'][:MAX_NAME]!r} is not in the config file")
    for key in CAMERA_KEYS:
        if key in edit:
            _set(camera, key, edit[key])
    if "zones" in edit:
        _set_zones(camera, edit["zones"])


def _set_zones(camera: Any, zones: dict[str, dict[str, Any] | None]) -> None:
    from ruamel.yaml.comments import CommentedMap

    node = camera.get("zones")
    if not hasattr(node, "get"):
        if not any(zones.values()):
            return
        camera["zones"] = node = CommentedMap()
    for name, spec in zones.items():
        if spec is None:
            node.pop(name, None)
            continue
        if not hasattr(node.get(name), "get"):
            node[name] = CommentedMap()
        for key, value in spec.items():
            _set(node[name], key, value)


def _set(mapping: Any, key: str, value: Any) -> None:
    if value is None or value == []:
        mapping.pop(key, None)
    elif key not in mapping or mapping[key] != value:
        mapping[key] = to_node(value)


def to_node(value: Any) -> Any:
    """A JSON value as a ruamel node: points and polygons in flow style (``[[0.1, 0.2], ...]``),
    a list of polygons as a block list, small mappings (thresholds) in flow style."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(value, dict):
        node = CommentedMap((k, to_node(v)) for k, v in value.items())
        if not any(isinstance(v, (dict, list)) for v in value.values()):
            node.fa.set_flow_style()
        return node
    if isinstance(value, list):
        seq = CommentedSeq(round(v, COORD_DECIMALS) if isinstance(v, float) else to_node(v) for v in value)
        if not all(isinstance(v, list) and v and isinstance(v[0], list) for v in value) or not value:
            seq.fa.set_flow_style()
        return seq
    return value
