"""The committed chapters as JupyterLab and the book read them: no outputs, and prose that both can render.

Numbers in the prose are ``{eval}`` roles (a name, or an f-string of names). The book evaluates them while it
executes a page; JupyterLab with jupyterlab-myst evaluates them when the reader runs the markdown cell. Both
need the names to exist by then, so every name a role uses must be assigned in an earlier code cell.
"""

from __future__ import annotations

import ast
import builtins
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
EVAL = re.compile(r"\{eval\}`([^`]*)`")
# Roles that JupyterLab cannot render (glue has no JupyterLab support; {doc} needs the whole book).
UNRENDERABLE = re.compile(r"\{(glue(:[a-z]+)?|doc|ref|numref)\}`")


def _assigned(source: str) -> set[str]:
    """Names a code cell binds at top level (assignments, imports, defs, for targets)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.replace("%", "#"))):  # IPython magics are not Python
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _used(expression: str) -> set[str]:
    """The names an ``{eval}`` expression reads."""
    return {n.id for n in ast.walk(ast.parse(expression, mode="eval")) if isinstance(n, ast.Name)}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path: Path):
    nb = nbformat.read(path, 4)
    dirty = [i for i, c in enumerate(nb.cells)
             if (c.cell_type == "code" and (c.outputs or c.execution_count)) or "user_expressions" in c.metadata]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs or evaluated expressions; run `make strip`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_prose_renders_in_jupyterlab_and_the_book(path: Path):
    nb = nbformat.read(path, 4)
    defined: set[str] = set(dir(builtins))
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            defined |= _assigned(cell.source)
            continue
        raw = UNRENDERABLE.search(cell.source)
        assert raw is None, f"{path.name} cell {i}: {raw.group(0)!r} shows as raw text in JupyterLab"
        for expression in EVAL.findall(cell.source):
            missing = _used(expression) - defined
            assert not missing, (f"{path.name} cell {i}: {{eval}}`{expression}` reads {sorted(missing)}, "
                                 "which no earlier code cell assigns")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_hidden_code_cells_run_in_place(path: Path):
    """The book executes a page inline, a cell when it renders it: a `remove-cell` code cell would run only when
    a later visible cell does, after the prose that quotes it (and a trailing one, such as a claim check, never)."""
    nb = nbformat.read(path, 4)
    removed = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "remove-cell" in c.metadata.get("tags", [])]
    assert not removed, f"{path.name}: code cells {removed} are tagged remove-cell; tag them remove-input and remove-output"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_silenced_cell_before_an_eval(path: Path):
    """IPython stays quiet for an expression when the last cell in its history ends with ';', so the book's
    inline {eval} right after such a cell gets no output. End that cell with an assignment instead."""
    cells = nbformat.read(path, 4).cells
    silenced = [i for i, (c, nxt) in enumerate(zip(cells, cells[1:]))
                if c.cell_type == "code" and c.source.rstrip().endswith(";") and nxt.cell_type == "markdown"
                and EVAL.search(nxt.source)]
    assert not silenced, f"{path.name}: cells {silenced} end with ';' and the next markdown cell has an {{eval}}"
