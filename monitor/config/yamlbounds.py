"""Limits on a YAML document, checked on its event stream before anything is composed or expanded.

A few hundred bytes of anchors and aliases ("billion laughs") expand to billions of nodes, and
every later step (line numbers, ``{VAR}`` substitution, validation) walks the expanded tree.  The
events are read one at a time and the size of each node's expansion is added up as if aliases were
copied, without copying anything, so a hostile file is refused after reading it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from .errors import Path

MAX_DEPTH = 32  # a real config nests about 7 levels (cameras.C.zones.Z.polygon[i][j])
MAX_NODES = 200_000  # after expanding aliases; about what 1 MiB of plain YAML holds
MAX_ALIASES = 1_000  # e.g. one ``<<: *defaults`` per zone of a large site

# libyaml's parser when present (fast, and iterative: no recursion on deep nesting).
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class BoundsProblem(Exception):
    """The document exceeds a limit; ``line`` and ``path`` tell where."""

    def __init__(self, line: int, path: Path, message: str):
        super().__init__(message)
        self.line, self.path, self.message = line, path, message


@dataclass
class _Open:
    """A mapping or sequence whose end has not been read yet."""

    anchor: str | None
    is_map: bool
    size: int = 1  # nodes of its expansion so far, itself included
    children: int = 0  # nodes read directly inside it (a mapping's keys and values)
    key: Any = None  # a mapping's latest key


class _Walk:
    """State of one pass over the events."""

    def __init__(self) -> None:
        self.stack: list[_Open] = []
        self.sizes: dict[str, int] = {}  # anchor -> size of its expansion
        self.aliases = 0

    def path(self) -> Path:
        """Key path of the node being read (approximate inside complex keys)."""
        parts: list[str | int] = []
        for frame in self.stack:
            if frame.is_map:
                if frame.key is not None:
                    parts.append(frame.key)
            else:
                parts.append(frame.children)
        return tuple(parts)

    def refuse(self, event: yaml.Event, message: str) -> BoundsProblem:
        """The problem at ``event``."""
        return BoundsProblem(event.start_mark.line + 1, self.path(), message)

    def node(self, event: yaml.Event, size: int, anchor: str | None, value: Any = None) -> None:
        """A whole node of ``size`` expanded nodes was read."""
        if anchor is not None:
            self.sizes[anchor] = size
        if self.stack:
            parent = self.stack[-1]
            if parent.is_map and parent.children % 2 == 0:
                parent.key = value if isinstance(value, (str, int)) else "?"
            parent.children += 1
            parent.size += size
            size = parent.size  # every node ends up inside the root: no open node may outgrow the limit
        if size > MAX_NODES:
            raise self.refuse(event, f"the document expands to more than {MAX_NODES} YAML nodes (aliases "
                                     "counted as copies); config files are limited to that")

    def alias(self, event: yaml.AliasEvent) -> None:
        """``*name``: counts as a copy of the anchored node."""
        self.aliases += 1
        if self.aliases > MAX_ALIASES:
            raise self.refuse(event, f"more than {MAX_ALIASES} YAML aliases (*name); config files are limited "
                                     "to that")
        if any(frame.anchor == event.anchor for frame in self.stack):
            raise self.refuse(event, f"alias *{event.anchor} refers to a node that contains it (recursive alias)")
        self.node(event, self.sizes.get(event.anchor, 1), None, f"*{event.anchor}")

    def start(self, event: yaml.CollectionStartEvent) -> None:
        """A mapping or sequence begins."""
        if len(self.stack) >= MAX_DEPTH:
            raise self.refuse(event, f"nested more than {MAX_DEPTH} levels deep; config files are limited to that")
        self.stack.append(_Open(event.anchor, isinstance(event, yaml.MappingStartEvent)))

    def end(self, event: yaml.CollectionEndEvent) -> None:
        """A mapping or sequence ends."""
        frame = self.stack.pop()
        self.node(event, frame.size, frame.anchor)


def check_bounds(text: str) -> None:
    """Raise ``BoundsProblem`` when ``text`` nests too deep, has too many aliases or expands too far.

    YAML syntax errors are raised as PyYAML's own exceptions, as ``yaml.compose`` would.
    """
    walk = _Walk()
    for event in yaml.parse(text, Loader=LOADER):
        if isinstance(event, yaml.ScalarEvent):
            walk.node(event, 1, event.anchor, event.value)
        elif isinstance(event, yaml.AliasEvent):
            walk.alias(event)
        elif isinstance(event, yaml.CollectionStartEvent):
            walk.start(event)
        elif isinstance(event, yaml.CollectionEndEvent):
            walk.end(event)
