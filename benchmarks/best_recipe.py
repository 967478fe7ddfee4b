"""Benchmark the book's recipe over several seeds, and their ensemble (chapter 6 from the command line).

Usage::

    python -m benchmarks.best_recipe --seeds 3 [--refit] [--reuse] [--no-save] [--epochs N] [--profile smoke]

Each seed trains the recipe (:data:`mnist_helpers.recipes.CHAPTER4_BEST`, only the seed changed)
with ``recipes.train_recipe`` on the book's split. The models are scored as chapter 6 scores them,
by ``stats.evaluate_seeds``: validation decides whether test-time augmentation is used, for the
single models on their mean and for the ensemble (the softmax average of the seeds); the test set
is read for the options chosen. It prints one training line per seed, the two choices, one
accuracy line per seed, a summary (mean +- std over seeds, the ensemble, training seconds) and the
ensemble against the single model that was best on validation (McNemar's exact test, Wilson
interval). The report is also written to ``<artifacts>/benchmark_best_recipe.json``.

``--refit`` then trains each seed again on the training and validation images together
(``recipes.refit``) and scores it on the test set once, with test-time augmentation as validation
chose it above; nothing about these models is chosen.

The seeds start at the recipe's own (4): seed 4 is saved as chapter 4's model, the others under
chapter 6's names (``recipes.seed_model_name``), so a ``make book`` afterwards loads them.
``--no-save`` (or ``--epochs``, which makes another recipe) saves nothing; ``--reuse`` loads the
models saved with this recipe and profile and trains only the missing ones. Under
``--profile smoke`` each model sees 2,000 images for one epoch: a check of the plumbing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any
from unittest import mock

import numpy as np

from mnist_helpers.config import PROFILES, Profile, artifacts_dir, get_profile
from mnist_helpers.data import load_splits
from mnist_helpers.recipes import CHAPTER4_BEST, REFIT_NAME, SeedRun, refit, seed_model_name
from mnist_helpers.stats import EnsembleEvaluation, binomial_interval, evaluate_seeds, paired_comparison

RECIPE: dict[str, Any] = CHAPTER4_BEST
OUTPUT_NAME = "benchmark_best_recipe.json"


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer of at least 1, got {text}")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``argv`` without the program name; ``None`` reads ``sys.argv``)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.best_recipe", description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=_positive_int, default=3, help="number of seeds (models) to train (default 3)")
    parser.add_argument("--first-seed", type=_positive_int, default=RECIPE["seed"],
                        help=f"seeds are first-seed, first-seed+1, ... (default {RECIPE['seed']}, the recipe's own)")
    parser.add_argument("--epochs", type=_positive_int, default=None,
                        help=f"epochs per model, capped by the profile (default: the recipe's {RECIPE['epochs']})")
    parser.add_argument("--no-save", action="store_true", help="do not save the models where the book loads them")
    parser.add_argument("--reuse", action="store_true",
                        help="load the models saved with this recipe and profile; train only the missing ones")
    parser.add_argument("--refit", action="store_true",
                        help="then train each seed again on training + validation images and score it on test once")
    parser.add_argument("--profile", choices=sorted(PROFILES), default=None,
                        help="run profile (default: $MNIST_PROFILE, else full)")
    parser.add_argument("--verbose", type=int, choices=[0, 1, 2], default=0, help="Keras fit verbosity (default 0)")
    parser.add_argument("--output", type=str, default=None,
                        help=f"where to write the JSON report (default: <artifacts>/<profile>/{OUTPUT_NAME})")
    args = parser.parse_args(argv)
    if args.reuse and (args.no_save or args.epochs is not None):
        parser.error("expected --reuse without --no-save and --epochs (it loads the saved models of the recipe itself)")
    return args


def train_seed(seed: int, base: dict[str, Any], splits, profile: Profile, epochs: int | None = None,
               reuse: bool = False, save: bool = True) -> tuple[SeedRun, str]:
    """Train ``base`` with ``seed`` (and ``epochs`` if given) through ``recipes``, or with ``reuse``
    load the model saved under the book's name; save a newly trained one when ``save``. Returns
    the :class:`~mnist_helpers.recipes.SeedRun` (``result.extra["cores_busy"]``: process CPU
    seconds over wall seconds, for a model trained now) and the saved-model name."""
    from mnist_helpers.cache import FitResult, save_trained
    from mnist_helpers.recipes import recipe_model, train_recipe

    config = {**base, "seed": int(seed), **({"epochs": epochs} if epochs else {})}
    name = seed_model_name(base, seed, REFIT_NAME if base.get("refit") else "chapter6")
    cpu, start = time.process_time(), time.perf_counter()
    if reuse:
        model, result, loaded = recipe_model(name, config, splits, profile)
    else:
        model, history = train_recipe(config, splits, profile)
        result, loaded = FitResult.from_history(history, time.perf_counter() - start), False
    if not loaded:
        result.extra["cores_busy"] = (time.process_time() - cpu) / max(result.seconds, 1e-9)
        if save and not reuse:
            save_trained(name, config, model, result, profile)
    return SeedRun(int(seed), model, result, loaded), name


def format_training(run: SeedRun, label: str = "seed", n_images: int | None = None, saved: str | None = None) -> str:
    """A model's training line: seed, the training images (for a refit), epochs (and the best on
    validation, shown, not used), seconds in all and per epoch, the cores kept busy, and whether the
    model was loaded or saved."""
    history, epochs = run.result.history, run.result.epochs
    best = f" (best {int(np.argmax(history['val_accuracy'])) + 1:>3})" if history.get("val_accuracy") else ""
    cores = run.result.extra.get("cores_busy")
    notes = "".join([f", {cores:.1f} cores" if cores is not None else "", ", loaded" if run.loaded else ""])
    images = "" if n_images is None else f" | {n_images:,} images"
    return (f"{label} {run.seed:>3}{images} | epochs {epochs:>3}{best} | train {run.result.seconds:8.1f} s "
            f"({run.result.seconds / max(epochs, 1):.1f} s/epoch{notes})" + (f" | saved {saved}.keras" if saved else ""))


def format_tta_choice(val_plain: float, val_tta: float, used: bool, what: str) -> str:
    """Whether test-time augmentation is used, and the validation accuracies that decided."""
    return (f"test-time augmentation (4 mild copies + the image) for the {what}: validation {val_tta:.2%} "
            f"against {val_plain:.2%} without, so {'used' if used else 'not used'} (decided on validation)")


def format_accuracy(seed: int, val: float | None, val_tta: float | None, test: float, test_tta: float | None,
                    label: str = "seed") -> str:
    """A model's accuracy line: validation and test, with test-time augmentation where known."""
    tta = lambda value: "" if value is None else f" (TTA {value:.2%})"  # noqa: E731
    val_part = "" if val is None else f" | val {val:.2%}{tta(val_tta)}"
    return f"{label} {seed:>3}{val_part} | test {test:.2%}{tta(test_tta)}"


def mean_std(values: Sequence[float]) -> str:
    """``mean +- std`` over seeds (std with ddof=1; n/a for one seed)."""
    std = f"{np.std(values, ddof=1):.2%}" if len(values) > 1 else "n/a (1 seed)"
    return f"{np.mean(values):.2%} +- {std}"


def format_summary(test: Sequence[float], test_tta: Sequence[float] | None, ensemble: float, ensemble_tta: bool,
                   seconds: Sequence[float], label: str = "") -> str:
    """The summary line: the seeds' mean test accuracy (and with TTA when chosen), the ensemble's
    test accuracy and the mean training seconds per model."""
    if not test:
        raise ValueError("expected at least one seed, got none")
    with_tta = "" if test_tta is None else f"; with TTA {mean_std(test_tta)}"
    return (f"{label}{len(test)} seed{'s' if len(test) != 1 else ''}: test {mean_std(test)} (mean +- std){with_tta} | "
            f"ensemble (softmax average{' + TTA' if ensemble_tta else ''}) test {ensemble:.2%} | "
            f"mean train {np.mean(seconds):.1f} s per model")


def format_comparison(what: str, counts: dict[str, Any], interval: tuple[float, float]) -> str:
    """A model against another on the test images: fixed and broken images, McNemar, Wilson."""
    return (f"{what}: fixes {counts['fixed']}, breaks {counts['broken']} test images; McNemar {counts['test']} "
            f"p = {counts['p_value']:.3g}; ensemble 95% Wilson interval [{interval[0]:.2%}, {interval[1]:.2%}]")


def report_seeds(runs: Sequence[SeedRun], evaluation: EnsembleEvaluation, refit: bool = False) -> dict[str, Any]:
    """Print the accuracy lines and the summary of scored models (refit ones have no validation
    accuracy); return their part of the report, with the ensemble's test predictions as ``"_pred"``."""
    choice, y_test = evaluation.choice, evaluation.y_test
    label = "refit seed" if refit else "seed"
    val = {} if refit else evaluation.accuracies("val")
    val_tta = {} if refit else evaluation.accuracies("val", tta=True)
    test = evaluation.accuracies("test")
    test_tta = evaluation.accuracies("test", tta=True) if choice.single else {}
    for seed in test:
        print(format_accuracy(seed, val.get(seed), val_tta.get(seed), test[seed], test_tta.get(seed), label), flush=True)
    ensemble_pred = evaluation.ensemble("test").argmax(axis=1)
    ensemble = float(np.mean(ensemble_pred == y_test))
    seconds = [run.result.seconds for run in runs]
    print(format_summary(list(test.values()), list(test_tta.values()) or None, ensemble, choice.ensemble, seconds,
                         "refit on training + validation images, " if refit else ""), flush=True)
    interval = binomial_interval(int(np.sum(ensemble_pred == y_test)), len(y_test))
    models = [{"seed": r.seed, "epochs": r.result.epochs, "train_seconds": r.result.seconds, "loaded": r.loaded,
               "cores_busy": r.result.extra.get("cores_busy"), "val_accuracy": val.get(r.seed),
               "val_accuracy_tta": val_tta.get(r.seed), "test_accuracy": test[r.seed],
               "test_accuracy_tta": test_tta.get(r.seed)} for r in runs]
    return {"runs": models, "ensemble": {"test_accuracy": ensemble, "tta": choice.ensemble,
                                         "test_interval_95": list(interval)}, "_pred": ensemble_pred}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print its report and return it as a dict (also written as JSON)."""
    args = parse_args(argv)
    started = time.perf_counter()
    profile = get_profile(args.profile)
    splits = load_splits(profile)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    save = not args.no_save and args.epochs is None  # another epoch budget is another recipe: the book would not load it
    epochs = profile.epochs(args.epochs or RECIPE["epochs"])
    print(f"recipe CHAPTER4_BEST: {json.dumps({**RECIPE, 'epochs': epochs, 'seed': seeds})}", flush=True)
    print(f"profile {profile.name}: train {len(splits.y_train)}, val {len(splits.y_val)}, test {len(splits.y_test)} "
          f"images; {os.cpu_count()} CPUs", flush=True)
    report: dict[str, Any] = {"profile": profile.name, "seeds": seeds, "epochs": epochs}
    with mock.patch.dict(os.environ, {"MNIST_VERBOSE": str(args.verbose)}):
        runs = []
        for seed in seeds:
            run, name = train_seed(seed, RECIPE, splits, profile, args.epochs, args.reuse, save)
            runs.append(run)
            print(format_training(run, saved=name if save and not run.loaded else None), flush=True)
        evaluation = evaluate_seeds(runs, splits)
        choice = evaluation.choice
        print(format_tta_choice(choice.val_plain, choice.val_tta, choice.single, "single models (mean over seeds)"))
        print(format_tta_choice(choice.ensemble_val_plain, choice.ensemble_val_tta, choice.ensemble, "ensemble"))
        report.update(report_seeds(runs, evaluation), tta=choice.as_dict())
        ensemble_pred = report.pop("_pred")
        best = evaluation.best_seed  # chosen on validation
        counts = paired_comparison(evaluation.y_test, evaluation.single("test")[best].argmax(axis=1), ensemble_pred)
        interval = tuple(report["ensemble"]["test_interval_95"])
        print(format_comparison(f"ensemble vs seed {best} (best on validation)", counts, interval), flush=True)
        report["ensemble"].update(val_accuracy=choice.ensemble_val, reference_seed=best, vs_reference=counts)
        if args.refit:
            report["refit"] = _refit(args, seeds, splits, profile, save, choice, ensemble_pred)
    report["wall_seconds"] = time.perf_counter() - started
    output = args.output or artifacts_dir(profile) / OUTPUT_NAME
    with open(output, "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=1)
    print(f"wall time {report['wall_seconds']:.1f} s; report written to {output}", flush=True)
    return report


def _refit(args: argparse.Namespace, seeds: Sequence[int], splits, profile: Profile, save: bool, choice,
           ensemble_pred: np.ndarray) -> dict[str, Any]:
    """``--refit``: each seed again on the training and validation images, scored on the test set
    with test-time augmentation exactly as validation chose it; prints the refit lines."""
    n_train = len(splits.y_train) + len(splits.y_val)
    runs = []
    for seed in seeds:
        run, name = train_seed(seed, refit(RECIPE), splits, profile, args.epochs, args.reuse, save)
        runs.append(run)
        print(format_training(run, "refit seed", n_train, name if save and not run.loaded else None), flush=True)
    evaluation = evaluate_seeds(runs, splits, choice=choice)  # nothing is chosen here
    part = report_seeds(runs, evaluation, refit=True)
    refit_pred = part.pop("_pred")
    counts = paired_comparison(evaluation.y_test, ensemble_pred, refit_pred)
    print(format_comparison("refit ensemble vs the ensemble above", counts, tuple(part["ensemble"]["test_interval_95"])),
          flush=True)
    part["ensemble"]["vs_ensemble"] = counts
    return {"n_train": n_train, **part}


if __name__ == "__main__":
    main(sys.argv[1:])
