"""Saved models: train a model once, load it on every later run.

A chapter passes its own training function to :func:`train_or_load`. The model is saved as
``<artifacts>/<name>.keras`` beside ``<name>.json``, which holds the key it was trained under (the
recipe, the profile and, for augmented models, ``augment.AUGMENT_VERSION``), its history and its
training seconds. A later run with the same key loads it; another key trains it again.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from mnist_helpers.config import Profile, artifacts_dir, get_profile


@dataclass
class FitResult:
    """A trained model's history (a dict of metric lists, as Keras logs it), epochs and seconds."""

    history: dict[str, list[float]]
    epochs: int
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        """The history as a tidy DataFrame (see ``training.history_frame``)."""
        from mnist_helpers.training import history_frame

        return history_frame(self.history)

    @classmethod
    def from_history(cls, history, seconds: float) -> "FitResult":
        """From a Keras ``History`` (or its dict) and the seconds ``fit`` took."""
        logs = {k: [float(v) for v in vals] for k, vals in getattr(history, "history", history).items()}
        return cls(history=logs, epochs=len(next(iter(logs.values()), [])), seconds=float(seconds))


def train_or_load(
    name: str,
    config: dict[str, Any],
    train_fn: Callable[[], tuple[Any, Any]],
    profile: Profile | None = None,
) -> tuple[Any, FitResult, bool]:
    """The saved model ``name`` if it was trained with this ``config`` and profile; else call
    ``train_fn()``, which returns ``(model, history)`` (a Keras ``History``), time it, save the
    model and return it.

    Returns
    -------
    (model, FitResult, loaded)
        ``loaded`` says whether the model was loaded (True) or trained now (False).
    """
    import keras

    model_path, meta_path, wanted = _artifact(name, config, profile or get_profile())
    if model_path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if {k: meta.get(k) for k in wanted} == wanted:
            model = keras.models.load_model(model_path)
            return model, FitResult(meta["history"], meta["epochs"], meta["seconds"], meta.get("extra", {})), True
    start = time.perf_counter()
    model, history = train_fn()
    result = FitResult.from_history(history, time.perf_counter() - start)
    save_trained(name, config, model, result, profile)
    return model, result, False


def save_trained(name: str, config: dict[str, Any], model, result: FitResult, profile: Profile | None = None) -> Path:
    """Save a trained ``model`` under ``name`` with its key, history and seconds, where
    :func:`train_or_load` finds it. Returns the model's path."""
    model_path, meta_path, wanted = _artifact(name, config, profile or get_profile())
    model.save(model_path)
    meta_path.write_text(json.dumps({**wanted, "history": result.history, "epochs": result.epochs,
                                     "seconds": result.seconds, "extra": result.extra}, indent=1))
    return model_path


def saved_model_path(name: str, profile: Profile | None = None) -> Path:
    """Where :func:`train_or_load` keeps the model ``name`` for a profile."""
    return artifacts_dir(profile) / f"{name}.keras"


def _artifact(name: str, config: dict[str, Any], profile: Profile) -> tuple[Path, Path, dict[str, Any]]:
    """The model and metadata paths of ``name`` and the key (configuration and profile, as JSON
    round-trips them) that a saved model must match to be loaded."""
    from mnist_helpers.augment import AUGMENT_VERSION

    model_path = saved_model_path(name, profile)
    key = {"config": config, "profile": profile.name}
    if config.get("augment", "none") != "none":
        key["augment_version"] = AUGMENT_VERSION  # a model augmented by another version is retrained
    key = json.loads(json.dumps(key))
    return model_path, model_path.with_suffix(".json"), key
