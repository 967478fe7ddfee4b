"""Plumbing beside the chapters' own ``compile`` and ``fit``: verbosity, two callbacks, tidy
histories and accuracies on the three splits."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

VERBOSE_ENV = "MNIST_VERBOSE"


def fit_verbosity() -> int | str:
    """``verbose`` for ``model.fit``: ``$MNIST_VERBOSE`` (the book build sets 2, a line per epoch),
    else ``"auto"`` (a progress bar in Jupyter). Raises ``ValueError`` for a value Keras does not take."""
    value = os.environ.get(VERBOSE_ENV, "").strip()
    if value in ("", "auto"):
        return "auto"
    if value not in ("0", "1", "2"):
        raise ValueError(f"{VERBOSE_ENV} must be 0, 1, 2 or auto, got {value!r}")
    return int(value)


def check_monitors(*monitors: str):
    """A Keras callback that fails at the end of the first epoch if a monitored metric is not
    logged (chapter 4). ``EarlyStopping`` and ``ReduceLROnPlateau`` only warn about a misspelt
    monitor and then do nothing; this turns that into an error. Put it first in the list."""
    import keras

    class CheckMonitors(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if missing := [m for m in monitors if m not in (logs or {})]:
                raise ValueError(f"callbacks monitor {missing}, but Keras logged only {sorted(logs or {})}; "
                                 "fix the monitor name (validation metrics need validation data)")

    return CheckMonitors()


def log_learning_rate():
    """A Keras callback that adds the optimizer's current learning rate to the epoch's logs as
    ``learning_rate`` (as ``ReduceLROnPlateau`` does), so that a schedule can be plotted too."""
    import keras

    class LogLearningRate(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if logs is not None:
                logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    return LogLearningRate()


def history_frame(history) -> pd.DataFrame:
    """A Keras ``History`` (or its ``.history`` dict) as a tidy DataFrame.

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


def evaluate_splits(model, splits, batch_size: int = 512) -> dict[str, float]:
    """Training, validation and test accuracy of ``model`` on a :class:`~mnist_helpers.data.Splits`.
    Training accuracy is measured in inference mode (no dropout), like the others."""
    from mnist_helpers.data import prepare

    accuracy = {}
    for name in ("train", "val", "test"):
        probs = model.predict(prepare(getattr(splits, f"x_{name}")), batch_size=batch_size, verbose=0)
        accuracy[name] = float(np.mean(np.argmax(probs, axis=1) == np.asarray(getattr(splits, f"y_{name}"))))
    return accuracy
