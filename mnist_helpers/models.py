"""Model builders: the dense baseline (a first check in chapter 1, the baseline of chapter 2) and the
compact CNN (chapter 3)."""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


def build_dense(hidden_units: int = 256, dropout: float = 0.2, name: str = "dense_baseline") -> keras.Model:
    """The dense baseline of chapter 2: Flatten, Dense(relu), Dropout, Dense(softmax).

    Parameters
    ----------
    hidden_units : int
        Width of the hidden layer.
    dropout : float
        Dropout rate after the hidden layer, in [0, 1).
    """
    _check_rate(dropout)
    if hidden_units < 1:
        raise ValueError(f"hidden_units must be at least 1, got {hidden_units}")
    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = layers.Flatten()(inputs)
    x = layers.Dense(hidden_units, activation="relu")(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)


def build_cnn(
    filters: Sequence[int] = (32, 64),
    dense_units: int = 128,
    dropout: float = 0.25,
    dense_dropout: float = 0.4,
    batch_norm: bool = True,
    convs_per_block: int = 2,
    pool_first: bool = False,
    name: str = "compact_cnn",
) -> keras.Model:
    """The compact CNN of chapter 3.

    Each entry of ``filters`` is a block of ``convs_per_block`` 3 x 3 convolutions (each followed by batch
    normalization when ``batch_norm``, then ReLU), 2 x 2 max pooling and dropout; then a dense
    layer (with batch normalization and dropout) and the softmax output.

    Parameters
    ----------
    filters : sequence of int
        Channels of each block; the default (32, 64) gives two blocks.
    dense_units : int
        Width of the dense layer before the output.
    dropout, dense_dropout : float
        Dropout after each block and after the dense layer; 0 turns it off.
    batch_norm : bool
        Use batch normalization after every convolution and the dense layer. Without it the
        convolutions and dense layer get a bias instead.
    convs_per_block : int
        Convolutions in each block (1 or 2 in this book).
    pool_first : bool
        Pool right after a block's last convolution, before its batch normalization and ReLU.
        Max pooling commutes with ReLU and with any increasing per-channel map, so the block
        changes only in its normalization statistics and in channels whose learned normalization
        scale turns negative (there pooling first keeps the maximum where the other order keeps
        the minimum). The normalization and ReLU touch a quarter of the values, so a training step
        is cheaper
        (chapter 3; ``python -m benchmarks.epoch_speed --variants`` times it on your machine).
    """
    _check_rate(dropout)
    _check_rate(dense_dropout)
    if convs_per_block < 1:
        raise ValueError(f"convs_per_block must be at least 1, got {convs_per_block}")
    if int(dense_units) < 1:
        raise ValueError(f"dense_units must be a positive int, got {dense_units!r}")
    if not filters or any(int(f) < 1 for f in filters):
        raise ValueError(f"filters must be a non-empty sequence of positive ints, got {filters!r}")
    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = inputs
    for width in filters:
        for i in range(convs_per_block):
            x = layers.Conv2D(int(width), 3, padding="same", use_bias=not batch_norm)(x)
            if pool_first and i == convs_per_block - 1:
                x = layers.MaxPooling2D()(x)
            if batch_norm:
                x = layers.BatchNormalization()(x)
            x = layers.ReLU()(x)
        if not pool_first:
            x = layers.MaxPooling2D()(x)
        if dropout:
            x = layers.Dropout(dropout)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(dense_units, use_bias=not batch_norm)(x)
    if batch_norm:
        x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    if dense_dropout:
        x = layers.Dropout(dense_dropout)(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)


def compile_model(model: keras.Model, learning_rate: "float | keras.optimizers.schedules.LearningRateSchedule" = 1e-3) -> keras.Model:
    """Compile for 10-class classification with integer labels: Adam, sparse cross-entropy,
    accuracy (logged as ``accuracy`` and ``val_accuracy``). Returns the model."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _check_rate(rate: float) -> None:
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout rates must be in [0, 1), got {rate}")
