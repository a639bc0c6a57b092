"""The engine stays UI-free: no module of `napari_hcs.engine` imports napari, Qt or any part of
napari_hcs outside the engine (the package root imports the engine, not the other way)."""

from __future__ import annotations

import ast
from pathlib import Path

import napari_hcs.engine

UI = ("napari", "qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "vispy", "magicgui", "superqt")
ENGINE = Path(napari_hcs.engine.__file__).parent


def _imports(path: Path) -> list[tuple[int, str]]:
    package = ("napari_hcs", *path.relative_to(ENGINE.parent).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # resolved against the module's package, as Python does
                base = package[:len(package) - node.level + 1]
                found.append((node.lineno, ".".join((*base, *([node.module] if node.module
                                                               else [])))))
            else:
                found.append((node.lineno, node.module or ""))
    return found


def test_no_engine_module_imports_a_ui_or_the_rest_of_the_package():
    wrong = []
    for path in sorted(ENGINE.rglob("*.py")):
        for line, name in _imports(path):
            top = name.split(".")[0]
            outside = top == "napari_hcs" and not (name + ".").startswith("napari_hcs.engine.")
            if top in UI or outside:
                wrong.append(f"{path.relative_to(ENGINE.parent)}:{line} imports {name}")
    assert wrong == []
