"""Chapter 3's visible code is the code the package archives.

The chapter's own cells (``build_cnn``, ``CNN_RECIPE``, ``train_cnn``) are run with
``tests/chapter_code.py`` and compared with ``mnist_helpers.models.build_cnn``,
``mnist_helpers.recipes.CHAPTER3_CNN`` and ``mnist_helpers.recipes.train_recipe``.
"""

from __future__ import annotations

import numpy as np
import pytest

from chapter_code import chapter_definitions, layer_configs
from mnist_helpers import models, recipes
from mnist_helpers.config import get_profile
from mnist_helpers.data import Splits

SMOKE = get_profile("smoke")


@pytest.fixture(scope="module")
def chapter():
    return chapter_definitions("03_cnn", "build_cnn", "CNN_RECIPE", "train_cnn", namespace={"profile": SMOKE})


def _ablations(recipe):
    """The chapter's two ablations, as the brief of chapter 3 fixes them."""
    return [
        {**recipe["model"], "batch_norm": False},
        {**recipe["model"], "dropout": 0.0, "dense_dropout": 0.0},
    ]


def test_recipe_equals_the_archive(chapter):
    assert chapter["CNN_RECIPE"] == recipes.CHAPTER3_CNN
    assert chapter["CNN_RECIPE"]["model"] == recipes.COMPACT_CNN


@pytest.mark.parametrize("which", ["defaults", "recipe", "no batch norm", "no dropout"])
def test_chapter_cnn_equals_the_package_cnn(chapter, which):
    """Layer by layer, the chapter's build_cnn and the package's build the same model."""
    kwargs = {
        "defaults": {},
        "recipe": recipes.CHAPTER3_CNN["model"],
        "no batch norm": _ablations(recipes.CHAPTER3_CNN)[0],
        "no dropout": _ablations(recipes.CHAPTER3_CNN)[1],
    }[which]
    shown, archived = chapter["build_cnn"](**kwargs), models.build_cnn(**kwargs)
    assert layer_configs(shown) == layer_configs(archived)
    assert shown.count_params() == archived.count_params()
    assert shown.name == archived.name


def test_the_ablations_change_only_what_they_name(chapter):
    """Without batch norm: no BatchNormalization and biases instead; without dropout: rates at zero."""
    no_bn, no_dropout = (chapter["build_cnn"](**kwargs) for kwargs in _ablations(recipes.CHAPTER3_CNN))
    kinds = [type(layer).__name__ for layer in no_bn.layers]
    assert "BatchNormalization" not in kinds
    assert all(layer.use_bias for layer in no_bn.layers if type(layer).__name__ in ("Conv2D", "Dense"))
    rates = [layer.rate for layer in no_dropout.layers if type(layer).__name__ == "Dropout"]
    assert rates == [0.0] * 4


def _tiny_splits(n_train=256, n_val=64, seed=0) -> Splits:
    """A few hundred synthetic raw images: enough for a step of training, not for learning."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n_train + n_val, 28, 28), dtype=np.uint8)
    y = np.arange(n_train + n_val) % 10
    return Splits(x[:n_train], y[:n_train], x[n_train:], y[n_train:], x[n_train:], y[n_train:],
                  np.arange(n_val), SMOKE)


def test_train_cnn_trains_what_train_recipe_trains(chapter):
    """The chapter's train_cnn and the package's train_recipe give the same weights and history."""
    tiny = {**recipes.CHAPTER3_CNN, "model": {**recipes.COMPACT_CNN, "filters": [8, 16], "dense_units": 16},
            "batch_size": 64}
    splits = _tiny_splits()
    shown, shown_history = chapter["train_cnn"](tiny, splits)
    archived, archived_history = recipes.train_recipe(tiny, splits, SMOKE)
    assert len(shown_history.history["loss"]) == 1  # the smoke profile's one epoch
    assert shown_history.history.keys() == archived_history.history.keys()
    for key in shown_history.history:
        assert np.allclose(shown_history.history[key], archived_history.history[key]), key
    weights, archived_weights = shown.get_weights(), archived.get_weights()
    assert len(weights) == len(archived_weights)
    assert all(np.allclose(a, b) for a, b in zip(weights, archived_weights))
    # and the weights did move: a model that had not trained would pass the comparison too
    chapter_fresh = models.build_cnn(**tiny["model"])
    assert not all(np.allclose(a, b) for a, b in zip(weights, chapter_fresh.get_weights()))


def test_repeat_with_steps_per_epoch_shows_every_image_once_per_epoch():
    """The pipeline of train_cnn: one iterator over ``dataset.repeat()`` with ``steps_per_epoch``
    still gives each epoch every training image once, in a new order every epoch."""
    import keras
    import tensorflow as tf

    n, batch = 48, 16
    x = np.zeros((n, 28, 28, 1), dtype=np.float32)
    x[:, 0, 0, 0] = np.arange(n)  # tag each image with its index
    y = np.arange(n) % 10
    dataset = (tf.data.Dataset.from_tensor_slices((x, y))
               .shuffle(n, seed=0, reshuffle_each_iteration=True).batch(batch).prefetch(tf.data.AUTOTUNE))
    seen: list[list[int]] = []

    class Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append([])

    keras.utils.set_random_seed(0)
    model = models.build_dense(hidden_units=4)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    original = model.train_step

    def train_step(data):
        tf.py_function(lambda v: seen[-1].extend(int(i) for i in v.numpy()), [data[0][:, 0, 0, 0]], [])
        return original(data)

    model.train_step = train_step
    model.run_eagerly = True
    model.fit(dataset.repeat(), steps_per_epoch=n // batch, epochs=3, callbacks=[Record()], verbose=0)
    assert [sorted(ids) for ids in seen] == [list(range(n))] * 3
    assert seen[0] != seen[1]
