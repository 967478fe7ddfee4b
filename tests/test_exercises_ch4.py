"""Chapter 4's exercises stay solvable, and the definitions they use compute what the chapter says.

The code of a solution is read from the chapter's ``{solution}`` directive and run against the
chapter's own definitions (``tests/chapter_code.py``) on small made-up arrays, so no model and no
MNIST download is needed.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

from chapter_code import NOTEBOOKS, chapter_definitions
from mnist_helpers.config import get_profile

CHAPTER = "04_augmentation"


def solution_code(label: str) -> str:
    """The python blocks of the solution to exercise ``label``, joined."""
    notebook = json.loads((NOTEBOOKS / f"{CHAPTER}.ipynb").read_text(encoding="utf-8"))
    text = "\n".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "markdown")
    solution = re.search(r"^(`{3,})\{solution\} " + re.escape(label) + r"\n(.*?)^\1$", text, re.S | re.M)
    assert solution is not None, f"no solution directive for {label} in {CHAPTER}"
    blocks = re.findall(r"^```python\n(.*?)^```$", solution.group(2), re.S | re.M)
    assert blocks, f"the solution to {label} has no python block"
    return "\n".join(blocks)


@pytest.fixture(scope="module")
def chapter():
    return chapter_definitions(CHAPTER, "expected_calibration_error", "shift_digits",
                               namespace={"profile": get_profile("smoke"), "pd": pd})


def _ece_by_hand(confidence, correct, n_bins=10):
    edges = np.linspace(0, 1, n_bins + 1)
    total = 0.0
    for i in range(n_bins):
        upper = confidence <= edges[i + 1] if i < n_bins - 1 else np.ones_like(confidence, dtype=bool)
        lower = confidence > edges[i] if i > 0 else np.ones_like(confidence, dtype=bool)
        inside = lower & upper
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return total


def test_expected_calibration_error_is_the_bin_weighted_gap(chapter):
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.1, 1.0, 2000)
    correct = rng.random(2000) < confidence ** 0.5  # under-confident: right more often than it says
    ece = chapter["expected_calibration_error"](confidence, correct)
    assert ece == pytest.approx(_ece_by_hand(confidence, correct), abs=1e-12)
    assert ece > 0.05
    confidence = rng.uniform(0.1, 1.0, 200_000)
    calibrated = rng.random(200_000) < confidence  # right exactly as often as it says, up to sampling
    assert chapter["expected_calibration_error"](confidence, calibrated) < 0.01


def test_shift_digits_moves_and_pads_with_background(chapter):
    x = np.zeros((1, 28, 28, 1), np.float32)
    x[0, 0, 27, 0] = 1.0  # top right corner
    moved = chapter["shift_digits"](x, -2, 3)  # 2 left, 3 down
    assert moved[0, 3, 25, 0] == 1.0 and moved.sum() == 1.0
    assert chapter["shift_digits"](x, 1, 0).sum() == 0.0  # out of the frame, not wrapped round


def test_exercise_1_calibration_of_made_up_predictors(chapter):
    scope = {"np": np, "expected_calibration_error": chapter["expected_calibration_error"]}
    exec(solution_code("ex-aug-1"), scope)
    assert scope["always_sure"] == pytest.approx(0.005)
    assert scope["honest"] == pytest.approx(0.0, abs=1e-12)


def test_exercise_3_slicing_equals_shift_digits(chapter):
    rng = np.random.default_rng(1)
    x_test = rng.random((100, 28, 28, 1), dtype=np.float32)  # ink everywhere: every border pixel counts
    scope = {"np": np, "x_test": x_test, "shift_digits": chapter["shift_digits"]}
    exec(solution_code("ex-aug-3"), scope)  # asserts equality for all 49 shifts itself
    assert not np.array_equal(scope["shift_with_slicing"](x_test, 1, 0), np.roll(x_test, 1, axis=2))
    np.testing.assert_array_equal(scope["shift_with_slicing"](x_test, 2, -1),
                                  ndimage.shift(x_test, (0, -1, 2, 0), order=0, mode="constant", cval=0.0))
