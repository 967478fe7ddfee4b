"""Chapter 1's exercises stay solvable: each solution's code runs as written in the chapter.

``solution_code`` reads the python block of a ``{solution}`` directive from a chapter's markdown; the
tests run it in a namespace with the names the chapter provides by then (the chapter's own definitions
through ``tests/chapter_code.py``, and the smoke profile's split for those that train).
"""

from __future__ import annotations

import os
import re

import nbformat
import numpy as np
import pytest

from chapter_code import NOTEBOOKS, chapter_definitions
from mnist_helpers.config import get_profile
from mnist_helpers.data import load_splits, prepare

SMOKE = get_profile("smoke")
REAL = os.environ.get("MNIST_DATA_DIR")


def solution_code(chapter: str, label: str) -> str:
    """The python code block of the ``{solution}`` directive for exercise ``label`` in ``chapter``."""
    cells = nbformat.read(NOTEBOOKS / f"{chapter}.ipynb", 4).cells
    sources = [c.source for c in cells if c.cell_type == "markdown" and re.search(rf"\{{solution\}}\s+{re.escape(label)}\b", c.source)]
    if len(sources) != 1:
        raise LookupError(f"expected one solution of {label} in {chapter}, found {len(sources)}")
    blocks = re.findall(r"```python\n(.*?)\n```", sources[0], flags=re.DOTALL)
    if len(blocks) != 1:
        raise LookupError(f"expected one python block in the solution of {label}, found {len(blocks)}")
    return blocks[0]


@pytest.fixture(scope="module")
def raw_images():
    """Random uint8 images standing in for ``x_train_all`` where only shapes matter."""
    return np.random.default_rng(0).integers(0, 256, (8, 28, 28), dtype=np.uint8)


@pytest.fixture(scope="module")
def chapter():
    """The chapter's imports and its two definitions, ``small_dense`` and ``first_layer``."""
    return chapter_definitions("01_pipeline", "small_dense", "first_layer", namespace={"profile": SMOKE})


@pytest.mark.parametrize("label", ["ex-pipeline-1", "ex-pipeline-2"])
def test_shape_exercises(chapter, raw_images, label):
    scope = {**chapter, "x_train_all": raw_images}
    exec(solution_code("01_pipeline", label), scope)  # the solution asserts its own answers


@pytest.fixture(scope="module")
def smoke_data(chapter):
    """The chapter's names at the experiments, on the smoke split: data, seed, epochs, the scaled fit."""
    import keras

    splits = load_splits(SMOKE)
    x_train, y_train = prepare(splits.x_train), splits.y_train
    x_val, y_val = prepare(splits.x_val), splits.y_val
    keras.utils.set_random_seed(1)
    scaled = chapter["small_dense"]().fit(x_train, y_train, batch_size=128, epochs=1, validation_data=(x_val, y_val), verbose=0)
    return {**chapter, "x_train": x_train, "y_train": y_train, "x_val": x_val, "y_val": y_val, "SEED": 1, "EPOCHS": 1,
            "inputs": {"raw": (x_train * 255, x_val * 255), "scaled": (x_train, x_val)}, "histories": {"scaled": scaled}}


@pytest.mark.realdata
@pytest.mark.skipif(not REAL, reason="set MNIST_DATA_DIR to the folder with the four original files")
def test_standardizing_exercise_trains(smoke_data):
    scope = dict(smoke_data)
    exec(solution_code("01_pipeline", "ex-pipeline-3"), scope)
    assert 0.5 < scope["standardized_history"].history["val_accuracy"][-1] <= 1
    assert abs(scope["mean"]) > 0.05 and scope["std"] > 0.1  # statistics of the training images, not of standardized ones


@pytest.mark.realdata
@pytest.mark.skipif(not REAL, reason="set MNIST_DATA_DIR to the folder with the four original files")
def test_smaller_learning_rate_exercise_keeps_the_saturated_start(smoke_data):
    """The solution's claims: the initial loss is the raw network's, the first step moves the outputs far less."""
    import keras

    scope = dict(smoke_data)
    exec(solution_code("01_pipeline", "ex-pipeline-4"), scope)
    raw_fit, raw_check = scope["inputs"]["raw"]
    keras.utils.set_random_seed(1)
    raw = scope["small_dense"]()
    before = scope["first_layer"](raw, raw_check)
    assert abs(scope["slow_initial_loss"] - raw.evaluate(raw_check, scope["y_val"], verbose=0)[0]) < 1e-3
    raw.train_on_batch(raw_fit[:128], scope["y_train"][:128])
    raw_step = np.abs(scope["first_layer"](raw, raw_check) - before).mean()
    scaled_fit, scaled_check = scope["inputs"]["scaled"]
    keras.utils.set_random_seed(1)
    scaled = scope["small_dense"]()
    before = scope["first_layer"](scaled, scaled_check)
    scaled.train_on_batch(scaled_fit[:128], scope["y_train"][:128])
    scaled_step = np.abs(scope["first_layer"](scaled, scaled_check) - before).mean()
    assert scope["slow_output_step"] < raw_step / 50, (scope["slow_output_step"], raw_step)
    assert scaled_step / 3 < scope["slow_output_step"] < 3 * scaled_step, (scope["slow_output_step"], scaled_step)
