import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from conftest import NAMES, idx_bytes, write_gz
from mnist_helpers import data
from mnist_helpers.config import Profile, get_profile
from mnist_helpers.data import MNISTDataError, Splits, load_mnist, load_splits, prepare, read_idx


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


def test_loader_refuses_a_wrong_number_of_checksums(tiny_mnist):
    folder, checksums, _ = tiny_mnist
    with pytest.raises(ValueError, match="must name 4 files.*got 3"):
        load_mnist(folder, checksums=dict(list(checksums.items())[:3]))


@pytest.mark.parametrize(
    "which, array, match",
    [
        (0, np.zeros((20, 28, 27), np.uint8), r"train-images.*\(N, 28, 28\), got \(20, 28, 27\)"),
        (1, np.zeros(19, np.uint8), r"train-labels.*expected 20 labels"),
        (3, np.full(10, 12, np.uint8), r"t10k-labels.*digits 0-9, found 12"),
    ],
)
def test_loader_refuses_files_whose_contents_do_not_fit(tiny_mnist, which, array, match):
    folder, checksums, _ = tiny_mnist
    checksums[NAMES[which]] = write_gz(folder / NAMES[which], idx_bytes(array))
    with pytest.raises(MNISTDataError, match=match):
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


def _unique_mnist(n_train=3000, n_test=1000, seed=1):
    """Synthetic MNIST whose images are all different (each encodes its own number)."""
    rng = np.random.default_rng(seed)

    def images(start, n):
        codes = np.arange(start, start + n)
        x = np.zeros((n, 28, 28), np.uint8)
        x[:, 0, 0], x[:, 0, 1] = codes % 256, codes // 256
        return x

    y_train = rng.integers(0, 10, n_train).astype(np.uint8)
    y_test = rng.integers(0, 10, n_test).astype(np.uint8)
    return (images(0, n_train), y_train), (images(n_train, n_test), y_test)


SMALL = Profile(name="small", n_train=1000, n_val=500, n_test=200, max_epochs=1)


def _keys(x):
    return {img.tobytes() for img in x}


def test_split_sizes_are_the_profile_ones_and_parts_are_disjoint():
    mnist = _unique_mnist()
    s = load_splits(SMALL, mnist=mnist)
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (1000, 500, 200)
    assert not _keys(s.x_train) & _keys(s.x_val)
    assert _keys(s.x_train) | _keys(s.x_val) <= _keys(mnist[0][0])
    np.testing.assert_array_equal(s.x_test, mnist[1][0][s.test_index])
    np.testing.assert_array_equal(s.y_test, mnist[1][1][s.test_index])
    assert np.all(np.diff(s.test_index) > 0)  # the test images keep their original order


def test_split_is_stratified_and_reproducible():
    mnist = _unique_mnist()
    a, b = load_splits(SMALL, mnist=mnist), load_splits(SMALL, mnist=mnist)
    for name in ("x_train", "y_train", "x_val", "y_val", "test_index"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.y_val, load_splits(SMALL, mnist=mnist, seed=2).y_val)
    share = lambda y: np.bincount(y, minlength=10) / len(y)  # noqa: E731
    for part in (a.y_train, a.y_val):
        assert np.abs(share(part) - share(mnist[0][1])).max() < 0.01
    assert np.abs(share(a.y_test) - share(mnist[1][1])).max() < 0.01


def test_without_subsets_the_split_keeps_every_image():
    mnist = _unique_mnist()
    everything = Profile(name="all", n_train=None, n_val=500, n_test=None, max_epochs=None)
    s = load_splits(everything, mnist=mnist)
    assert len(s.y_train) + len(s.y_val) == 3000 and len(s.y_test) == 1000
    np.testing.assert_array_equal(s.x_test, mnist[1][0])


def test_split_refuses_labels_that_do_not_match_the_images():
    (x, y), test = _unique_mnist()
    with pytest.raises(ValueError, match="3000 images and 2999 labels"):
        load_splits(SMALL, mnist=((x, y[:-1]), test))


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
    s = load_splits(get_profile("smoke"))
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (2000, 500, 1000)
    assert np.array_equal(s.y_test, load_mnist()[1][1][s.test_index])
    assert min(np.bincount(s.y_val)) >= 45


@pytest.mark.realdata
@pytest.mark.skipif(not REAL, reason="set MNIST_DATA_DIR to the folder with the four original files")
def test_full_split_is_the_one_the_saved_models_were_trained_on():
    """The saved models of the full build and every number of the book depend on this exact split."""
    import hashlib

    s = load_splits(get_profile("full"))
    digest = hashlib.sha256()
    for array in (s.x_train, s.y_train, s.x_val, s.y_val, s.x_test, s.y_test, s.test_index):
        digest.update(np.ascontiguousarray(array).tobytes())
    assert digest.hexdigest() == "ee35244e0cca813d2148501e126ee49973389c37f5a926fe8c17293824966fdf"


def _splits(x_val_from_train=False):
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
