import numpy as np
import pytest

from mnist_helpers.config import PROFILES, artifacts_dir, get_profile


def test_full_is_default(monkeypatch):
    monkeypatch.delenv("MNIST_PROFILE", raising=False)
    assert get_profile().name == "full"


def test_smoke_from_environment(monkeypatch):
    monkeypatch.setenv("MNIST_PROFILE", "smoke")
    profile = get_profile()
    assert profile.name == "smoke" and profile.epochs(30) == 1 and not profile.is_full
    assert (profile.n_train, profile.n_val, profile.n_test) == (2000, 500, 1000)


def test_unknown_profile_lists_valid_ones(monkeypatch):
    monkeypatch.setenv("MNIST_PROFILE", "tiny")
    with pytest.raises(ValueError, match="full, smoke"):
        get_profile()


def test_profiles_never_share_an_artifacts_folder(artifacts):
    assert artifacts_dir(PROFILES["full"]) != artifacts_dir(PROFILES["smoke"])


def _tiny_weights(seed):
    import keras

    from mnist_helpers.seeding import seed_everything

    seed_everything(seed, deterministic=True)
    x = np.random.rand(64, 28, 28, 1).astype("float32")
    y = np.random.randint(0, 10, 64)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(),
                              keras.layers.Dropout(0.3), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    return model.get_weights()


def test_two_seeded_runs_give_identical_weights():
    first, second = _tiny_weights(7), _tiny_weights(7)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    other = _tiny_weights(8)
    assert any(not np.array_equal(a, b) for a, b in zip(first, other))


def test_seed_must_be_an_int():
    from mnist_helpers.seeding import seed_everything

    with pytest.raises(ValueError, match="non-negative int"):
        seed_everything(-1)
