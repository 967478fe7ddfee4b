"""Chapter 2's exercises stay solvable: each solution's code runs as written in the chapter (see
``test_exercises_ch1.solution_code``), on made-up logits or the smoke profile's split."""

from __future__ import annotations

import os

import numpy as np
import pytest

from chapter_code import chapter_definitions
from mnist_helpers.config import get_profile
from mnist_helpers.data import load_splits, prepare
from test_exercises_ch1 import solution_code

SMOKE = get_profile("smoke")
REAL = os.environ.get("MNIST_DATA_DIR")


@pytest.fixture(scope="module")
def chapter():
    """The chapter's imports, its model (built, not trained) and ``accuracy_in_mode``."""
    return chapter_definitions("02_dense_baseline", "SEED", "model", "accuracy_in_mode", namespace={"profile": SMOKE})


@pytest.mark.parametrize("logits", [[2.0, -1.0, 0.5, 3.0, 0.0, -2.0, 1.0, 0.2, -0.5, 2.5], [9.0, 0, 0, 0, 0, 0, 0, 0, 0, -9.0]])
def test_softmax_exercise(chapter, logits):
    scope = {**chapter, "logits": np.array(logits, dtype="float32"), "label": 3}
    exec(solution_code("02_dense_baseline", "ex-dense-1"), scope)  # the solution asserts its own answers


def test_loss_exercise(chapter):
    """The mean of -ln p over images is the loss evaluate reports."""
    import keras
    import pandas as pd

    rng = np.random.default_rng(0)
    x_val, y_val = rng.random((64, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 64)
    model = keras.models.clone_model(chapter["model"])
    model.compile(loss="sparse_categorical_crossentropy")
    table = pd.DataFrame({"loss": {"validation": model.evaluate(x_val, y_val, verbose=0)}})
    scope = {**chapter, "probabilities": model.predict(x_val, verbose=0), "y_val": y_val, "table": table}
    exec(solution_code("02_dense_baseline", "ex-dense-2"), scope)
    assert abs(scope["mean_loss"] - table.at["validation", "loss"]) < 1e-4


@pytest.fixture(scope="module")
def smoke_data(chapter):
    splits = load_splits(SMOKE)
    return {**chapter, "x_train": prepare(splits.x_train), "y_train": splits.y_train,
            "x_val": prepare(splits.x_val), "y_val": splits.y_val, "EPOCHS": 1}


@pytest.mark.realdata
@pytest.mark.skipif(not REAL, reason="set MNIST_DATA_DIR to the folder with the four original files")
def test_stronger_dropout_exercise_trains(smoke_data):
    scope = dict(smoke_data)
    exec(solution_code("02_dense_baseline", "ex-dense-3"), scope)
    assert scope["half"].layers[2].rate == 0.5 and len(scope["half_history"].history["accuracy"]) == 1


@pytest.mark.realdata
@pytest.mark.skipif(not REAL, reason="set MNIST_DATA_DIR to the folder with the four original files")
def test_inference_accuracy_callback_exercise(smoke_data):
    """The callback's figure is the training images' accuracy in inference mode with the weights at the epoch's end."""
    scope = dict(smoke_data)
    exec(solution_code("02_dense_baseline", "ex-dense-4"), scope)
    frame = scope["side_by_side"]
    assert list(frame.columns) == ["accuracy", "train_inference_accuracy", "val_accuracy"] and len(frame) == 1
    in_mode = scope["accuracy_in_mode"](scope["again"], scope["x_train"], scope["y_train"], training=False)
    assert frame["train_inference_accuracy"].iloc[-1] == pytest.approx(in_mode, abs=1e-6)
