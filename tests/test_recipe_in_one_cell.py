"""The appendix page's one-cell recipe runs as printed, on a small subset for one epoch."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

import mnist_helpers.data

PAGE = Path(__file__).resolve().parent.parent / "book" / "recipe-in-one-cell.md"


def one_cell() -> str:
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 1, f"expected one python block on {PAGE.name}, found {len(blocks)}"
    return blocks[0]


def test_the_cell_needs_only_load_mnist_from_the_package():
    imports = [line for line in one_cell().splitlines() if "mnist_helpers" in line]
    assert imports == ["from mnist_helpers.data import load_mnist"]


def test_the_cell_runs_and_reports_a_test_accuracy(monkeypatch, capsys):
    rng = np.random.default_rng(0)
    small = ((rng.integers(0, 256, (1200, 28, 28), dtype=np.uint8), np.arange(1200, dtype=np.uint8) % 10),
             (rng.integers(0, 256, (300, 28, 28), dtype=np.uint8), np.arange(300, dtype=np.uint8) % 10))
    monkeypatch.setattr(mnist_helpers.data, "load_mnist", lambda: small)
    source = one_cell()
    for full, tiny in [("EPOCHS, BATCH_SIZE = 4, 17, 64", "EPOCHS, BATCH_SIZE = 4, 1, 64"), ("test_size=5000", "test_size=200")]:
        assert full in source, f"the cell no longer contains {full!r}; update this test"
        source = source.replace(full, tiny)
    exec(compile(source, str(PAGE), "exec"), {"__name__": "one_cell"})
    assert re.search(r"test accuracy \d+\.\d\d% \((with|without) test-time augmentation\)", capsys.readouterr().out)
