"""Saved models: :func:`train_or_load` trains a model once and loads it on every later run.

``<artifacts>/<name>.keras`` and ``<name>.json`` (key, history, seconds) move in by ``os.replace``, metadata last:
a kill leaves the old model, the new one or one without metadata. That, another key, or a model that cannot be
loaded (reported in one line, set aside as ``<file>.broken-<time>``) trains again. ``<name>.keras.lock`` serialises."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


def train_or_load(name: str, config: dict[str, Any], train_fn: Callable[[], tuple[Any, Any]],
                  profile: Profile | None = None) -> tuple[Any, FitResult, bool]:
    """The model saved as ``name`` under this ``config`` and profile, else ``train_fn()``'s ``(model, History)``,
    timed and saved: ``(model, FitResult, loaded)``. A second process asking for the name waits, then loads
    this one's model; an exception in ``train_fn`` (Ctrl-C included) propagates and saves nothing."""
    model_path, meta_path, wanted = _artifact(name, config, profile or get_profile())
    with locked(model_path, f"training or loading {name}"):
        if (saved := _load(model_path, meta_path, wanted)) is not None:
            return (*saved, True)
        print(first_run_message(name, config, profile or get_profile()), flush=True)
        start = time.perf_counter()
        model, history = train_fn()
        result = FitResult.from_history(history, time.perf_counter() - start)
        _save(model_path, meta_path, wanted, model, result)
    return model, result, False


def first_run_message(name: str, config: dict[str, Any], profile: Profile) -> str:
    """One line before training ``name``: its epochs and about how long (45 s a full epoch for a CNN recipe,
    whose config has a ``model``, else 3 s for a dense network, on a 2-core CPU)."""
    epochs, epoch_seconds = profile.epochs(int(config.get("epochs", 1))), 45.0 if "model" in config else 3.0
    minutes = epochs * epoch_seconds * (profile.n_train or 55_000) / 55_000 / 60
    took = f"about {round(minutes)} min" if minutes >= 1 else "under a minute"
    return (f"No saved model '{name}' for the {profile.name} profile yet: training it now, {epochs} epoch{'s' * (epochs != 1)}, "
            f"{took} on a 2-core CPU ({epoch_seconds:.0f} s a full epoch there).")


def save_trained(name: str, config: dict[str, Any], model, result: FitResult, profile: Profile | None = None) -> Path:
    """Save a trained ``model`` where :func:`train_or_load` finds it under ``name``; return its path."""
    model_path, meta_path, wanted = _artifact(name, config, profile or get_profile())
    with locked(model_path, f"training or loading {name}"):
        _save(model_path, meta_path, wanted, model, result)
    return model_path


def saved_model_path(name: str, profile: Profile | None = None) -> Path:
    """Where :func:`train_or_load` keeps the model ``name`` for a profile."""
    return artifacts_dir(profile) / f"{name}.keras"


@contextmanager
def locked(path: Path, doing: str, quiet_seconds: float = 1.0) -> Iterator[None]:
    """Hold the file lock ``<path>.lock``; say on stderr if this waits longer than ``quiet_seconds`` for a process ``doing``."""
    from filelock import FileLock, Timeout

    lock = FileLock(f"{path}.lock")
    try:
        held = lock.acquire(timeout=quiet_seconds)
    except Timeout:
        print(f"Waiting for another process {doing} (it holds {lock.lock_file}) ...", file=sys.stderr, flush=True)
        held = lock.acquire()
    with held:  # released on any exit, Ctrl-C included
        yield


def temporary_beside(path: Path) -> Path:
    """A temporary name beside ``path`` (same suffix, for Keras), after removing a killed process's; hold the lock."""
    for stale in path.parent.glob(f".{path.name}.*.tmp{path.suffix}"):
        stale.unlink(missing_ok=True)
    return path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")


def sync(path: Path) -> None:
    """Flush a file, or a folder's list of names, to the disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def replace_with(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, flush it and move it onto ``path``."""
    temp = temporary_beside(path)
    try:
        temp.write_text(text, encoding="utf-8")
        sync(temp)
        os.replace(temp, path)
        sync(path.parent)
    finally:
        temp.unlink(missing_ok=True)


def _save(model_path: Path, meta_path: Path, key: dict[str, Any], model, result: FitResult) -> None:
    """Write model and metadata beside their places, move them in, metadata last (the old one removed first)."""
    model_temp = temporary_beside(model_path)
    try:
        model.save(model_temp)
        sync(model_temp)
        meta_path.unlink(missing_ok=True)
        os.replace(model_temp, model_path)
    finally:
        model_temp.unlink(missing_ok=True)
    meta = {**key, "history": result.history, "epochs": result.epochs, "seconds": result.seconds, "extra": result.extra}
    replace_with(meta_path, json.dumps(meta, indent=1))


def _load(model_path: Path, meta_path: Path, key: dict[str, Any]) -> tuple[Any, FitResult] | None:
    """The model and :class:`FitResult` saved under ``key``, else ``None`` (damaged files are set aside)."""
    if not meta_path.exists():
        if model_path.exists():
            _set_aside(model_path, meta_path, f"{model_path} has no metadata beside it (its saving was cut short)")
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if not isinstance(meta, dict):
            raise ValueError(f"expected a JSON object, got {type(meta).__name__}")
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        _set_aside(model_path, meta_path, f"{meta_path} is not valid metadata", error)
        return None
    if {k: meta.get(k) for k in key} != key:
        return None
    import keras

    try:
        return keras.models.load_model(model_path), FitResult(meta["history"], meta["epochs"], meta["seconds"],
                                                              meta.get("extra", {}))
    except Exception as error:  # a file cut short, empty, or from another Keras version
        _set_aside(model_path, meta_path, f"{model_path} cannot be loaded", error)
        return None


def _set_aside(model_path: Path, meta_path: Path, why: str, error: Exception | None = None) -> None:
    """Rename the model and metadata to ``<file>.broken-<time>`` and say why in one line (``error``'s first)."""
    suffix = time.strftime(".broken-%Y%m%dT%H%M%S")
    for path in (model_path, meta_path):
        if path.exists():
            os.replace(path, f"{path}{suffix}")
    first_line = "" if error is None else f" ({type(error).__name__}: {(str(error).strip().splitlines() or [''])[0][:200]})"
    print(f"{why}{first_line}; set aside as *{suffix}, training {model_path.stem} again.", file=sys.stderr, flush=True)


def _artifact(name: str, config: dict[str, Any], profile: Profile) -> tuple[Path, Path, dict[str, Any]]:
    """The model and metadata paths of ``name`` and the key (as JSON round-trips it) a saved model must match."""
    from mnist_helpers.augment import AUGMENT_VERSION

    model_path = saved_model_path(name, profile)
    key = {"config": config, "profile": profile.name}
    if config.get("augment", "none") != "none":
        key["augment_version"] = AUGMENT_VERSION  # a model augmented by another version is retrained
    return model_path, model_path.with_suffix(".json"), json.loads(json.dumps(key))
