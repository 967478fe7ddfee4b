"""Tests for benchmarks.best_recipe (chapter 6 from the command line): the arguments, the output
lines, and one tiny end-to-end run (smoke profile, synthetic split, two seeds and their refit)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from benchmarks import best_recipe
from benchmarks.best_recipe import format_accuracy, format_comparison, format_summary, format_training, parse_args
from mnist_helpers.cache import FitResult
from mnist_helpers.recipes import CHAPTER4_BEST, SeedRun


def test_parse_args_defaults_and_values():
    args = parse_args([])
    assert (args.seeds, args.first_seed, args.epochs, args.profile, args.verbose) == (3, CHAPTER4_BEST["seed"], None, None, 0)
    assert not (args.no_save or args.refit or args.reuse)
    args = parse_args(["--seeds", "5", "--epochs", "2", "--profile", "smoke", "--first-seed", "10", "--refit"])
    assert (args.seeds, args.epochs, args.profile, args.first_seed, args.refit) == (5, 2, "smoke", 10, True)


@pytest.mark.parametrize("argv", [["--seeds", "0"], ["--epochs", "-1"], ["--profile", "tiny"],
                                  ["--reuse", "--no-save"], ["--reuse", "--epochs", "3"]])
def test_parse_args_rejects_bad_values(argv, capsys):
    with pytest.raises(SystemExit):
        parse_args(argv)
    err = capsys.readouterr().err
    assert "expected" in err or "invalid choice" in err


def _run(seed, seconds, epochs, val_accuracy=None, cores=None, loaded=False):
    history = {"loss": [1.0] * epochs, **({"val_accuracy": val_accuracy} if val_accuracy else {})}
    return SeedRun(seed, None, FitResult(history, epochs, seconds, {} if cores is None else {"cores_busy": cores}), loaded)


def test_output_lines():
    run = _run(4, 100.0, 15, val_accuracy=[0.9] * 11 + [0.99] + [0.98] * 3, cores=1.74)
    assert format_training(run, saved="chapter4_best") == (
        "seed   4 | epochs  15 (best  12) | train    100.0 s (6.7 s/epoch, 1.7 cores) | saved chapter4_best.keras")
    assert format_training(_run(5, 510.0, 17, loaded=True), "refit seed", 60000) == (
        "refit seed   5 | 60,000 images | epochs  17 | train    510.0 s (30.0 s/epoch, loaded)")
    assert format_accuracy(4, 0.9940, 0.9950, 0.9930, 0.9950) == "seed   4 | val 99.40% (TTA 99.50%) | test 99.30% (TTA 99.50%)"
    assert format_accuracy(4, None, None, 0.9960, None, "refit seed") == "refit seed   4 | test 99.60%"
    # mean 99.40%, std (ddof=1) = 0.002 / sqrt(2) = 0.14%
    assert format_summary([0.9930, 0.9950], None, 0.9962, False, [100.0, 90.0]) == (
        "2 seeds: test 99.40% +- 0.14% (mean +- std) | ensemble (softmax average) test 99.62% | mean train 95.0 s per model")
    assert format_summary([0.9930, 0.9950], [0.9950, 0.9960], 0.9970, True, [1.0, 1.0]).startswith(
        "2 seeds: test 99.40% +- 0.14% (mean +- std); with TTA 99.55% +- 0.07% | ensemble (softmax average + TTA)")
    assert "+- n/a (1 seed)" in format_summary([0.993], None, 0.993, False, [1.0])
    with pytest.raises(ValueError, match="at least one seed, got none"):
        format_summary([], None, 0.99, False, [])
    line = format_comparison("ensemble vs seed 5 (best on validation)",
                             {"fixed": 5, "broken": 5, "test": "exact", "p_value": 1.0}, (0.9949, 0.9973))
    assert line == ("ensemble vs seed 5 (best on validation): fixes 5, breaks 5 test images; McNemar exact p = 1; "
                    "ensemble 95% Wilson interval [99.49%, 99.73%]")


def test_main_two_seeds_and_refit_on_a_tiny_split(artifacts, monkeypatch, capsys):
    """The one end-to-end run: two seeds and their refit, saved under chapter 6's names."""
    from mnist_helpers.config import get_profile
    from mnist_helpers.data import Splits
    from mnist_helpers.recipes import recipe_model

    rng = np.random.default_rng(0)
    make = lambda n: (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), np.arange(n) % 10)  # noqa: E731
    (xt, yt), (xv, yv), (xs, ys) = make(120), make(40), make(30)
    smoke = get_profile("smoke")
    splits = Splits(xt, yt, xv, yv, xs, ys, np.arange(30), smoke)
    monkeypatch.setattr(best_recipe, "load_splits", lambda profile: splits)
    verbose_before = os.environ.get("MNIST_VERBOSE")
    report = best_recipe.main(["--seeds", "2", "--profile", "smoke", "--refit"])
    lines = capsys.readouterr().out.splitlines()

    assert os.environ.get("MNIST_VERBOSE") == verbose_before  # the benchmark restores the verbosity
    starts = lambda prefix: [line for line in lines if line.startswith(prefix)]  # noqa: E731
    assert [line.split("|")[-1].strip() for line in starts("seed ") if "train" in line] == [
        "saved chapter4_best.keras", "saved chapter6_seed5.keras"]
    assert len(starts("test-time augmentation (")) == 2 and len(starts("seed   4 | val")) == 1
    assert len(starts("2 seeds: test")) == 1 and len(starts("ensemble vs seed ")) == 1
    assert len(starts("refit seed   4 | 160 images | epochs   1")) == 1 and len(starts("refit seed   5 | test")) == 1
    assert len(starts("refit on training + validation images, 2 seeds")) == 1
    assert len(starts("refit ensemble vs the ensemble above: fixes")) == 1

    assert report["seeds"] == [4, 5] and report["epochs"] == 1 and report["refit"]["n_train"] == 160
    assert report["ensemble"]["tta"] == report["tta"]["ensemble"] == report["refit"]["ensemble"]["tta"]
    assert all((run["test_accuracy_tta"] is None) == (not report["tta"]["single"]) for run in report["runs"])
    assert all(run["val_accuracy"] is None for run in report["refit"]["runs"])
    assert json.loads((artifacts / "smoke" / best_recipe.OUTPUT_NAME).read_text())["seeds"] == [4, 5]
    assert sorted(p.name for p in (artifacts / "smoke").glob("*.keras")) == [
        "chapter4_best.keras", "chapter6_seed5.keras", "refit_seed4.keras", "refit_seed5.keras"]
    # Chapter 6 asks for these models by the same names and recipes, so it loads them.
    _, result, loaded = recipe_model("chapter6_seed5", {**CHAPTER4_BEST, "seed": 5}, splits, smoke)
    assert loaded and result.seconds == pytest.approx(report["runs"][1]["train_seconds"])
