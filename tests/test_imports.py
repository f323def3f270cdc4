"""Every module of ``engines`` and ``monitor`` imports, and ``engines.runtimes`` never imports ``engines.export``.

The runtimes are the lower layer: export builds artifacts with their metadata and TensorRT builder;
a cycle between the two packages would make either impossible to import on its own.  Imports are
read with ``ast``, lazy ones inside functions included, because most backend imports are lazy.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engines", "monitor")
OPTIONAL = {"gi"}  # the RTSP test camera runs under the system Python with GStreamer's bindings


def module_names() -> list[str]:
    """Dotted names of every module of the packages (``__main__`` runs the CLI, so it is left out)."""
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__main__":
                continue
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def imported_modules(name: str) -> set[str]:
    """Every module ``name`` imports anywhere in its source, relative imports resolved."""
    path = ROOT / Path(*name.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # ``from . import x``: maybe a module
    return found


def package_edges(source: str, target: str) -> list[str]:
    """``module -> import`` lines where a module of package ``source`` imports one of ``target``."""
    inside = lambda module, package: module == package or module.startswith(package + ".")  # noqa: E731
    return [f"{module} -> {imported}" for module in module_names() if inside(module, source)
            for imported in sorted(imported_modules(module)) if inside(imported, target)]


@pytest.mark.parametrize("name", module_names())
def test_every_module_imports(name):
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name not in OPTIONAL:
            raise
        pytest.skip(f"{name} needs {exc.name}")


def test_no_cycle_between_runtimes_and_export():
    assert package_edges("engines.export", "engines.runtimes"), "export reads formats and metadata from runtimes"
    assert package_edges("engines.runtimes", "engines.export") == []


def test_the_reader_sees_lazy_and_relative_imports():
    imports = imported_modules("engines.runtimes.opener")
    assert "engines.weights" in imports and "engines.runtimes.registry" in imports
