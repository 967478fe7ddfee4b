"""Chapter 4's visible definitions equal their archive in ``mnist_helpers.augment`` and
``mnist_helpers.recipes``: the same augmentation layers, the same batches, the same callbacks, the
same trained weights for the same seed, the same recipes and the same test-time augmentation."""

import numpy as np
import pandas as pd
import pytest

from chapter_code import chapter_definitions, layer_configs, tiny_splits
from mnist_helpers import augment, recipes
from mnist_helpers.config import get_profile

SMOKE = get_profile("smoke")


@pytest.fixture(scope="module")
def chapter():
    return chapter_definitions(
        "04_augmentation", "PRESETS", "build_augmenter", "make_train_dataset", "make_callbacks", "train_recipe",
        "COSINE_RECIPE", "PLATEAU_RECIPE", "predict_tta", namespace={"profile": SMOKE, "pd": pd},
    )


def _images(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 28, 28, 1), dtype=np.float32), np.arange(n) % 10



def test_chapter_presets_and_augmenter_equal_the_archive(chapter):
    assert chapter["PRESETS"] == {name: preset.as_dict() for name, preset in augment.PRESETS.items()}
    assert chapter["build_augmenter"]("none", seed=0) is None and augment.build_augmenter("none", seed=0) is None
    for preset in ("mild", "strong"):
        for seed in (0, 4, 123):
            shown = layer_configs(chapter["build_augmenter"](preset, seed=seed))
            archived = layer_configs(augment.build_augmenter(preset, seed=seed))
            assert shown == archived, (preset, seed)
            assert len({config["seed"] for _, config in shown}) == 3  # one seed per layer


def test_chapter_pipeline_gives_the_archive_batches(chapter):
    x, y = _images(40)
    for preset, seed in (("mild", 3), ("strong", 4), ("none", 5)):
        shown = chapter["make_train_dataset"](x, y, batch_size=16, augment=preset, seed=seed).repeat(2)
        archived = augment.make_train_dataset(x, y, batch_size=16, augment=preset, seed=seed).repeat(2)
        pairs = list(zip(shown.as_numpy_iterator(), archived.as_numpy_iterator()))
        assert len(pairs) == 6  # two epochs of three batches: the reshuffled epoch agrees too
        for (x_shown, y_shown), (x_archived, y_archived) in pairs:
            np.testing.assert_array_equal(x_shown, x_archived)
            np.testing.assert_array_equal(y_shown, y_archived)


def test_chapter_callbacks_equal_the_archive(chapter):
    settings = recipes.CHAPTER4_PLATEAU["callbacks"]
    shown, archived = chapter["make_callbacks"](**settings), recipes.make_callbacks(**settings)
    assert [type(c).__name__ for c in shown] == [type(c).__name__ for c in archived] == [
        "CheckMonitors", "EarlyStopping", "ReduceLROnPlateau"]
    for a, b in zip(shown[1:], archived[1:]):
        for attribute in ("monitor", "patience", "factor", "min_lr", "restore_best_weights", "mode"):
            assert getattr(a, attribute, None) == getattr(b, attribute, None), attribute
    assert shown[1].monitor == "val_loss" and shown[1].patience == 4 and shown[1].restore_best_weights
    assert shown[2].factor == 0.5 and shown[2].patience == 1 and shown[2].min_lr == 1e-5


def test_chapter_recipes_equal_the_archive(chapter):
    assert chapter["COSINE_RECIPE"] == recipes.CHAPTER4_BEST
    assert chapter["PLATEAU_RECIPE"] == recipes.CHAPTER4_PLATEAU


@pytest.mark.parametrize("recipe_name", ["CHAPTER4_BEST", "CHAPTER4_PLATEAU"])
def test_chapter_training_function_gives_the_archive_weights(chapter, recipe_name):
    """Same order of operations, so the same seed gives the same weights (a cosine and a plateau recipe)."""
    config = getattr(recipes, recipe_name)
    tiny = {**config, "model": {**config["model"], "filters": [4], "dense_units": 8}, "batch_size": 32}
    splits = tiny_splits()
    shown_model, shown_history = chapter["train_recipe"](tiny, splits)
    archived_model, archived_history = recipes.train_recipe(tiny, splits, SMOKE)
    assert sorted(shown_history.history) == sorted(archived_history.history)
    assert "learning_rate" in shown_history.history and "val_loss" in shown_history.history
    for a, b in zip(shown_model.get_weights(), archived_model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_chapter_tta_equals_the_archive(chapter):
    import keras

    x, _ = _images(12)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    np.testing.assert_allclose(chapter["predict_tta"](model, x), augment.predict_tta(model, x), rtol=1e-6)
    np.testing.assert_allclose(chapter["predict_tta"](model, x, copies=2, seed=7),
                               augment.predict_tta(model, x, copies=2, seed=7), rtol=1e-6)
