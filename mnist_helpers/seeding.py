"""One call that makes a run repeatable (introduced in chapter 1)."""

from __future__ import annotations


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python's ``random``, NumPy and TensorFlow with ``keras.utils.set_random_seed``.

    Parameters
    ----------
    seed : int
        The seed; the book uses a fixed one per model and states it.
    deterministic : bool
        Also turn on TensorFlow's op determinism, so that two runs on the same machine give
        identical weights. Slower; it cannot be turned off again in the same process.
    """
    import keras
    import tensorflow as tf

    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
