"""Chapter 5's Grad-CAM is the one the package archives (``mnist_helpers.explain``), and its maps are heat maps.

The chapter's own cells (``split_model``, ``grad_cam``) are run with ``tests/chapter_code.py`` on a small CNN of
chapter 3's architecture, trained for a few steps on synthetic digits so that its gradients are not those of
random weights.
"""

from __future__ import annotations

import numpy as np
import pytest

from chapter_code import chapter_definitions
from mnist_helpers import explain, models


def _images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic 'digits': label k is a bright bar at row 2 + 2k, plus a little noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 10
    x = rng.uniform(0, 0.1, (n, 28, 28, 1)).astype(np.float32)
    for i, label in enumerate(y):
        x[i, 2 + 2 * label:4 + 2 * label, 4:24, 0] = 1.0
    return x, y


@pytest.fixture(scope="module")
def model():
    import keras

    keras.utils.set_random_seed(0)
    cnn = models.build_cnn(filters=[8, 16], dense_units=16)
    cnn.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    x, y = _images(200)
    cnn.fit(x, y, epochs=3, batch_size=50, verbose=0)
    return cnn


@pytest.fixture(scope="module")
def chapter(model):
    return chapter_definitions("05_error_analysis", "split_model", "grad_cam", namespace={"model": model})


@pytest.fixture(scope="module")
def images():
    return _images(12, seed=1)


def test_the_chapter_and_the_archive_give_the_same_maps(chapter, model, images):
    x, y = images
    last_conv = [layer.name for layer in model.layers if type(layer).__name__ == "Conv2D"][-1]
    shown = chapter["grad_cam"](*chapter["split_model"](model, last_conv), x, y)
    archived = explain.grad_cam(*explain.split_model(model), x, y)
    assert shown.shape == archived.shape == (12, 28, 28)
    np.testing.assert_allclose(shown, archived, atol=1e-6)
    assert archived.max() > 0  # maps that are all zero would agree too


def test_the_split_halves_are_the_model(model, images):
    import keras

    x, _ = images
    features, head = explain.split_model(model)
    assert features.output_shape[1:] == (14, 14, 16)  # the last convolution's output, before its pooling
    recomposed = keras.ops.softmax(head(features(x))).numpy()
    np.testing.assert_allclose(recomposed, model.predict(x, verbose=0), atol=1e-5)


def test_maps_have_the_image_shape_are_finite_and_normalized(model, images):
    x, y = images
    maps = explain.grad_cam(*explain.split_model(model), x, y)
    assert maps.shape == x.shape[:3] and np.isfinite(maps).all()
    assert maps.min() >= 0 and maps.max() <= 1
    peaks = maps.max(axis=(1, 2))
    assert np.all((np.isclose(peaks, 1, atol=1e-5)) | (peaks == 0))


def test_maps_change_with_the_class_asked(model, images):
    x, y = images
    parts = explain.split_model(model)
    for_label, for_other = explain.grad_cam(*parts, x, y), explain.grad_cam(*parts, x, (y + 5) % 10)
    assert np.abs(for_label - for_other).mean() > 0.05
    assert np.allclose(explain.grad_cam(*parts, x[:3], 4), explain.grad_cam(*parts, x[:3], [4, 4, 4]))


def test_splits_at_a_named_layer(model):
    first_conv = model.layers[0].name
    features, _ = explain.split_model(model, first_conv)
    assert features.output_shape[1:] == (28, 28, 8)


def test_refusals(model, images):
    import keras

    x, y = images
    parts = explain.split_model(model)
    with pytest.raises(ValueError, match=r"expected images of shape \(N, 28, 28, 1\), got shape \(12, 28, 28\)"):
        explain.grad_cam(*parts, x[..., 0], y)
    with pytest.raises(ValueError, match=r"one class per image, shape \(12,\), got shape \(3,\)"):
        explain.grad_cam(*parts, x, y[:3])
    with pytest.raises(ValueError, match="expected one of the model's layers"):
        explain.split_model(model, "no_such_layer")
    with pytest.raises(ValueError, match="with a Conv2D layer"):
        explain.split_model(models.build_dense(hidden_units=4))
    logits_model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(),
                                     keras.layers.Dense(10)])
    with pytest.raises(ValueError, match="ending in a Dense layer with a softmax"):
        explain.split_model(logits_model)
    with pytest.raises(ValueError, match="images must be its inputs"):
        explain.explainer(model, (x * 255).astype(np.uint8))
    assert explain.explainer(None, x) is None
