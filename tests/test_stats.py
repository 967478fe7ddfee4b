"""Tests for mnist_helpers.stats (chapter 6): intervals, McNemar, seed summaries, ensembles."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mnist_helpers.stats import (
    McNemarResult,
    binomial_interval,
    ensemble_average,
    fixed_and_broken,
    mcnemar,
    seed_summary,
)


def discordant(b: int, c: int, both_right: int = 50, both_wrong: int = 3):
    """Labels and two prediction vectors with exactly b images only A gets right and c only B gets right."""
    n = b + c + both_right + both_wrong
    y = np.arange(n) % 10
    wrong = (y + 1) % 10
    a = np.concatenate([y[:b], wrong[b:b + c], y[b + c:b + c + both_right], wrong[b + c + both_right:]])
    bb = np.concatenate([wrong[:b], y[b:b + c], y[b + c:b + c + both_right], wrong[b + c + both_right:]])
    return y, a, bb


# --- binomial_interval (Wilson) ------------------------------------------------------------------

def test_wilson_known_value_9950_of_10000():
    # p = 0.995, n = 10000, z = 1.959964:
    # centre = (p + z^2/2n) / (1 + z^2/n) = 0.99481..., half = z*sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n) = 0.0013952
    low, high = binomial_interval(9950, 10000)
    assert low == pytest.approx(0.993415, abs=1e-6)
    assert high == pytest.approx(0.996205, abs=1e-6)
    assert low < 0.995 < high


def test_wilson_matches_scipy_and_edges():
    from scipy.stats import binomtest

    for correct, n, conf in [(9950, 10000, 0.95), (7, 10, 0.9), (9, 10, 0.99), (1, 2, 0.5)]:
        ref = binomtest(correct, n).proportion_ci(conf, method="wilson")
        assert binomial_interval(correct, n, conf) == pytest.approx((ref.low, ref.high), abs=1e-12)
    # All right or all wrong: the interval touches 1 or 0 but does not collapse to a point.
    assert binomial_interval(10, 10)[1] == 1.0 and binomial_interval(10, 10)[0] == pytest.approx(0.722467, abs=1e-6)
    assert binomial_interval(0, 10) == (0.0, pytest.approx(0.277533, abs=1e-6))


def test_wilson_wider_for_higher_confidence_and_smaller_n():
    w = lambda lo_hi: lo_hi[1] - lo_hi[0]  # noqa: E731
    assert w(binomial_interval(9950, 10000, 0.99)) > w(binomial_interval(9950, 10000, 0.95))
    assert w(binomial_interval(995, 1000)) > w(binomial_interval(9950, 10000))


@pytest.mark.parametrize(
    "args, message",
    [((5, 0), "n must be at least 1, got 0"), ((11, 10), "between 0 and n=10, got 11"), ((-1, 10), "got -1"),
     ((5, 10, 1.0), "strictly between 0 and 1, got 1.0"), ((0.5, 10), "integer count"), ((True, 10), "integer count")],
)
def test_wilson_rejects_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        binomial_interval(*args)


# --- mcnemar -------------------------------------------------------------------------------------

def test_mcnemar_exact_hand_computed():
    # b = 10, c = 2, b + c = 12 < 25 -> exact binomial test:
    # p = 2 * sum_{k<=2} C(12, k) / 2^12 = 2 * (1 + 12 + 66) / 4096 = 158 / 4096 = 0.03857421875
    y, a, b = discordant(10, 2)
    result = mcnemar(y, a, b)
    assert isinstance(result, McNemarResult)
    assert (result.b, result.c, result.test, result.n_discordant) == (10, 2, "exact", 12)
    assert result.statistic == 2
    assert result.p_value == pytest.approx(158 / 4096, rel=1e-12)
    assert result.p_value == pytest.approx(0.03857421875)


def test_mcnemar_exact_is_symmetric_in_models():
    y, a, b = discordant(10, 2)
    swapped = mcnemar(y, b, a)
    assert (swapped.b, swapped.c) == (2, 10)
    assert swapped.p_value == pytest.approx(mcnemar(y, a, b).p_value)


def test_mcnemar_chi_square_hand_computed():
    # b = 40, c = 20, b + c = 60 >= 25 -> chi-square with continuity correction:
    # statistic = (|40 - 20| - 1)^2 / 60 = 361 / 60 = 6.01667; p = P(chi2_1 >= 6.01667) = 0.014171
    y, a, b = discordant(40, 20)
    result = mcnemar(y, a, b)
    assert (result.b, result.c, result.test) == (40, 20, "chi2")
    assert result.statistic == pytest.approx(361 / 60)
    assert result.p_value == pytest.approx(0.014171, abs=1e-6)
    # Cross-check: chi2 with 1 df is a squared standard normal.
    assert result.p_value == pytest.approx(math.erfc(math.sqrt(361 / 60) / math.sqrt(2)))


def test_mcnemar_threshold_and_degenerate_cases():
    y, a, b = discordant(20, 5)  # b + c = 25: the chi-square test
    assert mcnemar(y, a, b).test == "chi2"
    assert mcnemar(y, a, b, exact_threshold=26).test == "exact"
    y, a, b = discordant(0, 0)  # identical correctness: no evidence at all
    assert mcnemar(y, a, b).as_dict() == {"b": 0, "c": 0, "statistic": 0.0, "p_value": 1.0, "test": "exact"}
    y, a, b = discordant(15, 15)  # a tie never gives p > 1, and the correction never goes negative
    assert mcnemar(y, a, b).p_value == 1.0 and mcnemar(y, a, b).statistic == 0.0
    y, a, b = discordant(3, 3)
    assert mcnemar(y, a, b).p_value == 1.0


def test_mcnemar_shape_errors():
    y = np.array([0, 1, 2])
    with pytest.raises(ValueError, match=r"same length, got: y_true has 3, pred_a has 2, pred_b has 3"):
        mcnemar(y, np.array([0, 1]), y)
    with pytest.raises(ValueError, match=r"pred_b must be a 1-D array of class labels, got shape \(3, 10\).*argmax"):
        mcnemar(y, y, np.full((3, 10), 0.1))
    with pytest.raises(ValueError, match="at least one labelled image"):
        mcnemar([], [], [])
    with pytest.raises(ValueError, match="integer class labels, got dtype float64"):
        mcnemar(y, y.astype(float), y)


# --- seed_summary --------------------------------------------------------------------------------

def test_seed_summary_values():
    summary = seed_summary([0.991, 0.993, 0.992])
    assert summary["n"] == 3
    assert summary["mean"] == pytest.approx(0.992)
    assert summary["std"] == pytest.approx(0.001)  # ddof=1: sqrt((1e-6 + 0 + 1e-6) / 2)
    assert (summary["min"], summary["max"]) == (0.991, 0.993)


def test_seed_summary_single_seed_and_errors():
    assert math.isnan(seed_summary([0.99])["std"])
    with pytest.raises(ValueError, match="at least one value, got an empty sequence"):
        seed_summary([])
    with pytest.raises(ValueError, match=r"1-D .* got shape \(2, 2\)"):
        seed_summary([[0.9, 0.9], [0.9, 0.9]])
    with pytest.raises(ValueError, match="finite"):
        seed_summary([0.9, float("nan")])


# --- ensemble_average and fixed_and_broken -------------------------------------------------------

def _softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def test_ensemble_average_is_the_mean():
    rng = np.random.default_rng(0)
    probs = [_softmax(rng.normal(size=(6, 10))) for _ in range(3)]
    mean = ensemble_average(probs)
    assert mean.shape == (6, 10)
    np.testing.assert_allclose(mean, (probs[0] + probs[1] + probs[2]) / 3, rtol=1e-6)
    np.testing.assert_allclose(mean.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(ensemble_average(np.stack(probs)), mean)  # an (M, N, K) array works too


def test_ensemble_average_can_outvote_a_single_model():
    p1 = np.array([[0.6, 0.4], [0.1, 0.9]])
    p2 = np.array([[0.1, 0.9], [0.2, 0.8]])
    p3 = np.array([[0.45, 0.55], [0.3, 0.7]])
    assert ensemble_average([p1, p2, p3]).argmax(axis=1).tolist() == [1, 1]


def test_ensemble_average_shape_errors():
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


def test_fixed_and_broken_counts_and_mcnemar_agree():
    y = np.array([0, 1, 2, 3, 4, 5, 6])
    single = np.array([0, 1, 9, 9, 9, 5, 9])  # wrong on 2, 3, 4, 6
    ensemble = np.array([0, 9, 2, 3, 9, 5, 9])  # fixes 2 and 3, breaks 1; 4 and 6 stay wrong
    counts = fixed_and_broken(y, single, ensemble)
    assert counts == {"fixed": 2, "broken": 1, "net": 1, "both_wrong": 2}
    result = mcnemar(y, single, ensemble)
    assert (result.b, result.c) == (counts["broken"], counts["fixed"])
    with pytest.raises(ValueError, match="same length"):
        fixed_and_broken(y, single[:-1], ensemble)


def test_choose_tta_decides_single_and_ensemble_on_validation():
    from mnist_helpers.stats import choose_tta

    y = np.array([0, 1, 1, 0])
    eye = np.eye(2, dtype=np.float32)
    right, wrong = eye[y], eye[1 - y]
    # Model A: 3 of 4 right plain, 4 of 4 with TTA; model B: 2 of 4 plain, 2 of 4 with TTA.
    a_plain = np.vstack([right[:3], wrong[3:]])
    b_plain = np.vstack([right[:2], wrong[2:]])
    choice = choose_tta(y, [a_plain, b_plain], [right, b_plain])
    assert (choice.val_plain, choice.val_tta) == (pytest.approx(0.625), pytest.approx(0.75))
    assert choice.single
    # A tie keeps the plain prediction.
    tie = choose_tta(y, [a_plain], [a_plain])
    assert not tie.single and not tie.ensemble and tie.ensemble_val_plain == pytest.approx(0.75)
    with pytest.raises(ValueError, match="same number"):
        choose_tta(y, [a_plain], [])
    with pytest.raises(ValueError, match="same length"):
        choose_tta(y[:3], [a_plain], [a_plain])


def test_beats_on_validation_needs_a_better_ensemble_and_no_worse_single_models():
    from mnist_helpers.stats import TTAChoice, beats_on_validation

    incumbent = TTAChoice(0.9950, 0.9965, True, 0.9955, 0.9962, True)  # single 99.65%, ensemble 99.62%
    assert (incumbent.single_val, incumbent.ensemble_val) == (0.9965, 0.9962)
    # Better ensemble, worse single models (the TTA-chosen figures count): stays.
    assert not beats_on_validation(TTAChoice(0.9947, 0.9961, True, 0.9950, 0.9966, True), incumbent)
    # Better ensemble, single models as good: replaces.
    assert beats_on_validation(TTAChoice(0.9952, 0.9965, True, 0.9958, 0.9968, True), incumbent)
    # A tie on the ensemble keeps the incumbent; without TTA chosen, the plain figures count.
    assert not beats_on_validation(TTAChoice(0.9970, 0.9960, False, 0.9962, 0.9990, False), incumbent)
    assert beats_on_validation(TTAChoice(0.9970, 0.9960, False, 0.9964, 0.9950, False), incumbent)
    with pytest.raises(ValueError, match="TTAChoice"):
        beats_on_validation({"ensemble_val": 1.0}, incumbent)


def test_accuracy_and_accuracies_of_softmax_outputs():
    from mnist_helpers.stats import accuracies, accuracy

    probs = np.eye(3)[[0, 1, 2, 1]]
    y = np.array([0, 1, 2, 2])
    assert accuracy(probs, y) == 0.75
    assert accuracies({4: probs, 5: np.eye(3)[y]}, y) == {4: 0.75, 5: 1.0}
    with pytest.raises(ValueError, match="1-D array of class labels"):
        accuracy(probs, probs)
