"""Tests for benchmarks.epoch_speed: arguments, the summary line and one tiny run of each way."""

from __future__ import annotations

import pytest

from benchmarks.epoch_speed import main, parse_args, summarize, time_epochs


def test_parse_args_defaults_and_refusals(capsys):
    args = parse_args([])
    assert (args.epochs, args.steps, args.batch_size) == (12, 100, 64)
    with pytest.raises(SystemExit):
        parse_args(["--steps", "0"])
    assert "expected a positive integer, got 0" in capsys.readouterr().err


def test_summarize_counts_one_core_epochs_after_the_first():
    line = summarize("fresh iterator", [(90.0, 1.6), (100.0, 0.95), (50.0, 1.85), (52.0, 1.8)])
    assert "median 52 ms/step" in line and "1 of 3 epochs on about one core" in line


def test_unknown_way_is_refused():
    with pytest.raises(ValueError, match="one iterator"):
        time_epochs("two iterators", 1, 1, 8)


def test_tiny_run_times_every_epoch_of_both_ways(capsys):
    results = main(["--epochs", "2", "--steps", "2", "--batch-size", "8"])
    assert set(results) == {"fresh iterator", "one iterator"}
    for epochs_timed in results.values():
        assert len(epochs_timed) == 2 and all(ms > 0 and cores > 0 for ms, cores in epochs_timed)
    out = capsys.readouterr().out
    assert out.count("median") == 2


def test_variants_cover_the_choices_behind_the_compact_cnn():
    from benchmarks.epoch_speed import VARIANTS
    from mnist_helpers.recipes import COMPACT_CNN

    assert VARIANTS["compact CNN (book)"] == COMPACT_CNN
    changed = {name: {k for k in COMPACT_CNN if config[k] != COMPACT_CNN[k]} for name, config in VARIANTS.items()}
    assert changed == {"compact CNN (book)": set(), "pool after BN+ReLU": {"pool_first"}, "no batch norm": {"batch_norm"},
                       "no block dropout": {"dropout"}, "narrower 24-48-96": {"filters"}}


def test_tiny_variants_run_prints_one_line_per_variant(capsys):
    from benchmarks.epoch_speed import VARIANTS

    timings = main(["--variants", "--epochs", "2", "--steps", "2", "--batch-size", "8"])
    assert set(timings) == set(VARIANTS)
    assert timings["compact CNN (book)"]["parameters"] == 391_850
    assert all(t["ms_per_step"] > 0 and t["ms_per_image"] == t["ms_per_step"] / 8 for t in timings.values())
    assert capsys.readouterr().out.count("ms/image") == len(VARIANTS)
