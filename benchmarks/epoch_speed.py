"""Time an epoch of the book's CNN: one tf.data iterator per fit or one per epoch, and model variants.

Usage::

    python -m benchmarks.epoch_speed [--epochs 12] [--steps 100] [--batch-size 64]
    python -m benchmarks.epoch_speed --variants [--epochs 3] [--steps 200]

It trains chapter 3's CNN (``mnist_helpers.models.build_cnn()``) with plain Keras
(``model.compile`` and ``model.fit``) on random images, since the speed of a training step does
not depend on the pixels, for ``--epochs`` short epochs of ``--steps`` steps, twice:

- ``fresh iterator``: ``model.fit(dataset, epochs=...)``, as Keras does by default: a new iterator
  over the dataset at every epoch;
- ``one iterator``: ``model.fit(dataset.repeat(), steps_per_epoch=..., epochs=...)``: one iterator
  serves the whole fit, as in chapter 3.

It prints, per epoch, the milliseconds per step and the CPU cores the process kept busy (process
CPU time over wall time), then per way the median milliseconds per step and how many epochs ran
on about one core. On the 2-core machine the book is built on, a third of the fresh-iterator
epochs ran on one core (60 of 183 measured; from 1 in 11 to 2 in 3 per run), at 1.8-2 times the
step time, and none of 103 one-iterator epochs did. One run of 12 epochs may show few of them.

With ``--variants`` it times, one iterator per fit, the book's CNN against the textbook order
(batch normalization and ReLU before pooling, :func:`textbook_cnn`), no batch normalization, no
dropout and narrower blocks (:data:`VARIANTS`), and prints per variant the parameters and the
fastest epoch's milliseconds per step and per image. The host's speed varies from day to day, so
compare variants within one run, not across runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

#: An epoch whose process kept fewer cores busy than this ran, in effect, on one core.
ONE_CORE = 1.3
WAYS = ("fresh iterator", "one iterator")


def textbook_cnn(filters: Sequence[int] = (32, 64, 128), dense_units: int = 256, dropout: float = 0.1,
                 dense_dropout: float = 0.3):
    """``build_cnn()`` with each block in the textbook order: convolution, batch normalization, ReLU,
    then pooling and dropout (``build_cnn`` pools straight after the convolution)."""
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input(shape=(28, 28, 1))], name="textbook_cnn")
    for width in filters:
        for layer in (layers.Conv2D(width, 3, padding="same", use_bias=False), layers.BatchNormalization(),
                      layers.ReLU(), layers.MaxPooling2D(), layers.Dropout(dropout)):
            model.add(layer)
    for layer in (layers.Flatten(), layers.Dense(dense_units, use_bias=False), layers.BatchNormalization(),
                  layers.ReLU(), layers.Dropout(dense_dropout), layers.Dense(10, activation="softmax")):
        model.add(layer)
    return model


def _book_cnn(**kwargs):
    from mnist_helpers.models import build_cnn

    return build_cnn(**kwargs)


#: Model variants timed by ``--variants``: name -> a function that builds the model.
VARIANTS: dict[str, Callable[[], Any]] = {
    "book's CNN": _book_cnn,
    "textbook order (BN before pooling)": textbook_cnn,
    "no batch norm": lambda: _book_cnn(batch_norm=False),
    "no dropout": lambda: _book_cnn(dropout=0.0, dense_dropout=0.0),
    "narrower 24-48-96": lambda: _book_cnn(filters=(24, 48, 96)),
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line; rejects non-positive counts with a message that says what was expected."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.epoch_speed", description=__doc__.split("\n")[0])

    def positive(text: str) -> int:
        value = int(text)
        if value < 1:
            raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
        return value

    parser.add_argument("--epochs", type=positive, default=12, help="epochs per way or variant (default 12)")
    parser.add_argument("--steps", type=positive, default=100, help="training steps per epoch (default 100)")
    parser.add_argument("--batch-size", type=positive, default=64, help="batch size (default 64, the book's recipe)")
    parser.add_argument("--variants", action="store_true",
                        help="time the model variants of VARIANTS (one iterator) instead of the two ways")
    return parser.parse_args(argv)


def time_epochs(way: str, epochs: int, steps: int, batch_size: int, seed: int = 0,
                build: Callable[[], Any] | None = None) -> list[tuple[float, float]]:
    """Train ``build()`` (the book's CNN by default) one way (``"fresh iterator"`` or ``"one
    iterator"``) and return one ``(milliseconds per step, cores busy)`` pair per epoch."""
    import keras
    import numpy as np
    import tensorflow as tf

    if way not in WAYS:
        raise ValueError(f"way must be 'fresh iterator' or 'one iterator', got {way!r}")
    rng = np.random.default_rng(seed)
    n = steps * batch_size
    x, y = rng.random((n, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, n)
    train = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(n, seed=seed).batch(batch_size).prefetch(tf.data.AUTOTUNE)
    val = tf.data.Dataset.from_tensor_slices((x[:512], y[:512])).batch(512)
    keras.utils.set_random_seed(seed)
    model = (build or _book_cnn)()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    epochs_timed: list[tuple[float, float]] = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.wall, self.cpu = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            wall = time.perf_counter() - self.wall
            epochs_timed.append((1000 * wall / steps, (time.process_time() - self.cpu) / wall))

    if way == "fresh iterator":
        model.fit(train, validation_data=val, epochs=epochs, callbacks=[Timer()], verbose=0)
    else:
        model.fit(train.repeat(), steps_per_epoch=steps, validation_data=val, epochs=epochs, callbacks=[Timer()],
                  verbose=0)
    return epochs_timed


def summarize(way: str, epochs_timed: list[tuple[float, float]]) -> str:
    """One summary line: the median step time (the first epoch, which traces the graph, left out)
    and the number of epochs that ran on about one core."""
    timed = epochs_timed[1:] or epochs_timed
    one_core = sum(cores < ONE_CORE for _, cores in timed)
    return (f"{way:>14}: median {statistics.median(ms for ms, _ in timed):.0f} ms/step; "
            f"{one_core} of {len(timed)} epochs on about one core (first epoch left out)")


def time_variants(epochs: int, steps: int, batch_size: int,
                  variants: dict[str, Callable[[], Any]] | None = None) -> dict[str, dict[str, float]]:
    """Time each model variant one iterator per fit; returns, per variant, its parameters and the
    fastest epoch's milliseconds per step and per image (the first epoch, which traces the graph,
    left out when there are more)."""
    timings = {}
    for name, build in (VARIANTS if variants is None else variants).items():
        epochs_timed = time_epochs("one iterator", epochs, steps, batch_size, build=build)
        fastest = min(ms for ms, _ in (epochs_timed[1:] or epochs_timed))
        timings[name] = {"parameters": build().count_params(), "ms_per_step": fastest,
                         "ms_per_image": fastest / batch_size}
        print(f"{name:>34}: {timings[name]['parameters']:>9,} parameters | {fastest:6.1f} ms/step | "
              f"{fastest / batch_size:.3f} ms/image", flush=True)
    return timings


def main(argv: Sequence[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.variants:
        print(f"model variants, batch {args.batch_size}, {args.steps} steps per epoch, {args.epochs} epochs each, "
              f"one iterator; {os.cpu_count()} CPUs", flush=True)
        return time_variants(args.epochs, args.steps, args.batch_size)
    print(f"book's CNN, batch {args.batch_size}, {args.steps} steps per epoch, {args.epochs} epochs per way; "
          f"{os.cpu_count()} CPUs", flush=True)
    results = {}
    for way in WAYS:
        results[way] = time_epochs(way, args.epochs, args.steps, args.batch_size)
        print(f"{way:>14}: " + " ".join(f"{ms:.0f}ms/{cores:.1f}c" for ms, cores in results[way]), flush=True)
    for way, epochs_timed in results.items():
        print(summarize(way, epochs_timed))
    return results


if __name__ == "__main__":
    main()
