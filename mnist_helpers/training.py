"""Fitting, callbacks, tidy histories and saved models (chapters 2-4).

The book trains every model through :func:`fit`, so epochs are capped by the profile, training
is timed, and the output is one line per epoch in the rendered book (``MNIST_VERBOSE=2``, which
the Makefile sets) and a progress bar in Jupyter.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from mnist_helpers.config import Profile, artifacts_dir, get_profile

VERBOSE_ENV = "MNIST_VERBOSE"


def default_verbose() -> int | str:
    """``$MNIST_VERBOSE`` if set (the book build uses 2: one line per epoch), else ``"auto"``."""
    value = os.environ.get(VERBOSE_ENV)
    return int(value) if value else "auto"


def monitor_check(monitors: list[str]):
    """A Keras callback that fails at the end of the first epoch if a monitored metric is not
    logged. ``EarlyStopping`` and ``ReduceLROnPlateau`` only warn about a misspelt monitor and then
    silently do nothing; this turns that into an error."""
    import keras

    class _MonitorCheck(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            missing = [m for m in monitors if m not in (logs or {})]
            if missing:
                raise ValueError(
                    f"callbacks monitor {missing}, but Keras logged only {sorted(logs or {})}; "
                    "fix the monitor name (validation metrics need validation data)"
                )

    return _MonitorCheck()


def learning_rate_logger():
    """A Keras callback that logs the optimizer's learning rate as ``learning_rate`` after each
    epoch (chapter 4), as ``ReduceLROnPlateau`` does, so a schedule's rate can be plotted too."""
    import keras

    class _LearningRateLogger(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if logs is not None:
                logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    return _LearningRateLogger()


def make_callbacks(
    monitor: str = "val_accuracy",
    early_stopping_patience: int = 6,
    reduce_lr_patience: int | None = 2,
    reduce_lr_factor: float = 0.5,
    min_lr: float = 1e-5,
) -> list:
    """``EarlyStopping`` (restoring the best weights) and ``ReduceLROnPlateau`` on one monitored
    metric, plus a check that the metric is really logged (chapter 4).

    ``monitor`` must be a name Keras 3 logs, such as ``val_accuracy`` or ``val_loss``.
    ``reduce_lr_patience=None`` leaves out ``ReduceLROnPlateau``, for a learning-rate schedule (such
    as the cosine decay of ``recipes.train_recipe``), which the callback cannot change; the rate is
    then still logged, by :func:`learning_rate_logger`.
    """
    import keras

    mode = "max" if "acc" in monitor else "min"
    callbacks = [
        monitor_check([monitor]),  # first, so it fails before the others warn and do nothing
        keras.callbacks.EarlyStopping(
            monitor=monitor, mode=mode, patience=early_stopping_patience, restore_best_weights=True
        ),
    ]
    if reduce_lr_patience is None:
        callbacks.append(learning_rate_logger())
    else:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor=monitor, mode=mode, factor=reduce_lr_factor, patience=reduce_lr_patience, min_lr=min_lr
        ))
    return callbacks


@dataclass
class FitResult:
    """What :func:`fit` returns: the Keras history as a dict, the epochs run and the seconds taken."""

    history: dict[str, list[float]]
    epochs: int
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        """The history as a tidy DataFrame (see :func:`history_frame`)."""
        return history_frame(self.history)


def fit(
    model,
    train,
    validation,
    epochs: int,
    batch_size: int = 128,
    callbacks: list | None = None,
    profile: Profile | None = None,
    verbose: int | str | None = None,
) -> FitResult:
    """Fit ``model`` for at most ``epochs`` (capped by the profile) and time it (introduced in chapter 1).

    Parameters
    ----------
    train : (x, y) tuple or tf.data.Dataset
        Training data; a dataset is already batched (see ``augment.make_train_dataset``).
    validation : (x, y) tuple, tf.data.Dataset or None
        Validation data, evaluated after each epoch; ``None`` for a refit on all the training
        images (chapter 6), which logs training metrics only.
    """
    profile = profile or get_profile()
    epochs = profile.epochs(epochs)
    kwargs: dict[str, Any] = {}
    if isinstance(train, tuple):
        x, y = train
        kwargs.update(x=x, y=y, batch_size=batch_size)
    else:
        kwargs.update(x=train, shuffle=False)  # a dataset shuffles itself (augment.make_train_dataset)
        steps = int(train.cardinality())
        if steps > 0:
            # One iterator for the whole fit, not a new one per epoch: on a 2-core CPU, TensorFlow
            # ran a third of the epochs that started a fresh iterator on one core (60 of 183
            # measured, 1.8-2x slower); with the repeated dataset none of 103 did. The batches are
            # the same: a dataset that reshuffles each iteration reshuffles at every repetition.
            kwargs.update(x=train.repeat(), steps_per_epoch=steps)
    start = time.perf_counter()
    history = model.fit(
        **kwargs,
        validation_data=validation,
        epochs=epochs,
        callbacks=callbacks or [],
        verbose=default_verbose() if verbose is None else verbose,
    )
    seconds = time.perf_counter() - start
    logged = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    return FitResult(history=logged, epochs=len(next(iter(logged.values()), [])), seconds=seconds)


def history_frame(history) -> pd.DataFrame:
    """A Keras ``History`` (or its ``.history`` dict) as a tidy DataFrame (introduced in chapter 1).

    Columns: ``epoch`` (from 1), ``metric`` (``accuracy``, ``loss``, ``learning_rate``...),
    ``split`` (``train`` or ``validation``; ``train`` for the learning rate) and ``value``.
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs:
        raise ValueError(f"expected a Keras History or a non-empty dict of metric lists, got {type(history).__name__}")
    rows = []
    for key, values in logs.items():
        split = "validation" if key.startswith("val_") else "train"
        metric = key[4:] if split == "validation" else key
        rows.extend({"epoch": i + 1, "metric": metric, "split": split, "value": float(v)} for i, v in enumerate(values))
    return pd.DataFrame(rows, columns=["epoch", "metric", "split", "value"])


def best_epoch(history: dict[str, list[float]], monitor: str = "val_accuracy") -> int:
    """The 1-based epoch with the best value of ``monitor`` (the one ``restore_best_weights`` keeps)."""
    values = history.get(monitor)
    if not values:
        raise ValueError(f"{monitor!r} is not in the history; it has {sorted(history)}")
    pick = np.argmax if "acc" in monitor else np.argmin
    return int(pick(values)) + 1


def evaluate_accuracy(model, x: np.ndarray, y: np.ndarray, batch_size: int = 512) -> float:
    """Accuracy of ``model`` on prepared images ``x`` with labels ``y``, as a fraction."""
    probs = model.predict(x, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(probs, axis=1) == np.asarray(y)))


def train_or_load(
    name: str,
    config: dict[str, Any],
    train_fn: Callable[[], tuple[Any, FitResult]],
    profile: Profile | None = None,
):
    """Load the saved model ``name`` if it was trained with this ``config`` and profile, else call
    ``train_fn()`` (which returns ``(model, fit_result)``), save both and return them (introduced in chapter 3).

    The model is saved as ``<artifacts>/<name>.keras`` beside ``<name>.json`` that holds the
    configuration, the profile, the history and the training seconds. A missing file, another
    configuration or another profile (or, for a model trained with augmentation, another
    ``augment.AUGMENT_VERSION``) means: train again.

    Returns
    -------
    (model, FitResult, bool)
        The last item says whether the model was loaded (True) or trained now (False).
    """
    import keras

    model_path, meta_path, wanted = _artifact(name, config, profile or get_profile())
    if model_path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if {k: meta.get(k) for k in wanted} == wanted:
            model = keras.models.load_model(model_path)
            result = FitResult(meta["history"], meta["epochs"], meta["seconds"], meta.get("extra", {}))
            return model, result, True
    model, result = train_fn()
    save_trained(name, config, model, result, profile)
    return model, result, False


def save_trained(name: str, config: dict[str, Any], model, result: FitResult, profile: Profile | None = None) -> Path:
    """Save a trained ``model`` as ``<artifacts>/<name>.keras`` with ``<name>.json`` (its
    configuration, profile, history and training seconds), where :func:`train_or_load` finds it.
    Used by ``benchmarks.best_recipe`` so that the book reuses the models it trains. Returns the
    model's path."""
    model_path, meta_path, wanted = _artifact(name, config, profile or get_profile())
    model.save(model_path)
    meta_path.write_text(json.dumps({**wanted, "history": result.history, "epochs": result.epochs,
                                     "seconds": result.seconds, "extra": result.extra}, indent=1))
    return model_path


def _artifact(name: str, config: dict[str, Any], profile: Profile) -> tuple[Path, Path, dict[str, Any]]:
    """The model and metadata paths of ``name`` and the key (configuration and profile, as JSON
    would round-trip them) that a saved model must match to be loaded."""
    from mnist_helpers.augment import AUGMENT_VERSION

    model_path = saved_model_path(name, profile)
    key = {"config": config, "profile": profile.name}
    if config.get("augment", "none") != "none":
        key["augment_version"] = AUGMENT_VERSION  # a model augmented by an older version is retrained
    key = json.loads(json.dumps(key))
    return model_path, model_path.with_suffix(".json"), key


def saved_model_path(name: str, profile: Profile | None = None) -> Path:
    """Where :func:`train_or_load` keeps the model ``name`` for a profile."""
    return artifacts_dir(profile) / f"{name}.keras"


def evaluate_splits(model, splits, batch_size: int = 512) -> dict[str, float]:
    """Training, validation and test accuracy of ``model`` on a :class:`~mnist_helpers.data.Splits`
    (chapter 2). Training accuracy is measured in inference mode (no dropout), like the others."""
    from mnist_helpers.data import prepare

    return {
        name: evaluate_accuracy(model, prepare(getattr(splits, f"x_{name}")), getattr(splits, f"y_{name}"), batch_size)
        for name in ("train", "val", "test")
    }
