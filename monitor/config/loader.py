"""Load a YAML file into ``MonitorConfig`` or raise ``ConfigError`` listing every problem."""

from __future__ import annotations

import difflib
import os
import stat
import typing
from collections.abc import Mapping
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, ValidationError

from engines.errors import NotUtf8, decode_utf8

from .checks import semantic_problems
from .errors import ConfigError, Path, Problem
from .root import MonitorConfig
from .secrets import substitute
from .yamlmap import YamlProblem, line_of, parse_yaml


MAX_CONFIG_BYTES = 1 << 20  # 1 MiB: a site of a hundred cameras with zones needs well under 100 KB
_SPECIAL = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
            (stat.S_ISSOCK, "a socket"))


def load_config(file: str | FsPath, environ: Mapping[str, str] | None = None) -> MonitorConfig:
    """Read, substitute, validate and cross-check a config file."""
    return parse_config(read_config_text(file), str(file), environ)


def read_config_text(file: str | FsPath) -> str:
    """The text of a config file within the size limits; ``ConfigError`` for anything else."""
    name = str(file)
    try:
        return decode_utf8(read_config_bytes(name))
    except NotUtf8 as exc:
        raise ConfigError([Problem(name, exc.line, (), str(exc))]) from None


def read_config_bytes(name: str) -> bytes:
    """The bytes of a regular file of at most ``MAX_CONFIG_BYTES``; ``ConfigError`` for anything else.

    Devices (``/dev/zero``), FIFOs and directories are refused from ``stat`` alone: opening a FIFO
    would wait for a writer and opening some devices has side effects.
    """
    def refuse(message: str) -> ConfigError:
        return ConfigError([Problem(name, 1, (), message)])

    try:
        _check_kind(os.stat(name), refuse)
        # O_NONBLOCK: if the path was swapped for a FIFO since stat(), open() must not wait for a writer.
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise refuse(f"cannot read file: {exc.strerror or exc}") from None
    try:
        _check_kind(os.fstat(fd), refuse)
        chunks, size = [], 0
        while size <= MAX_CONFIG_BYTES and (chunk := os.read(fd, 1 << 16)):
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise refuse(f"cannot read file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if size > MAX_CONFIG_BYTES:
        raise refuse(_too_big("larger"))
    return b"".join(chunks)


def _check_kind(info: os.stat_result, refuse: typing.Callable[[str], ConfigError]) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise refuse("is a directory, not a config file")
    if not stat.S_ISREG(info.st_mode):
        kind = next((what for test, what in _SPECIAL if test(info.st_mode)), "special file")
        raise refuse(f"not a regular file ({kind}); give the path of a YAML file")
    if info.st_size > MAX_CONFIG_BYTES:
        raise refuse(_too_big(f"{info.st_size} bytes"))


def _too_big(size: str) -> str:
    return f"file is {size}; config files are limited to {MAX_CONFIG_BYTES} bytes (1 MiB)"


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

    _site_shorthand_lines(data, lines)
    data = substitute(data, report, environ)
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


def _site_shorthand_lines(data: dict[str, Any], lines: dict[Path, int]) -> None:
    """Line numbers for ``site_zones: {x: [a.b]}`` under the paths the model reports, ``x.zones.N``.

    ``SiteZoneConfig`` reads the plain list as ``{zones: [...]}``; only the lines are mapped here.
    """
    sites = data.get("site_zones")
    if not isinstance(sites, dict):
        return
    for site, value in sites.items():
        if isinstance(value, list):
            base = ("site_zones", site)
            lines[(*base, "zones")] = lines.get(base, 1)
            for index in range(len(value)):
                lines[(*base, "zones", index)] = lines.get((*base, index), lines.get(base, 1))


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
    if kind == "too_long":  # pydantic's text says "after validation", which confuses here
        ctx = error.get("ctx", {})
        return f"has {ctx.get('actual_length')} items; at most {ctx.get('max_length')} are allowed"
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
