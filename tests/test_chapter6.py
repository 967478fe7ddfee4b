"""Chapter 6's sweep and targeted augmentation: the sweep's recipes are chapter 3's with other filters, and the
sheared model differs from chapter 4's mild baseline by the shear alone (same layers and seeds, same batches and
the same weights when the shear is zero)."""

import numpy as np
import pandas as pd
import pytest

from chapter_code import chapter_definitions, layer_configs, tiny_splits
from mnist_helpers import augment, recipes
from mnist_helpers.config import get_profile

SMOKE = get_profile("smoke")


@pytest.fixture(scope="module")
def chapter():
    return chapter_definitions("06_beyond_one_run", "sweep_recipe", "build_shear_augmenter", "BASELINE", "SHEAR_RECIPE",
                               "make_shear_dataset", "train_shear", namespace={"profile": SMOKE, "pd": pd})



def test_sweep_recipes_are_chapter3s_with_other_filters(chapter):
    sweep_recipe = chapter["sweep_recipe"]
    assert sweep_recipe(3, 32, epochs=10) == recipes.CHAPTER3_CNN  # chapter 3's shape and budget: chapter 3's recipe
    assert sweep_recipe(1, 16)["model"]["filters"] == [16] and sweep_recipe(2, 32)["model"]["filters"] == [32, 64]
    for depth in (1, 2, 3):
        recipe = sweep_recipe(depth, 16)
        assert recipe["epochs"] == 3
        assert {k: v for k, v in recipe.items() if k not in ("model", "epochs")} == {
            k: v for k, v in recipes.CHAPTER3_CNN.items() if k not in ("model", "epochs")}


def test_baseline_is_chapter4s_five_epoch_mild_model(chapter):
    # Chapter 4 trains `{**CHAPTER3_CNN, "augment": preset, "epochs": 5, "seed": 5}` as chapter4_augment_<preset>.
    assert chapter["BASELINE"] == {**recipes.CHAPTER3_CNN, "augment": "mild", "epochs": 5, "seed": 5}
    assert chapter["SHEAR_RECIPE"] == {**chapter["BASELINE"], "shear": 0.2}


def test_shear_augmenter_is_the_mild_one_with_a_fourth_seeded_layer(chapter):
    for seed in (0, 5, 123):
        shear = chapter["build_shear_augmenter"](0.2, seed)
        configs = layer_configs(shear)
        assert configs[:3] == layer_configs(augment.build_augmenter("mild", seed=seed))
        name, config = configs[3]
        assert name == "RandomShear" and config["x_factor"] == (-0.2, 0.2) and config["y_factor"] == (0.0, 0.0)
        assert config["fill_mode"] == "constant" and config["fill_value"] == 0.0
        assert config["seed"] == augment.layer_seeds(seed, 4)[3] not in augment.layer_seeds(seed, 3)


def test_shear_pipeline_without_shear_gives_chapter4s_batches(chapter):
    rng = np.random.default_rng(1)
    x, y = rng.random((40, 28, 28, 1), dtype=np.float32), np.arange(40) % 10
    shown = chapter["make_shear_dataset"](x, y, 16, 0.0, seed=5).repeat(2)
    archived = augment.make_train_dataset(x, y, 16, "mild", seed=5).repeat(2)
    pairs = list(zip(shown.as_numpy_iterator(), archived.as_numpy_iterator()))
    assert len(pairs) == 6
    for (x_a, y_a), (x_b, y_b) in pairs:
        np.testing.assert_array_equal(x_a, x_b)
        np.testing.assert_array_equal(y_a, y_b)
    sheared = next(chapter["make_shear_dataset"](x, y, 16, 0.2, seed=5).as_numpy_iterator())
    assert not np.allclose(sheared[0], pairs[0][1][0]) and np.array_equal(sheared[1], pairs[0][1][1])


def test_training_without_shear_gives_chapter4s_weights(chapter):
    """Same seed, same order of operations: with a shear of zero, the chapter's function trains chapter 4's model."""
    tiny = {**chapter["BASELINE"], "model": {**recipes.CHAPTER3_CNN["model"], "filters": [4], "dense_units": 8},
            "batch_size": 32}
    splits = tiny_splits()
    shown, shown_history = chapter["train_shear"]({**tiny, "shear": 0.0}, splits)
    archived, archived_history = recipes.train_recipe(tiny, splits, SMOKE)
    assert sorted(shown_history.history) == sorted(archived_history.history)
    for a, b in zip(shown.get_weights(), archived.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
