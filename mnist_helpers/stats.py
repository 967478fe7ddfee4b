"""Seeds, significance and ensembles: the statistics of comparing models (introduced in chapter 6).

On the 10,000 MNIST test images one error is 0.01 percentage points, so two models that differ
by 0.05 points differ by five images. This module answers the questions chapter 6 asks before it
believes such a difference:

- :func:`binomial_interval`: how precisely does a test set of ``n`` images measure an accuracy?
  (Wilson score interval.)
- :func:`mcnemar`: do two models, scored on the *same* images, really differ? (McNemar's test on
  the images where exactly one of them is right.)
- :func:`seed_summary`: how much does the accuracy of one recipe move when only the seed changes?
- :func:`ensemble_average` and :func:`fixed_and_broken`: average the softmax outputs of several
  models, and count the errors that averaging fixes and the ones it introduces.
- :func:`choose_tta`: decide on validation data whether test-time augmentation is used, for a
  single model and for the ensemble.

Everything here works on NumPy arrays of labels or probabilities; nothing imports TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

#: Below this many discordant images (``b + c``), :func:`mcnemar` uses the exact binomial test.
EXACT_THRESHOLD = 25


def binomial_interval(correct: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for an accuracy of ``correct`` out of ``n`` (introduced in chapter 6).

    The Wilson interval is

    .. math::

        \\frac{\\hat p + \\frac{z^2}{2n} \\pm z\\sqrt{\\frac{\\hat p(1-\\hat p)}{n} + \\frac{z^2}{4n^2}}}
             {1 + \\frac{z^2}{n}}

    with :math:`\\hat p = \\text{correct}/n` and :math:`z` the two-sided normal quantile for
    ``confidence`` (1.96 for 95 %). Unlike the textbook normal ("Wald") interval it stays inside
    [0, 1] and does not collapse to a single point when every image is right, which matters for
    accuracies close to 100 %. It agrees with
    ``scipy.stats.binomtest(correct, n).proportion_ci(confidence, method="wilson")``.

    Parameters
    ----------
    correct : int
        Number of correctly classified images, ``0 <= correct <= n``.
    n : int
        Number of images scored, at least 1.
    confidence : float, default 0.95
        Coverage of the interval, strictly between 0 and 1.

    Returns
    -------
    (low, high) : tuple of float
        The interval for the accuracy, as fractions in [0, 1].

    Raises
    ------
    ValueError
        If the counts are not integers, ``n < 1``, ``correct`` is outside ``[0, n]`` or
        ``confidence`` is outside (0, 1).

    Examples
    --------
    >>> low, high = binomial_interval(9950, 10000)
    >>> round(low, 4), round(high, 4)
    (0.9934, 0.9962)
    """
    from scipy.stats import norm

    for label, value in (("correct", correct), ("n", n)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{label} must be an integer count, got {value!r} ({type(value).__name__})")
    correct, n = int(correct), int(n)
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if not 0 <= correct <= n:
        raise ValueError(f"correct must be between 0 and n={n}, got {correct}")
    if not 0.0 < float(confidence) < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")
    z = float(norm.ppf(0.5 + float(confidence) / 2.0))
    p = correct / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denominator
    # Clip rounding noise so the bounds are exact at 0 and n.
    low = 0.0 if correct == 0 else max(0.0, centre - half)
    high = 1.0 if correct == n else min(1.0, centre + half)
    return low, high


@dataclass(frozen=True)
class McNemarResult:
    """The outcome of :func:`mcnemar` (introduced in chapter 6).

    Attributes
    ----------
    b : int
        Images model A classifies correctly and model B does not.
    c : int
        Images model A gets wrong and model B gets right.
    statistic : float
        For ``test == "exact"``: ``min(b, c)``, the smaller discordant count. For
        ``test == "chi2"``: the continuity-corrected statistic ``(max(|b - c| - 1, 0))^2 / (b + c)``.
    p_value : float
        Two-sided p-value for "A and B have the same error rate".
    test : str
        ``"exact"`` (binomial test on ``b`` out of ``b + c`` with probability 1/2) or ``"chi2"``
        (chi-square with one degree of freedom and continuity correction).
    """

    b: int
    c: int
    statistic: float
    p_value: float
    test: str

    @property
    def n_discordant(self) -> int:
        """``b + c``: the images on which the two models disagree about being right."""
        return self.b + self.c

    def as_dict(self) -> dict[str, float | int | str]:
        """The fields as a plain dict, for tables."""
        return asdict(self)


def _labels(name: str, values) -> np.ndarray:
    """A 1-D integer label array, or a ValueError that says what was expected."""
    array = np.asarray(values)
    if array.ndim == 2:
        raise ValueError(
            f"{name} must be a 1-D array of class labels, got shape {array.shape}; "
            "for softmax outputs pass probs.argmax(axis=1)"
        )
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class labels, got shape {array.shape}")
    if array.size and array.dtype.kind not in "iub":
        raise ValueError(f"{name} must hold integer class labels, got dtype {array.dtype}")
    return array


def _same_length(**arrays: np.ndarray) -> None:
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) != 1:
        described = ", ".join(f"{name} has {size}" for name, size in lengths.items())
        raise ValueError(f"expected arrays of the same length, got: {described}")
    if next(iter(lengths.values())) == 0:
        raise ValueError("expected at least one labelled image, got empty arrays")


def mcnemar(y_true, pred_a, pred_b, exact_threshold: int = EXACT_THRESHOLD) -> McNemarResult:
    """McNemar's test: do two models scored on the same images have the same error rate?
    (Introduced in chapter 6.)

    Only the discordant images count: ``b`` where A is right and B is wrong, ``c`` where A is
    wrong and B is right. Under the null hypothesis each discordant image is equally likely to
    favour either model, so ``b ~ Binomial(b + c, 1/2)``.

    - If ``b + c < exact_threshold`` (default 25) the **exact** two-sided binomial test is used:
      ``p = min(1, 2 * P(X <= min(b, c)))`` for ``X ~ Binomial(b + c, 1/2)``, computed with
      ``scipy.stats.binomtest``.
    - Otherwise the **chi-square** approximation with continuity correction is used:
      ``statistic = (max(|b - c| - 1, 0))^2 / (b + c)`` and ``p = P(chi2_1 >= statistic)``,
      computed with ``scipy.stats.chi2``.

    With ``b + c == 0`` the models are right on exactly the same images: the result is the
    exact test with ``statistic = 0`` and ``p_value = 1``.

    Parameters
    ----------
    y_true : array of shape (N,)
        True labels.
    pred_a, pred_b : array of shape (N,)
        Predicted labels of model A and model B on the same images, in the same order.
    exact_threshold : int, default 25
        Use the exact test when ``b + c`` is below this; 0 always uses chi-square.

    Returns
    -------
    McNemarResult
        ``b``, ``c``, ``statistic``, ``p_value`` and ``test`` (``"exact"`` or ``"chi2"``).

    Raises
    ------
    ValueError
        If an input is not 1-D (for example softmax outputs instead of labels), the lengths differ,
        the arrays are empty, or ``exact_threshold`` is negative.

    Examples
    --------
    >>> y = np.array([0, 1, 2, 3])
    >>> r = mcnemar(y, np.array([0, 1, 2, 0]), np.array([0, 0, 0, 0]))
    >>> (r.b, r.c, r.test, r.p_value)
    (2, 0, 'exact', 0.5)
    """
    from scipy.stats import binomtest, chi2

    y_true, pred_a, pred_b = _labels("y_true", y_true), _labels("pred_a", pred_a), _labels("pred_b", pred_b)
    _same_length(y_true=y_true, pred_a=pred_a, pred_b=pred_b)
    if exact_threshold < 0:
        raise ValueError(f"exact_threshold must be non-negative, got {exact_threshold}")
    right_a, right_b = pred_a == y_true, pred_b == y_true
    b = int(np.sum(right_a & ~right_b))
    c = int(np.sum(~right_a & right_b))
    n = b + c
    if n == 0:
        return McNemarResult(b=0, c=0, statistic=0.0, p_value=1.0, test="exact")
    if n < exact_threshold:
        p_value = float(binomtest(b, n, 0.5, alternative="two-sided").pvalue)
        return McNemarResult(b=b, c=c, statistic=float(min(b, c)), p_value=min(1.0, p_value), test="exact")
    statistic = max(abs(b - c) - 1, 0) ** 2 / n
    return McNemarResult(b=b, c=c, statistic=float(statistic), p_value=float(chi2.sf(statistic, df=1)), test="chi2")


def accuracy(probs: np.ndarray, y_true) -> float:
    """The accuracy of softmax outputs ``probs`` (shape (N, K)) against integer labels ``y_true``,
    with ``sklearn.metrics.accuracy_score`` (chapter 6; the benchmark and ``choose_tta`` use it)."""
    from sklearn.metrics import accuracy_score

    return float(accuracy_score(_labels("y_true", y_true), np.asarray(probs).argmax(axis=1)))


def accuracies(probs_by_key: dict, y_true) -> dict:
    """:func:`accuracy` of each entry of ``probs_by_key`` (for example seed -> softmax outputs),
    in a dict with the same keys (chapter 6)."""
    return {key: accuracy(probs, y_true) for key, probs in probs_by_key.items()}


def seed_summary(accuracies: Sequence[float] | np.ndarray) -> dict[str, float | int]:
    """Mean, spread and range of one recipe's accuracy over several seeds (introduced in chapter 6).

    Parameters
    ----------
    accuracies : sequence of float
        One accuracy per seed (fractions or percentages; they are summarised as given).

    Returns
    -------
    dict
        ``n`` (int), ``mean``, ``std`` (sample standard deviation, ``ddof=1``; NaN for a single
        seed, where the spread is unknown), ``min`` and ``max``.

    Raises
    ------
    ValueError
        If ``accuracies`` is empty, not 1-D, or holds NaN or infinite values.
    """
    values = np.asarray(accuracies, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"accuracies must be a 1-D sequence with one value per seed, got shape {values.shape}")
    if values.size == 0:
        raise ValueError("accuracies must hold at least one value, got an empty sequence")
    if not np.isfinite(values).all():
        raise ValueError(f"accuracies must be finite numbers, got {values.tolist()}")
    return {
        "n": int(values.size),
        "mean": float(values.mean()),
        "std": float(values.std(ddof=1)) if values.size > 1 else float("nan"),
        "min": float(values.min()),
        "max": float(values.max()),
    }


def ensemble_average(prob_list: Sequence[np.ndarray] | np.ndarray, atol: float = 1e-3) -> np.ndarray:
    """The softmax-average ensemble: the mean of several models' class probabilities
    (introduced in chapter 6).

    Parameters
    ----------
    prob_list : sequence of arrays of shape (N, K), or one array of shape (M, N, K)
        Softmax outputs of M models on the same N images, in the same order.
    atol : float, default 1e-3
        How far each row may be from summing to 1 (float32 softmax outputs are not exact).

    Returns
    -------
    array of shape (N, K)
        The average probabilities; ``ensemble_average(probs).argmax(axis=1)`` are the ensemble's
        predictions.

    Raises
    ------
    ValueError
        If there are no models, an output is not 2-D, the shapes differ, or an output does not look
        like softmax probabilities (values outside [0, 1], NaN, or rows that do not sum to 1).
    """
    if isinstance(prob_list, np.ndarray) and prob_list.ndim == 3:
        arrays = list(prob_list)
    else:
        arrays = [np.asarray(p) for p in prob_list]
    if not arrays:
        raise ValueError("expected the outputs of at least one model, got an empty list")
    expected = arrays[0].shape
    for i, probs in enumerate(arrays):
        if probs.ndim != 2:
            raise ValueError(f"model {i}: expected softmax outputs of shape (N, K), got shape {probs.shape}")
        if probs.shape != expected:
            raise ValueError(f"model {i}: expected shape {expected} like model 0, got {probs.shape}")
        if probs.dtype.kind != "f" or not np.isfinite(probs).all() or probs.min() < 0 or probs.max() > 1:
            raise ValueError(
                f"model {i}: expected finite probabilities in [0, 1] (softmax outputs), got dtype {probs.dtype} "
                f"with values from {np.nanmin(probs)} to {np.nanmax(probs)}"
            )
        sums = probs.sum(axis=1)
        if not np.allclose(sums, 1.0, atol=atol):
            worst = float(sums[np.argmax(np.abs(sums - 1.0))])
            raise ValueError(
                f"model {i}: expected rows that sum to 1 (softmax outputs), got a row summing to {worst:.4f}; "
                "pass probabilities, not logits"
            )
    return np.mean(np.stack(arrays), axis=0)


@dataclass(frozen=True)
class TTAChoice:
    """What :func:`choose_tta` decided, and the validation accuracies it decided on."""

    val_plain: float  #: mean validation accuracy of the single models, plain
    val_tta: float  #: the same with test-time augmentation
    single: bool  #: a single model predicts with test-time augmentation
    ensemble_val_plain: float  #: validation accuracy of the softmax-average ensemble, plain
    ensemble_val_tta: float  #: the same with test-time augmentation
    ensemble: bool  #: the ensemble predicts with test-time augmentation

    @property
    def single_val(self) -> float:
        """The single models' mean validation accuracy as they predict: with test-time
        augmentation when it was chosen, plain otherwise."""
        return self.val_tta if self.single else self.val_plain

    @property
    def ensemble_val(self) -> float:
        """The ensemble's validation accuracy as it predicts (test-time augmentation as chosen)."""
        return self.ensemble_val_tta if self.ensemble else self.ensemble_val_plain

    def as_dict(self) -> dict:
        return asdict(self)


def choose_tta(y_val, plain: Sequence[np.ndarray], tta: Sequence[np.ndarray]) -> TTAChoice:
    """Decide on validation data whether test-time augmentation is used (introduced in chapter 4;
    chapter 6 and ``benchmarks.best_recipe`` use it for several seeds).

    Test-time augmentation is used for a single model when it raises the models' mean validation
    accuracy, and for the ensemble when it raises the ensemble's; a tie keeps the plain
    prediction, which is cheaper. The test set plays no part.

    Parameters
    ----------
    y_val : array of shape (N,)
        Validation labels.
    plain, tta : sequences of arrays of shape (N, K)
        Each model's validation softmax outputs, plain and with test-time augmentation
        (``augment.predict_tta``), in the same model order.

    Raises
    ------
    ValueError
        If the two sequences hold different numbers of models, or an output does not match
        ``y_val`` (see :func:`ensemble_average` for the checks on the outputs).
    """
    if len(plain) != len(tta) or not plain:
        raise ValueError(f"expected the same number (at least one) of plain and TTA outputs, got {len(plain)} and {len(tta)}")
    y_val = _labels("y_val", y_val)
    ensemble_plain, ensemble_tta = ensemble_average(plain), ensemble_average(tta)
    _same_length(y_val=y_val, outputs=ensemble_plain, tta_outputs=ensemble_tta)
    val_plain = float(np.mean([accuracy(p, y_val) for p in plain]))
    val_tta = float(np.mean([accuracy(p, y_val) for p in tta]))
    ensemble_val_plain, ensemble_val_tta = accuracy(ensemble_plain, y_val), accuracy(ensemble_tta, y_val)
    return TTAChoice(val_plain, val_tta, val_tta > val_plain, ensemble_val_plain, ensemble_val_tta,
                     ensemble_val_tta > ensemble_val_plain)


def beats_on_validation(candidate: TTAChoice, incumbent: TTAChoice) -> bool:
    """Whether a candidate recipe replaces the incumbent, decided on validation data only
    (chapter 6): its ensemble must score strictly higher and its single models, on their mean
    over seeds, at least as high, each predicting with test-time augmentation as
    :func:`choose_tta` chose for it. A tie on the ensemble keeps the incumbent.

    Parameters
    ----------
    candidate, incumbent : TTAChoice
        :func:`choose_tta`'s results for the seeds of each recipe, on the same validation images.
    """
    for name, choice in (("candidate", candidate), ("incumbent", incumbent)):
        if not isinstance(choice, TTAChoice):
            raise ValueError(f"expected {name} to be a TTAChoice from choose_tta, got {type(choice).__name__}")
    return candidate.ensemble_val > incumbent.ensemble_val and candidate.single_val >= incumbent.single_val


def fixed_and_broken(y_true, pred_single, pred_ensemble) -> dict[str, int]:
    """Count the errors an ensemble fixes and the ones it introduces, relative to a single model
    (introduced in chapter 6).

    Parameters
    ----------
    y_true : array of shape (N,)
        True labels.
    pred_single, pred_ensemble : array of shape (N,)
        Predicted labels of the single model and of the ensemble.

    Returns
    -------
    dict of int
        ``fixed``: single wrong, ensemble right; ``broken``: single right, ensemble wrong;
        ``net``: ``fixed - broken`` (the change in the number of correct images);
        ``both_wrong``: errors neither gets right. ``fixed`` and ``broken`` are McNemar's ``c`` and
        ``b`` for ``mcnemar(y_true, pred_single, pred_ensemble)``.

    Raises
    ------
    ValueError
        If an input is not 1-D or the lengths differ.
    """
    y_true = _labels("y_true", y_true)
    pred_single, pred_ensemble = _labels("pred_single", pred_single), _labels("pred_ensemble", pred_ensemble)
    _same_length(y_true=y_true, pred_single=pred_single, pred_ensemble=pred_ensemble)
    right_single, right_ensemble = pred_single == y_true, pred_ensemble == y_true
    fixed = int(np.sum(~right_single & right_ensemble))
    broken = int(np.sum(right_single & ~right_ensemble))
    return {
        "fixed": fixed,
        "broken": broken,
        "net": fixed - broken,
        "both_wrong": int(np.sum(~right_single & ~right_ensemble)),
    }
