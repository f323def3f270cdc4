"""Configuration problems, each pinned to a file, a line and a key path."""

from __future__ import annotations

from dataclasses import dataclass

Path = tuple[str | int, ...]


def dotted(path: Path) -> str:
    """``('cameras', 'a', 'zones', 'z', 'polygon', 2)`` -> ``cameras.a.zones.z.polygon[2]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(root)"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config file."""

    file: str
    line: int
    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {dotted(self.path)}: {self.message}"


class ConfigError(Exception):
    """A config file that cannot be used; ``problems`` lists every reason, in file order."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.line, dotted(p.path)))
        super().__init__("\n".join(str(p) for p in self.problems))
