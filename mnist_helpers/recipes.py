"""The book's recipes and chapter 4's training function, kept for the chapters after it.

A recipe is one dictionary (the CNN's arguments, epochs, batch size, learning rate and schedule,
augmentation, callbacks, seed). Chapters 3 and 4 write theirs, the callbacks and the training
function in visible cells; ``tests/test_archive_ch*.py`` check that this archive equals them.
Chapter 6 and ``benchmarks.best_recipe`` train more seeds with :func:`seed_runs`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from mnist_helpers.cache import FitResult
from mnist_helpers.config import Profile, get_profile

#: The compact CNN of chapters 3-6, as ``models.build_cnn``'s arguments (its defaults).
COMPACT_CNN: dict[str, Any] = {
    "filters": [32, 64, 128], "dense_units": 256, "dropout": 0.1, "dense_dropout": 0.3, "batch_norm": True,
}

#: Chapter 3: the compact CNN without augmentation, a cosine decay of the learning rate to zero.
CHAPTER3_CNN: dict[str, Any] = {
    "model": dict(COMPACT_CNN),
    "epochs": 10, "batch_size": 128, "learning_rate": 1e-3, "schedule": "cosine", "augment": "none", "seed": 3,
}

#: Chapter 4's plateau recipe: mild augmentation, batches of 64, at most 17 epochs, with
#: ``EarlyStopping`` and ``ReduceLROnPlateau`` on the validation loss.
CHAPTER4_PLATEAU: dict[str, Any] = {
    "model": dict(COMPACT_CNN),
    "epochs": 17, "batch_size": 64, "learning_rate": 1e-3, "schedule": "constant", "augment": "mild", "seed": 4,
    "callbacks": {"monitor": "val_loss", "early_stopping_patience": 4, "reduce_lr_patience": 1},
}

#: Chapter 4's best model, the book's recipe: the plateau recipe with a cosine decay to zero
#: over all 17 epochs instead of the callbacks.
CHAPTER4_BEST: dict[str, Any] = {
    "model": dict(COMPACT_CNN),
    "epochs": 17, "batch_size": 64, "learning_rate": 1e-3, "schedule": "cosine", "augment": "mild", "seed": 4,
}

#: The saved-model name of chapter 4's model, the book's recipe with its own seed.
CHAPTER4_NAME = "chapter4_best"
#: The saved-model name prefix of refit models (``benchmarks.best_recipe --refit``).
REFIT_NAME = "refit"


def make_callbacks(monitor: str, early_stopping_patience: int, reduce_lr_patience: int) -> list:
    """Chapter 4's callbacks, all on ``monitor`` (a name Keras logs, such as ``val_loss``): a check
    that it is logged (``training.check_monitors``), ``EarlyStopping`` restoring the best weights,
    and ``ReduceLROnPlateau`` halving the rate down to 1e-5."""
    import keras

    from mnist_helpers.training import check_monitors

    return [
        check_monitors(monitor),
        keras.callbacks.EarlyStopping(monitor=monitor, patience=early_stopping_patience, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5, patience=reduce_lr_patience, min_lr=1e-5),
    ]


def train_recipe(config: dict[str, Any], splits, profile: Profile | None = None):
    """Chapter 4's training function: seed, build, compile and fit a recipe on ``splits``; returns
    ``(model, history)``. A ``"refit"`` recipe (:func:`refit`) trains on the training and
    validation images and validates on nothing. Raises ``ValueError`` for an unknown schedule, or
    callbacks with a cosine schedule (which the plateau callback cannot change) or with a refit."""
    import keras

    from mnist_helpers.augment import make_train_dataset
    from mnist_helpers.data import merge_validation, prepare
    from mnist_helpers.models import build_cnn
    from mnist_helpers.training import fit_verbosity, log_learning_rate

    profile = profile or get_profile()
    schedule = config.get("schedule", "constant")
    if schedule not in ("cosine", "constant"):
        raise ValueError(f"schedule must be 'cosine' or 'constant', got {schedule!r}")
    if config.get("callbacks") and schedule == "cosine":
        raise ValueError("a cosine schedule sets the learning rate itself, so ReduceLROnPlateau cannot; expected "
                         f"no 'callbacks' with it, got {config['callbacks']}")
    if config.get("refit"):
        refit(config)  # raises ValueError for callbacks, which would need validation data
        splits = merge_validation(splits)
    keras.utils.set_random_seed(config["seed"])
    x_train, y_train = prepare(splits.x_train), splits.y_train
    validation = (prepare(splits.x_val), splits.y_val) if len(splits.y_val) else None  # None after a refit
    epochs = profile.epochs(config["epochs"])
    steps = math.ceil(len(x_train) / config["batch_size"])
    learning_rate = config["learning_rate"]
    if schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=epochs * steps)
    model = build_cnn(**config["model"])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    train_ds = make_train_dataset(x_train, y_train, config["batch_size"], config["augment"], seed=config["seed"])
    callbacks = make_callbacks(**config["callbacks"]) if config.get("callbacks") else [log_learning_rate()]
    # One iterator for the whole fit (repeat + steps_per_epoch), as chapter 3 explains.
    history = model.fit(train_ds.repeat(), steps_per_epoch=steps, shuffle=False, epochs=epochs, validation_data=validation,
                        callbacks=callbacks, verbose=fit_verbosity())
    return model, history


def refit(config: dict[str, Any]) -> dict[str, Any]:
    """A copy of a recipe that trains on the training and validation images together, once
    validation has made every choice (``benchmarks.best_recipe --refit``). Raises ``ValueError``
    for a recipe with callbacks, which would need validation data."""
    if config.get("callbacks"):
        raise ValueError(f"a refit has no validation data for callbacks to monitor; expected a recipe without "
                         f"'callbacks', got {config['callbacks']}")
    return {**config, "refit": True}


def recipe_model(name: str, config: dict[str, Any], splits, profile: Profile | None = None):
    """``cache.train_or_load`` with :func:`train_recipe`: ``(model, FitResult, loaded)``."""
    from mnist_helpers.cache import train_or_load

    profile = profile or get_profile()
    return train_or_load(name, config, lambda: train_recipe(config, splits, profile), profile)


@dataclass
class SeedRun:
    """One seed of a recipe: the seed, the trained model, its :class:`FitResult`, and whether it was loaded."""

    seed: int
    model: Any
    result: FitResult
    loaded: bool


def seed_model_name(config: dict[str, Any], seed: int, name: str = "chapter6") -> str:
    """The saved-model name of ``config`` trained with ``seed``: ``chapter4_best`` for chapter 4's
    recipe and seed, else ``<name>_seed<seed>``. Chapter 6 and the benchmark share these names."""
    if {**config, "seed": int(seed)} == CHAPTER4_BEST:
        return CHAPTER4_NAME
    return f"{name}_seed{int(seed)}"


def seed_runs(config: dict[str, Any], seeds: list[int], splits, name: str = "chapter6",
              profile: Profile | None = None) -> list[SeedRun]:
    """Train (or load) one model of ``config`` per seed, saved under :func:`seed_model_name`."""
    runs = []
    for seed in seeds:
        recipe = {**config, "seed": int(seed)}
        model, result, loaded = recipe_model(seed_model_name(config, seed, name), recipe, splits, profile)
        runs.append(SeedRun(int(seed), model, result, loaded))
    return runs
