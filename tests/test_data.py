import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from conftest import NAMES, idx_bytes, write_gz
from mnist_helpers import data
from mnist_helpers.data import MNISTDataError, load_mnist, prepare, read_idx, train_val_split


def test_loads_small_good_files(tiny_mnist):
    folder, checksums, arrays = tiny_mnist
    (x_train, y_train), (x_test, y_test) = load_mnist(folder, checksums=checksums)
    assert x_train.dtype == np.uint8 and x_train.shape == (20, 28, 28)
    np.testing.assert_array_equal(x_train, arrays[0])
    np.testing.assert_array_equal(y_test, arrays[3])


def test_data_dir_from_environment(tiny_mnist, monkeypatch):
    folder, checksums, _ = tiny_mnist
    monkeypatch.setenv("MNIST_DATA_DIR", str(folder))
    (x_train, _), _ = load_mnist(checksums=checksums)
    assert len(x_train) == 20


@pytest.mark.parametrize("name", NAMES)
def test_missing_file_names_it_and_the_fix(tiny_mnist, name):
    folder, checksums, _ = tiny_mnist
    (folder / name).unlink()
    with pytest.raises(MNISTDataError, match=name) as err:
        load_mnist(folder, checksums=checksums)
    assert "MNIST_DATA_DIR" in str(err.value)


@pytest.mark.parametrize("name", NAMES)
def test_hash_mismatch_shows_expected_and_actual(tiny_mnist, name):
    folder, checksums, _ = tiny_mnist
    path = folder / name
    path.write_bytes(path.read_bytes()[:-5])  # truncated
    with pytest.raises(MNISTDataError, match=name) as err:
        load_mnist(folder, checksums=checksums)
    message = str(err.value)
    assert "expected " + checksums[name] in message and "actual" in message


def test_not_gzip(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(b"plain bytes, not gzip")
    with pytest.raises(MNISTDataError, match="train-labels-idx1-ubyte.gz.*gzip"):
        read_idx(path)


def test_truncated_gzip(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    full = gzip.compress(idx_bytes(np.zeros((5, 28, 28), np.uint8)))
    path.write_bytes(full[: len(full) // 2])
    with pytest.raises(MNISTDataError, match="t10k-images-idx3-ubyte.gz"):
        read_idx(path)


def test_wrong_magic(tmp_path):
    path = tmp_path / "x.gz"
    write_gz(path, b"\x12\x34\x08\x01" + (3).to_bytes(4, "big") + b"\x00\x01\x02")
    with pytest.raises(MNISTDataError, match="magic"):
        read_idx(path)


def test_dimensions_do_not_match_bytes(tmp_path):
    path = tmp_path / "x.gz"
    payload = idx_bytes(np.zeros((4, 28, 28), np.uint8))[:-28]
    write_gz(path, payload)
    with pytest.raises(MNISTDataError, match=r"\(4, 28, 28\).*follow"):
        read_idx(path)


def test_bad_file_in_loader_names_it_when_hash_is_right(tmp_path, tiny_mnist):
    """A file that passes its (test-made) hash but has a broken header still names the file."""
    folder, checksums, _ = tiny_mnist
    name = NAMES[1]
    checksums[name] = write_gz(folder / name, b"\x00\x00\x08\x01" + (99).to_bytes(4, "big") + b"\x01")
    with pytest.raises(MNISTDataError, match=name):
        load_mnist(folder, checksums=checksums)


def test_download_path_with_file_mirror(tiny_mnist, tmp_path, monkeypatch):
    """The cache path downloads missing files with keras.utils.get_file; the first (dead) mirror
    fails, the second serves them; a corrupt download leaves nothing behind."""
    folder, checksums, arrays = tiny_mnist
    keras_home = tmp_path / "keras_home"
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)
    mirrors = [(tmp_path / "nowhere").as_uri() + "/", folder.as_uri() + "/"]
    (x_train, _), (_, y_test) = load_mnist(checksums=checksums, mirrors=mirrors)
    np.testing.assert_array_equal(x_train, arrays[0])
    cached = data.default_cache_dir()
    assert sorted(p.name for p in cached.iterdir()) == sorted(NAMES)

    # A mirror that serves a corrupt copy: error naming the file, and no file left in the cache.
    (cached / NAMES[2]).unlink()
    bad = tmp_path / "bad_mirror"
    bad.mkdir()
    (bad / NAMES[2]).write_bytes(b"corrupt")
    with pytest.raises(MNISTDataError, match=NAMES[2]):
        load_mnist(checksums=checksums, mirrors=[bad.as_uri() + "/"])
    assert not (cached / NAMES[2]).exists()


def test_prepare_scales_and_adds_channel():
    images = np.array([[[0, 255] * 14] * 28], dtype=np.uint8)
    out = prepare(images)
    assert out.shape == (1, 28, 28, 1) and out.dtype == np.float32
    assert out.min() == 0.0 and out.max() == 1.0


@pytest.mark.parametrize(
    "images, match",
    [
        (np.zeros((28, 28), np.uint8), "single image"),
        (np.zeros((3, 32, 32), np.uint8), r"\(3, 32, 32\)"),
        (np.full((2, 28, 28), 0.5, np.float32), "already scaled"),
        (np.full((2, 28, 28), np.nan, np.float32), "NaN"),
        (np.full((2, 28, 28), np.inf, np.float32), "infinite"),
        (np.full((2, 28, 28), 300.0, np.float32), "0-255"),
    ],
)
def test_prepare_refuses(images, match):
    with pytest.raises(ValueError, match=match):
        prepare(images)


def test_split_is_stratified_and_reproducible():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 10, 5000).astype(np.uint8)
    x = np.arange(5000)
    a = train_val_split(x, y, val_size=1000, seed=3)
    b = train_val_split(x, y, val_size=1000, seed=3)
    for left, right in zip(a, b):
        np.testing.assert_array_equal(left, right)
    x_train, x_val, y_train, y_val = a
    assert len(x_val) == 1000 and not set(x_train) & set(x_val)
    share_all = np.bincount(y, minlength=10) / len(y)
    share_val = np.bincount(y_val, minlength=10) / len(y_val)
    assert np.abs(share_all - share_val).max() < 0.005


REAL = os.environ.get("MNIST_DATA_DIR")


@pytest.mark.realdata
@pytest.mark.skipif(not REAL, reason="set MNIST_DATA_DIR to the folder with the four original files")
def test_real_mnist_counts_and_first_labels():
    (x_train, y_train), (x_test, y_test) = load_mnist()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_train.dtype == y_train.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert y_train[:5].tolist() == [5, 0, 4, 1, 9] and y_test[:5].tolist() == [7, 2, 1, 0, 4]


@pytest.mark.realdata
@pytest.mark.skipif(not REAL, reason="set MNIST_DATA_DIR to the folder with the four original files")
def test_smoke_splits_have_the_profile_sizes():
    from mnist_helpers.config import get_profile

    s = data.load_splits(get_profile("smoke"))
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (2000, 500, 1000)
    assert np.array_equal(s.y_test, load_mnist()[1][1][s.test_index])
    assert min(np.bincount(s.y_val)) >= 45


def _splits(x_val_from_train=False):
    from mnist_helpers.config import get_profile
    from mnist_helpers.data import Splits

    rng = np.random.default_rng(5)
    y = np.arange(200) % 10
    x = rng.integers(0, 256, (200, 28, 28), dtype=np.uint8)
    x_val = x[:50].copy() if x_val_from_train else rng.integers(0, 256, (50, 28, 28), dtype=np.uint8)
    y_val = y[:50]
    profile = get_profile("smoke")
    x_test = rng.integers(0, 256, (profile.n_test, 28, 28), dtype=np.uint8)
    y_test = np.arange(profile.n_test) % 10
    return Splits(x, y, x_val, y_val, x_test, y_test, np.arange(profile.n_test), profile)


def test_pipeline_checklist_passes_on_a_clean_split():
    checks = data.check_pipeline(_splits())
    assert checks["passed"].all(), checks[~checks["passed"]]
    assert {"check", "passed", "detail"} == set(checks.columns)


def test_pipeline_checklist_catches_validation_images_in_training():
    checks = data.check_pipeline(_splits(x_val_from_train=True)).set_index("check")
    assert not checks.loc["validation images not in training", "passed"]


def test_merge_validation_moves_the_validation_images_into_training():
    splits = _splits()
    merged = data.merge_validation(splits)
    assert len(merged.y_train) == len(splits.y_train) + len(splits.y_val)
    np.testing.assert_array_equal(merged.x_train[len(splits.y_train):], splits.x_val)
    np.testing.assert_array_equal(merged.y_train[len(splits.y_train):], splits.y_val)
    assert merged.x_val.shape == (0, 28, 28) and len(merged.y_val) == 0
    assert merged.x_test is splits.x_test and merged.profile == splits.profile
    with pytest.raises(ValueError, match="already empty"):
        data.merge_validation(merged)


def test_package_versions_lists_the_stack():
    from mnist_helpers.config import package_versions

    versions = package_versions()
    assert {"python", "tensorflow", "keras", "numpy", "mnist_helpers"} <= set(versions)
