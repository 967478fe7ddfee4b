"""What each step bought: the book's steps mapped to the models of the results record, drawn at build time.

The steps run dense -> CNN -> + batch normalization -> + dropout -> + augmentation -> + schedule -> + test-time
augmentation -> ensemble. Each step's bar is the recorded model that has that step and those before it, where one
was trained (:data:`STEPS` names the record of each); what the step bought is measured against the model trained
the same way without it (its *comparison*), which is not always the bar before it: chapter 4 compares augmentation
presets at 5 epochs, and the recipe differs from chapter 3's in more than its schedule. Nothing here imports
TensorFlow; :func:`steps_frame` takes the frame :func:`mnist_helpers.results.read_results` returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

#: The seed models of chapter 6 are recorded as "chapter 4 recipe, seed <seed>" (+ " + TTA" where validation chose it).
SEED_LABEL = "chapter 4 recipe, seed "


@dataclass(frozen=True)
class Step:
    """One step: its label, its chapter, the record that stands for it (``None``: no model of its own), the record
    it is compared with (``None``: none trained), and the chapter-6 seed models that show the recipe's seed spread."""

    label: str
    chapter: int
    model: str | None
    comparison: str | None = None
    comparison_chapter: int | None = None
    seeds: str | None = None  # "plain" or "tta": which of chapter 6's seed models spread around this bar
    note: str = ""


TTA_MODEL = "CNN + mild augmentation + cosine schedule + TTA"
RECIPE_MODEL = "CNN + mild augmentation + cosine schedule"

STEPS: list[Step] = [
    Step("dense", 2, "dense baseline", note="chapter 2's dense network"),
    Step("CNN", 3, None, note="no model of its own: chapter 3 trains its CNN with batch normalization and dropout, "
                              "or without one of the two, never without both"),
    Step("+ batch normalization", 3, "compact CNN without dropout", "compact CNN without batch norm", 3,
         note="the bar is the CNN with batch normalization and no dropout; what batch normalization bought is measured "
              "the other way round, with dropout in both: the full CNN against the CNN without batch normalization"),
    Step("+ dropout", 3, "compact CNN", "compact CNN without dropout", 3,
         note="the full compact CNN against the same CNN without dropout"),
    Step("+ augmentation", 4, "CNN, mild augmentation, 5 epochs", "CNN, none augmentation, 5 epochs", 4,
         note="chapter 3's recipe with mild augmentation against the same recipe without, both for chapter 4's "
              "short comparison budget"),
    Step("+ schedule", 4, RECIPE_MODEL, "CNN + mild augmentation + plateau callbacks", 4, seeds="plain",
         note="chapter 4's recipe (CHAPTER4_BEST, a cosine decay) against the same recipe with a constant rate cut "
              "on plateaus and early stopping"),
    Step("+ test-time augmentation", 4, TTA_MODEL, RECIPE_MODEL, 4, seeds="tta",
         note="the recipe's model predicting with test-time augmentation against the same model plain; recorded only "
              "when validation chose it"),
    Step("ensemble", 6, "ensemble of 3 seeds", None, 6,
         note="the softmax average of chapter 6's seeds of the recipe against the best of them on validation, "
              "each predicting as validation chose"),
]

FRAME_COLUMNS = ["step", "chapter", "model", "test_accuracy", "low", "high", "measured", "comparison",
                 "comparison_accuracy", "comparison_low", "comparison_high", "change_images", "within_interval",
                 "seed_accuracies", "note"]


def _lookup(results: pd.DataFrame, chapter: int, model: str) -> pd.Series | None:
    """The record's row of ``model`` in ``chapter``, or ``None``."""
    rows = results[(results["chapter"] == chapter) & (results["model"] == model)]
    return None if rows.empty else rows.iloc[-1]


def seed_models(results: pd.DataFrame, tta: bool) -> pd.DataFrame:
    """Chapter 6's single seed models, plain or with test-time augmentation, sorted by seed."""
    chapter6 = results[(results["chapter"] == 6) & results["model"].str.startswith(SEED_LABEL)]
    with_tta = chapter6["model"].str.endswith(" + TTA")
    return chapter6[with_tta if tta else ~with_tta].sort_values("seed")


def _ensemble(results: pd.DataFrame) -> tuple[pd.Series | None, pd.Series | None]:
    """Chapter 6's ensemble and the single model it is compared with: the best seed on validation, predicting with
    test-time augmentation if chapter 6 recorded its seeds with it (validation chose it), the first seed on a tie."""
    chapter6 = results[results["chapter"] == 6]
    ensembles = chapter6[chapter6["model"].str.startswith("ensemble of")]
    ensemble = None if ensembles.empty else ensembles.iloc[-1]
    singles = seed_models(results, tta=True)
    singles = singles if not singles.empty else seed_models(results, tta=False)
    if singles.empty or singles["val_accuracy"].isna().all():
        return ensemble, None
    return ensemble, singles.loc[singles["val_accuracy"].idxmax()]


def steps_frame(results: pd.DataFrame, n_test: int) -> pd.DataFrame:
    """One row per step of :data:`STEPS`: the model standing for it and its test accuracy with a 95% Wilson interval
    (``NaN`` where the step has no model or the build recorded none), the model it is compared with and its interval,
    the change in test images, whether the step's accuracy lies inside the comparison's interval, and the test
    accuracies of chapter 6's seeds where they spread around the bar.

    Raises
    ------
    ValueError
        If ``results`` lacks the record's columns or ``n_test`` is not a positive integer.
    """
    from mnist_helpers.stats import binomial_interval

    missing = {"chapter", "model", "seed", "val_accuracy", "test_accuracy"} - set(results.columns)
    if missing:
        raise ValueError(f"expected the results record's columns, missing {sorted(missing)}")
    if isinstance(n_test, bool) or not isinstance(n_test, int) or n_test < 1:
        raise ValueError(f"n_test must be a positive integer (the test-set size), got {n_test!r}")

    def interval(row):
        if row is None:
            return float("nan"), float("nan"), float("nan")
        accuracy = float(row["test_accuracy"])
        low, high = binomial_interval(int(round(accuracy * n_test)), n_test)
        return accuracy, low, high

    rows = []
    for step in STEPS:
        if step.label == "ensemble":
            row, comparison = _ensemble(results)
        else:
            row = None if step.model is None else _lookup(results, step.chapter, step.model)
            comparison = None if step.comparison is None else _lookup(results, step.comparison_chapter, step.comparison)
        if step.label == "+ batch normalization":  # measured the other way round (see the step's note)
            measured = _lookup(results, 3, "compact CNN")
        else:
            measured = row
        accuracy, low, high = interval(row)
        measured_accuracy = interval(measured)[0]
        comparison_accuracy, comparison_low, comparison_high = interval(comparison)
        both = measured is not None and comparison is not None
        seeds = seed_models(results, tta=step.seeds == "tta") if step.seeds else pd.DataFrame(columns=["test_accuracy"])
        rows.append({
            "step": step.label, "chapter": step.chapter, "model": None if row is None else row["model"],
            "test_accuracy": accuracy, "low": low, "high": high,
            "measured": None if measured is None else measured["model"],
            "comparison": None if comparison is None else comparison["model"],
            "comparison_accuracy": comparison_accuracy, "comparison_low": comparison_low,
            "comparison_high": comparison_high,
            "change_images": int(round((measured_accuracy - comparison_accuracy) * n_test)) if both else None,
            "within_interval": bool(comparison_low <= measured_accuracy <= comparison_high) if both else None,
            "seed_accuracies": [float(a) for a in seeds["test_accuracy"]],
            "note": step.note,
        })
    return pd.DataFrame(rows, columns=FRAME_COLUMNS)


def plot_steps(frame: pd.DataFrame, ax=None):
    """The test error of each step's model as a bar with its 95% Wilson interval, chapter 6's seeds as dots where they
    spread around a bar, and "no model" where a step has none; returns the axes."""
    import matplotlib.pyplot as plt
    import numpy as np

    if frame.empty:
        raise ValueError("expected one row per step (steps_frame), got an empty frame")
    ax = ax if ax is not None else plt.subplots(figsize=(9, 4.2))[1]
    x = np.arange(len(frame))
    error = (1 - frame["test_accuracy"]) * 100
    has_bar = frame["test_accuracy"].notna().to_numpy()
    yerr = np.vstack([(frame["high"] - frame["test_accuracy"]) * 100, (frame["test_accuracy"] - frame["low"]) * 100])
    ax.bar(x[has_bar], error[has_bar], color="#4c72b0", width=0.6, label="test error of the step's model")
    ax.errorbar(x[has_bar], error[has_bar], yerr=yerr[:, has_bar], fmt="none", ecolor="black", capsize=4,
                label="95% Wilson interval")
    # The model a step is compared with, beside the bar it was compared with (batch normalization is measured
    # against another bar, so its comparison stays in the table).
    compared = (frame["within_interval"].notna() & (frame["measured"] == frame["model"])).to_numpy()
    if compared.any():
        comparison_error = (1 - frame["comparison_accuracy"]) * 100
        comparison_yerr = np.vstack([(frame["comparison_high"] - frame["comparison_accuracy"]) * 100,
                                     (frame["comparison_accuracy"] - frame["comparison_low"]) * 100])
        ax.errorbar(x[compared] - 0.38, comparison_error[compared], yerr=comparison_yerr[:, compared], fmt="D",
                    mfc="white", color="0.35", capsize=3, markersize=5, label="the model it is compared with")
    seed_label = "chapter 6's seeds of the recipe"
    for position, accuracies in zip(x, frame["seed_accuracies"]):
        if accuracies:
            ax.scatter([position + 0.38] * len(accuracies), (1 - np.asarray(accuracies)) * 100, s=18, color="#dd8452",
                       zorder=3, label=seed_label)
            seed_label = None
    top = float(np.nanmax(np.append(error[has_bar], 0.0))) if has_bar.any() else 1.0
    own = {step.label: step.model is not None for step in STEPS}
    for position, label in zip(x[~has_bar], frame.loc[~has_bar, "step"]):
        text = "not recorded" if own.get(label, True) else "no model of its own"
        ax.text(position, top * 0.05, text, rotation=90, ha="center", va="bottom", color="0.4", fontsize=9)
    ax.set_xlim(-0.8, len(frame) - 0.2)
    ax.set_xticks(x, frame["step"], rotation=25, ha="right")
    ax.set_ylabel("test error (%)")
    ax.set_ylim(bottom=0)
    ax.set_title("What each step bought: test error, lower is better")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.42), ncol=2, fontsize=9, frameon=False)
    return ax


def write_steps_figure(frame: pd.DataFrame, path: Path) -> Path:
    """Draw :func:`plot_steps` into a PNG at ``path`` (folders created) and return the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7.5, 4.8), constrained_layout=True)
    plot_steps(frame, ax=ax)
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)
    return path


def _names(rows: pd.DataFrame) -> str:
    """Step labels with their signed change in test images, joined for a sentence; "none" when there are none."""
    parts = [f"{row.step} ({int(row.change_images):+d} image{'' if abs(int(row.change_images)) == 1 else 's'})"
             for row in rows.itertuples()]
    return ", ".join(parts) if parts else "none"


def noise_markdown(frame: pd.DataFrame, n_test: int) -> str:
    """The sentences that say which steps are within noise, from the frame's intervals and seeds."""
    measured = frame[frame["within_interval"].notna()]
    inside = measured[measured["within_interval"].astype(bool)]
    outside = measured[~measured["within_interval"].astype(bool)]
    unmeasured = ", ".join(frame.loc[frame["within_interval"].isna(), "step"]) or "none"
    seeds = next((a for a in frame["seed_accuracies"] if len(a) > 1), [])
    spread = int(round((max(seeds) - min(seeds)) * n_test)) if seeds else None
    small = measured[measured["change_images"].abs() <= spread] if spread is not None else measured.iloc[0:0]
    text = [
        f"**Within the test set's noise** (the step's model lies inside the 95% Wilson interval of the model it is "
        f"compared with, on {n_test:,} test images): {_names(inside)}. **Outside that interval**: {_names(outside)}. "
        f"**Not measured in this build** (no model of its own, nothing to compare it with, or no record of one of "
        f"the two models): {unmeasured}.",
    ]
    if spread is not None:
        text.append(
            f"The interval is about the test images only. Chapter 6's {len(seeds)} seeds of the recipe are "
            f"{spread} test images apart, and every comparison above is one run of each model, so a change no larger "
            f"than that could be the seed alone: {_names(small)}. Whether two models differ on the same images is "
            f"McNemar's test (chapter 6), which chapter 6 runs for the ensemble against its best seed.")
    return "\n\n".join(text)


def mapping_markdown(frame: pd.DataFrame) -> str:
    """A table: each step, the record standing for it, its test accuracy and interval, and what it is compared with."""
    def percent(value):
        return "" if pd.isna(value) else f"{value:.2%}"

    lines = ["| step | its model in the record (chapter) | test (95% interval) | what the step bought, measured as "
             "| change (test images) |", "|---|---|---|---|---:|"]
    for row in frame.itertuples():
        model = f"{row.model} ({row.chapter})" if isinstance(row.model, str) else "*no model recorded*"
        test = "" if pd.isna(row.low) else f"{row.test_accuracy:.2%} ({row.low:.2%} to {row.high:.2%})"
        change = "" if pd.isna(row.change_images) else f"{int(row.change_images):+d}"
        both = isinstance(row.measured, str) and isinstance(row.comparison, str)
        compared = (f"{row.measured} against {row.comparison} ({percent(row.comparison_accuracy)})" if both
                    else "not measured")
        lines.append(f"| {row.step} | {model} | {test} | {compared} | {change} |")
    return "\n".join(lines)
