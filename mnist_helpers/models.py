"""The book's two models, kept as chapters 2 and 3 write them in their visible cells.

This module is an archive: the chapters teach the code, later chapters and the benchmark call it
from here. The tests ``tests/test_archive_ch*.py`` run each chapter's own definition and check
that it builds the same model, layer by layer. Called without arguments, each builder returns the book's
model: :func:`build_dense` is chapter 2's baseline, :func:`build_cnn` chapter 3's compact CNN.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers


def build_dense(hidden_units: int = 256, dropout: float = 0.2) -> keras.Model:
    """Chapter 2's dense baseline: Flatten, Dense(``hidden_units``, relu), Dropout(``dropout``),
    Dense(10, softmax). Raises ``ValueError`` for ``hidden_units`` < 1 or a rate outside [0, 1)."""
    _check_rate(dropout)
    if int(hidden_units) < 1:
        raise ValueError(f"hidden_units must be at least 1, got {hidden_units}")
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Flatten(),
        layers.Dense(hidden_units, activation="relu"),
        layers.Dropout(dropout),
        layers.Dense(10, activation="softmax"),
    ], name="dense_baseline")


def build_cnn(
    filters: Sequence[int] = (32, 64, 128),
    dense_units: int = 256,
    dropout: float = 0.1,
    dense_dropout: float = 0.3,
    batch_norm: bool = True,
) -> keras.Model:
    """Chapter 3's compact CNN: per entry of ``filters`` a block of a 3 x 3 convolution, 2 x 2 max
    pooling, batch normalization (``batch_norm``), ReLU and ``dropout``; then a dense layer of
    ``dense_units`` with normalization, ReLU and ``dense_dropout``, and the softmax. Pooling comes
    before the normalization because that makes a training step cheaper on a CPU
    (``python -m benchmarks.epoch_speed --variants`` times both orders). Without batch
    normalization the convolutions and the dense layer get a bias.

    Raises ``ValueError`` for a rate outside [0, 1), empty or non-positive ``filters``, or
    ``dense_units`` < 1.
    """
    _check_rate(dropout)
    _check_rate(dense_dropout)
    if isinstance(dense_units, bool) or int(dense_units) < 1:
        raise ValueError(f"dense_units must be a positive int, got {dense_units!r}")
    if not filters or any(int(f) < 1 for f in filters):
        raise ValueError(f"filters must be a non-empty sequence of positive ints, got {filters!r}")
    model = keras.Sequential([keras.Input(shape=(28, 28, 1))], name="compact_cnn")
    for width in filters:
        model.add(layers.Conv2D(int(width), 3, padding="same", use_bias=not batch_norm))
        model.add(layers.MaxPooling2D())
        if batch_norm:
            model.add(layers.BatchNormalization())
        model.add(layers.ReLU())
        model.add(layers.Dropout(dropout))
    model.add(layers.Flatten())
    model.add(layers.Dense(int(dense_units), use_bias=not batch_norm))
    if batch_norm:
        model.add(layers.BatchNormalization())
    model.add(layers.ReLU())
    model.add(layers.Dropout(dense_dropout))
    model.add(layers.Dense(10, activation="softmax"))
    return model


def _check_rate(rate: float) -> None:
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout rates must be in [0, 1), got {rate}")
