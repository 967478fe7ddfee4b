"""Tests for benchmarks.epoch_speed: arguments, the summary line, the textbook variant and tiny runs."""

from __future__ import annotations

import pytest

from benchmarks.epoch_speed import VARIANTS, main, parse_args, summarize, textbook_cnn, time_epochs


def test_parse_args_defaults_and_refusals(capsys):
    args = parse_args([])
    assert (args.epochs, args.steps, args.batch_size, args.variants) == (12, 100, 64, False)
    with pytest.raises(SystemExit):
        parse_args(["--steps", "0"])
    assert "expected a positive integer, got 0" in capsys.readouterr().err


def test_summarize_counts_one_core_epochs_after_the_first():
    line = summarize("fresh iterator", [(90.0, 1.6), (100.0, 0.95), (50.0, 1.85), (52.0, 1.8)])
    assert "median 52 ms/step" in line and "1 of 3 epochs on about one core" in line


def test_unknown_way_is_refused():
    with pytest.raises(ValueError, match="one iterator"):
        time_epochs("two iterators", 1, 1, 8)


def test_textbook_variant_moves_pooling_after_normalization_and_keeps_the_weights():
    from mnist_helpers.models import build_cnn

    book, textbook = build_cnn(), textbook_cnn()
    kinds = lambda model: [type(layer).__name__ for layer in model.layers]  # noqa: E731
    assert kinds(book)[:5] == ["Conv2D", "MaxPooling2D", "BatchNormalization", "ReLU", "Dropout"]
    assert kinds(textbook)[:5] == ["Conv2D", "BatchNormalization", "ReLU", "MaxPooling2D", "Dropout"]
    assert sorted(kinds(textbook)) == sorted(kinds(book))
    assert textbook.count_params() == book.count_params()  # the same weights, in another order
    assert set(VARIANTS) == {"book's CNN", "textbook order (BN before pooling)", "no batch norm", "no dropout",
                             "narrower 24-48-96"}


def test_tiny_run_times_every_epoch_of_both_ways(capsys):
    results = main(["--epochs", "2", "--steps", "2", "--batch-size", "8"])
    assert set(results) == {"fresh iterator", "one iterator"}
    for epochs_timed in results.values():
        assert len(epochs_timed) == 2 and all(ms > 0 and cores > 0 for ms, cores in epochs_timed)
    assert capsys.readouterr().out.count("median") == 2


def test_tiny_variants_run_prints_one_line_per_variant(capsys):
    timings = main(["--variants", "--epochs", "1", "--steps", "1", "--batch-size", "8"])
    assert set(timings) == set(VARIANTS)
    assert timings["no batch norm"]["parameters"] < timings["book's CNN"]["parameters"]
    assert all(t["ms_per_step"] > 0 and t["ms_per_image"] == t["ms_per_step"] / 8 for t in timings.values())
    assert capsys.readouterr().out.count("ms/image") == len(VARIANTS)
