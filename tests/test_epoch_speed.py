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
