import numpy as np
import pytest

from mnist_helpers.config import get_profile
from mnist_helpers.results import read_results, record_result


def _images(n=16):
    x = np.zeros((n, 28, 28, 1), np.float32)
    x[:, 10:18, 12:16, 0] = 1.0
    return x, np.arange(n) % 10


def test_a_refit_is_recorded_without_validation_accuracy(artifacts):
    from mnist_helpers.results import results_markdown, results_table

    smoke = get_profile("smoke")
    record_result(6, "seed model", 100, 1, 1.0, 0.97, 0.96, seed=4, profile=smoke)
    entry = record_result(6, "seed model, refit", 100, 1, 1.1, None, 0.97, seed=4, profile=smoke)
    assert entry["val_accuracy"] is None
    table = results_table(smoke)
    assert table["val_accuracy"].isna().tolist() == [False, True]
    rows = results_markdown(smoke).splitlines()[2:]
    assert "| 97.00% | 96.00% |" in rows[0] and "| refit | 97.00% |" in rows[1]


def test_results_record_round_trip_and_profiles_apart(artifacts):
    smoke, full = get_profile("smoke"), get_profile("full")
    record_result(2, "dense", 100, 1, 1.5, 0.9, 0.89, seed=0, profile=smoke)
    record_result(2, "dense", 100, 1, 1.5, 0.95, 0.94, seed=0, profile=smoke)  # re-run: newest wins
    record_result(3, "cnn", 200, 2, 3.0, 0.99, 0.98, seed=0, profile=full)
    frame = read_results(smoke)
    assert len(frame) == 1 and frame.loc[0, "val_accuracy"] == pytest.approx(0.95) and (frame["profile"] == "smoke").all()
    assert read_results(full)["model"].tolist() == ["cnn"]
    with pytest.raises(ValueError, match="fraction"):
        record_result(2, "x", 1, 1, 1.0, 99.5, 0.9, seed=0, profile=smoke)


def test_seed_models_and_their_ensemble_are_recorded_with_summed_costs(artifacts):
    from types import SimpleNamespace

    from mnist_helpers.results import record_ensemble, record_seed_models

    smoke = get_profile("smoke")
    model = SimpleNamespace(count_params=lambda: 100)
    from mnist_helpers.recipes import SeedRun

    runs = [SeedRun(4, model, SimpleNamespace(epochs=2, seconds=10.0), False), SeedRun(5, model, SimpleNamespace(epochs=2, seconds=12.0), True)]
    entries = record_seed_models(6, "recipe", runs, {4: 0.96, 5: 0.97}, {4: 0.95, 5: 0.98}, suffix=" + TTA", profile=smoke)
    assert [e["model"] for e in entries] == ["recipe, seed 4 + TTA", "recipe, seed 5 + TTA"]
    assert [e["val_accuracy"] for e in entries] == [0.95, 0.98] and entries[1]["test_accuracy"] == 0.97
    refit = record_seed_models(6, "recipe refit", runs, {4: 0.96, 5: 0.97}, profile=smoke)
    assert refit[0]["val_accuracy"] is None
    ensemble = record_ensemble(6, "ensemble of 2 seeds", runs, 0.98, 0.99, profile=smoke)
    assert (ensemble["params"], ensemble["epochs"], ensemble["train_seconds"], ensemble["seed"]) == (200, 4, 22.0, 4)
    assert len(read_results(smoke)) == 5
    with pytest.raises(ValueError, match="at least one"):
        record_ensemble(6, "empty", [], 0.9, None, profile=smoke)


def test_clear_chapter_forgets_a_chapters_old_rows_and_read_results_stops_at_a_chapter(artifacts):
    from mnist_helpers.results import clear_chapter

    smoke = get_profile("smoke")
    record_result(2, "dense", 10, 1, 1.0, 0.9, 0.9, seed=0, profile=smoke)
    record_result(4, "cnn", 10, 1, 1.0, 0.98, 0.97, seed=4, profile=smoke)
    record_result(4, "cnn + TTA", 10, 1, 1.0, 0.99, 0.98, seed=4, profile=smoke)
    record_result(6, "ensemble", 30, 3, 3.0, 0.99, 0.99, seed=4, profile=smoke)
    assert read_results(smoke, up_to_chapter=4)["model"].tolist() == ["dense", "cnn", "cnn + TTA"]
    assert clear_chapter(4, profile=smoke) == 2
    record_result(4, "cnn", 10, 1, 1.0, 0.98, 0.97, seed=4, profile=smoke)  # this run chose no TTA
    assert read_results(smoke)["model"].tolist() == ["dense", "cnn", "ensemble"]
    assert clear_chapter(3, profile=smoke) == 0
    with pytest.raises(ValueError, match="test_accuracy must be a fraction in \\[0, 1\\], got None"):
        record_result(4, "cnn", 10, 1, 1.0, 0.98, None, seed=4, profile=smoke)


