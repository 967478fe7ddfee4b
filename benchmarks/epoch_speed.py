"""Measure how an epoch's time depends on the tf.data iterator (chapter 6's benchmark, the speed part).

Usage::

    python -m benchmarks.epoch_speed [--epochs 12] [--steps 100] [--batch-size 64]
    python -m benchmarks.epoch_speed --variants [--epochs 3] [--steps 200]

It trains the book's compact CNN (:data:`mnist_helpers.recipes.COMPACT_CNN`) on random images
(the speed of a training step does not depend on the pixels) for ``--epochs`` short epochs of
``--steps`` steps, twice:

- ``fresh iterator``: ``model.fit`` on the finite dataset, as Keras does by default; it creates a
  new iterator over the dataset at every epoch;
- ``one iterator``: :func:`mnist_helpers.training.fit`, which repeats the dataset and sets
  ``steps_per_epoch``, so one iterator serves the whole fit.

It prints, per epoch, the milliseconds per step and the CPU cores the process kept busy (process
CPU time over wall time), then a summary per way: the median milliseconds per step and how many
epochs ran on about one core. On the 2-core machine the book was written on, a third of the
fresh-iterator epochs ran on one core (60 of 183 measured; from 1 in 11 to 2 in 3 per run), at
1.8-2 times the step time, and none of 103 one-iterator epochs did; that is why ``training.fit``
repeats its datasets. One run of 12 epochs may show few of them: run it more than once.

With ``--variants`` it times, the one-iterator way only, the compact CNN against the variants
that chapter 3 and ``recipes.py`` weigh (:data:`VARIANTS`: pooling after the normalization, no
batch normalization, no dropout in the blocks, narrower blocks) and prints, per variant, the
parameters and the fastest epoch's milliseconds per step and per image. The host's speed varies
from day to day (the same step has taken 43 and 58 ms on the same kind of machine), so compare
variants within one run, not across runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from mnist_helpers.recipes import COMPACT_CNN  # noqa: E402  (recipes imports no TensorFlow)

#: An epoch whose process kept fewer cores busy than this ran, in effect, on one core.
ONE_CORE = 1.3


#: Model variants timed by ``--variants``: name -> ``build_cnn`` keyword arguments.
VARIANTS: dict[str, dict[str, Any]] = {
    "compact CNN (book)": dict(COMPACT_CNN),
    "pool after BN+ReLU": {**COMPACT_CNN, "pool_first": False},
    "no batch norm": {**COMPACT_CNN, "batch_norm": False},
    "no block dropout": {**COMPACT_CNN, "dropout": 0.0},
    "narrower 24-48-96": {**COMPACT_CNN, "filters": [24, 48, 96]},
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line; rejects non-positive counts with a message that says what was expected."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.epoch_speed", description=__doc__.split("\n")[0])

    def positive(text: str) -> int:
        value = int(text)
        if value < 1:
            raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
        return value

    parser.add_argument("--epochs", type=positive, default=12, help="epochs per way (default 12)")
    parser.add_argument("--steps", type=positive, default=100, help="training steps per epoch (default 100)")
    parser.add_argument("--batch-size", type=positive, default=64, help="batch size (default 64, the book's recipe)")
    parser.add_argument("--variants", action="store_true",
                        help="time the model variants of VARIANTS (one iterator) instead of the two iterator ways")
    return parser.parse_args(argv)


def time_epochs(
    way: str, epochs: int, steps: int, batch_size: int, seed: int = 0, model_config: dict[str, Any] | None = None
) -> list[tuple[float, float]]:
    """Train the compact CNN (or ``build_cnn(**model_config)``) one way (``"fresh iterator"`` or
    ``"one iterator"``) and return one ``(milliseconds per step, cores busy)`` pair per epoch."""
    import keras
    import numpy as np

    from mnist_helpers.augment import make_eval_dataset, make_train_dataset
    from mnist_helpers.config import get_profile
    from mnist_helpers.models import build_cnn, compile_model
    from mnist_helpers.training import fit

    if way not in ("fresh iterator", "one iterator"):
        raise ValueError(f"way must be 'fresh iterator' or 'one iterator', got {way!r}")
    rng = np.random.default_rng(seed)
    n = steps * batch_size
    x = rng.random((n, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, n)
    train = make_train_dataset(x, y, batch_size, augment="none", seed=seed)  # the book's pipeline
    val = make_eval_dataset(x[:512], y[:512])
    keras.utils.set_random_seed(seed)
    model = compile_model(build_cnn(**(COMPACT_CNN if model_config is None else model_config)))
    epochs_timed: list[tuple[float, float]] = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.wall, self.cpu = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            wall = time.perf_counter() - self.wall
            epochs_timed.append((1000 * wall / steps, (time.process_time() - self.cpu) / wall))

    if way == "fresh iterator":
        model.fit(train, validation_data=val, epochs=epochs, callbacks=[Timer()], shuffle=False, verbose=0)
    else:
        fit(model, train, val, epochs=epochs, callbacks=[Timer()], profile=get_profile("full"), verbose=0)
    return epochs_timed


def summarize(way: str, epochs_timed: list[tuple[float, float]]) -> str:
    """One summary line: the median step time (the first epoch, which traces the graph, left out)
    and the number of epochs that ran on about one core."""
    timed = epochs_timed[1:] or epochs_timed
    one_core = sum(cores < ONE_CORE for _, cores in timed)
    return (f"{way:>14}: median {statistics.median(ms for ms, _ in timed):.0f} ms/step; "
            f"{one_core} of {len(timed)} epochs on about one core (first epoch left out)")


def time_variants(epochs: int, steps: int, batch_size: int, variants: dict[str, dict[str, Any]] | None = None) -> dict[str, dict[str, float]]:
    """Time each model variant the one-iterator way; returns, per variant name, its parameters
    and the fastest epoch's milliseconds per step and per image. The fastest epoch is the least
    disturbed by the host; the first epoch traces the graph and is left out when there are more."""
    from mnist_helpers.models import build_cnn

    timings = {}
    for name, config in (VARIANTS if variants is None else variants).items():
        epochs_timed = time_epochs("one iterator", epochs, steps, batch_size, model_config=config)
        fastest = min(ms for ms, _ in (epochs_timed[1:] or epochs_timed))
        timings[name] = {"parameters": build_cnn(**config).count_params(), "ms_per_step": fastest,
                         "ms_per_image": fastest / batch_size}
        print(f"{name:>20}: {timings[name]['parameters']:>9,} parameters | {fastest:6.1f} ms/step | "
              f"{fastest / batch_size:.3f} ms/image", flush=True)
    return timings


def main(argv: Sequence[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.variants:
        print(f"model variants, batch {args.batch_size}, {args.steps} steps per epoch, {args.epochs} epochs each, "
              f"one iterator; {os.cpu_count()} CPUs", flush=True)
        return time_variants(args.epochs, args.steps, args.batch_size)
    print(f"compact CNN, batch {args.batch_size}, {args.steps} steps per epoch, {args.epochs} epochs per way; "
          f"{os.cpu_count()} CPUs", flush=True)
    results = {}
    for way in ("fresh iterator", "one iterator"):
        results[way] = time_epochs(way, args.epochs, args.steps, args.batch_size)
        print(f"{way:>14}: " + " ".join(f"{ms:.0f}ms/{cores:.1f}c" for ms, cores in results[way]), flush=True)
    for way, epochs_timed in results.items():
        print(summarize(way, epochs_timed))
    return results


if __name__ == "__main__":
    main()
