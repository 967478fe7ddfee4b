"""Seeds, significance and ensembles: the evaluation path of chapter 6 and ``benchmarks.best_recipe``.

- :func:`evaluate_seeds` predicts every seed model of a recipe on validation and test, plain and
  with test-time augmentation, and chooses on validation where test-time augmentation is used
  (:func:`choose_tta`); the result, :class:`EnsembleEvaluation`, gives each single model's and the
  softmax-average ensemble's outputs and accuracies.
- :func:`binomial_interval` (the Wilson interval) and :func:`paired_comparison` (McNemar's test)
  wrap ``statsmodels`` as chapter 6 calls it in its cells.

Nothing here imports TensorFlow; :func:`evaluate_seeds` only calls the models' ``predict``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


def binomial_interval(correct: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson confidence interval for the true accuracy of a model that gets ``correct`` of ``n``
    images right: ``statsmodels.stats.proportion.proportion_confint(correct, n, alpha=1 - confidence,
    method="wilson")`` (chapter 6; the results table uses it).

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
    from statsmodels.stats.proportion import proportion_confint

    for label, value in (("correct", correct), ("n", n)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{label} must be an integer count, got {value!r} ({type(value).__name__})")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if not 0 <= correct <= n:
        raise ValueError(f"correct must be between 0 and n={n}, got {correct}")
    if not 0.0 < float(confidence) < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")
    low, high = proportion_confint(int(correct), int(n), alpha=1.0 - float(confidence), method="wilson")
    # Exact bounds at 0 and n, without the rounding noise of the formula.
    return (0.0 if correct == 0 else float(low)), (1.0 if correct == n else float(high))


def _labels(name: str, values) -> np.ndarray:
    """A 1-D integer label array, or a ValueError that says what was expected."""
    array = np.asarray(values)
    if array.ndim == 2:
        raise ValueError(f"{name} must be a 1-D array of class labels, got shape {array.shape}; "
                         "for softmax outputs pass probs.argmax(axis=1)")
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


def paired_comparison(y_true, pred_a, pred_b) -> dict[str, Any]:
    """Model B against model A on the same images, as chapter 6 writes it: the 2 x 2 table of right
    and wrong, and McNemar's exact test on it (``statsmodels.stats.contingency_tables.mcnemar``).

    Returns a dict: ``fixed`` (A wrong, B right), ``broken`` (A right, B wrong), ``p_value``
    (two-sided, for "A and B have the same error rate") and ``test`` (``"exact"``).

    Raises
    ------
    ValueError
        If an input is not 1-D (softmax outputs instead of labels, say), the lengths differ or the
        arrays are empty.
    """
    import pandas as pd
    from statsmodels.stats.contingency_tables import mcnemar

    y_true, pred_a, pred_b = _labels("y_true", y_true), _labels("pred_a", pred_a), _labels("pred_b", pred_b)
    _same_length(y_true=y_true, pred_a=pred_a, pred_b=pred_b)
    verdict = lambda pred: np.where(pred == y_true, "right", "wrong")  # noqa: E731
    table = pd.crosstab(verdict(pred_a), verdict(pred_b)).reindex(
        index=["right", "wrong"], columns=["right", "wrong"], fill_value=0)
    return {"fixed": int(table.loc["wrong", "right"]), "broken": int(table.loc["right", "wrong"]),
            "p_value": float(mcnemar(table, exact=True).pvalue), "test": "exact"}


def accuracy(probs: np.ndarray, y_true) -> float:
    """The accuracy of softmax outputs ``probs`` (shape (N, K)) against integer labels ``y_true``."""
    from sklearn.metrics import accuracy_score

    return float(accuracy_score(_labels("y_true", y_true), np.asarray(probs).argmax(axis=1)))


def ensemble_average(prob_list: Sequence[np.ndarray] | np.ndarray, atol: float = 1e-3) -> np.ndarray:
    """The softmax average of several models' outputs on the same images (shape (N, K) each), after
    checking that they are softmax outputs of one shape.

    Raises
    ------
    ValueError
        If there are no models, an output is not 2-D, the shapes differ, or an output does not look
        like softmax probabilities (values outside [0, 1], NaN, or rows that do not sum to 1).
    """
    arrays = list(prob_list) if isinstance(prob_list, np.ndarray) and prob_list.ndim == 3 else [np.asarray(p) for p in prob_list]
    if not arrays:
        raise ValueError("expected the outputs of at least one model, got an empty list")
    expected = arrays[0].shape
    for i, probs in enumerate(arrays):
        if probs.ndim != 2:
            raise ValueError(f"model {i}: expected softmax outputs of shape (N, K), got shape {probs.shape}")
        if probs.shape != expected:
            raise ValueError(f"model {i}: expected shape {expected} like model 0, got {probs.shape}")
        if probs.dtype.kind != "f" or not np.isfinite(probs).all() or probs.min() < 0 or probs.max() > 1:
            raise ValueError(f"model {i}: expected finite probabilities in [0, 1] (softmax outputs), got dtype "
                             f"{probs.dtype} with values from {np.nanmin(probs)} to {np.nanmax(probs)}")
        sums = probs.sum(axis=1)
        if not np.allclose(sums, 1.0, atol=atol):
            worst = float(sums[np.argmax(np.abs(sums - 1.0))])
            raise ValueError(f"model {i}: expected rows that sum to 1 (softmax outputs), got a row summing to "
                             f"{worst:.4f}; pass probabilities, not logits")
    return np.mean(arrays, axis=0)


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
        """The single models' mean validation accuracy as they predict (TTA as chosen)."""
        return self.val_tta if self.single else self.val_plain

    @property
    def ensemble_val(self) -> float:
        """The ensemble's validation accuracy as it predicts (TTA as chosen)."""
        return self.ensemble_val_tta if self.ensemble else self.ensemble_val_plain

    def as_dict(self) -> dict:
        return asdict(self)


def choose_tta(y_val, plain: Sequence[np.ndarray], tta: Sequence[np.ndarray]) -> TTAChoice:
    """Decide on validation data whether test-time augmentation is used (chapters 4 and 6): for a
    single model when it raises the models' mean validation accuracy, for the ensemble when it
    raises the ensemble's; a tie keeps the plain prediction, which is cheaper.

    ``plain`` and ``tta`` hold each model's validation softmax outputs, in the same model order.

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
    ens_plain, ens_tta = accuracy(ensemble_plain, y_val), accuracy(ensemble_tta, y_val)
    return TTAChoice(val_plain, val_tta, val_tta > val_plain, ens_plain, ens_tta, ens_tta > ens_plain)


@dataclass
class SeedEvaluation:
    """One model's softmax outputs: on validation and test, plain and with test-time augmentation.
    ``val`` and ``val_tta`` are ``None`` for a model refit on the validation images; ``test_tta``
    is ``None`` unless validation chose test-time augmentation."""

    seed: int
    val: np.ndarray | None
    val_tta: np.ndarray | None
    test: np.ndarray
    test_tta: np.ndarray | None = None

    def probs(self, split: str, tta: bool = False) -> np.ndarray:
        """The outputs on ``split`` (``"val"`` or ``"test"``), with test-time augmentation or without."""
        if split not in ("val", "test"):
            raise ValueError(f"split must be 'val' or 'test', got {split!r}")
        probs = getattr(self, f"{split}_tta" if tta else split)
        if probs is None:
            raise ValueError(f"seed {self.seed} has no {split} outputs{' with test-time augmentation' if tta else ''}: "
                             "a refit model has no validation data, and test outputs with test-time augmentation "
                             "exist only when validation chose it")
        return probs


@dataclass
class EnsembleEvaluation:
    """The seed models of one recipe as :func:`evaluate_seeds` scored them, and the choice of
    test-time augmentation that validation made for single models and for the ensemble."""

    members: list[SeedEvaluation]
    choice: TTAChoice
    y_val: np.ndarray
    y_test: np.ndarray

    def accuracies(self, split: str, tta: bool = False) -> dict[int, float]:
        """Each member's accuracy on ``split``, by seed."""
        y = self.y_val if split == "val" else self.y_test
        return {m.seed: accuracy(m.probs(split, tta), y) for m in self.members}

    def single(self, split: str) -> dict[int, np.ndarray]:
        """Each member's outputs as a single model predicts: test-time augmentation as chosen."""
        return {m.seed: m.probs(split, self.choice.single) for m in self.members}

    def ensemble(self, split: str) -> np.ndarray:
        """The softmax average of the members, with test-time augmentation as chosen for the ensemble."""
        return ensemble_average([m.probs(split, self.choice.ensemble) for m in self.members])

    @property
    def best_seed(self) -> int:
        """The seed of the best single model on validation, as single models predict."""
        val = {seed: accuracy(p, self.y_val) for seed, p in self.single("val").items()}
        return max(val, key=val.get)


def evaluate_seeds(runs: Sequence[Any], splits, choice: TTAChoice | None = None, copies: int = 4) -> EnsembleEvaluation:
    """Score the models of ``runs`` (``recipes.SeedRun``: anything with ``.seed`` and ``.model``) on
    ``splits`` (chapter 6 and ``benchmarks.best_recipe``).

    Each model predicts the validation images, plain and with test-time augmentation
    (``augment.predict_tta`` with ``copies`` mild copies), and the test images plain;
    :func:`choose_tta` then decides on validation, and only where it chose test-time augmentation
    do the models predict the test images with it too. With ``choice`` given (models refit on the
    validation images), validation is not read and that choice is applied as it is.
    """
    from mnist_helpers.augment import predict_tta
    from mnist_helpers.data import prepare

    if not runs:
        raise ValueError("expected at least one seed run, got none")
    x_test = prepare(splits.x_test)
    x_val = prepare(splits.x_val) if choice is None else None
    predict = lambda model, x: model.predict(x, batch_size=512, verbose=0)  # noqa: E731
    members = [SeedEvaluation(run.seed, None if x_val is None else predict(run.model, x_val),
                              None if x_val is None else predict_tta(run.model, x_val, copies=copies),
                              predict(run.model, x_test)) for run in runs]
    if choice is None:
        choice = choose_tta(splits.y_val, [m.val for m in members], [m.val_tta for m in members])
    if choice.single or choice.ensemble:
        for member, run in zip(members, runs):
            member.test_tta = predict_tta(run.model, x_test, copies=copies)
    return EnsembleEvaluation(members, choice, np.asarray(splits.y_val), np.asarray(splits.y_test))
