import importlib
import json
import os
import platform
import subprocess
import sys
import textwrap

import pytest

from mnist_helpers import config
from mnist_helpers.config import PROFILES, Profile, artifacts_dir, get_profile, package_versions


def test_full_is_the_default(monkeypatch):
    monkeypatch.delenv("MNIST_PROFILE", raising=False)
    assert get_profile() is PROFILES["full"]
    monkeypatch.setenv("MNIST_PROFILE", "  ")
    assert get_profile() is PROFILES["full"]


def test_profile_from_environment_ignores_case_and_spaces(monkeypatch):
    monkeypatch.setenv("MNIST_PROFILE", " Smoke ")
    assert get_profile() is PROFILES["smoke"]
    assert get_profile("full") is PROFILES["full"]  # an explicit name wins over the environment


def test_unknown_profile_lists_valid_ones(monkeypatch):
    monkeypatch.setenv("MNIST_PROFILE", "tiny")
    with pytest.raises(ValueError, match=r"'tiny'.*full, smoke.*MNIST_PROFILE"):
        get_profile()


def test_epochs_are_capped_by_the_profile_only_when_it_has_a_cap():
    capped = Profile(name="capped", n_train=None, n_val=10, n_test=None, max_epochs=3)
    uncapped = Profile(name="uncapped", n_train=None, n_val=10, n_test=None, max_epochs=None)
    assert [capped.epochs(n) for n in (1, 3, 20)] == [1, 3, 3]
    assert [uncapped.epochs(n) for n in (1, 3, 20)] == [1, 3, 20]
    assert not capped.is_full and get_profile("full").is_full
    with pytest.raises(ValueError, match="at least 1, got 0"):
        uncapped.epochs(0)


def test_artifacts_folder_per_profile_under_the_environment_folder(artifacts):
    full, smoke = artifacts_dir(PROFILES["full"]), artifacts_dir(PROFILES["smoke"])
    assert full == artifacts / "full" and smoke == artifacts / "smoke"
    assert full.is_dir() and smoke.is_dir()


def test_artifacts_folder_defaults_to_the_book_root(tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_ARTIFACTS_DIR", raising=False)
    (tmp_path / "_toc.yml").write_text("root: intro\n")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    assert artifacts_dir(PROFILES["smoke"]) == tmp_path.resolve() / "_build" / "artifacts" / "smoke"


IMPORT_NAMES = {"scikit-learn": "sklearn"}


def test_package_versions_are_the_imported_modules_versions():
    versions = package_versions()
    assert list(versions) == ["python", *config.PACKAGES]
    assert versions["python"] == platform.python_version()
    for name in config.PACKAGES:
        module = importlib.import_module(IMPORT_NAMES.get(name, name))
        assert versions[name] == module.__version__, name


def test_package_versions_says_when_a_package_is_missing(monkeypatch):
    monkeypatch.setattr(config, "PACKAGES", ("numpy", "no-such-package-mnist-book"))
    assert package_versions()["no-such-package-mnist-book"] == "not installed"


# Op determinism is a process-wide TensorFlow switch: the run happens in a child process so that
# the rest of the suite keeps TensorFlow's defaults.
SEEDED_RUNS = textwrap.dedent("""
    import json

    import keras
    import numpy as np
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()


    def weights(seed):
        keras.utils.set_random_seed(seed)
        x = np.random.rand(64, 28, 28, 1).astype("float32")
        y = np.random.randint(0, 10, 64)
        model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(),
                                  keras.layers.Dropout(0.3), keras.layers.Dense(10, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
        return model.get_weights()


    first, again, other = weights(7), weights(7), weights(8)
    print(json.dumps({
        "identical": all(np.array_equal(a, b) for a, b in zip(first, again)),
        "other_seed_differs": any(not np.array_equal(a, b) for a, b in zip(first, other)),
    }))
""")


def test_two_seeded_runs_give_identical_weights():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", SEEDED_RUNS], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"identical": True, "other_seed_differs": True}
