"""The results record: one JSON line per trained model in ``<artifacts>/<profile>/results.jsonl``.
A chapter clears its entries before it records; :func:`read_results` keeps the newest per (chapter,
model, seed). Writers hold ``results.jsonl.lock``; an append is one write and a clear replaces the
file, so a killed run leaves the old or the new record. Unreadable lines are skipped with a warning."""

from __future__ import annotations

import io
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from mnist_helpers.cache import locked, replace_with
from mnist_helpers.config import Profile, artifacts_dir, get_profile

if TYPE_CHECKING:
    from mnist_helpers.recipes import SeedRun

COLUMNS = [
    "chapter", "model", "params", "epochs", "train_seconds", "val_accuracy", "test_accuracy", "seed", "profile",
]
TABLE_COLUMNS = ["chapter", "model", "params", "train_seconds", "val_accuracy", "test_accuracy", "interval"]


def results_path(profile: Profile | None = None) -> Path:
    """The record file of a profile."""
    return artifacts_dir(profile) / "results.jsonl"


def clear_chapter(chapter: int, profile: Profile | None = None) -> int:
    """Remove a chapter's entries (and any unreadable line) from the record; return how many entries went.
    Chapters call it before they record, so an entry a later run no longer writes does not linger."""
    path = results_path(profile)
    with locked(path, f"writing {path.name}"):
        entries = _entries(path)
        kept = [line for line, entry in entries if entry["chapter"] != int(chapter)]
        if path.exists():
            replace_with(path, "".join(line + "\n" for line in kept))
    return len(entries) - len(kept)


def record_result(chapter: int, model: str, params: int, epochs: int, train_seconds: float,
                  val_accuracy: float | None, test_accuracy: float, seed: int, profile: Profile | None = None,
                  **extra: object) -> dict:
    """Append one trained model's entry (with any ``extra`` keys) to the profile's record and return it.
    Accuracies are fractions; ``val_accuracy`` is ``None`` for a model refit on the validation images."""
    profile = profile or get_profile()
    for label, value in (("val_accuracy", val_accuracy), ("test_accuracy", test_accuracy)):
        if not (value is None and label == "val_accuracy" or value is not None and 0.0 <= float(value) <= 1.0):
            raise ValueError(f"{label} must be a fraction in [0, 1], got {value}")
    entry = {
        "chapter": int(chapter), "model": str(model), "params": int(params), "epochs": int(epochs),
        "train_seconds": float(train_seconds), "val_accuracy": None if val_accuracy is None else float(val_accuracy),
        "test_accuracy": float(test_accuracy), "seed": int(seed), "profile": profile.name,
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S"), **extra,
    }
    path = results_path(profile)
    with locked(path, f"writing {path.name}"):  # one write, flushed; a line cut by a kill gets its line break first
        descriptor = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(descriptor).st_size
            data = ("\n" if size and os.pread(descriptor, 1, size - 1) != b"\n" else "") + json.dumps(entry) + "\n"
            data = data.encode("utf-8")
            while data:
                data = data[os.write(descriptor, data):]
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    return entry


def _entries(path: Path) -> list[tuple[str, dict]]:
    """The record's entries as (line, entry); other lines are skipped with a warning naming file and line."""
    entries = []
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            entry = json.loads(line)
            if not (isinstance(entry, dict) and isinstance(entry.get("chapter"), int)):
                raise ValueError(f"expected a JSON object with an integer chapter, got {line[:40]!r}")
            entries.append((line, entry))
        except ValueError as error:
            if line.strip():
                print(f"{path}, line {number}: not a results entry ({error}); skipped.", file=sys.stderr, flush=True)
    return entries


def record_seed_models(chapter: int, label: str, runs: Sequence["SeedRun"], test_accuracy: Mapping[int, float],
                       val_accuracy: Mapping[int, float] | None = None, suffix: str = "",
                       profile: Profile | None = None) -> list[dict]:
    """Record each seed model of ``runs`` (as ``recipes.seed_runs`` returns them) as ``"<label>, seed <seed><suffix>"``,
    with accuracies by seed; ``val_accuracy`` is ``None`` for refit models."""
    return [
        record_result(chapter=chapter, model=f"{label}, seed {run.seed}{suffix}", params=run.model.count_params(),
                      epochs=run.result.epochs, train_seconds=run.result.seconds,
                      val_accuracy=None if val_accuracy is None else val_accuracy[run.seed],
                      test_accuracy=test_accuracy[run.seed], seed=run.seed, profile=profile)
        for run in runs
    ]


def record_ensemble(chapter: int, name: str, runs: Sequence["SeedRun"], test_accuracy: float,
                    val_accuracy: float | None, profile: Profile | None = None) -> dict:
    """Record the ensemble of the seed models ``runs`` as ``name``: parameters, epochs and seconds summed over
    its members, the first member's seed; ``val_accuracy`` is ``None`` for refit models."""
    if not runs:
        raise ValueError("expected the seed runs of at least one model, got none")
    return record_result(
        chapter=chapter, model=name, params=sum(run.model.count_params() for run in runs),
        epochs=sum(run.result.epochs for run in runs), train_seconds=sum(run.result.seconds for run in runs),
        val_accuracy=val_accuracy, test_accuracy=test_accuracy, seed=runs[0].seed, profile=profile,
    )


def read_results(profile: Profile | None = None, up_to_chapter: int | None = None) -> pd.DataFrame:
    """A profile's entries, the newest per (chapter, model, seed), sorted by chapter; with ``up_to_chapter``
    only those of that chapter and earlier ones (what a reader has met so far)."""
    lines = [line for line, _ in _entries(results_path(profile))]
    if not lines:
        return pd.DataFrame(columns=COLUMNS)
    frame = pd.read_json(io.StringIO("\n".join(lines)), lines=True)
    if up_to_chapter is not None:
        frame = frame[frame["chapter"] <= int(up_to_chapter)]
    frame = frame.drop_duplicates(subset=["chapter", "model", "seed"], keep="last")
    return frame.sort_values(["chapter", "recorded_at"]).reset_index(drop=True)


def results_table(profile: Profile | None = None, n_test: int | None = None) -> pd.DataFrame:
    """Every recorded model of a profile with a 95% Wilson interval for its test accuracy (``n_test``: the
    test-set size, by default the profile's)."""
    from mnist_helpers.stats import binomial_interval

    profile = profile or get_profile()
    n_test = n_test or profile.n_test or 10000
    frame = read_results(profile)
    if frame.empty:
        return pd.DataFrame(columns=TABLE_COLUMNS)
    intervals = [binomial_interval(int(round(acc * n_test)), n_test) for acc in frame["test_accuracy"]]
    return frame.assign(interval=[f"{lo:.2%} to {hi:.2%}" for lo, hi in intervals])[TABLE_COLUMNS]


def results_markdown(profile: Profile | None = None) -> str:
    """:func:`results_table` as Markdown for the results page; a refit model shows "refit" as validation."""
    profile = profile or get_profile()
    frame = results_table(profile)
    if frame.empty:
        return f"*No model has been recorded yet under the `{profile.name}` profile.*"
    lines = ["| chapter | model | parameters | training (s) | validation | test | test, 95% interval |",
             "|---:|---|---:|---:|---:|---:|---|"]
    for row in frame.itertuples(index=False):
        val = "refit" if pd.isna(row.val_accuracy) else format(row.val_accuracy, ".2%")
        lines.append(f"| {row.chapter} | {row.model} | {row.params:,} | {row.train_seconds:,.0f} | {val} | "
                     f"{row.test_accuracy:.2%} | {row.interval} |")
    return "\n".join(lines)
