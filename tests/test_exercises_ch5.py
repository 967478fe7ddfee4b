"""Chapter 5's exercises stay solvable: the python code of a solution, taken from the notebook's
``{solution}`` directive, runs against the chapter's own definitions and gives what the solution says."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pandas as pd
import pytest

from chapter_code import NOTEBOOKS, chapter_definitions
from mnist_helpers.analysis import predictions_frame

CHAPTER = "05_error_analysis"


def solution_code(label: str) -> str:
    """The fenced python block of the solution to exercise ``label``."""
    notebook = json.loads((NOTEBOOKS / f"{CHAPTER}.ipynb").read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and re.search(rf"\{{solution\}}\s+{re.escape(label)}\b", source):
            solution = source[source.index("{solution}"):]
            blocks = re.findall(r"```python\n(.*?)\n```", solution, flags=re.S)
            assert len(blocks) == 1, f"the solution to {label} should have one python block, has {len(blocks)}"
            return blocks[0]
    raise LookupError(f"no solution to {label} in {CHAPTER}")


def test_ex_errors_1_a_wider_margin_moves_errors_from_failure_to_ambiguous():
    rng = np.random.default_rng(0)
    n = 400
    logits = rng.normal(size=(n, 10)) * 2.5
    y = rng.integers(0, 10, n)
    logits[np.arange(n), y] += 1.5
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    frame = predictions_frame(probs, y)
    errors = frame[~frame["correct"]].sort_values("confidence", ascending=False)
    scope = chapter_definitions(CHAPTER, "NOISE_CONFIDENCE", "label_noise", namespace={"errors": errors})
    before = scope["category_counts"].copy()
    exec(solution_code("ex-errors-1"), scope)
    after = scope["wider_counts"]
    assert after["label noise"] == before["label noise"]
    assert after["ambiguous"] > before["ambiguous"]
    assert after["ambiguous"] - before["ambiguous"] == before["model failure"] - after["model failure"]
    assert after.sum() == before.sum() == len(errors)


@pytest.mark.realdata
@pytest.mark.skipif(not os.environ.get("MNIST_DATA_DIR"), reason="set MNIST_DATA_DIR to the folder with the four original files")
def test_ex_errors_3_a_linear_model_underfits():
    from mnist_helpers.config import get_profile
    from mnist_helpers.data import load_splits

    splits = load_splits(get_profile("smoke"))
    scope = chapter_definitions(CHAPTER, "UNDERFIT_TRAIN_ACCURACY", "diagnose", namespace={"splits": splits})
    exec(solution_code("ex-errors-3"), scope)
    accuracy = scope["linear_accuracy"]
    assert isinstance(accuracy, pd.Series) and list(accuracy.index) == ["train", "val", "test"]
    assert scope["diagnose"](accuracy) == "underfitting"
    assert 0.5 < accuracy["train"] < 0.99 and abs(accuracy["train"] - accuracy["val"]) < 0.1


def test_ex_errors_2_the_first_convolution_gives_full_size_maps():
    import keras
    import matplotlib

    from mnist_helpers.models import build_cnn

    matplotlib.use("Agg")
    keras.utils.set_random_seed(0)
    model = build_cnn(filters=[4, 8], dense_units=8)
    rng = np.random.default_rng(0)
    x_test = rng.uniform(0, 1, (6, 28, 28, 1)).astype(np.float32)
    shown = pd.DataFrame({"true": [1, 2, 3, 4, 5, 6], "predicted": [7, 7, 8, 9, 0, 0]})
    scope = chapter_definitions(CHAPTER, "split_model", "grad_cam",
                                namespace={"model": model, "x_test": x_test, "shown": shown, "PER_PAIR": 2})
    exec(solution_code("ex-errors-2"), scope)
    assert scope["early_features"].output_shape[1:] == (28, 28, 4)
    assert scope["early_cam"].shape == (6, 28, 28) and np.isfinite(scope["early_cam"]).all()
