"""Chapter 4's augmentation, archived: presets, the augmenter, the training pipeline (the one place
training batches are augmented) and test-time augmentation. ``tests/test_archive_ch4.py`` checks
that chapter 4's visible definitions build the same layers and the same batches."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class AugmentPreset:
    """Ranges of the random transforms: rotations in [-r, r] degrees, shifts in [-t, t] of the
    image's height and width, zoom in [-z, z] (negative zooms in); zero turns a transform off."""

    rotation_degrees: float = 0.0
    translation: float = 0.0
    zoom: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


#: Part of the key of every saved model trained with augmentation (``cache.train_or_load``): it
#: names the way the augmenter draws its random numbers, and changes whenever that changes, so
#: that a model augmented otherwise is trained again rather than loaded.
AUGMENT_VERSION = 2

PRESETS: dict[str, AugmentPreset] = {
    "none": AugmentPreset(),
    "mild": AugmentPreset(rotation_degrees=10.0, translation=0.1, zoom=0.1),
    "strong": AugmentPreset(rotation_degrees=45.0, translation=0.3, zoom=0.3),
}


def get_preset(preset: str | AugmentPreset) -> AugmentPreset:
    """Look a preset up by name (``none``, ``mild``, ``strong``), or pass one through."""
    if isinstance(preset, AugmentPreset):
        return preset
    if preset not in PRESETS:
        raise ValueError(f"Unknown augmentation preset {preset!r}: expected one of {', '.join(PRESETS)}")
    return PRESETS[preset]


def layer_seeds(seed: int | None, n: int = 3) -> list[int | None]:
    """Independent seeds (``numpy.random.SeedSequence``) for an augmenter's ``n`` random layers:
    layers seeded alike draw the same numbers and would move together. ``None`` stays ``None``."""
    if seed is None:
        return [None] * n
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int or None, got {seed!r}")
    return [int(s) for s in np.random.SeedSequence(int(seed)).generate_state(n)]


def build_augmenter(preset: str | AugmentPreset = "mild", seed: int | None = None):
    """Chapter 4's augmenter: a ``keras.Sequential`` of random rotation, translation and zoom that
    fill the uncovered pixels with zeros, each layer with its own seed (:func:`layer_seeds`).

    Returns ``None`` for a preset with every range at zero (``"none"``).
    """
    import keras
    from keras import layers

    p = get_preset(preset)
    if not any(p.as_dict().values()):
        return None
    rotation_seed, translation_seed, zoom_seed = layer_seeds(seed, 3)
    return keras.Sequential([
        layers.RandomRotation(p.rotation_degrees / 360, fill_mode="constant", fill_value=0.0, seed=rotation_seed),
        layers.RandomTranslation(p.translation, p.translation, fill_mode="constant", fill_value=0.0,
                                 seed=translation_seed),
        layers.RandomZoom(p.zoom, fill_mode="constant", fill_value=0.0, seed=zoom_seed),
    ], name="augment")


def _check_batch_size(batch_size: int) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")


def _check_prepared(x: np.ndarray, y: np.ndarray | None) -> None:
    if x.ndim != 4 or x.shape[1:] != (28, 28, 1) or x.dtype != np.float32:
        raise ValueError(
            f"expected prepared images, float32 of shape (N, 28, 28, 1) from data.prepare; got {x.dtype} {x.shape}"
        )
    if y is not None and len(y) != len(x):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")


def augment_images(x: np.ndarray, preset: str | AugmentPreset = "mild", seed: int | None = None) -> np.ndarray:
    """Apply a preset once to a few prepared images, for previews (not for training data)."""
    _check_prepared(x, None)
    augmenter = build_augmenter(preset, seed=seed)
    if augmenter is None:
        return x.copy()
    return np.asarray(augmenter(x, training=True))


def make_train_dataset(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int = 128,
    augment: str | AugmentPreset = "mild",
    seed: int = 0,
):
    """Chapter 4's training pipeline for prepared images ``x`` and labels ``y``: shuffle each
    epoch, batch, augment with a preset (``"none"``, ``"mild"``, ``"strong"`` or an
    :class:`AugmentPreset`), prefetch. ``seed`` seeds the shuffle and the augmentation, so the same
    seed gives the same batches."""
    import tensorflow as tf

    _check_prepared(x, y)
    _check_batch_size(batch_size)
    augmenter = build_augmenter(augment, seed=seed)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if augmenter is not None:
        # In order (no num_parallel_calls): the layers draw from their seed generators batch after
        # batch, so a seed gives the same model; prefetch still augments ahead of the training step.
        ds = ds.map(lambda images, labels: (augmenter(images, training=True), labels))
    return ds.prefetch(tf.data.AUTOTUNE)


def predict_tta(model, x: np.ndarray, copies: int = 4, preset: str | AugmentPreset = "mild", seed: int = 100) -> np.ndarray:
    """Chapter 4's test-time augmentation: the softmax averaged over the images ``x`` and ``copies``
    fixed views of them (seeds ``seed``, ``seed + 1``...): part of the predictor, chosen on validation."""
    if copies < 0:
        raise ValueError(f"copies must be 0 or more, got {copies}")
    _check_prepared(x, None)
    views = [x] + [augment_images(x, preset, seed=seed + i) for i in range(copies)]
    return np.mean([model.predict(v, batch_size=512, verbose=0) for v in views], axis=0)
