"""Tests for benchmarks.best_recipe (chapter 6): argument parsing, output lines, and one tiny run.

The end-to-end runs use the smoke profile and one seed. One of them trains on a small synthetic
split (always runs, about 10 s); the other on the real smoke split when MNIST_DATA_DIR is set
(about 25 s on two cores).
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from benchmarks import best_recipe
from benchmarks.best_recipe import (
    RefitRun,
    SeedRun,
    format_comparison,
    format_refit_comparison,
    format_refit_line,
    format_seed_line,
    format_summary,
    format_tta_choice,
    parse_args,
    recipe_for_seed,
)
from mnist_helpers.recipes import CHAPTER4_BEST


def test_parse_args_defaults_and_values():
    args = parse_args([])
    assert (args.seeds, args.first_seed, args.epochs, args.profile, args.verbose) == (3, CHAPTER4_BEST["seed"], None, None, 0)
    assert args.no_save is False and args.refit is False
    assert parse_args(["--refit"]).refit is True
    assert args.intra_op_threads is None and args.inter_op_threads is None
    args = parse_args(["--seeds", "5", "--epochs", "2", "--profile", "smoke", "--first-seed", "10",
                       "--intra-op-threads", "2", "--inter-op-threads", "1"])
    assert (args.seeds, args.epochs, args.profile, args.first_seed) == (5, 2, "smoke", 10)
    assert (args.intra_op_threads, args.inter_op_threads) == (2, 1)


@pytest.mark.parametrize("argv", [["--seeds", "0"], ["--epochs", "-1"], ["--profile", "tiny"], ["--first-seed", "-2"],
                                  ["--reuse", "--no-save"], ["--reuse", "--epochs", "3"]])
def test_parse_args_rejects_bad_values(argv, capsys):
    with pytest.raises(SystemExit):
        parse_args(argv)
    err = capsys.readouterr().err
    assert "expected" in err or "invalid choice" in err


def test_recipe_for_seed_copies_and_never_mutates_the_recipe():
    before = json.dumps(CHAPTER4_BEST, sort_keys=True)
    config = recipe_for_seed(7, epochs=3)
    assert config["seed"] == 7 and config["epochs"] == 3
    config["model"]["filters"].append(128)  # a deep copy: nested lists are not shared
    assert json.dumps(CHAPTER4_BEST, sort_keys=True) == before
    assert recipe_for_seed(1)["epochs"] == CHAPTER4_BEST["epochs"]


def test_output_lines():
    runs = [SeedRun(0, 15, 12, 100.0, 0.9940, 0.9930), SeedRun(1, 13, 9, 90.0, 0.9950, 0.9950)]
    assert format_seed_line(runs[0]) == ("seed   0 | epochs  15 (best  12) | train    100.0 s (6.7 s/epoch) | "
                                         "val 99.40% | test 99.30%")
    timed = SeedRun(2, 10, 10, 50.0, 0.99, 0.99, cores_busy=1.74)
    assert "(5.0 s/epoch, 1.7 cores)" in format_seed_line(timed)
    summary = format_summary(runs, 0.9962)
    # mean 99.40%, std (ddof=1) = 0.002 / sqrt(2) = 0.14%
    assert summary == ("2 seeds: test 99.40% +- 0.14% (mean +- std) | ensemble (softmax average) test 99.62% | "
                       "mean train 95.0 s per model")
    assert "+- n/a (1 seed)" in format_summary(runs[:1], 0.993)
    with pytest.raises(ValueError, match="at least one seed run, got none"):
        format_summary([], 0.99)
    tta_runs = [SeedRun(0, 15, 12, 100.0, 0.9940, 0.9930, val_accuracy_tta=0.9950, test_accuracy_tta=0.9950),
                SeedRun(1, 13, 9, 90.0, 0.9950, 0.9950, val_accuracy_tta=0.9960, test_accuracy_tta=0.9960)]
    assert format_seed_line(tta_runs[0]).endswith("val 99.40% (TTA 99.50%) | test 99.30% (TTA 99.50%)")
    assert format_summary(tta_runs, 0.9970, ensemble_tta=True) == (
        "2 seeds: test 99.40% +- 0.14% (mean +- std); with TTA 99.55% +- 0.07% | ensemble (softmax average + TTA) "
        "test 99.70% | mean train 95.0 s per model")
    assert format_tta_choice(0.9950, 0.9960, True).endswith("validation 99.60% against 99.50% without, so used (decided on validation)")
    assert "so not used" in format_tta_choice(0.9950, 0.9950, False)
    line = format_comparison(1, {"fixed": 20, "broken": 8}, {"test": "chi2", "p_value": 0.0374}, (0.9945, 0.9975))
    assert line == ("ensemble vs seed 1 (best on validation): fixes 20, breaks 8 test images; McNemar chi2 p = 0.0374; "
                    "ensemble 95% Wilson interval [99.45%, 99.75%]")


def test_refit_output_lines():
    run = RefitRun(4, 60000, 17, 510.0, 0.9960, cores_busy=1.62, test_accuracy_tta=0.9966)
    assert format_refit_line(run) == ("refit seed   4 | 60,000 images | epochs  17 | train    510.0 s (30.0 s/epoch, "
                                      "1.6 cores) | test 99.60% (TTA 99.66%)")
    assert format_refit_line(RefitRun(5, 60000, 17, 500.0, 0.9950, loaded=True)).endswith("loaded) | test 99.50%")
    summary = format_summary([run], 0.9966, ensemble_tta=True, label="refit on training + validation images, ")
    assert summary.startswith("refit on training + validation images, 1 seed: test 99.60% +- n/a (1 seed)")
    line = format_refit_comparison({"fixed": 6, "broken": 3}, {"test": "exact", "p_value": 0.508}, (0.9955, 0.9980))
    assert line == ("refit ensemble vs the ensemble above: fixes 6, breaks 3 test images; McNemar exact p = 0.508; "
                    "refit ensemble 95% Wilson interval [99.55%, 99.80%]")


def _check_report(report, out, output_path, n_test):
    lines = out.strip().splitlines()
    assert any(line.startswith("threads: intra-op") for line in lines)
    assert any(line.startswith("tf.data train:") for line in lines)
    seed = CHAPTER4_BEST["seed"]
    assert any(line.startswith(f"seed {seed:>3} | epochs   1") for line in lines)
    assert any(line.startswith("1 seed: test") and "ensemble (softmax average)" in line for line in lines)
    assert report["profile"] == "smoke" and report["seeds"] == [seed] and len(report["runs"]) == 1
    assert report["sizes"]["test"] == n_test
    # One model: the ensemble is that model (with test-time augmentation when validation chose it
    # for both, as it must: the validation numbers are the same), and nothing is fixed or broken.
    run, tta = report["runs"][0], report["tta"]
    assert tta["single"] == tta["ensemble"] == report["ensemble"]["tta"]
    assert (run["test_accuracy_tta"] is None) == (not tta["single"])
    assert report["ensemble"]["test_accuracy"] == pytest.approx(run["test_accuracy_tta"] if tta["single"] else run["test_accuracy"])
    assert sum(line.startswith("test-time augmentation (") for line in lines) == 2
    assert report["ensemble"]["vs_reference"]["fixed"] == report["ensemble"]["vs_reference"]["broken"] == 0
    saved = json.loads(output_path.read_text())
    assert saved["test_accuracy"]["std"] is None  # NaN for one seed is written as null
    assert saved["runs"] == report["runs"]


def test_main_smoke_one_seed_synthetic(artifacts, monkeypatch, capsys):
    """End to end on a tiny synthetic split (no MNIST files needed)."""
    from mnist_helpers.config import get_profile
    from mnist_helpers.data import Splits

    rng = np.random.default_rng(0)

    def fake_splits(profile):
        make = lambda n: (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), np.arange(n) % 10)  # noqa: E731
        (xt, yt), (xv, yv), (xs, ys) = make(200), make(50), make(60)
        return Splits(xt, yt, xv, yv, xs, ys, np.arange(60), profile)

    monkeypatch.setattr(best_recipe, "load_splits", fake_splits)
    monkeypatch.delenv("MNIST_PROFILE", raising=False)
    verbose_before = os.environ.get("MNIST_VERBOSE")
    report = best_recipe.main(["--seeds", "1", "--profile", "smoke"])
    _check_report(report, capsys.readouterr().out, artifacts / "smoke" / best_recipe.OUTPUT_NAME, 60)
    assert report["config"]["epochs"] == get_profile("smoke").max_epochs == 1
    assert os.environ.get("MNIST_VERBOSE") == verbose_before  # the benchmark restores the verbosity

    # The recipe's own seed was saved as chapter 4's model: the book loads it instead of training.
    from mnist_helpers.recipes import chapter4_model

    splits = fake_splits(get_profile("smoke"))
    _, result, loaded = chapter4_model(splits, get_profile("smoke"))
    assert loaded and result.seconds == pytest.approx(report["runs"][0]["train_seconds"])

    # --reuse loads that model instead of training it: same seconds, cores and accuracy.
    monkeypatch.setattr(best_recipe, "load_splits", lambda profile: splits)
    again = best_recipe.main(["--seeds", "1", "--profile", "smoke", "--reuse"])
    assert ", loaded)" in capsys.readouterr().out
    first, second = report["runs"][0], again["runs"][0]
    assert second["loaded"] and not first["loaded"]
    for key in ("train_seconds", "cores_busy", "epochs"):
        assert second[key] == pytest.approx(first[key]), key


def test_main_refit_trains_on_training_and_validation_and_reuses(artifacts, monkeypatch, capsys):
    """--refit: after the validation choices, each seed again on train + validation, scored on test once."""
    from mnist_helpers.data import Splits

    rng = np.random.default_rng(2)
    make = lambda n: (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), np.arange(n) % 10)  # noqa: E731
    (xt, yt), (xv, yv), (xs, ys) = make(120), make(40), make(30)
    monkeypatch.setattr(best_recipe, "load_splits", lambda profile: Splits(xt, yt, xv, yv, xs, ys, np.arange(30), profile))
    report = best_recipe.main(["--seeds", "2", "--profile", "smoke", "--refit"])
    out = capsys.readouterr().out
    refit = report["refit"]
    assert [r["seed"] for r in refit["runs"]] == report["seeds"] and all(r["n_train"] == 160 for r in refit["runs"])
    assert sum(line.startswith("refit seed") for line in out.splitlines()) == 2
    assert any(line.startswith("refit on training + validation images, 2 seeds: test") for line in out.splitlines())
    assert any(line.startswith("refit ensemble vs the ensemble above:") for line in out.splitlines())
    assert refit["ensemble"]["tta"] == report["tta"]["ensemble"]  # the validation choice, applied unchanged
    assert (refit["test_accuracy_tta"] is None) == (not report["tta"]["single"])
    seed = CHAPTER4_BEST["seed"]
    assert (artifacts / "smoke" / f"chapter6_refit_seed{seed}.keras").exists()
    again = best_recipe.main(["--seeds", "2", "--profile", "smoke", "--refit", "--reuse"])
    assert all(r["loaded"] for r in again["refit"]["runs"])
    assert again["refit"]["ensemble"]["test_accuracy"] == pytest.approx(refit["ensemble"]["test_accuracy"])
    assert best_recipe.main(["--seeds", "1", "--profile", "smoke"])["refit"] is None


def test_main_no_save_and_epoch_override_save_nothing(artifacts, monkeypatch, capsys):
    from mnist_helpers.data import Splits

    rng = np.random.default_rng(1)
    make = lambda n: (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), np.arange(n) % 10)  # noqa: E731
    (xt, yt), (xv, yv), (xs, ys) = make(100), make(30), make(30)
    monkeypatch.setattr(best_recipe, "load_splits", lambda profile: Splits(xt, yt, xv, yv, xs, ys, np.arange(30), profile))
    for argv in (["--no-save"], ["--epochs", "1", "--first-seed", "9"]):
        best_recipe.main(["--seeds", "1", "--profile", "smoke", *argv])
        assert "saved" not in capsys.readouterr().out
    assert not list((artifacts / "smoke").glob("*.keras"))


@pytest.mark.realdata
@pytest.mark.skipif(not os.environ.get("MNIST_DATA_DIR"), reason="set MNIST_DATA_DIR to the folder with the four original files")
def test_main_smoke_one_seed_real_data(artifacts, monkeypatch, capsys):
    """The command as documented, on the real smoke split: one seed, under a minute."""
    import time

    monkeypatch.setenv("MNIST_PROFILE", "smoke")
    start = time.perf_counter()
    report = best_recipe.main(["--seeds", "1"])
    assert time.perf_counter() - start < 60
    _check_report(report, capsys.readouterr().out, artifacts / "smoke" / best_recipe.OUTPUT_NAME, 1000)
    assert 0.0 <= report["runs"][0]["test_accuracy"] <= 1.0
