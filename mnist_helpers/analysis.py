"""Error-analysis plumbing (chapter 5): the predictions table, its confusion pairs and the known
label errors of the MNIST test set.

Chapter 5 writes the analysis itself in visible cells; this module keeps what the
misclassification browser, the gallery and chapter 6 reuse.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources

import numpy as np
import pandas as pd


def predictions_frame(probs: np.ndarray, y_true: np.ndarray, test_index: np.ndarray | None = None) -> pd.DataFrame:
    """One row per image: its label, the model's answer and how sure the model was.

    Parameters
    ----------
    probs : array of shape (N, K)
        Predicted class probabilities (softmax outputs), each row summing to 1.
    y_true : array of shape (N,)
        The integer labels, 0 to K - 1.
    test_index : array of shape (N,), optional
        Each image's position in the original test set (``Splits.test_index``); default ``0 .. N - 1``.

    Returns
    -------
    pandas.DataFrame
        Columns ``index``, ``true``, ``predicted``, ``confidence`` (top probability), ``p_true``
        (probability of the label), ``margin`` (top minus second probability), ``second`` (the
        second choice), ``correct`` (bool) and ``top3`` (three ``(label, probability)`` pairs).

    Raises
    ------
    ValueError
        If the shapes do not match, the labels are out of range or the rows are not probabilities.
    """
    probs = np.asarray(probs, dtype=np.float64)
    y_true = np.asarray(y_true)
    if probs.ndim != 2 or probs.shape[1] < 3:
        raise ValueError(f"probs must have shape (N, K) with K >= 3 classes, got shape {probs.shape}")
    n, k = probs.shape
    if y_true.shape != (n,):
        raise ValueError(f"y_true must have shape ({n},) to match probs {probs.shape}, got shape {y_true.shape}")
    if y_true.dtype.kind not in "iu" or (n and (y_true.min() < 0 or y_true.max() >= k)):
        raise ValueError(f"y_true must hold integer labels 0..{k - 1}, got dtype {y_true.dtype} "
                         f"with values {y_true.min() if n else '-'}..{y_true.max() if n else '-'}")
    test_index = np.arange(n) if test_index is None else np.asarray(test_index)
    if test_index.shape != (n,):
        raise ValueError(f"test_index must have shape ({n},) to match probs {probs.shape}, got shape {test_index.shape}")
    if not np.isfinite(probs).all() or (n and probs.min() < 0):
        raise ValueError("probs must be finite and non-negative; got NaN, infinite or negative values")
    sums = probs.sum(axis=1)
    if n and not np.allclose(sums, 1.0, atol=1e-3):
        raise ValueError(f"each row of probs must sum to 1 (softmax outputs), got sums from {sums.min():.4g} "
                         f"to {sums.max():.4g}; apply a softmax to logits first")
    order = np.argsort(-probs, axis=1, kind="stable")[:, :3]
    top = np.take_along_axis(probs, order, axis=1)
    y_true = y_true.astype(np.int64)
    return pd.DataFrame({
        "index": test_index.astype(np.int64),
        "true": y_true,
        "predicted": order[:, 0],
        "confidence": top[:, 0],
        "p_true": probs[np.arange(n), y_true],
        "margin": top[:, 0] - top[:, 1],
        "second": order[:, 1],
        "correct": order[:, 0] == y_true,
        "top3": pd.Series([list(zip(o.tolist(), p.tolist())) for o, p in zip(order, top)], dtype=object),
    })


def check_frame(frame: pd.DataFrame) -> None:
    """Refuse (ValueError) a table without the predictions-frame columns the browser and gallery need."""
    needed = ["index", "true", "predicted", "confidence", "correct"]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"expected a predictions frame (see predictions_frame) with columns {needed}; "
                         f"missing {missing}, got columns {list(frame.columns)}")


def confusion_pairs(frame: pd.DataFrame) -> pd.DataFrame:
    """The errors grouped by (true, predicted), most frequent first (the browser's dropdown and
    the gallery's groups): columns ``true``, ``predicted``, ``count``, ``mean_confidence``, ties
    by ``true`` then ``predicted``; empty, with these columns, without errors."""
    check_frame(frame)
    return (frame[~frame["correct"]]
            .groupby(["true", "predicted"], as_index=False)
            .agg(count=("index", "size"), mean_confidence=("confidence", "mean"))
            .sort_values("count", ascending=False, kind="stable")
            .reset_index(drop=True))


def format_top3(top3: Sequence[tuple[int, float]], sep: str = ", ") -> str:
    """A ``top3`` entry as text, ``"7: 62%, 1: 30%, 2: 0.4%"`` (one decimal below 1%)."""
    return sep.join(f"{int(d)}: {p:.0%}" if p >= 0.01 else f"{int(d)}: {p:.1%}" for d, p in top3)


def aligned_images(frame: pd.DataFrame, images: np.ndarray) -> np.ndarray:
    """``images`` as (N, 28, 28), one per row of ``frame``; ValueError for any other shape than
    (N, 28, 28) or (N, 28, 28, 1)."""
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3 or len(images) != len(frame):
        raise ValueError(f"images must have shape ({len(frame)}, 28, 28) to match the frame's {len(frame)} rows, "
                         f"got shape {images.shape}")
    return images


def known_label_errors() -> np.ndarray:
    """Sorted positions in the original 10,000-image test set whose label is wrong (chapters 5, 6).

    The 15 indices were confirmed by human reviewers in Northcutt, Athalye and Mueller (NeurIPS
    Datasets and Benchmarks, 2021); they ship in ``data_files/known_label_errors.json``.
    """
    text = resources.files("mnist_helpers").joinpath("data_files", "known_label_errors.json").read_text(encoding="utf-8")
    return np.array(sorted(json.loads(text)["indices"]), dtype=np.int64)
