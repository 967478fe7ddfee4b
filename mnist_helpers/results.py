"""The results record: one entry per trained model, per profile (introduced in chapter 2).

Entries live in ``results.jsonl`` inside the profile's artifacts folder, so smoke entries never mix
with full ones. Each chapter calls :func:`clear_chapter` before it records, so its entries are the
ones of its last run (a model that a run no longer records does not linger); :func:`read_results`
keeps the newest entry of each (chapter, model, seed).

Writers hold the lock ``results.jsonl.lock``; :func:`record_result` appends a whole line in one write
and :func:`clear_chapter` rewrites the record through a temporary file, so a killed run leaves the
old record or the new one. A line that is not an entry is skipped with a warning naming its line.
"""

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


def results_path(profile: Profile | None = None) -> Path:
    """The record file of a profile."""
    return artifacts_dir(profile) / "results.jsonl"


def clear_chapter(chapter: int, profile: Profile | None = None) -> int:
    """Remove a chapter's entries from the profile's record and return how many there were
    (chapters 2-6 call it before they record). Without it, an entry that a later run no longer
    writes (a test-time augmentation row, say, once validation decides against it) would stay in
    the results table. Lines that are not entries are left out of the rewritten record."""
    path = results_path(profile)
    with locked(path, f"writing {path.name}"):
        entries = _entries(path)
        kept = [line for line, entry in entries if entry["chapter"] != int(chapter)]
        if path.exists():
            replace_with(path, "".join(line + "\n" for line in kept))
    return len(entries) - len(kept)


def record_result(
    chapter: int,
    model: str,
    params: int,
    epochs: int,
    train_seconds: float,
    val_accuracy: float | None,
    test_accuracy: float,
    seed: int,
    profile: Profile | None = None,
    **extra: object,
) -> dict:
    """Append one trained model's entry to the profile's record and return it.

    Accuracies are fractions in [0, 1]; ``val_accuracy`` is ``None`` for a model refit on the
    training and validation images (chapter 6), which has no validation set left. ``extra`` keys
    (for example ``n_test``) are stored too.
    """
    profile = profile or get_profile()
    for label, value in (("val_accuracy", val_accuracy), ("test_accuracy", test_accuracy)):
        if label == "val_accuracy" and value is None:
            continue
        if value is None or not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"{label} must be a fraction in [0, 1], got {value}")
    entry = {
        "chapter": int(chapter), "model": str(model), "params": int(params), "epochs": int(epochs),
        "train_seconds": float(train_seconds),
        "val_accuracy": None if val_accuracy is None else float(val_accuracy),
        "test_accuracy": float(test_accuracy), "seed": int(seed), "profile": profile.name,
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S"), **extra,
    }
    _append(results_path(profile), json.dumps(entry) + "\n")
    return entry


def _append(path: Path, line: str) -> None:
    """Append a whole line to ``path`` with one write and flush it to the disk; a last line that a
    kill cut short gets its line break first, so the new line stays whole."""
    with locked(path, f"writing {path.name}"):
        descriptor = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(descriptor).st_size
            cut = size > 0 and os.pread(descriptor, 1, size - 1) != b"\n"
            data = (("\n" if cut else "") + line).encode("utf-8")
            while data:
                data = data[os.write(descriptor, data):]
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _entries(path: Path) -> list[tuple[str, dict]]:
    """The record's lines that are entries, each with its parsed entry; other lines are skipped with
    a warning on stderr that names the file and line."""
    if not path.exists():
        return []
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        try:
            entry = json.loads(line)
            if not (isinstance(entry, dict) and isinstance(entry.get("chapter"), int)):
                raise ValueError(f"expected a JSON object with an integer chapter, got {line[:40]!r}")
        except ValueError as error:
            if line.strip():
                print(f"{path}, line {number}: not a results entry ({error}); skipped.", file=sys.stderr, flush=True)
            continue
        entries.append((line, entry))
    return entries


def record_seed_models(
    chapter: int,
    label: str,
    runs: Sequence["SeedRun"],
    test_accuracy: Mapping[int, float],
    val_accuracy: Mapping[int, float] | None = None,
    suffix: str = "",
    profile: Profile | None = None,
) -> list[dict]:
    """Record one entry per seed model, named ``"<label>, seed <seed><suffix>"`` (chapter 6).

    Parameters
    ----------
    runs : sequence of recipes.SeedRun
        As ``recipes.seed_runs`` returns them.
    test_accuracy, val_accuracy : mappings from seed to accuracy
        ``val_accuracy`` is ``None`` for refit models, which have no validation set left.
    suffix : str
        Appended to the name, for example ``" + TTA"`` when the models predict with test-time
        augmentation.
    """
    return [
        record_result(chapter=chapter, model=f"{label}, seed {run.seed}{suffix}", params=run.model.count_params(),
                      epochs=run.result.epochs, train_seconds=run.result.seconds,
                      val_accuracy=None if val_accuracy is None else val_accuracy[run.seed],
                      test_accuracy=test_accuracy[run.seed], seed=run.seed, profile=profile)
        for run in runs
    ]


def record_ensemble(
    chapter: int,
    name: str,
    runs: Sequence["SeedRun"],
    test_accuracy: float,
    val_accuracy: float | None,
    profile: Profile | None = None,
) -> dict:
    """Record the ensemble of the seed models ``runs`` (``recipes.SeedRun``, as ``seed_runs`` returns them) under
    ``name`` (chapter 6): its parameters, epochs and training seconds are its members' summed, its
    seed is the first member's; ``val_accuracy`` is ``None`` for an ensemble of refit models."""
    if not runs:
        raise ValueError("expected the seed runs of at least one model, got none")
    return record_result(
        chapter=chapter, model=name, params=sum(run.model.count_params() for run in runs),
        epochs=sum(run.result.epochs for run in runs), train_seconds=sum(run.result.seconds for run in runs),
        val_accuracy=val_accuracy, test_accuracy=test_accuracy, seed=runs[0].seed, profile=profile,
    )


def read_results(profile: Profile | None = None, up_to_chapter: int | None = None) -> pd.DataFrame:
    """All entries of a profile as a DataFrame, the newest per (chapter, model, seed), sorted by
    chapter; with ``up_to_chapter``, only the entries of that chapter and the ones before it (what
    a reader has met so far, whatever a build of later chapters has recorded)."""
    lines = [line for line, _ in _entries(results_path(profile))]
    if not lines:
        return pd.DataFrame(columns=COLUMNS)
    frame = pd.read_json(io.StringIO("\n".join(lines)), lines=True)
    if up_to_chapter is not None:
        frame = frame[frame["chapter"] <= int(up_to_chapter)]
    frame = frame.drop_duplicates(subset=["chapter", "model", "seed"], keep="last")
    return frame.sort_values(["chapter", "recorded_at"]).reset_index(drop=True)


def results_table(profile: Profile | None = None, n_test: int | None = None) -> pd.DataFrame:
    """The book's results table (chapter 6 and the results page): every recorded model of a profile
    with its parameters, training time, validation and test accuracy and a 95% Wilson interval for
    the test accuracy. ``n_test`` defaults to the profile's test-set size."""
    from mnist_helpers.stats import binomial_interval

    profile = profile or get_profile()
    n_test = n_test or profile.n_test or 10000
    frame = read_results(profile)
    if frame.empty:
        return pd.DataFrame(columns=["chapter", "model", "params", "train_seconds", "val_accuracy", "test_accuracy", "interval"])
    intervals = [binomial_interval(int(round(acc * n_test)), n_test) for acc in frame["test_accuracy"]]
    frame = frame.assign(interval=[f"{lo:.2%} to {hi:.2%}" for lo, hi in intervals])
    return frame[["chapter", "model", "params", "train_seconds", "val_accuracy", "test_accuracy", "interval"]]


def results_markdown(profile: Profile | None = None) -> str:
    """:func:`results_table` as a Markdown table, for the results page. A model without a
    validation accuracy (a refit on training and validation images) shows "refit" there."""
    profile = profile or get_profile()
    frame = results_table(profile)
    if frame.empty:
        return f"*No model has been recorded yet under the `{profile.name}` profile.*"
    header = "| chapter | model | parameters | training (s) | validation | test | test, 95% interval |"
    lines = [header, "|---:|---|---:|---:|---:|---:|---|"]
    for row in frame.itertuples(index=False):
        lines.append(
            f"| {row.chapter} | {row.model} | {row.params:,} | {row.train_seconds:,.0f} | "
            f"{'refit' if pd.isna(row.val_accuracy) else format(row.val_accuracy, '.2%')} | "
            f"{row.test_accuracy:.2%} | {row.interval} |"
        )
    return "\n".join(lines)
