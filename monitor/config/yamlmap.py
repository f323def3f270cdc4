"""Parse YAML into plain data plus the line of every key path (for error messages).

The document's size is checked first (``yamlbounds``), so walking it here, with aliases expanded,
is bounded too.
"""

from __future__ import annotations

from typing import Any

import yaml

from .errors import Path
from .yamlbounds import LOADER, BoundsProblem, check_bounds


class YamlProblem(Exception):
    """A YAML-level problem with its line and key path."""

    def __init__(self, line: int, path: Path, message: str):
        super().__init__(message)
        self.line, self.path, self.message = line, path, message


def _record_lines(node: yaml.Node, path: Path, lines: dict[Path, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen and key != "<<":
                raise YamlProblem(line, (*path, key), f"duplicate key (first defined on line {seen[key]})")
            seen[key] = line
            lines[(*path, key)] = line
            _record_lines(value_node, (*path, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _record_lines(item, (*path, index), lines)


def parse_yaml(text: str) -> tuple[Any, dict[Path, int]]:
    """Plain data (safe loader) and a map from key path to 1-based line number."""
    try:
        check_bounds(text)
        node, data = _compose_and_construct(text)
    except BoundsProblem as exc:
        raise YamlProblem(exc.line, exc.path, exc.message) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise YamlProblem(line, (), f"YAML syntax error: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise YamlProblem(1, (), f"YAML error: {exc}") from None
    lines: dict[Path, int] = {(): 1}
    if node is not None:
        _record_lines(node, (), lines)
    return data, lines


def _compose_and_construct(text: str) -> tuple[yaml.Node | None, Any]:
    """The node graph (with marks) and the plain data built from it, parsing the text once."""
    loader = LOADER(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def line_of(lines: dict[Path, int], path: Path) -> int:
    """Line of the longest prefix of ``path`` that appears in the file."""
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return 1
