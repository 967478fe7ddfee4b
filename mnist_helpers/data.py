"""Reading MNIST from the four original IDX files, verified, and cutting the book's split (chapter 1)."""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import zlib
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from mnist_helpers.config import Profile, get_profile

DATA_DIR_ENV = "MNIST_DATA_DIR"

#: sha256 of the four original files, as published (and as pinned by common loaders).
MNIST_SHA256: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

#: Public mirrors of the original files, tried in turn.
MIRRORS: list[str] = ["https://storage.googleapis.com/cvdf-datasets/mnist/", "https://ossci-datasets.s3.amazonaws.com/mnist/"]
SPLIT_SEED = 20251126  #: the seed of the book's train / validation split and the smoke subsets

MNIST = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class MNISTDataError(ValueError):
    """A MNIST file is missing, corrupted or not what it claims to be."""


def read_idx(path: Path | str) -> np.ndarray:
    """Parse one gzip-compressed IDX file of unsigned bytes, checking its magic number and dimensions."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as err:
        raise MNISTDataError(f"{path.name}: not a complete gzip file ({err}). Expected a gzip-compressed IDX file "
                             f"such as the original {path.name}; delete it and download it again.") from err
    if len(raw) < 4 or raw[:3] != b"\x00\x00\x08" or raw[3] < 1:
        raise MNISTDataError(f"{path.name}: wrong IDX magic number 0x{raw[:4].hex()} ({len(raw)} bytes in all); "
                             "expected 0x00000801 (labels) or 0x00000803 (images).")
    ndim, header_end = raw[3], 4 + 4 * raw[3]
    if len(raw) < header_end:
        raise MNISTDataError(f"{path.name}: the IDX header promises {ndim} dimensions but the file ends first.")
    dims = struct.unpack(f">{ndim}I", raw[4:header_end])
    expected, body = int(np.prod(dims)), len(raw) - header_end
    if body != expected:
        raise MNISTDataError(f"{path.name}: the IDX header says shape {dims} ({expected} bytes) but {body} bytes follow.")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_end).reshape(dims).copy()


def default_cache_dir() -> Path:
    """Where downloaded files are kept: the Keras cache, ``~/.keras/datasets/mnist``."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets" / "mnist"


def _download(name: str, sha256: str, cache_dir: Path, mirrors: Sequence[str]) -> Path:
    """Fetch ``name`` with ``keras.utils.get_file`` from the first mirror that serves the right hash."""
    from keras.utils import get_file  # imported here: reading local files needs no TensorFlow

    with suppress(OSError):  # get_file falls back to /tmp when the folder is missing
        cache_dir.mkdir(parents=True, exist_ok=True)
    failures = []
    for mirror in mirrors:
        try:
            return Path(get_file(fname=name, origin=mirror.rstrip("/") + "/" + name, file_hash=sha256,
                                 hash_algorithm="sha256", cache_dir=str(cache_dir.parent), cache_subdir=cache_dir.name))
        except Exception as err:  # noqa: BLE001 - any failure means: try the next mirror
            failures.append(f"{mirror}: {type(err).__name__}: {err}")
            (cache_dir / name).unlink(missing_ok=True)  # get_file keeps a download that fails its hash
    tried = "\n  ".join(failures)
    raise MNISTDataError(f"{name}: not found in {cache_dir} and no mirror could provide it:\n  {tried}\nWithout "
                         f"internet, set {DATA_DIR_ENV} to a folder that holds the four original MNIST files.")


def _locate(name: str, sha256: str, data_dir: Path | str | None, mirrors: Sequence[str]) -> Path:
    """The verified path of one file; only the cache folder is filled by downloading."""
    explicit = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV) or None
    path = (default_cache_dir() if explicit is None else Path(explicit).expanduser()) / name
    if not path.is_file() and explicit is not None:
        source = "data_dir" if data_dir is not None else DATA_DIR_ENV
        raise MNISTDataError(f"{name}: missing from {path.parent} (given by {source}). Put the four original MNIST "
                             f"files there, or unset {DATA_DIR_ENV} so load_mnist downloads them into {default_cache_dir()}.")
    if not path.is_file():
        path = _download(name, sha256, path.parent, mirrors)
    with open(path, "rb") as handle:
        actual = hashlib.file_digest(handle, "sha256").hexdigest()
    if actual != sha256:
        raise MNISTDataError(f"{name}: sha256 mismatch at {path}\n  expected {sha256}\n  actual   {actual}\nThe file is "
                             f"corrupted, truncated or not the original; delete it and let load_mnist download it "
                             f"again, or point {DATA_DIR_ENV} at a good copy.")
    return path


def load_mnist(data_dir: Path | str | None = None, *, checksums: Mapping[str, str] | None = None,
               mirrors: Sequence[str] | None = None) -> MNIST:
    """Load MNIST as ``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 28, 28) and labels (N,).

    Parameters
    ----------
    data_dir : path, optional
        Default ``$MNIST_DATA_DIR``, else the Keras cache ``~/.keras/datasets/mnist``, filled from ``mirrors``.
    checksums : mapping, optional
        File name to sha256 for train images, train labels, test images, test labels. Default: :data:`MNIST_SHA256`.

    Raises
    ------
    MNISTDataError
        A file is missing and cannot be downloaded, fails its hash, or is not a valid IDX file for its role;
        the message names the file.
    """
    checksums = dict(MNIST_SHA256 if checksums is None else checksums)
    if len(checksums) != 4:
        raise ValueError(f"checksums must name 4 files (train images, train labels, test images, test labels), got {len(checksums)}")
    names = list(checksums)
    arrays = [read_idx(_locate(name, checksums[name], data_dir, MIRRORS if mirrors is None else mirrors)) for name in names]
    for i, j in ((0, 1), (2, 3)):
        images, labels = arrays[i], arrays[j]
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise MNISTDataError(f"{names[i]}: expected images of shape (N, 28, 28), got {images.shape}")
        if labels.shape != images.shape[:1]:
            raise MNISTDataError(f"{names[j]}: expected {len(images)} labels to match {names[i]}, got shape {labels.shape}")
        if labels.size and labels.max() > 9:
            raise MNISTDataError(f"{names[j]}: labels must be digits 0-9, found {int(labels.max())}")
    return (arrays[0], arrays[1]), (arrays[2], arrays[3])


def prepare(images: np.ndarray) -> np.ndarray:
    """Scale raw images (N, 28, 28) or (N, 28, 28, 1), values 0-255, to float32 in [0, 1] of shape (N, 28, 28, 1).

    Raises
    ------
    ValueError
        For a single image, images not 28 x 28, floats that look already scaled (all <= 1), NaN or infinite values.
    """
    images = np.asarray(images)
    if images.ndim == 2:
        raise ValueError(f"prepare expects a batch of shape (N, 28, 28), got a single image of shape {images.shape}; "
                         "add a batch axis with images[None].")
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"prepare expects images of shape (N, 28, 28) or (N, 28, 28, 1), got {images.shape}.")
    if images.dtype.kind not in "uif":
        raise ValueError(f"prepare expects numeric pixel values, got dtype {images.dtype}.")
    if images.dtype.kind == "f" and not np.isfinite(images).all():
        raise ValueError("prepare got NaN or infinite pixel values; expected raw values 0-255.")
    if images.dtype.kind == "f" and images.size and images.max() <= 1.0:
        raise ValueError("prepare expects raw pixel values 0-255, but these floats are all in [0, 1]: they look "
                         "already scaled. Pass the raw uint8 images so they are not scaled twice.")
    if images.size and (images.min() < 0 or images.max() > 255):
        raise ValueError(f"prepare expects raw pixel values 0-255, got values from {images.min()} to {images.max()}.")
    return (images.astype(np.float32) / 255.0)[..., None]


@dataclass(frozen=True)
class Splits:
    """The book's fixed split of raw uint8 images (call :func:`prepare` before training);
    ``test_index`` holds each test image's position in the original 10,000-image test set."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    test_index: np.ndarray
    profile: Profile


def load_splits(profile: Profile | None = None, data_dir: Path | str | None = None, seed: int = SPLIT_SEED,
                mnist: MNIST | None = None) -> Splits:
    """Cut the book's train / validation / test split for a profile (chapter 1).

    Validation is carved from the training images, stratified by digit; the original test set is subsampled
    (stratified) only when the profile asks for fewer. ``mnist``: :func:`load_mnist`'s result, if already loaded.
    """
    from sklearn.model_selection import train_test_split

    def pick(y: np.ndarray, size: int) -> np.ndarray:  # sorted positions of a stratified pick of `size` labels
        return np.sort(train_test_split(np.arange(len(y)), train_size=size, stratify=y, random_state=seed)[0])

    profile = profile or get_profile()
    (x_all, y_all), (x_test, y_test) = mnist if mnist is not None else load_mnist(data_dir)
    for x, y in ((x_all, y_all), (x_test, y_test)):
        if len(x) != len(y):
            raise ValueError(f"expected as many labels as images, got {len(x)} images and {len(y)} labels")
    x_train, x_val, y_train, y_val = train_test_split(x_all, y_all, test_size=profile.n_val, stratify=y_all, random_state=seed)
    if profile.n_train is not None and profile.n_train < len(y_train):
        keep = pick(y_train, profile.n_train)
        x_train, y_train = x_train[keep], y_train[keep]
    test_index = np.arange(len(y_test))
    if profile.n_test is not None and profile.n_test < len(y_test):
        test_index = pick(y_test, profile.n_test)
        x_test, y_test = x_test[test_index], y_test[test_index]
    return Splits(x_train, y_train, x_val, y_val, x_test, y_test, test_index, profile)


def merge_validation(splits: Splits) -> Splits:
    """The split of a final refit: the validation images join the training images, the validation
    arrays become empty and the test set is unchanged."""
    if len(splits.y_val) == 0:
        raise ValueError("expected a split with validation images to merge, got one whose validation set is already empty")
    return replace(splits, x_train=np.concatenate([splits.x_train, splits.x_val]),
                   y_train=np.concatenate([splits.y_train, splits.y_val]), x_val=splits.x_val[:0], y_val=splits.y_val[:0])


def check_pipeline(splits: Splits) -> pd.DataFrame:
    """Run the chapter-1 pipeline checklist on a split: one row per check (``check``, ``passed``, ``detail``)."""
    rows = []
    for name in ("train", "val", "test"):
        x, y = prepare(getattr(splits, f"x_{name}")), getattr(splits, f"y_{name}")
        digits = sorted(set(np.unique(y).tolist()))
        rows += [(f"{name}: shape (N, 28, 28, 1), float32", x.shape[1:] == (28, 28, 1) and x.dtype == np.float32,
                  f"{x.shape} {x.dtype}"),
                 (f"{name}: values in [0, 1], finite", np.isfinite(x).all() and x.min() >= 0 and x.max() <= 1,
                  f"min {x.min():.2f}, max {x.max():.2f}"),
                 (f"{name}: one label per image, all 10 digits", len(y) == len(x) and digits == list(range(10)),
                  f"{len(y)} labels, digits {digits}")]
    train_keys = {img.tobytes() for img in splits.x_train}
    overlap = sum(img.tobytes() in train_keys for img in splits.x_val)
    share = lambda y: np.bincount(y, minlength=10) / len(y)  # noqa: E731
    drift = float(np.abs(share(splits.y_train) - share(splits.y_val)).max())
    rows += [("validation images not in training", overlap == 0, f"{overlap} shared images"),
             ("validation class shares match training (within 1 point)", drift < 0.01, f"largest difference {drift:.2%}"),
             ("test set is the original one (subsampled only in smoke)",
              len(splits.y_test) == (splits.profile.n_test or 10000), f"{len(splits.y_test)} images")]
    return pd.DataFrame(rows, columns=["check", "passed", "detail"]).astype({"passed": bool})
