"""Seeds, test-time augmentation and ensembles (:func:`evaluate_seeds`, chapter 6 and ``benchmarks.best_recipe``);
Wilson intervals and McNemar's test from ``statsmodels``. Nothing here imports TensorFlow."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


def binomial_interval(correct: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson interval (``statsmodels`` ``proportion_confint``) for the true accuracy of ``correct`` of ``n`` right.

    Raises
    ------
    ValueError
        If the counts are not integers, ``n < 1``, ``correct`` is outside ``[0, n]`` or ``confidence`` outside (0, 1).
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
    return (0.0 if correct == 0 else float(low)), (1.0 if correct == n else float(high))  # exact at 0 and n


def _labels(**named) -> list[np.ndarray]:
    """The arrays as 1-D integer class labels of one length, or a ValueError that says what was expected."""
    arrays = {name: np.asarray(values) for name, values in named.items()}
    for name, array in arrays.items():
        if array.ndim != 1:
            hint = "; for softmax outputs pass probs.argmax(axis=1)" if array.ndim == 2 else ""
            raise ValueError(f"{name} must be a 1-D array of class labels, got shape {array.shape}{hint}")
        if array.size and array.dtype.kind not in "iub":
            raise ValueError(f"{name} must hold integer class labels, got dtype {array.dtype}")
    if len({len(a) for a in arrays.values()}) != 1:
        described = ", ".join(f"{name} has {len(a)}" for name, a in arrays.items())
        raise ValueError(f"expected arrays of the same length, got: {described}")
    if not len(next(iter(arrays.values()))):
        raise ValueError("expected at least one labelled image, got empty arrays")
    return list(arrays.values())


def paired_comparison(y_true, pred_a, pred_b) -> dict[str, Any]:
    """McNemar's exact test (``statsmodels``) of label predictions B against A: ``{"fixed": A wrong and B right,
    "broken": A right and B wrong, "p_value": two-sided, "test": "exact"}``; ValueError unless 1-D labels of one length."""
    from statsmodels.stats.contingency_tables import mcnemar

    y_true, pred_a, pred_b = _labels(y_true=y_true, pred_a=pred_a, pred_b=pred_b)
    a, b = pred_a == y_true, pred_b == y_true
    table = np.array([[np.sum(a & b), np.sum(a & ~b)], [np.sum(~a & b), np.sum(~a & ~b)]])
    return {"fixed": int(table[1, 0]), "broken": int(table[0, 1]),
            "p_value": float(mcnemar(table, exact=True).pvalue), "test": "exact"}


def accuracy(probs: np.ndarray, y_true) -> float:
    """The accuracy of softmax outputs ``probs`` (shape (N, K)) against integer labels ``y_true``."""
    y_true, predicted = _labels(y_true=y_true, predicted=np.asarray(probs).argmax(axis=1))
    return float(np.mean(predicted == y_true))


def ensemble_average(prob_list: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """The mean of several models' softmax outputs (shape (N, K) each) on the same images. Raises
    ``ValueError`` for no models, shapes that are not one (N, K), or outputs that are not probabilities."""
    arrays = [np.asarray(p) for p in prob_list]
    if not arrays:
        raise ValueError("expected the outputs of at least one model, got an empty list")
    for i, probs in enumerate(arrays):
        if probs.ndim != 2:
            raise ValueError(f"model {i}: expected softmax outputs of shape (N, K), got shape {probs.shape}")
        if probs.shape != arrays[0].shape:
            raise ValueError(f"model {i}: expected shape {arrays[0].shape} like model 0, got {probs.shape}")
        if probs.dtype.kind != "f" or not np.isfinite(probs).all() or probs.min() < 0 or probs.max() > 1:
            raise ValueError(f"model {i}: expected finite probabilities in [0, 1] (softmax outputs), got dtype "
                             f"{probs.dtype} with values from {np.nanmin(probs)} to {np.nanmax(probs)}")
        if not np.allclose(sums := probs.sum(axis=1), 1.0, atol=1e-3):
            raise ValueError(f"model {i}: expected rows that sum to 1 (softmax outputs), got a row summing to "
                             f"{sums[np.argmax(np.abs(sums - 1.0))]:.4f}; pass probabilities, not logits")
    return np.mean(arrays, axis=0)


@dataclass(frozen=True)
class TTAChoice:
    """Whether single models and the ensemble use TTA, and the validation accuracies :func:`choose_tta` compared."""

    val_plain: float
    val_tta: float
    single: bool
    ensemble_val_plain: float
    ensemble_val_tta: float
    ensemble: bool

    @property
    def ensemble_val(self) -> float:
        """The ensemble's validation accuracy as it predicts (TTA as chosen)."""
        return self.ensemble_val_tta if self.ensemble else self.ensemble_val_plain

    as_dict = asdict  #: the fields as a dict


def choose_tta(y_val, plain: Sequence[np.ndarray], tta: Sequence[np.ndarray]) -> TTAChoice:
    """Use test-time augmentation for single models if it raises their mean validation accuracy, for the
    ensemble if it raises the ensemble's (a tie keeps plain). ``plain``, ``tta``: each model's softmax outputs."""
    if len(plain) != len(tta) or not plain:
        raise ValueError(f"expected the same number (at least one) of plain and TTA outputs, got {len(plain)} and {len(tta)}")
    ensemble_plain, ensemble_tta = ensemble_average(plain), ensemble_average(tta)
    y_val, _, _ = _labels(y_val=y_val, outputs=ensemble_plain.argmax(axis=1), tta_outputs=ensemble_tta.argmax(axis=1))
    val_plain, val_tta = (float(np.mean([accuracy(p, y_val) for p in outputs])) for outputs in (plain, tta))
    ens_plain, ens_tta = accuracy(ensemble_plain, y_val), accuracy(ensemble_tta, y_val)
    return TTAChoice(val_plain, val_tta, val_tta > val_plain, ens_plain, ens_tta, ens_tta > ens_plain)


@dataclass
class SeedEvaluation:
    """One model's softmax outputs; ``val*`` are ``None`` for a refit model, ``test_tta`` unless TTA was chosen."""

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
            raise ValueError(f"seed {self.seed} has no {split} outputs{' with test-time augmentation' if tta else ''}: a "
                             "refit model has no validation data, and test outputs with TTA exist only if validation chose it")
        return probs


@dataclass
class EnsembleEvaluation:
    """A recipe's seed models as :func:`evaluate_seeds` scored them, and the TTA choice validation made."""

    members: list[SeedEvaluation]
    choice: TTAChoice
    y_val: np.ndarray
    y_test: np.ndarray

    def accuracies(self, split: str, tta: bool = False) -> dict[int, float]:
        """Each member's accuracy on ``split``, by seed."""
        return {m.seed: accuracy(m.probs(split, tta), getattr(self, f"y_{split}")) for m in self.members}

    def single(self, split: str) -> dict[int, np.ndarray]:
        """Each member's outputs as a single model predicts (TTA as chosen), by seed."""
        return {m.seed: m.probs(split, self.choice.single) for m in self.members}

    def ensemble(self, split: str) -> np.ndarray:
        """The softmax average of the members (TTA as chosen for the ensemble)."""
        return ensemble_average([m.probs(split, self.choice.ensemble) for m in self.members])

    @property
    def best_seed(self) -> int:
        """The seed of the best single model on validation, as single models predict."""
        return max(self.single("val").items(), key=lambda item: accuracy(item[1], self.y_val))[0]


def evaluate_seeds(runs: Sequence[Any], splits, choice: TTAChoice | None = None, copies: int = 4) -> EnsembleEvaluation:
    """Score ``runs`` (``recipes.SeedRun``) on ``splits``: validation plain and with ``augment.predict_tta``, then
    :func:`choose_tta`, then test (TTA only if chosen). A given ``choice`` (refit models) skips validation."""
    from mnist_helpers.augment import predict_tta
    from mnist_helpers.data import prepare

    if not runs:
        raise ValueError("expected at least one seed run, got none")
    x_val, x_test = None if choice else prepare(splits.x_val), prepare(splits.x_test)
    predict = lambda model, x: None if x is None else model.predict(x, batch_size=512, verbose=0)  # noqa: E731
    tta = lambda model, x: None if x is None else predict_tta(model, x, copies=copies)  # noqa: E731
    members = [SeedEvaluation(r.seed, predict(r.model, x_val), tta(r.model, x_val), predict(r.model, x_test)) for r in runs]
    choice = choice or choose_tta(splits.y_val, [m.val for m in members], [m.val_tta for m in members])
    for member, run in zip(members, runs):
        member.test_tta = tta(run.model, x_test if choice.single or choice.ensemble else None)
    return EnsembleEvaluation(members, choice, np.asarray(splits.y_val), np.asarray(splits.y_test))
