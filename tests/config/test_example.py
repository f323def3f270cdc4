"""config/example.yaml is the annotated reference: every key of the config models appears in it.

A key counts when it is written, or commented out as ``# key: value`` at the indentation it would
have.  The models are walked from ``MonitorConfig``; names under ``cameras``, ``zones`` and
``site_zones`` are the user's own, so any one of them stands for all.
"""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path

import yaml
from pydantic import BaseModel

from monitor.config import MonitorConfig

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.yaml"
# A line, commented out or not: a key commented out sits at the column of its '#' plus the spaces
# after "# " (so "  #   ca_file:" is a child of "  # tls:").
LINE = re.compile(r"^(?P<indent> *)(?:#(?P<more> *))?(?P<rest>.*)$")
KEY = re.compile(r"^(?P<key>[a-z_][a-z0-9_]*):(?:\s+(?P<value>.*))?$")  # a key, once a trailing comment is cut
ANY = "*"  # a name the user chooses: a camera, a zone, a site zone


def model_keys(model: type[BaseModel] = MonitorConfig, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every key path of ``model`` and the models under it, with ``ANY`` for the user's names."""
    found = []
    for name, field in model.model_fields.items():
        found.append((*path, name))
        for sub, depth in _models_in(field.annotation):
            found += model_keys(sub, (*path, name, *[ANY] * depth))
    return found


def _models_in(annotation: object, depth: int = 0) -> list[tuple[type[BaseModel], int]]:
    """Config models inside an annotation, each with how many user-named mapping levels lie above it."""
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [(annotation, depth)]
    if origin is dict:
        return _models_in(typing.get_args(annotation)[1], depth + 1)
    if origin in (list, typing.Annotated, typing.Union, types.UnionType):
        return [found for arg in typing.get_args(annotation) for found in _models_in(arg, depth)]
    return []


def example_keys(text: str) -> set[tuple[str, ...]]:
    """Key paths written in ``text``, commented-out ones and those in flow mappings (``{a: 1}``) included."""
    found: set[tuple[str, ...]] = set()
    stack: list[tuple[int, str]] = []  # (indentation, key) of the keys enclosing the current line
    for line in text.splitlines():
        line_match = LINE.match(line)
        match = KEY.match(line_match["rest"].split("  #")[0].rstrip())
        if not match:
            continue
        indent = len(line_match["indent"]) + max(0, len(line_match["more"] or "") - 1)
        stack = [(i, k) for i, k in stack if i < indent] + [(indent, match["key"])]
        path = tuple(k for _, k in stack)
        found.add(path)
        value = (match["value"] or "").strip()
        if value.startswith("{"):
            found |= _flow_keys(yaml.safe_load(value), path)
    return found


def _flow_keys(value: object, path: tuple[str, ...]) -> set[tuple[str, ...]]:
    if not isinstance(value, dict):
        return set()
    return {p for key, sub in value.items() for p in {(*path, str(key))} | _flow_keys(sub, (*path, str(key)))}


def missing_keys(text: str) -> list[str]:
    """Model keys absent from ``text``, dotted (``cameras.*.label``)."""
    written = example_keys(text)

    def present(wanted: tuple[str, ...]) -> bool:
        return any(len(have) == len(wanted) and all(w in (ANY, h) for w, h in zip(wanted, have))
                   for have in written)

    return [".".join(key) for key in model_keys() if not present(key)]


def test_every_config_key_is_in_the_example():
    assert missing_keys(EXAMPLE.read_text()) == []


def test_a_missing_key_is_named():
    text = EXAMPLE.read_text().replace("label:", "labels:").replace("keepalive_s:", "keep_alive:")
    assert missing_keys(text) == ["mqtt.keepalive_s", "cameras.*.label"]


def test_commented_out_and_flow_keys_count_at_their_place():
    keys = example_keys("mqtt:\n  # tls: {ca_file: x}\n  #   insecure: true\n  host: h  # port: 1\ncameras:\n"
                        "  a:\n    zones:\n      z: {polygon: [], warning: {count: 3}}\n")
    assert {("mqtt", "tls", "ca_file"), ("mqtt", "tls", "insecure"), ("mqtt", "host"),
            ("cameras", "a", "zones", "z", "warning", "count")} <= keys
    assert ("mqtt", "port") not in keys  # a trailing comment is prose, not a key
