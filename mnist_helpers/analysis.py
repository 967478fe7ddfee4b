"""Error analysis: predictions as a table, confusions, per-class scores, a fit diagnosis and a rule
that sorts each error into label noise, ambiguity or model failure (introduced in chapter 5).

Everything here works on the *predictions frame* built by :func:`predictions_frame`: one row per
test image with its position in the original test set, its label, the model's answer and how sure
the model was. The thresholds of the two rules (:func:`diagnose_fit`, :func:`categorize_errors`)
are module constants, so the book can quote them and a reader can change them in one place.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

#: The digits, in the order of the model's outputs.
DIGITS: tuple[int, ...] = tuple(range(10))

#: Columns of the predictions frame, in order.
FRAME_COLUMNS: tuple[str, ...] = (
    "index", "true", "pred", "confidence", "p_true", "margin", "second", "correct", "top3",
)

# --- the fit diagnosis (diagnose_fit) ---------------------------------------------------------
#: Training accuracy (inference mode) below this means the model does not even fit the training
#: images: underfitting. Good MNIST CNNs fit well above 99% of them.
UNDERFIT_TRAIN_ACCURACY = 0.99
#: Training accuracy more than this above validation accuracy (as a fraction: 0.01 is one
#: percentage point) means the model memorizes: overfitting. Chapter 2's dense baseline is the
#: example of a gap above it.
OVERFIT_GAP = 0.01
#: Validation and test accuracy further apart than this (half a point) are worth a note: one of
#: them is not measuring the same thing, or the sets are too small to tell.
VAL_TEST_TOLERANCE = 0.005

# --- the error categories (categorize_errors) --------------------------------------------------
#: An error is "label noise" when its test index is a known label error, or when the model is at
#: least this confident in its own answer ...
LABEL_NOISE_CONFIDENCE = 0.9
#: ... and gives the label less than this probability: confidently against the label.
LABEL_NOISE_P_TRUE = 0.05
#: An error is "ambiguous" when the label is the model's second choice and the top two
#: probabilities are less than this apart: the model hesitated between the label and its answer.
AMBIGUOUS_MARGIN = 0.5
#: The category names, in the order the book reports them ("correct" for the right answers).
CATEGORIES: tuple[str, ...] = ("label noise", "ambiguous", "model failure", "correct")

_KNOWN_ERRORS_FILE = "known_label_errors.json"


# --- predictions ------------------------------------------------------------------------------

def predictions_frame(probs: np.ndarray, y_true: np.ndarray, test_index: np.ndarray | None = None) -> pd.DataFrame:
    """One row per test image: its label, the model's answer and how sure the model was
    (introduced in chapter 5).

    Parameters
    ----------
    probs : array of shape (N, K)
        Predicted class probabilities (softmax outputs), each row summing to 1.
    y_true : array of shape (N,)
        The integer labels, 0 to K - 1.
    test_index : array of shape (N,), optional
        Each image's position in the original 10,000-image test set
        (:attr:`mnist_helpers.data.Splits.test_index`). Default: ``0 .. N - 1``.

    Returns
    -------
    pandas.DataFrame
        Columns ``index`` (position in the original test set), ``true``, ``pred``, ``confidence``
        (the top probability), ``p_true`` (probability of the label), ``margin`` (top minus second
        probability), ``second`` (the second choice), ``correct`` (bool) and ``top3`` (a list of
        three ``(label, probability)`` pairs). Row ``i`` belongs to ``probs[i]``.

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
    if test_index is None:
        test_index = np.arange(n)
    test_index = np.asarray(test_index)
    if test_index.shape != (n,):
        raise ValueError(f"test_index must have shape ({n},) to match probs {probs.shape}, got shape {test_index.shape}")
    if not np.isfinite(probs).all() or (n and probs.min() < 0):
        raise ValueError("probs must be finite and non-negative; got NaN, infinite or negative values")
    sums = probs.sum(axis=1)
    if n and not np.allclose(sums, 1.0, atol=1e-3):
        raise ValueError(f"each row of probs must sum to 1 (softmax outputs), got sums from {sums.min():.4g} "
                         f"to {sums.max():.4g}; apply a softmax to logits first")
    order = np.argsort(-probs, axis=1, kind="stable")
    rows = np.arange(n)
    top1, top2 = probs[rows, order[:, 0]], probs[rows, order[:, 1]]
    pred = order[:, 0]
    top3 = [[(int(order[i, j]), float(probs[i, order[i, j]])) for j in range(3)] for i in range(n)]
    return pd.DataFrame({
        "index": test_index.astype(np.int64),
        "true": y_true.astype(np.int64),
        "pred": pred.astype(np.int64),
        "confidence": top1,
        "p_true": probs[rows, y_true.astype(np.int64)],
        "margin": top1 - top2,
        "second": order[:, 1].astype(np.int64),
        "correct": pred == y_true,
        "top3": pd.Series(top3, dtype=object),
    }, columns=list(FRAME_COLUMNS))


def _check_frame(frame: pd.DataFrame, needed: Iterable[str] = ("index", "true", "pred", "correct")) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"expected a predictions frame (see predictions_frame) with columns {list(needed)}; "
                         f"missing {missing}, got columns {list(frame.columns)}")


def errors_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The misclassified rows of a predictions frame, most confident first (introduced in chapter 5)."""
    _check_frame(frame, ("index", "true", "pred", "correct", "confidence"))
    return frame[~frame["correct"]].sort_values(["confidence", "index"], ascending=[False, True])


# --- confusions -------------------------------------------------------------------------------

def confusion_pairs(frame: pd.DataFrame) -> pd.DataFrame:
    """Misclassifications grouped by (true, predicted) label, most frequent first (chapter 5).

    Returns
    -------
    pandas.DataFrame
        Columns ``true``, ``pred``, ``count``, ``share`` (of all errors) and ``mean_confidence``;
        sorted by ``count`` descending, then ``true`` and ``pred`` ascending. Empty (with these
        columns) when there are no errors.
    """
    _check_frame(frame, ("index", "true", "pred", "correct", "confidence"))
    errors = frame[~frame["correct"]]
    pairs = (
        errors.groupby(["true", "pred"], as_index=False)
        .agg(count=("index", "size"), mean_confidence=("confidence", "mean"))
    )
    pairs["share"] = pairs["count"] / max(len(errors), 1)
    pairs = pairs.sort_values(["count", "true", "pred"], ascending=[False, True, True], kind="stable")
    return pairs[["true", "pred", "count", "share", "mean_confidence"]].reset_index(drop=True)


def format_top3(top3: Sequence[tuple[int, float]], sep: str = ", ") -> str:
    """A frame's ``top3`` entry as text, ``"7: 62%, 1: 30%, 2: 0.4%"`` style: whole percents, one
    decimal below 1% (chapter 5; the error table, the widget's captions and the gallery use it)."""
    return sep.join(f"{int(d)}: {p:.0%}" if p >= 0.01 else f"{int(d)}: {p:.1%}" for d, p in top3)


def pairs_text(pairs: pd.DataFrame, n: int = 3) -> str:
    """The ``n`` most frequent (true, predicted) pairs of :func:`confusion_pairs` as text,
    ``"9 → 4, 6 → 0, 7 → 2"``, or ``"none"`` without errors (chapter 5)."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    top = pairs.head(n)
    return ", ".join(f"{int(t)} → {int(p)}" for t, p in zip(top["true"], top["pred"])) or "none"


def confusion_matrix_frame(frame: pd.DataFrame, normalize: str | None = None, labels: Sequence[int] = DIGITS) -> pd.DataFrame:
    """The confusion matrix as a labelled DataFrame: rows are true labels, columns predictions
    (introduced in chapter 5).

    Parameters
    ----------
    normalize : {None, "true", "pred", "all"}
        Passed to :func:`sklearn.metrics.confusion_matrix`: counts (None), or fractions of each
        true class ("true"), each predicted class ("pred") or of all images ("all").
    labels : sequence of int
        The classes, default the ten digits.
    """
    from sklearn.metrics import confusion_matrix

    _check_frame(frame, ("true", "pred"))
    if normalize not in (None, "true", "pred", "all"):
        raise ValueError(f"normalize must be None, 'true', 'pred' or 'all', got {normalize!r}")
    matrix = confusion_matrix(frame["true"], frame["pred"], labels=list(labels), normalize=normalize)
    return pd.DataFrame(
        matrix,
        index=pd.Index(list(labels), name="true"),
        columns=pd.Index(list(labels), name="predicted"),
    )


def plot_confusion(frame: pd.DataFrame, errors_only: bool = False, ax=None):
    """A seaborn heatmap of the confusion matrix; returns the axes (introduced in chapter 5).

    With ``errors_only=False`` the cells are counts, diagonal included. With ``errors_only=True``
    the diagonal (the correct answers) is masked and each row is normalized by the number of test
    images of that true digit, so a cell reads "share of the 4s that were called 9", and the colour
    scale is spent on the mistakes.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    ax = ax if ax is not None else plt.subplots(figsize=(5.4, 4.4))[1]
    if errors_only:
        matrix = confusion_matrix_frame(frame, normalize="true")
        mask = np.eye(len(matrix), dtype=bool)
        annot = matrix.map(lambda v: f"{v:.1%}" if v > 0 else "")
        sns.heatmap(matrix, mask=mask, annot=annot, fmt="", cmap="Reds", square=True, linewidths=0.5,
                    annot_kws={"fontsize": 7}, cbar_kws={"label": "share of the true digit", "format": "{x:.1%}"}, ax=ax)
        ax.set_title("Errors only (row-normalized, diagonal masked)")
    else:
        matrix = confusion_matrix_frame(frame)
        sns.heatmap(matrix, annot=True, fmt="d", cmap="Blues", square=True, linewidths=0.5,
                    annot_kws={"fontsize": 7}, cbar_kws={"label": "images"}, ax=ax)
        ax.set_title("Confusion matrix (counts)")
    ax.set(xlabel="predicted", ylabel="true")
    return ax


def per_class_report(frame: pd.DataFrame, labels: Sequence[int] = DIGITS) -> pd.DataFrame:
    """Precision, recall, F1 and support per digit, from
    :func:`sklearn.metrics.precision_recall_fscore_support` (introduced in chapter 5).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``digit``; columns ``precision``, ``recall``, ``f1``, ``support`` and ``errors``
        (images of that digit the model got wrong). A digit never predicted has precision 0.
    """
    from sklearn.metrics import precision_recall_fscore_support

    _check_frame(frame, ("true", "pred", "correct"))
    precision, recall, f1, support = precision_recall_fscore_support(
        frame["true"], frame["pred"], labels=list(labels), zero_division=0
    )
    errors = frame.loc[~frame["correct"], "true"].value_counts().reindex(list(labels), fill_value=0)
    return pd.DataFrame(
        {"precision": precision, "recall": recall, "f1": f1, "support": support, "errors": errors.to_numpy()},
        index=pd.Index(list(labels), name="digit"),
    )


# --- model-level diagnosis --------------------------------------------------------------------

def diagnose_fit(train_acc: float, val_acc: float, test_acc: float | None = None) -> dict:
    """Underfitting, overfitting or neither, by an explicit rule (introduced in chapter 5).

    The rule, checked in this order:

    1. **underfitting** if training accuracy (measured in inference mode) is below
       :data:`UNDERFIT_TRAIN_ACCURACY`: the model does not fit even the images it learned from, so
       more capacity or more (or better-tuned) training is the lever;
    2. **overfitting** if training accuracy exceeds validation accuracy by more than
       :data:`OVERFIT_GAP`: the model memorizes, so regularization or augmentation is the lever;
    3. **neither** otherwise: the model fits and generalizes; what is left is variance between
       runs and hard or wrongly labelled images.

    Test accuracy takes no part in the diagnosis (the test set chooses nothing); when given, it is
    only compared with validation accuracy (:data:`VAL_TEST_TOLERANCE`) as a sanity note.

    Returns
    -------
    dict
        ``diagnosis`` ("underfitting", "overfitting" or "neither"), ``train_val_gap`` (fraction),
        ``val_test_gap`` (fraction or None), ``val_test_agree`` (bool or None), ``reason`` (a sentence).
    """
    values = {"train_acc": train_acc, "val_acc": val_acc} | ({} if test_acc is None else {"test_acc": test_acc})
    for name, value in values.items():
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"{name} must be an accuracy as a fraction in [0, 1], got {value}")
    train_acc, val_acc = float(train_acc), float(val_acc)
    gap = train_acc - val_acc
    if train_acc < UNDERFIT_TRAIN_ACCURACY:
        diagnosis = "underfitting"
        reason = (f"training accuracy {train_acc:.2%} is below {UNDERFIT_TRAIN_ACCURACY:.0%}: the model does not fit "
                  "the training images; add capacity or train longer")
    elif gap > OVERFIT_GAP + 1e-12:  # tolerance: 0.99 - 0.98 is 0.010000000000000009 in floats
        diagnosis = "overfitting"
        reason = (f"training accuracy is {gap * 100:.2f} points above validation (more than {OVERFIT_GAP * 100:.1f}): "
                  "the model memorizes; regularize or augment")
    else:
        diagnosis = "neither"
        reason = (f"training accuracy {train_acc:.2%} is at least {UNDERFIT_TRAIN_ACCURACY:.0%} and only "
                  f"{gap * 100:.2f} points above validation (at most {OVERFIT_GAP * 100:.1f})")
    val_test_gap = None if test_acc is None else float(test_acc) - val_acc
    agree = None if val_test_gap is None else abs(val_test_gap) <= VAL_TEST_TOLERANCE
    return {"diagnosis": diagnosis, "train_val_gap": gap, "val_test_gap": val_test_gap,
            "val_test_agree": agree, "reason": reason}


# --- per-error categories ---------------------------------------------------------------------

def categorize_errors(frame: pd.DataFrame, known_label_errors: Iterable[int] | None = None) -> pd.Series:
    """Sort every misclassified image into one of three categories (introduced in chapter 5).

    The rule, checked in this order for each error:

    1. **label noise**: the image's test ``index`` is in ``known_label_errors``, or the model is
       confidently against the label: ``confidence >= LABEL_NOISE_CONFIDENCE`` (0.9) and
       ``p_true < LABEL_NOISE_P_TRUE`` (0.05). The second case is a *suspicion*: a confident
       model failure looks the same, which is why the book looks at the images;
    2. **ambiguous**: the label is the model's second choice and ``margin < AMBIGUOUS_MARGIN``
       (0.5): the model hesitated between the label and its answer;
    3. **model failure**: every other error.

    Correct rows get ``"correct"``.

    Parameters
    ----------
    frame : pandas.DataFrame
        A predictions frame (:func:`predictions_frame`).
    known_label_errors : iterable of int, optional
        Test indices whose labels are known to be wrong, such as :func:`known_label_errors`.

    Returns
    -------
    pandas.Series
        Categorical with categories :data:`CATEGORIES`, aligned with ``frame`` (same index), named
        ``category``; assign it as a column.
    """
    _check_frame(frame, ("index", "true", "pred", "correct", "confidence", "p_true", "margin", "second"))
    known = np.asarray(sorted(set(int(i) for i in known_label_errors)) if known_label_errors is not None else [], dtype=np.int64)
    wrong = ~frame["correct"].to_numpy(dtype=bool)
    noise = wrong & (
        frame["index"].isin(known).to_numpy()
        | ((frame["confidence"] >= LABEL_NOISE_CONFIDENCE) & (frame["p_true"] < LABEL_NOISE_P_TRUE)).to_numpy()
    )
    ambiguous = wrong & ~noise & ((frame["second"] == frame["true"]) & (frame["margin"] < AMBIGUOUS_MARGIN)).to_numpy()
    values = np.select([~wrong, noise, ambiguous], ["correct", "label noise", "ambiguous"], default="model failure")
    return pd.Series(pd.Categorical(values, categories=list(CATEGORIES)), index=frame.index, name="category")


# --- known label errors -----------------------------------------------------------------------

@lru_cache(maxsize=1)
def _known_label_errors_record() -> dict:
    text = resources.files("mnist_helpers").joinpath("data_files", _KNOWN_ERRORS_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def known_label_errors() -> np.ndarray:
    """Test-set indices of MNIST images whose label is wrong, sorted (introduced in chapter 5).

    The 15 indices were found by Northcutt, Athalye and Mueller, "Pervasive Label Errors in Test
    Sets Destabilize Machine Learning Benchmarks" (NeurIPS Datasets and Benchmarks, 2021), and are
    shipped with the package in ``data_files/known_label_errors.json``
    (see :func:`known_label_errors_citation`). Positions refer to the original 10,000-image test set.
    """
    return np.array(sorted(_known_label_errors_record()["indices"]), dtype=np.int64)


def known_label_errors_citation() -> str:
    """The reference for :func:`known_label_errors`, as one sentence (introduced in chapter 5)."""
    return str(_known_label_errors_record()["citation"])


def accuracy_without(frame: pd.DataFrame, indices: Iterable[int]) -> float:
    """Accuracy of a predictions frame after dropping the test images with the given original
    ``indices`` (for example the known label errors); introduced in chapter 5.

    Indices that are not in the frame (say, outside the smoke subset) are ignored.

    Raises
    ------
    ValueError
        If nothing is left after dropping.
    """
    _check_frame(frame, ("index", "correct"))
    keep = ~frame["index"].isin(np.asarray(list(indices), dtype=np.int64))
    if not keep.any():
        raise ValueError(f"dropping the given indices leaves no rows of the {len(frame)} in the frame; "
                         "expected at least one row to measure accuracy on")
    return float(frame.loc[keep, "correct"].mean())


def aligned_images(frame: pd.DataFrame, images: np.ndarray) -> np.ndarray:
    """``images`` as (N, 28, 28), checked to have one image per row of a predictions frame
    (chapter 5; used by the gallery and the browser)."""
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3 or len(images) != len(frame):
        raise ValueError(f"images must have shape ({len(frame)}, 28, 28) to match the frame's {len(frame)} rows, "
                         f"got shape {images.shape}")
    return images
