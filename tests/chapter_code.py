"""Run the definitions a chapter shows, so tests can compare them with the package's archive.

``chapter_definitions("03_cnn", "build_cnn")`` executes, in a fresh namespace, every code cell of
``notebooks/03_cnn.ipynb`` that defines one of the names asked for (a ``def``, a ``class`` or an
assignment at the start of a line), after the chapter's import lines, and returns the namespace.
The cells are the chapter's own source, so a test that compares what they build with what
``mnist_helpers`` builds proves that the code shown is the code run.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def _cells(chapter: str) -> list[str]:
    path = NOTEBOOKS / f"{chapter}.ipynb"
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]


def _defines(source: str) -> set[str]:
    """Top-level names a cell binds (functions, classes, assignments); empty for cells with magics."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _imports(source: str) -> str:
    """The import statements of a cell, as source."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""
    return "\n".join(ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)))


def chapter_definitions(chapter: str, *names: str, namespace: dict | None = None) -> dict:
    """Execute the cells of ``chapter`` that define ``names`` and return the namespace.

    Every import line of the chapter runs first; ``namespace`` can provide other names the cells
    read (for example ``profile``). Raises ``LookupError`` if a name is defined by no cell.
    """
    cells = _cells(chapter)
    scope: dict = {"__name__": f"chapter_{chapter}", **(namespace or {})}
    exec("\n".join(filter(None, (_imports(c) for c in cells))), scope)
    missing = set(names)
    for source in cells:
        defined = _defines(source)
        if defined & set(names):
            exec(source, scope)
            missing -= defined
    if missing:
        raise LookupError(f"no code cell of {chapter} defines {sorted(missing)}")
    return scope


def layer_configs(model) -> list[tuple[str, dict]]:
    """A model's layers as (class name, config without the generated name), to compare two builds."""
    out = []
    for layer in model.layers:
        config = {k: v for k, v in layer.get_config().items() if k != "name"}
        out.append((type(layer).__name__, config))
    return out


def tiny_splits(n: int = 64):
    """Random smoke-profile ``Splits`` of ``n`` training images (20 for validation and test), for fast pipeline tests."""
    import numpy as np

    from mnist_helpers.config import get_profile
    from mnist_helpers.data import Splits

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    y = np.arange(n) % 10
    return Splits(x, y, x[:20], y[:20], x[:20], y[:20], np.arange(20), get_profile("smoke"))
