"""Plotting helpers: one style call per notebook; every plot draws on given axes or new ones and returns them."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress

import numpy as np
import pandas as pd


def set_style() -> None:
    """The book's one plotting style (sizes, fonts, colour map, sharp images); call once per notebook."""
    import matplotlib as mpl
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    mpl.rcParams.update({
        "figure.figsize": (7.0, 3.6), "figure.dpi": 110, "savefig.dpi": 150, "savefig.bbox": "tight", "image.cmap": "gray_r",
        "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 9, "figure.constrained_layout.use": True,
    })
    with suppress(ImportError):  # sharp figures in notebooks and in the book, where matplotlib_inline is installed
        from matplotlib_inline.backend_inline import set_matplotlib_formats
        set_matplotlib_formats("retina")


def plot_runs(frames: dict[str, pd.DataFrame], metric: str = "accuracy", split: str = "validation", ax=None):
    """One metric of several runs on one axes, a line per run; ``frames`` maps a run's label to its tidy history."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    if not frames:
        raise ValueError("expected at least one run in frames, got none")
    parts = []
    for label, frame in frames.items():
        part = frame[(frame["metric"] == metric) & (frame["split"] == split)]
        if part.empty:
            raise ValueError(f"run {label!r} has no {split} {metric!r}; it logged {sorted(frame['metric'].unique())}")
        parts.append(part.assign(run=label))
    ax = ax if ax is not None else plt.subplots()[1]
    sns.lineplot(data=pd.concat(parts), x="epoch", y="value", hue="run", marker="o", ax=ax)
    ax.set(ylabel=f"{split} {metric.replace('_', ' ')}" if metric != "learning_rate" else "learning rate", xlabel="epoch")
    return ax


def plot_learning_curves(frame: pd.DataFrame, metrics: Sequence[str] | None = None, axes=None):
    """Training vs validation curves of a tidy history, one panel per metric (default: accuracy, loss, learning rate)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    if metrics is None:
        metrics = [m for m in ("accuracy", "loss", "learning_rate") if m in set(frame["metric"])]
    if axes is None:
        _, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics), 3.2))
    axes = np.atleast_1d(axes)
    for metric, ax in zip(metrics, axes):
        data = frame[frame["metric"] == metric]
        if data.empty:
            raise ValueError(f"metric {metric!r} is not in the history; it has {sorted(frame['metric'].unique())}")
        rate = metric == "learning_rate"  # logged for training only: no legend
        sns.lineplot(data=data, x="epoch", y="value", hue="split", marker="o", ax=ax, legend=False if rate else "auto")
        ax.set(ylabel=metric.replace("_", " "), xlabel="epoch")
        if rate and (data["value"] > 0).all():  # a cosine decay ends at 0, where a log scale is undefined
            ax.set_yscale("log")
    return axes


def show_digits(images: np.ndarray, titles: Sequence[str] | None = None, ncols: int = 10, axes=None, size: float = 1.1):
    """A grid of digits, (N, 28, 28) or (N, 28, 28, 1), with optional titles."""
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    images = images[..., 0] if images.ndim == 4 else images
    if images.ndim != 3:
        raise ValueError(f"expected a batch of images (N, 28, 28), got shape {images.shape}")
    if axes is None:
        nrows = max(1, int(np.ceil(len(images) / ncols)))
        _, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.25 * nrows if titles else 0)))
    for i, ax in enumerate(np.atleast_1d(axes).ravel()):
        ax.axis("off")
        if i < len(images):
            ax.imshow(images[i], cmap="gray_r", vmin=0, vmax=images.max() or 1)
            if titles is not None:
                ax.set_title(titles[i], fontsize=8)
    return axes
