"""Benchmark the book's best single-model recipe over several seeds, and their ensemble (chapter 6).

Usage::

    python -m benchmarks.best_recipe --seeds 3 [--refit] [--reuse] [--epochs N] [--profile smoke]

Each seed trains the recipe (:data:`mnist_helpers.recipes.CHAPTER4_BEST`, with only the seed
changed) from scratch on the book's split (:func:`mnist_helpers.data.load_splits`). Nothing is
chosen on the test set: the recipe's epochs were set from chapter 4's time budget and its choices
on validation data; the cosine schedule reaches zero at the last epoch, whose weights are kept.
Test-time augmentation (the softmax averaged over the image and :data:`TTA_COPIES` mild variants of
it, ``augment.predict_tta``) is used only if it raises validation accuracy: for the single models
on their mean over seeds, for the ensemble on the ensemble's. Each model is scored on the test set
as it is, and with test-time augmentation only when validation chose it.
The softmax outputs of the seeds are then averaged into an ensemble.

Output: the run's settings (profile, data sizes, threading and tf.data), one line per seed
(seed, epochs, training seconds in all and per epoch, cores kept busy, validation and test
accuracy), two lines with the test-time augmentation choices, a summary line (mean test accuracy
+- standard deviation over seeds, plain and with test-time augmentation if chosen, the ensemble's
test accuracy, mean training seconds per model) and a line comparing the ensemble with the single
model that was best on validation. The numbers are also written to
``<artifacts>/benchmark_best_recipe.json``.

``--refit`` adds the last step of chapter 6: once validation has made every choice, each seed is
trained again, with the same recipe and epochs, on the training and validation images together
(:func:`mnist_helpers.recipes.refit`; 60,000 images under the full profile), and scored on the
test set once, with test-time augmentation exactly as validation chose it above. It prints one
line per refit model, their summary, and a line comparing the refit ensemble with the ensemble
above. Nothing about the refit models is chosen: they have no validation data left.

The seeds default to the recipe's own seed and the next ones (4, 5, 6), the seeds of chapters 4
and 6. Each trained model is saved where the book looks for it (``training.save_trained`` under
``recipes.seed_model_name``), so a ``make book`` after the benchmark loads these models instead of
training them again; ``--no-save`` (or ``--epochs``, which changes the recipe) turns that off.
``--reuse`` goes the other way: it loads the models an earlier run or the book saved with this
recipe and profile (their training seconds are the saved ones) and trains only the missing ones,
so the evaluation can be repeated in a minute.

Under ``--profile smoke`` (or ``MNIST_PROFILE=smoke``) each model sees 2,000 images for one
epoch, so the command finishes in about a minute; it checks the plumbing, not the accuracy.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from mnist_helpers.config import PROFILES, Profile, artifacts_dir, get_profile  # noqa: E402
from mnist_helpers.data import load_splits  # noqa: E402
from mnist_helpers.recipes import CHAPTER4_BEST, REFIT_NAME, refit  # noqa: E402
from mnist_helpers.stats import (  # noqa: E402
    accuracy,
    binomial_interval,
    choose_tta,
    ensemble_average,
    fixed_and_broken,
    mcnemar,
    seed_summary,
)

#: Test-time augmentation: the mild preset, this many augmented copies beside the image itself
#: (``augment.predict_tta``'s default, as in chapter 6). Used only when it helps on validation.
TTA_COPIES = 4

#: The recipe benchmarked: the book's best single model (chapter 4).
RECIPE_NAME = "CHAPTER4_BEST"
RECIPE: dict[str, Any] = CHAPTER4_BEST
OUTPUT_NAME = "benchmark_best_recipe.json"


@dataclass(frozen=True)
class SeedRun:
    """One trained model: its seed, the epochs it ran and its best epoch by the recipe's monitor
    (validation accuracy when the recipe has no callbacks; shown, not used to choose), the
    training seconds, its validation and test accuracy (fractions), the CPU cores its training
    kept busy (process CPU seconds over wall seconds; ``None`` when not measured), its validation
    accuracy with test-time augmentation and, only when validation chose it, its test accuracy
    with it; ``loaded`` says the model was loaded (``--reuse``), not trained now."""

    seed: int
    epochs: int
    best_epoch: int
    train_seconds: float
    val_accuracy: float
    test_accuracy: float
    cores_busy: float | None = None
    val_accuracy_tta: float | None = None
    test_accuracy_tta: float | None = None
    loaded: bool = False


@dataclass(frozen=True)
class RefitRun:
    """One model refit on the training and validation images (``--refit``): its seed, the images it
    trained on, the epochs, the training seconds, the cores kept busy, its test accuracy and, when
    validation chose test-time augmentation for single models, its test accuracy with it."""

    seed: int
    n_train: int
    epochs: int
    train_seconds: float
    test_accuracy: float
    cores_busy: float | None = None
    test_accuracy_tta: float | None = None
    loaded: bool = False


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer of at least 1, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.best_recipe",
        description="Train the book's best single-model recipe with several seeds; report mean +- std "
        "test accuracy, the softmax-average ensemble and training time.",
    )
    parser.add_argument("--seeds", type=_positive_int, default=3, help="number of seeds (models) to train (default 3)")
    parser.add_argument("--first-seed", type=_non_negative_int, default=RECIPE["seed"],
                        help=f"seeds are first-seed, first-seed+1, ... (default {RECIPE['seed']}, the recipe's own "
                        "seed, as in chapters 4 and 6)")
    parser.add_argument("--no-save", action="store_true",
                        help="do not save the trained models for the book (by default they are saved where "
                        "chapters 4-6 load them)")
    parser.add_argument("--epochs", type=_positive_int, default=None,
                        help=f"epoch budget per model; the profile caps it "
                        f"(default: the recipe's {RECIPE['epochs']})")
    parser.add_argument("--reuse", action="store_true",
                        help="load each seed's saved model when it was trained with this recipe and profile (by an "
                        "earlier run or the book), train the others; their training seconds are the saved ones")
    parser.add_argument("--refit", action="store_true",
                        help="after the choices on validation, train each seed again on the training and validation "
                        "images together and score it on test once (chapter 6's last step)")
    parser.add_argument("--profile", choices=sorted(PROFILES), default=None,
                        help="run profile (default: $MNIST_PROFILE, else full)")
    parser.add_argument("--intra-op-threads", type=_non_negative_int, default=None,
                        help="TensorFlow intra-op threads (default: TensorFlow's choice)")
    parser.add_argument("--inter-op-threads", type=_non_negative_int, default=None,
                        help="TensorFlow inter-op threads (default: TensorFlow's choice)")
    parser.add_argument("--verbose", type=int, choices=[0, 1, 2], default=0,
                        help="Keras fit verbosity: 0 silent (default), 2 one line per epoch")
    parser.add_argument("--output", type=Path, default=None,
                        help=f"where to write the JSON results (default: <artifacts>/<profile>/{OUTPUT_NAME})")
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``argv`` without the program name; ``None`` reads ``sys.argv``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.reuse and (args.no_save or args.epochs is not None):
        parser.error("expected --reuse without --no-save and --epochs (it loads the saved models of the recipe itself)")
    return args


def recipe_for_seed(seed: int, epochs: int | None = None, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """A deep copy of the recipe with ``seed`` (and ``epochs``, if given) replaced; the shared
    recipe itself is never modified."""
    config = copy.deepcopy(RECIPE if base is None else base)
    config["seed"] = int(seed)
    if epochs is not None:
        config["epochs"] = int(epochs)
    return config


def apply_threading(intra_op: int | None, inter_op: int | None) -> None:
    """Set TensorFlow's thread pools; must run before TensorFlow executes its first operation."""
    import tensorflow as tf

    try:
        if intra_op is not None:
            tf.config.threading.set_intra_op_parallelism_threads(intra_op)
        if inter_op is not None:
            tf.config.threading.set_inter_op_parallelism_threads(inter_op)
    except RuntimeError as err:
        raise RuntimeError(
            f"could not set TensorFlow threads (intra-op {intra_op}, inter-op {inter_op}): TensorFlow was "
            "already initialised in this process; set them before any model is built"
        ) from err


def threading_settings() -> dict[str, Any]:
    """The thread settings in effect: TensorFlow's pools (0 means TensorFlow picks, about one thread
    per core), the cores this process may use, and thread-related environment variables."""
    import tensorflow as tf

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 0
    return {
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "usable_cores": cores,
        "cpu_count": os.cpu_count(),
        "env": {k: os.environ.get(k, "unset") for k in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")},
    }


def data_settings(config: dict[str, Any], n_train: int) -> dict[str, Any]:
    """The tf.data settings of the pipelines :func:`mnist_helpers.recipes.train_recipe` builds.

    The ``tf.data.Options`` are read from a pipeline built by the same function on 8 blank images
    (they do not depend on the data); ``None`` means TensorFlow's default.
    """
    from mnist_helpers.augment import make_train_dataset

    probe = make_train_dataset(np.zeros((8, 28, 28, 1), np.float32), np.zeros(8, np.int64), config["batch_size"],
                               config["augment"], seed=0)
    options = probe.options()
    return {
        "train": f"shuffle buffer {n_train} (reshuffled each epoch), batch {config['batch_size']}, "
                 f"augment '{config['augment']}' in an in-order map (reproducible), prefetch(AUTOTUNE), "
                 "repeated behind one iterator for the whole fit (training.fit)",
        "eval": "batch 512, prefetch(AUTOTUNE), no augmentation",
        "options": {
            "autotune": options.autotune.enabled,
            "private_threadpool_size": options.threading.private_threadpool_size,
            "max_intra_op_parallelism": options.threading.max_intra_op_parallelism,
            "deterministic": options.deterministic,
        },
    }


def format_settings(profile: Profile, sizes: dict[str, int], config: dict[str, Any], seeds: Sequence[int],
                    threads: dict[str, Any], data: dict[str, Any]) -> list[str]:
    """The header lines that say what is being run and with which threading and tf.data settings."""
    show = lambda value: "TF default" if value is None else value  # noqa: E731
    env = ", ".join(f"{k}={v}" for k, v in threads["env"].items())
    options = ", ".join(f"{k}={show(v)}" for k, v in data["options"].items())
    return [
        f"recipe {RECIPE_NAME}: {json.dumps({k: v for k, v in config.items() if k != 'seed'})}",
        f"profile {profile.name}: train {sizes['train']}, val {sizes['val']}, test {sizes['test']} images; "
        f"seeds {', '.join(map(str, seeds))}",
        f"threads: intra-op {threads['intra_op_threads']}, inter-op {threads['inter_op_threads']} "
        f"(0 = TensorFlow picks), usable cores {threads['usable_cores']} of {threads['cpu_count']}; {env}",
        f"tf.data train: {data['train']}",
        f"tf.data eval: {data['eval']}; options: {options}",
    ]


def _format_training(run: SeedRun | RefitRun) -> str:
    """The training part of a model's line: seconds in all and per epoch (validation included),
    the cores kept busy when measured, and whether the model was loaded."""
    cores = "" if run.cores_busy is None else f", {run.cores_busy:.1f} cores"
    loaded = ", loaded" if run.loaded else ""
    return f"train {run.train_seconds:8.1f} s ({run.train_seconds / max(run.epochs, 1):.1f} s/epoch{cores}{loaded})"


def _format_test(run: SeedRun | RefitRun) -> str:
    """The test part of a model's line: plain, and with test-time augmentation when validation chose it."""
    tta = "" if run.test_accuracy_tta is None else f" (TTA {run.test_accuracy_tta:.2%})"
    return f"test {run.test_accuracy:.2%}{tta}"


def format_seed_line(run: SeedRun) -> str:
    """One line per trained model: seed, epochs (and the restored best), training seconds (in all and
    per epoch, with the cores kept busy when measured), validation and test accuracy."""
    val_tta = "" if run.val_accuracy_tta is None else f" (TTA {run.val_accuracy_tta:.2%})"
    return (
        f"seed {run.seed:>3} | epochs {run.epochs:>3} (best {run.best_epoch:>3}) | {_format_training(run)} | "
        f"val {run.val_accuracy:.2%}{val_tta} | {_format_test(run)}"
    )


def format_tta_choice(val_plain: float, val_tta: float, used: bool, what: str = "single models") -> str:
    """The line that says whether test-time augmentation is used, and the validation numbers that decided."""
    verdict = "used" if used else "not used"
    return (f"test-time augmentation ({TTA_COPIES} mild copies + the image) for the {what}: validation "
            f"{val_tta:.2%} against {val_plain:.2%} without, so {verdict} (decided on validation)")


def format_refit_line(run: RefitRun) -> str:
    """One line per refit model: seed, training images, epochs, training seconds (in all and per
    epoch, with the cores kept busy when measured) and test accuracy (with TTA when chosen)."""
    return (f"refit seed {run.seed:>3} | {run.n_train:,} images | epochs {run.epochs:>3} | {_format_training(run)} | "
            f"{_format_test(run)}")


def format_summary(runs: Sequence[SeedRun | RefitRun], ensemble_accuracy: float, ensemble_tta: bool = False,
                   label: str = "") -> str:
    """The final line: mean +- std test accuracy over seeds (std with ddof=1), and with test-time
    augmentation when validation chose it, the softmax-average ensemble's test accuracy and the
    mean training seconds per model; ``label`` goes in front (the refit models' line of ``--refit`` has one)."""
    if not runs:
        raise ValueError("expected at least one seed run, got none")

    def mean_std(values: list[float]) -> str:
        summary = seed_summary(values)
        spread = "n/a (1 seed)" if np.isnan(summary["std"]) else f"{summary['std']:.2%}"
        return f"{summary['mean']:.2%} +- {spread}"

    seconds = seed_summary([r.train_seconds for r in runs])
    tta = [r.test_accuracy_tta for r in runs]
    with_tta = f"; with TTA {mean_std(tta)}" if all(t is not None for t in tta) else ""
    return (
        f"{label}{len(runs)} seed{'s' if len(runs) != 1 else ''}: test {mean_std([r.test_accuracy for r in runs])} "
        f"(mean +- std){with_tta} | ensemble (softmax average{' + TTA' if ensemble_tta else ''}) test "
        f"{ensemble_accuracy:.2%} | mean train {seconds['mean']:.1f} s per model"
    )


def format_comparison(reference_seed: int, counts: dict[str, int], test: dict[str, Any],
                      interval: tuple[float, float]) -> str:
    """A line comparing the ensemble with the single model that was best on validation."""
    return (
        f"ensemble vs seed {reference_seed} (best on validation): fixes {counts['fixed']}, breaks {counts['broken']} "
        f"test images; McNemar {test['test']} p = {test['p_value']:.3g}; ensemble 95% Wilson interval "
        f"[{interval[0]:.2%}, {interval[1]:.2%}]"
    )


def format_refit_comparison(counts: dict[str, int], test: dict[str, Any], interval: tuple[float, float]) -> str:
    """A line comparing the refit ensemble with the ensemble of the models that validation chose with."""
    return (
        f"refit ensemble vs the ensemble above: fixes {counts['fixed']}, breaks {counts['broken']} test images; "
        f"McNemar {test['test']} p = {test['p_value']:.3g}; refit ensemble 95% Wilson interval "
        f"[{interval[0]:.2%}, {interval[1]:.2%}]"
    )


@contextlib.contextmanager
def _fit_verbosity(level: int) -> Iterator[None]:
    """Set ``MNIST_VERBOSE`` (read by ``training.fit``) for the duration of the benchmark."""
    old = os.environ.get("MNIST_VERBOSE")
    os.environ["MNIST_VERBOSE"] = str(level)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("MNIST_VERBOSE", None)
        else:
            os.environ["MNIST_VERBOSE"] = old


def _train(name: str, config: dict[str, Any], splits, profile: Profile, reuse: bool, save: bool):
    """Train ``config`` (timing the cores it keeps busy), or with ``reuse`` load the model saved
    under ``name`` with this configuration; save a newly trained one when ``save``. Returns
    ``(model, FitResult, loaded)``."""
    from mnist_helpers.recipes import train_recipe
    from mnist_helpers.training import save_trained, train_or_load

    def train():
        cpu = time.process_time()
        model, result = train_recipe(config, splits, profile)
        if result.seconds > 0:  # kept with the saved model, so --reuse can show it
            result.extra["cores_busy"] = (time.process_time() - cpu) / result.seconds
        return model, result

    if reuse:
        return train_or_load(name, config, train, profile)
    model, result = train()
    if save:
        save_trained(name, config, model, result, profile)
    return model, result, False


def _predict(model, x: np.ndarray) -> np.ndarray:
    from mnist_helpers.augment import make_eval_dataset

    return np.asarray(model.predict(make_eval_dataset(x), verbose=0))


def _json_safe(value: Any) -> Any:
    """``value`` with NaN (the std of a single seed) as ``None`` and NumPy scalars as Python ones."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print its report and return it as a dict (also written as JSON)."""
    args = parse_args(argv)
    if args.intra_op_threads is not None or args.inter_op_threads is not None:
        apply_threading(args.intra_op_threads, args.inter_op_threads)
    import keras

    from mnist_helpers.augment import predict_tta
    from mnist_helpers.data import prepare
    from mnist_helpers.recipes import seed_model_name
    from mnist_helpers.training import best_epoch

    started = time.perf_counter()
    profile = get_profile(args.profile)
    splits = load_splits(profile)
    x_val, x_test = prepare(splits.x_val), prepare(splits.x_test)
    y_val, y_test = np.asarray(splits.y_val), np.asarray(splits.y_test)
    sizes = {"train": len(splits.y_train), "val": len(y_val), "test": len(y_test)}
    seeds = [args.first_seed + i for i in range(args.seeds)]
    base = recipe_for_seed(seeds[0], args.epochs)
    base["epochs"] = profile.epochs(base["epochs"])  # what fit will really use
    threads, data = threading_settings(), data_settings(base, sizes["train"])
    for line in format_settings(profile, sizes, base, seeds, threads, data):
        print(line, flush=True)

    runs: list[SeedRun] = []
    models: list[Any] = []
    val_probs: list[np.ndarray] = []
    val_probs_tta: list[np.ndarray] = []
    test_probs: list[np.ndarray] = []
    monitor = (base.get("callbacks") or {}).get("monitor", "val_accuracy")
    save = not args.no_save and args.epochs is None  # an epoch override is another recipe: the book would not use it
    with _fit_verbosity(args.verbose):
        for seed in seeds:
            keras.backend.clear_session()
            config = recipe_for_seed(seed, args.epochs)
            name = seed_model_name(RECIPE, seed)
            model, result, loaded = _train(name, config, splits, profile, reuse=args.reuse, save=save)
            val_p = _predict(model, x_val)
            val_p_tta = predict_tta(model, x_val, copies=TTA_COPIES)
            test_p = _predict(model, x_test)  # this model's one plain evaluation on the test set
            run = SeedRun(
                seed=seed, epochs=result.epochs,
                best_epoch=best_epoch(result.history, monitor) if monitor in result.history else result.epochs,
                train_seconds=result.seconds,
                val_accuracy=accuracy(val_p, y_val),
                test_accuracy=accuracy(test_p, y_test),
                cores_busy=result.extra.get("cores_busy"),
                val_accuracy_tta=accuracy(val_p_tta, y_val),
                loaded=loaded,
            )
            runs.append(run)
            models.append(model)
            val_probs.append(val_p)
            val_probs_tta.append(val_p_tta)
            test_probs.append(test_p)
            print(format_seed_line(run) + (f" | saved {name}.keras" if save and not loaded else ""), flush=True)

    # Test-time augmentation is a choice, so validation makes it: for the single models on their
    # mean validation accuracy, for the ensemble on the ensemble's. Only a chosen option is then
    # evaluated on the test set.
    choice = choose_tta(y_val, val_probs, val_probs_tta)
    tta_single, tta_ensemble = choice.single, choice.ensemble
    print(format_tta_choice(choice.val_plain, choice.val_tta, tta_single, "single models (mean over seeds)"), flush=True)
    print(format_tta_choice(choice.ensemble_val_plain, choice.ensemble_val_tta, tta_ensemble, "ensemble"), flush=True)
    test_probs_tta: list[np.ndarray] = []
    if tta_single or tta_ensemble:
        test_probs_tta = [predict_tta(m, x_test, copies=TTA_COPIES) for m in models]
    if tta_single:
        runs = [replace(r, test_accuracy_tta=accuracy(p, y_test))
                for r, p in zip(runs, test_probs_tta)]
        print("the seeds again, scored on test with test-time augmentation too:", flush=True)
        for run in runs:
            print(format_seed_line(run), flush=True)
    del models

    ensemble_test = ensemble_average(test_probs_tta if tta_ensemble else test_probs).argmax(axis=1)
    ensemble_val_accuracy = choice.ensemble_val  # as the ensemble predicts (TTA as chosen)
    ensemble_accuracy = float(np.mean(ensemble_test == y_test))
    print(format_summary(runs, ensemble_accuracy, tta_ensemble), flush=True)
    # The single model the ensemble is compared with: the best on validation, as it is used.
    single_val = [r.val_accuracy_tta if tta_single else r.val_accuracy for r in runs]
    reference = max(range(len(runs)), key=lambda i: single_val[i])  # chosen on validation only
    single_test = (test_probs_tta if tta_single else test_probs)[reference].argmax(axis=1)
    counts = fixed_and_broken(y_test, single_test, ensemble_test)
    comparison = mcnemar(y_test, single_test, ensemble_test).as_dict()
    interval = binomial_interval(int(np.sum(ensemble_test == y_test)), len(y_test))
    print(format_comparison(runs[reference].seed, counts, comparison, interval), flush=True)

    refit_report = None
    if args.refit:
        refit_report = _refit(args, seeds, splits, profile, save, x_test, y_test, choice, ensemble_test)

    report = {
        "recipe": RECIPE_NAME, "config": {k: v for k, v in base.items() if k != "seed"}, "profile": profile.name, "sizes": sizes, "seeds": seeds,
        "threads": threads, "tf_data": data, "runs": [asdict(r) for r in runs],
        "test_accuracy": seed_summary([r.test_accuracy for r in runs]),
        "val_accuracy": seed_summary([r.val_accuracy for r in runs]),
        "tta": {"copies": TTA_COPIES, "preset": "mild", **choice.as_dict()},
        "test_accuracy_tta": seed_summary([r.test_accuracy_tta for r in runs]) if tta_single else None,
        "train_seconds": seed_summary([r.train_seconds for r in runs]),
        "ensemble": {"test_accuracy": ensemble_accuracy, "val_accuracy": ensemble_val_accuracy, "tta": tta_ensemble,
                     "test_interval_95": list(interval), "reference_seed": runs[reference].seed,
                     "vs_reference": {**counts, "mcnemar": comparison}},
        "refit": refit_report,
        "wall_seconds": time.perf_counter() - started,
    }
    output = args.output or artifacts_dir(profile) / OUTPUT_NAME
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(_json_safe(report), indent=1))
    print(f"wall time {report['wall_seconds']:.1f} s; results written to {output}", flush=True)
    return report


def _refit(args: argparse.Namespace, seeds: Sequence[int], splits, profile: Profile, save: bool, x_test: np.ndarray,
           y_test: np.ndarray, choice, ensemble_test: np.ndarray) -> dict[str, Any]:
    """``--refit``: train each seed again on the training and validation images, score it on the
    test set once with test-time augmentation as validation chose it (``choice``), print the refit
    lines and return their part of the report."""
    import keras

    from mnist_helpers.augment import predict_tta
    from mnist_helpers.data import merge_validation
    from mnist_helpers.recipes import seed_model_name

    n_train = len(merge_validation(splits).y_train)
    runs: list[RefitRun] = []
    plain: list[np.ndarray] = []
    augmented: list[np.ndarray] = []
    with _fit_verbosity(args.verbose):
        for seed in seeds:
            keras.backend.clear_session()
            config = refit(recipe_for_seed(seed, args.epochs))
            name = seed_model_name(refit(RECIPE), seed, REFIT_NAME)
            model, result, loaded = _train(name, config, splits, profile, reuse=args.reuse, save=save)
            plain.append(_predict(model, x_test))
            if choice.single or choice.ensemble:  # chosen on validation above; nothing is chosen here
                augmented.append(predict_tta(model, x_test, copies=TTA_COPIES))
            run = RefitRun(
                seed=seed, n_train=n_train, epochs=result.epochs, train_seconds=result.seconds,
                test_accuracy=accuracy(plain[-1], y_test),
                cores_busy=result.extra.get("cores_busy"),
                test_accuracy_tta=accuracy(augmented[-1], y_test) if choice.single else None,
                loaded=loaded,
            )
            runs.append(run)
            print(format_refit_line(run) + (f" | saved {name}.keras" if save and not loaded else ""), flush=True)
    refit_test = ensemble_average(augmented if choice.ensemble else plain).argmax(axis=1)
    refit_accuracy = float(np.mean(refit_test == y_test))
    print(format_summary(runs, refit_accuracy, choice.ensemble, label="refit on training + validation images, "), flush=True)
    counts = fixed_and_broken(y_test, ensemble_test, refit_test)
    comparison = mcnemar(y_test, ensemble_test, refit_test).as_dict()
    interval = binomial_interval(int(np.sum(refit_test == y_test)), len(y_test))
    print(format_refit_comparison(counts, comparison, interval), flush=True)
    return {
        "n_train": n_train, "runs": [asdict(r) for r in runs],
        "test_accuracy": seed_summary([r.test_accuracy for r in runs]),
        "test_accuracy_tta": seed_summary([r.test_accuracy_tta for r in runs]) if choice.single else None,
        "train_seconds": seed_summary([r.train_seconds for r in runs]),
        "ensemble": {"test_accuracy": refit_accuracy, "tta": choice.ensemble, "test_interval_95": list(interval),
                     "vs_ensemble": {**counts, "mcnemar": comparison}},
    }


if __name__ == "__main__":
    main(sys.argv[1:])
