"""Grad-CAM for the book's Sequential CNN, kept as chapter 5 writes it in its visible cells.

Chapter 5 splits the model at its last convolution into two functional models (the image to the
feature maps, the feature maps to the logits) and computes the heat map with ``tf.GradientTape``;
the misclassification browser and the static gallery call this archive.
``tests/test_explain.py`` proves that the chapter's cells and this module give the same maps.
"""

from __future__ import annotations

import numpy as np


def split_model(model, layer_name: str | None = None):
    """A Sequential model as two functional models sharing its weights: ``features`` (the input to
    the output of ``layer_name``, default the last ``Conv2D``) and ``head`` (those feature maps to
    the logits, the last Dense layer without its softmax). Raises ``ValueError`` for a model without
    that layer, or whose last layer is not a softmax Dense layer."""
    import keras

    names = [layer.name for layer in model.layers]
    if layer_name is None:
        convs = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
        if not convs:
            raise ValueError(f"expected a model with a Conv2D layer, got layers {names}")
        layer_name = convs[-1]
    if layer_name not in names:
        raise ValueError(f"expected one of the model's layers {names}, got {layer_name!r}")
    last = model.layers[-1]
    if not isinstance(last, keras.layers.Dense) or last.activation is not keras.activations.softmax:
        raise ValueError(f"expected a model ending in a Dense layer with a softmax, got {type(last).__name__} "
                         f"{last.name!r}")
    split = names.index(layer_name) + 1

    inputs = keras.Input(shape=model.input_shape[1:])
    x = inputs
    for layer in model.layers[:split]:
        x = layer(x)
    features = keras.Model(inputs, x, name="features")

    maps = keras.Input(shape=x.shape[1:])
    y = maps
    for layer in model.layers[split:-1]:
        y = layer(y)
    logits = keras.ops.matmul(y, last.kernel) + last.bias
    head = keras.Model(maps, logits, name="head")
    return features, head


def grad_cam(features, head, images: np.ndarray, classes) -> np.ndarray:
    """Grad-CAM heat maps, one per image, for the class asked for each (chapter 5).

    The gradient of each image's class logit with respect to the feature maps, averaged over the
    map's positions, weights each channel; the ReLU of the weighted sum of the maps, resized to the
    image's size and divided by its maximum, is the heat map.

    Parameters
    ----------
    features, head : keras.Model
        The model split by :func:`split_model`.
    images : array of shape (N, 28, 28, 1)
        The model's inputs (floats in [0, 1], as ``data.prepare`` returns them).
    classes : int or array of shape (N,)
        The class whose logit each map explains.

    Returns
    -------
    numpy.ndarray of shape (N, 28, 28)
        Heat maps in [0, 1] (all zero where no position speaks for the class).

    Raises
    ------
    ValueError
        If ``images`` is not a batch of single-channel images or ``classes`` does not match it.
    """
    import tensorflow as tf

    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[-1] != 1:
        raise ValueError(f"expected images of shape (N, 28, 28, 1), got shape {images.shape}")
    classes = np.asarray(classes, dtype=np.int32)
    if classes.ndim == 0:
        classes = np.full(len(images), classes)
    if classes.shape != (len(images),):
        raise ValueError(f"expected one class per image, shape ({len(images)},), got shape {classes.shape}")
    with tf.GradientTape() as tape:
        maps = features(images, training=False)
        tape.watch(maps)
        scores = tf.gather(head(maps, training=False), classes, axis=1, batch_dims=1)
    grads = tape.gradient(scores, maps)
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(weights * maps, axis=-1, keepdims=True))
    cam = tf.image.resize(cam, images.shape[1:3], method="bilinear")[..., 0]
    peak = tf.reduce_max(cam, axis=(1, 2), keepdims=True)
    return tf.math.divide_no_nan(cam, peak).numpy()


def explainer(model, images: np.ndarray):
    """``split_model(model)`` for the browser's and the gallery's Grad-CAM, or ``None`` without a
    model; ValueError unless ``images`` are the model's inputs (floats in [0, 1])."""
    if model is None:
        return None
    if images.dtype.kind != "f" or (images.size and (images.min() < 0 or images.max() > 1)):
        values = f" with values {images.min()}..{images.max()}" if images.size else ""
        raise ValueError("with a model, images must be its inputs (floats in [0, 1], as data.prepare returns), "
                         f"got dtype {images.dtype}{values}")
    return split_model(model)
