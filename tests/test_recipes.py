import numpy as np
import pytest

from mnist_helpers.config import get_profile
from mnist_helpers.data import Splits
from mnist_helpers.recipes import (
    CHAPTER3_CNN,
    CHAPTER4_BEST,
    CHAPTER4_PLATEAU,
    REFIT_NAME,
    SeedRun,
    make_callbacks,
    recipe_model,
    refit,
    seed_model_name,
    seed_runs,
    train_recipe,
)

SMOKE = get_profile("smoke")


def _tiny_splits(n=64):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    y = np.arange(n) % 10
    return Splits(x, y, x[:20], y[:20], x[:20], y[:20], np.arange(20), SMOKE)


TINY = {**CHAPTER3_CNN, "model": {**CHAPTER3_CNN["model"], "filters": [4], "dense_units": 8}, "batch_size": 32}
TINY_PLATEAU = {**TINY, "schedule": "constant", "callbacks": CHAPTER4_PLATEAU["callbacks"]}


def test_cosine_recipe_trains_and_unknown_schedule_is_refused():
    model, history = train_recipe(TINY, _tiny_splits(), SMOKE)
    assert len(history.history["loss"]) == 1 and model.output_shape == (None, 10)
    with pytest.raises(ValueError, match="schedule must be 'cosine' or 'constant', got 'step'"):
        train_recipe({**TINY, "schedule": "step"}, _tiny_splits(), SMOKE)


def test_cosine_recipe_refuses_callbacks():
    """ReduceLROnPlateau cannot change a schedule, so a cosine recipe with callbacks is refused."""
    with pytest.raises(ValueError, match="cosine schedule sets the learning rate itself"):
        train_recipe({**TINY, "callbacks": CHAPTER4_PLATEAU["callbacks"]}, _tiny_splits(), SMOKE)


def test_cosine_recipe_trains_every_epoch_and_its_logged_rate_reaches_zero():
    _, history = train_recipe({**TINY, "epochs": 2}, _tiny_splits(), get_profile("full"))
    rates = history.history["learning_rate"]
    assert len(rates) == 2 and rates[0] > rates[1] == pytest.approx(0.0, abs=1e-9)


def test_plateau_recipe_monitors_the_validation_loss_and_logs_its_rate():
    _, history = train_recipe(TINY_PLATEAU, _tiny_splits(), SMOKE)
    assert "val_loss" in history.history and history.history["learning_rate"] == [pytest.approx(1e-3)]


def test_make_callbacks_fails_on_a_monitor_keras_does_not_log():
    import keras

    callbacks = make_callbacks("val_acc", early_stopping_patience=4, reduce_lr_patience=1)
    assert [type(c).__name__ for c in callbacks] == ["CheckMonitors", "EarlyStopping", "ReduceLROnPlateau"]
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.zeros((8, 28, 28, 1), np.float32)
    y = np.arange(8) % 10
    with pytest.raises(ValueError, match="fix the monitor name"):
        model.fit(x, y, validation_data=(x, y), epochs=1, verbose=0, callbacks=callbacks)


def test_seed_runs_save_one_model_per_seed_and_reload(artifacts):
    splits = _tiny_splits()
    runs = seed_runs(TINY, [1, 2], splits, name="tiny", profile=SMOKE)
    assert all(isinstance(run, SeedRun) for run in runs)
    assert [run.seed for run in runs] == [1, 2] and not any(run.loaded for run in runs)
    assert [run.result.epochs for run in runs] == [1, 1]
    again = seed_runs(TINY, [1, 2], splits, name="tiny", profile=SMOKE)
    assert all(run.loaded for run in again)
    _, _, loaded = recipe_model("tiny_seed1", {**TINY, "seed": 1}, splits, SMOKE)
    assert loaded
    _, _, loaded = recipe_model("tiny_seed1", {**TINY, "seed": 3}, splits, SMOKE)
    assert not loaded  # another recipe under the same name is trained again


def test_refit_trains_on_training_and_validation_images_without_validating():
    config = refit(TINY)
    assert config["refit"] is True and "refit" not in TINY
    _, history = train_recipe(config, _tiny_splits(), SMOKE)
    assert not any(key.startswith("val_") for key in history.history) and "learning_rate" in history.history
    seed = CHAPTER4_BEST["seed"]
    assert seed_model_name(refit(CHAPTER4_BEST), seed, REFIT_NAME) == f"{REFIT_NAME}_seed{seed}"


def test_refit_refuses_callbacks_that_need_validation():
    with pytest.raises(ValueError, match="no validation data"):
        refit(TINY_PLATEAU)
    with pytest.raises(ValueError, match="no validation data"):
        train_recipe({**TINY_PLATEAU, "refit": True}, _tiny_splits(), SMOKE)


def test_seed_model_name_matches_chapter4_for_its_own_seed():
    seed = CHAPTER4_BEST["seed"]
    assert seed_model_name(CHAPTER4_BEST, seed) == "chapter4_best"
    assert seed_model_name(CHAPTER4_BEST, seed + 1) == f"chapter6_seed{seed + 1}"
    assert seed_model_name(CHAPTER3_CNN, seed, name="other") == f"other_seed{seed}"


def test_chapter4_recipes_differ_only_in_how_the_rate_falls():
    """Chapter 4 compares the plateau callbacks with the cosine schedule on the same budget."""
    assert CHAPTER4_BEST["schedule"] == "cosine" and "callbacks" not in CHAPTER4_BEST
    assert CHAPTER4_PLATEAU["schedule"] == "constant" and CHAPTER4_PLATEAU["callbacks"]["monitor"] == "val_loss"
    same = {k: v for k, v in CHAPTER4_PLATEAU.items() if k not in ("schedule", "callbacks")}
    assert same == {k: v for k, v in CHAPTER4_BEST.items() if k != "schedule"}
