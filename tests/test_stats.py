"""Tests for mnist_helpers.stats (chapter 6): the Wilson interval, McNemar, ensembles and the
evaluation path that chapter 6 and the benchmark share."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from mnist_helpers.stats import (
    accuracy,
    binomial_interval,
    choose_tta,
    ensemble_average,
    evaluate_seeds,
    paired_comparison,
)


# --- binomial_interval (Wilson, from statsmodels) -----------------------------------------------

def test_wilson_known_values_and_edges():
    # p = 0.995, n = 10000, z = 1.959964: centre = (p + z^2/2n) / (1 + z^2/n) = 0.994810,
    # half-width = z * sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n) = 0.001395
    low, high = binomial_interval(9950, 10000)
    assert (low, high) == (pytest.approx(0.993415, abs=1e-6), pytest.approx(0.996205, abs=1e-6))
    # All right or all wrong: the interval touches 1 or 0 but does not collapse to a point.
    assert binomial_interval(10, 10) == (pytest.approx(0.722467, abs=1e-6), 1.0)
    assert binomial_interval(0, 10) == (0.0, pytest.approx(0.277533, abs=1e-6))
    width = lambda interval: interval[1] - interval[0]  # noqa: E731
    assert width(binomial_interval(9950, 10000, 0.99)) > width(binomial_interval(9950, 10000))
    assert width(binomial_interval(995, 1000)) > width(binomial_interval(9950, 10000))
    assert isinstance(binomial_interval(np.int64(7), 10)[0], float)


@pytest.mark.parametrize(
    "args, message",
    [((5, 0), "n must be at least 1, got 0"), ((11, 10), "between 0 and n=10, got 11"), ((-1, 10), "got -1"),
     ((5, 10, 1.0), "strictly between 0 and 1, got 1.0"), ((0.5, 10), "integer count"), ((True, 10), "integer count")],
)
def test_wilson_rejects_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        binomial_interval(*args)


# --- paired_comparison (McNemar, from statsmodels) ----------------------------------------------

def discordant(b: int, c: int, both_right: int = 50, both_wrong: int = 3):
    """Labels and two prediction vectors: exactly b images only A gets right, c only B gets right."""
    n = b + c + both_right + both_wrong
    y = np.arange(n) % 10
    wrong = (y + 1) % 10
    a = np.concatenate([y[:b], wrong[b:b + c], y[b + c:b + c + both_right], wrong[b + c + both_right:]])
    bb = np.concatenate([wrong[:b], y[b:b + c], y[b + c:b + c + both_right], wrong[b + c + both_right:]])
    return y, a, bb


def test_mcnemar_exact_hand_computed_and_symmetric():
    # b = 10, c = 2: p = 2 * sum_{k<=2} C(12, k) / 2^12 = 2 * (1 + 12 + 66) / 4096 = 158 / 4096
    y, a, b = discordant(10, 2)
    assert paired_comparison(y, a, b) == {"fixed": 2, "broken": 10, "p_value": pytest.approx(158 / 4096), "test": "exact"}
    swapped = paired_comparison(y, b, a)
    assert (swapped["fixed"], swapped["broken"]) == (10, 2) and swapped["p_value"] == pytest.approx(158 / 4096)


def test_mcnemar_degenerate_tables():
    y, a, b = discordant(0, 0)  # right on the same images: no evidence at all
    assert paired_comparison(y, a, b)["p_value"] == 1.0
    y, a, b = discordant(15, 15)  # a tie never gives p > 1
    assert paired_comparison(y, a, b)["p_value"] == 1.0
    y, a, b = discordant(4, 0, both_wrong=0)  # B never wrong: the table keeps its 2 x 2 shape
    assert paired_comparison(y, a, b)["p_value"] == pytest.approx(2 / 16)


def test_mcnemar_refuses_bad_input():
    y = np.array([0, 1, 2])
    with pytest.raises(ValueError, match=r"same length, got: y_true has 3, pred_a has 2, pred_b has 3"):
        paired_comparison(y, np.array([0, 1]), y)
    with pytest.raises(ValueError, match=r"pred_b must be a 1-D array of class labels, got shape \(3, 10\).*argmax"):
        paired_comparison(y, y, np.full((3, 10), 0.1))
    with pytest.raises(ValueError, match="at least one labelled image"):
        paired_comparison([], [], [])
    with pytest.raises(ValueError, match="integer class labels, got dtype float64"):
        paired_comparison(y, y.astype(float), y)


# --- accuracy, ensemble_average, choose_tta -----------------------------------------------------

def _softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def test_accuracy_of_softmax_outputs():
    assert accuracy(np.eye(3)[[0, 1, 2, 1]], np.array([0, 1, 2, 2])) == 0.75
    with pytest.raises(ValueError, match="1-D array of class labels"):
        accuracy(np.eye(3), np.eye(3))


def test_ensemble_average_is_the_mean_and_can_fix_what_every_member_gets_wrong():
    rng = np.random.default_rng(0)
    probs = [_softmax(rng.normal(size=(6, 10))) for _ in range(3)]
    np.testing.assert_allclose(ensemble_average(probs), (probs[0] + probs[1] + probs[2]) / 3, rtol=1e-6)
    np.testing.assert_allclose(ensemble_average(np.stack(probs)), ensemble_average(probs))
    # Class 0 is true: each member votes for another wrong class, the average for the right one.
    members = [np.array([[0.4, 0.6, 0.0]]), np.array([[0.4, 0.0, 0.6]])]
    assert [m.argmax(axis=1)[0] for m in members] == [1, 2] and ensemble_average(members).argmax(axis=1)[0] == 0


def test_ensemble_average_refusals():
    good = _softmax(np.zeros((4, 10)))
    with pytest.raises(ValueError, match="at least one model, got an empty list"):
        ensemble_average([])
    with pytest.raises(ValueError, match=r"model 1: expected shape \(4, 10\) like model 0, got \(3, 10\)"):
        ensemble_average([good, good[:3]])
    with pytest.raises(ValueError, match=r"model 0: expected softmax outputs of shape \(N, K\), got shape \(4,\)"):
        ensemble_average([good.argmax(axis=1).astype(float)])
    with pytest.raises(ValueError, match="rows that sum to 1.*not logits"):
        ensemble_average([good, good * 0.5])
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        ensemble_average([good, good * 5 - 2])


def test_choose_tta_decides_single_and_ensemble_on_validation():
    y = np.array([0, 1, 1, 0])
    right, wrong = np.eye(2, dtype=np.float32)[y], np.eye(2, dtype=np.float32)[1 - y]
    a_plain = np.vstack([right[:3], wrong[3:]])  # 3 of 4 right; with TTA 4 of 4
    b_plain = np.vstack([right[:2], wrong[2:]])  # 2 of 4, with TTA too
    choice = choose_tta(y, [a_plain, b_plain], [right, b_plain])
    assert (choice.val_plain, choice.val_tta, choice.single) == (pytest.approx(0.625), pytest.approx(0.75), True)
    assert choice.as_dict()["val_tta"] == pytest.approx(0.75)
    tie = choose_tta(y, [a_plain], [a_plain])  # a tie keeps the plain prediction
    assert not tie.single and not tie.ensemble and tie.ensemble_val == pytest.approx(0.75)
    with pytest.raises(ValueError, match="same number"):
        choose_tta(y, [a_plain], [])
    with pytest.raises(ValueError, match="same length"):
        choose_tta(y[:3], [a_plain], [a_plain])


# --- evaluate_seeds: the evaluation path of chapter 6 and the benchmark -------------------------

class FakeModel:
    """Reads an image's brightness: class 0 when its mean pixel is above ``threshold``."""

    def __init__(self, threshold: float):
        self.threshold = threshold

    def predict(self, x, batch_size=None, verbose=None):
        score = x.reshape(len(x), -1).mean(axis=1) - self.threshold
        return _softmax(np.stack([score, -score], axis=1) * 20)


def _splits(rng):
    """Uniform grey images labelled 0 when brighter than mid-grey, 1 otherwise."""
    images = lambda n: np.repeat(rng.integers(0, 256, n, dtype=np.uint8), 28 * 28).reshape(n, 28, 28)  # noqa: E731
    label = lambda x: (x[:, 0, 0] < 128).astype(np.int64)  # noqa: E731
    x_val, x_test = images(40), images(30)
    return SimpleNamespace(x_val=x_val, y_val=label(x_val), x_test=x_test, y_test=label(x_test))


def test_evaluate_seeds_chooses_on_validation_and_reads_test_tta_only_when_chosen(monkeypatch):
    import mnist_helpers.augment

    calls = []

    def fake_tta(model, x, copies=4):
        calls.append(len(x))
        return model.predict(x)[:, ::-1]  # "augmentation" that swaps the classes: worse on validation

    monkeypatch.setattr(mnist_helpers.augment, "predict_tta", fake_tta)
    splits = _splits(np.random.default_rng(0))
    runs = [SimpleNamespace(seed=4, model=FakeModel(0.5)), SimpleNamespace(seed=5, model=FakeModel(0.2))]
    evaluation = evaluate_seeds(runs, splits)
    assert not evaluation.choice.single and not evaluation.choice.ensemble
    assert calls == [40, 40]  # validation only: the test set is not augmented for an option not chosen
    val = evaluation.accuracies("val")
    assert val[4] == 1.0 and val[5] < 1.0
    assert evaluation.accuracies("val", tta=True) == {4: 0.0, 5: pytest.approx(1 - val[5])}
    assert evaluation.best_seed == 4
    np.testing.assert_allclose(evaluation.ensemble("test"), np.mean([m.test for m in evaluation.members], axis=0))
    with pytest.raises(ValueError, match="seed 4 has no test outputs with test-time augmentation"):
        evaluation.members[0].probs("test", tta=True)
    with pytest.raises(ValueError, match="split must be 'val' or 'test'"):
        evaluation.members[0].probs("train")

    # Models refit on the validation images: the choice is applied as it is, validation is not read.
    chosen = evaluation.choice.__class__(0.5, 0.6, True, 0.5, 0.5, False)
    refit = evaluate_seeds(runs, splits, choice=chosen)
    assert calls[2:] == [30, 30] and refit.members[0].val is None
    assert set(refit.accuracies("test", tta=True)) == {4, 5}
    with pytest.raises(ValueError, match="no val outputs"):
        refit.best_seed
    with pytest.raises(ValueError, match="at least one seed run"):
        evaluate_seeds([], splits)
