"""Load a YAML file into ``MonitorConfig`` or raise ``ConfigError`` listing every problem."""

from __future__ import annotations

import difflib
import typing
from collections.abc import Mapping
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, ValidationError

from .checks import semantic_problems
from .errors import ConfigError, Path, Problem
from .root import MonitorConfig
from .secrets import substitute
from .yamlmap import YamlProblem, line_of, parse_yaml


def load_config(file: str | FsPath, environ: Mapping[str, str] | None = None) -> MonitorConfig:
    """Read, substitute, validate and cross-check a config file."""
    name = str(file)
    try:
        raw = FsPath(file).read_bytes()
    except OSError as exc:
        raise ConfigError([Problem(name, 1, (), f"cannot read file: {exc.strerror or exc}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError([Problem(name, line, (), f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
                                                    "save the file as UTF-8")]) from None
    return parse_config(text, name, environ)


def parse_config(text: str, name: str = "<config>", environ: Mapping[str, str] | None = None) -> MonitorConfig:
    """Validate YAML text; ``name`` is used in messages."""
    try:
        data, lines = parse_yaml(text)
    except YamlProblem as exc:
        raise ConfigError([Problem(name, exc.line, exc.path, exc.message)]) from None
    if data is None:
        raise ConfigError([Problem(name, 1, (), "file is empty; at least 'cameras' is required")])
    if not isinstance(data, dict):
        raise ConfigError([Problem(name, 1, (), f"top level must be a mapping of sections, not {_kind(data)}")])

    problems: list[Problem] = []

    def report(path: Path, message: str) -> None:
        problems.append(Problem(name, line_of(lines, path), path, message))

    data = substitute(_expand_site_shorthand(data, lines), report, environ)
    if problems:
        raise ConfigError(problems)
    try:
        config = MonitorConfig.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_input=False, include_url=False):
            path = tuple(error["loc"])
            report(path, _message(error, path))
        raise ConfigError(problems) from None
    for path, message in semantic_problems(config):
        report(path, message)
    if problems:
        raise ConfigError(problems)
    return config


def _expand_site_shorthand(data: dict[str, Any], lines: dict[Path, int]) -> dict[str, Any]:
    """``site_zones: {x: [a.b, c.d]}`` -> ``{x: {zones: [...]}}``, with the lines remapped."""
    sites = data.get("site_zones")
    if not isinstance(sites, dict):
        return data
    expanded = {}
    for site, value in sites.items():
        if isinstance(value, list):
            base = ("site_zones", site)
            lines[(*base, "zones")] = lines.get(base, 1)
            for index in range(len(value)):
                lines[(*base, "zones", index)] = lines.get((*base, index), lines.get(base, 1))
            value = {"zones": value}
        expanded[site] = value
    return {**data, "site_zones": expanded}


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}.get(
        type(value), type(value).__name__)


def _message(error: Mapping[str, Any], path: Path) -> str:
    kind, msg = error["type"], str(error["msg"])
    if kind == "extra_forbidden":
        allowed = _allowed_keys(path[:-1])
        hint = difflib.get_close_matches(str(path[-1]), allowed, n=1)
        text = "unknown key"
        if hint:
            return f"{text}; did you mean '{hint[0]}'?"
        return f"{text}; expected one of: {', '.join(allowed)}" if allowed else text
    if kind == "missing":
        return "required key is missing"
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix):]
    return msg[0].lower() + msg[1:] if msg else kind


def _allowed_keys(path: Path) -> list[str]:
    """Field names of the model found at ``path`` (for 'did you mean' hints)."""
    annotation: Any = MonitorConfig
    for part in path:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return []
            annotation = field.annotation
        elif typing.get_origin(annotation) in (dict, list):
            annotation = typing.get_args(annotation)[-1]
        else:
            return []
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    """Strip ``Optional``/``Annotated`` down to the model or container type."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0]
        else:
            return annotation
