import numpy as np
import pytest

from mnist_helpers.config import get_profile
from mnist_helpers.data import Splits
from mnist_helpers.recipes import (
    CHAPTER3_CNN,
    CHAPTER4_BEST,
    REFIT_NAME,
    load_or_train,
    refit,
    seed_model_name,
    seed_runs,
    train_recipe,
    with_seed,
)


def _tiny_splits(n=64):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    y = np.arange(n) % 10
    return Splits(x, y, x[:20], y[:20], x[:20], y[:20], np.arange(20), get_profile("smoke"))


TINY = {**CHAPTER3_CNN, "model": {**CHAPTER3_CNN["model"], "filters": [4], "dense_units": 8}, "batch_size": 32}


def test_with_seed_copies():
    other = with_seed(CHAPTER4_BEST, 99)
    assert other["seed"] == 99 and CHAPTER4_BEST["seed"] != 99 and other["model"] == CHAPTER4_BEST["model"]


def test_cosine_recipe_trains_and_unknown_schedule_is_refused():
    splits = _tiny_splits()
    model, result = train_recipe(TINY, splits, get_profile("smoke"))
    assert result.epochs == 1 and model.output_shape == (None, 10)
    with pytest.raises(ValueError, match="schedule"):
        train_recipe({**TINY, "schedule": "step"}, splits, get_profile("smoke"))


def test_cosine_recipe_with_early_stopping_only():
    """A cosine schedule takes EarlyStopping but refuses ReduceLROnPlateau, which cannot change it."""
    splits = _tiny_splits()
    early_only = {**TINY, "callbacks": {"monitor": "val_loss", "early_stopping_patience": 2, "reduce_lr_patience": None}}
    _, result = train_recipe(early_only, splits, get_profile("smoke"))
    assert result.epochs == 1 and result.history["learning_rate"] == [pytest.approx(0.0, abs=1e-9)]  # logged; the cosine ends at 0
    for callbacks in ({"monitor": "val_loss", "reduce_lr_patience": 1}, {"monitor": "val_loss"}):
        with pytest.raises(ValueError, match="reduce_lr_patience"):
            train_recipe({**TINY, "callbacks": callbacks}, splits, get_profile("smoke"))


def test_recipe_without_callbacks_trains_every_epoch_and_logs_the_rate():
    """Chapter 4's best recipe has no callbacks: it trains all its epochs (no early stopping) and its
    cosine rate is still logged for the plots."""
    assert "callbacks" not in CHAPTER4_BEST and CHAPTER4_BEST["schedule"] == "cosine"
    no_callbacks = {k: v for k, v in TINY.items() if k != "callbacks"}
    _, result = train_recipe({**no_callbacks, "epochs": 2}, _tiny_splits(), get_profile("full"))
    assert result.epochs == 2
    rates = result.history["learning_rate"]
    assert rates[0] > rates[1] == pytest.approx(0.0, abs=1e-9)


def test_seed_runs_save_one_model_per_seed_and_reload(artifacts):
    splits = _tiny_splits()
    runs = seed_runs(TINY, [1, 2], splits, name="tiny", profile=get_profile("smoke"))
    assert [seed for seed, *_ in runs] == [1, 2] and not any(loaded for *_, loaded in runs)
    again = seed_runs(TINY, [1, 2], splits, name="tiny", profile=get_profile("smoke"))
    assert all(loaded for *_, loaded in again)
    _, _, loaded = load_or_train("tiny_seed1", with_seed(TINY, 1), splits, get_profile("smoke"))
    assert loaded


def test_refit_trains_on_training_and_validation_images_without_validating():
    """Chapter 6's last step: the chosen recipe trained again on all the labelled training images."""
    no_callbacks = {k: v for k, v in TINY.items() if k != "callbacks"}
    config = refit(no_callbacks)
    assert config["refit"] is True and "refit" not in no_callbacks
    model, result = train_recipe(config, _tiny_splits(), get_profile("smoke"))
    assert result.epochs == 1 and not any(key.startswith("val_") for key in result.history)
    assert "learning_rate" in result.history
    assert seed_model_name(refit(CHAPTER4_BEST), CHAPTER4_BEST["seed"], REFIT_NAME) == f"chapter6_refit_seed{CHAPTER4_BEST['seed']}"


def test_refit_refuses_callbacks_that_need_validation():
    with_callbacks = {**TINY, "callbacks": {"monitor": "val_loss", "early_stopping_patience": 2, "reduce_lr_patience": None}}
    with pytest.raises(ValueError, match="no validation data"):
        refit(with_callbacks)
    with pytest.raises(ValueError, match="no validation data"):
        train_recipe({**with_callbacks, "refit": True}, _tiny_splits(), get_profile("smoke"))


def test_seed_model_name_matches_chapter4_for_its_own_seed():
    assert seed_model_name(CHAPTER4_BEST, CHAPTER4_BEST["seed"]) == "chapter4_best"
    assert seed_model_name(CHAPTER4_BEST, CHAPTER4_BEST["seed"] + 1) == f"chapter6_seed{CHAPTER4_BEST['seed'] + 1}"
    assert seed_model_name(CHAPTER3_CNN, CHAPTER4_BEST["seed"], name="other") == f"other_seed{CHAPTER4_BEST['seed']}"


def test_chapter4_compares_plateau_and_cosine_on_the_same_budget():
    from mnist_helpers.recipes import CHAPTER4_BEST, CHAPTER4_PLATEAU

    for key in ("model", "epochs", "batch_size", "learning_rate", "augment", "seed"):
        assert CHAPTER4_PLATEAU[key] == CHAPTER4_BEST[key], key
    assert CHAPTER4_BEST["schedule"] == "cosine" and "schedule" not in CHAPTER4_PLATEAU


def test_chapter6_candidate_changes_only_the_block_dropout():
    from mnist_helpers.recipes import CHAPTER4_BEST, CHAPTER6_CANDIDATE, CHAPTER6_CANDIDATE_NAME

    assert {k: v for k, v in CHAPTER6_CANDIDATE.items() if k != "model"} == {k: v for k, v in CHAPTER4_BEST.items() if k != "model"}
    changed = {k for k in CHAPTER4_BEST["model"] if CHAPTER6_CANDIDATE["model"][k] != CHAPTER4_BEST["model"][k]}
    assert changed == {"dropout"} and CHAPTER6_CANDIDATE["model"]["dropout"] > CHAPTER4_BEST["model"]["dropout"]
    # Its seed models get their own names, never chapter 4's or the refit models'.
    assert seed_model_name(CHAPTER6_CANDIDATE, CHAPTER4_BEST["seed"], CHAPTER6_CANDIDATE_NAME) == f"chapter6_candidate_seed{CHAPTER4_BEST['seed']}"
