"""Plotting helpers: one style call per notebook; every plot takes ``ax=None`` and returns the axes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def set_style() -> None:
    """The book's one plotting style (sizes, fonts, colour map, sharp images); call once per notebook."""
    import matplotlib as mpl
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    mpl.rcParams.update({
        "figure.figsize": (7.0, 3.6), "figure.dpi": 110, "savefig.dpi": 150, "savefig.bbox": "tight",
        "image.cmap": "gray_r", "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 9,
        "figure.constrained_layout.use": True,
    })
    try:  # sharp figures in notebooks and in the book
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")
    except ImportError:  # pragma: no cover - outside IPython
        pass


def _axes(ax):
    import matplotlib.pyplot as plt

    return ax if ax is not None else plt.subplots()[1]


def plot_history(frame: pd.DataFrame, metric: str = "accuracy", ax=None, label: str | None = None):
    """Training vs validation curves of one metric from a tidy history (``training.history_frame``)."""
    import seaborn as sns

    ax = _axes(ax)
    data = frame[frame["metric"] == metric]
    if data.empty:
        raise ValueError(f"metric {metric!r} is not in the history; it has {sorted(frame['metric'].unique())}")
    data = data.assign(run=label) if label else data
    sns.lineplot(data=data, x="epoch", y="value", hue="split", style="run" if label else None, marker="o", ax=ax)
    ax.set(ylabel=metric.replace("_", " "), xlabel="epoch")
    return ax


def plot_runs(frames: dict[str, pd.DataFrame], metric: str = "accuracy", split: str = "validation", ax=None):
    """One metric of several runs on one axes, a line per run (chapter 4: a plateau callback vs a
    cosine schedule). ``frames`` maps a run's label to its tidy history; returns the axes."""
    import seaborn as sns

    if not frames:
        raise ValueError("expected at least one run in frames, got none")
    ax = _axes(ax)
    parts = []
    for label, frame in frames.items():
        part = frame[(frame["metric"] == metric) & (frame["split"] == split)]
        if part.empty:
            raise ValueError(f"run {label!r} has no {split} {metric!r}; it logged {sorted(frame['metric'].unique())}")
        parts.append(part.assign(run=label))
    sns.lineplot(data=pd.concat(parts), x="epoch", y="value", hue="run", marker="o", ax=ax)
    ax.set(ylabel=f"{split} {metric.replace('_', ' ')}" if metric != "learning_rate" else "learning rate", xlabel="epoch")
    return ax


def plot_learning_curves(frame: pd.DataFrame, metrics: Sequence[str] | None = None, axes=None):
    """One panel per metric (default: accuracy, loss and, when logged, learning rate); returns the axes."""
    import matplotlib.pyplot as plt

    if metrics is None:
        metrics = [m for m in ("accuracy", "loss", "learning_rate") if m in set(frame["metric"])]
    if axes is None:
        _, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics), 3.2))
    axes = np.atleast_1d(axes)
    for metric, ax in zip(metrics, axes):
        plot_history(frame, metric, ax=ax)
        if metric == "learning_rate":
            if (frame.loc[frame["metric"] == metric, "value"] > 0).all():  # a cosine decay ends at 0
                ax.set_yscale("log")
            if ax.get_legend():
                ax.get_legend().remove()
    return axes


def show_digits(images: np.ndarray, titles: Sequence[str] | None = None, ncols: int = 10, axes=None, size: float = 1.1):
    """A grid of digits with optional titles; ``images`` is (N, 28, 28) or (N, 28, 28, 1). Returns the axes."""
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    if images.ndim == 4:
        images = images[..., 0]
    if images.ndim != 3:
        raise ValueError(f"expected a batch of images (N, 28, 28), got shape {images.shape}")
    n = len(images)
    if axes is None:
        nrows = max(1, int(np.ceil(n / ncols)))
        _, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.25 * nrows if titles else 0)))
    flat = np.atleast_1d(axes).ravel()
    for i, ax in enumerate(flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap="gray_r", vmin=0, vmax=images.max() or 1)
            if titles is not None:
                ax.set_title(titles[i], fontsize=8)
    return axes
