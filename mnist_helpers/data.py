"""Reading MNIST from the four original IDX files, verified, and cutting the book's split (chapter 1).

``load_mnist`` looks for the files in ``data_dir``, else in ``$MNIST_DATA_DIR``, else in the
Keras cache folder (``~/.keras/datasets/mnist``), where it downloads what is missing. Every file
is checked against its published sha256 before a byte of it is parsed.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mnist_helpers.config import Profile, get_profile

if TYPE_CHECKING:
    import pandas as pd

DATA_DIR_ENV = "MNIST_DATA_DIR"

#: sha256 of the four original files, as published (and as pinned by common loaders).
MNIST_SHA256: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

#: Public mirrors of the original files, tried in turn.
MIRRORS: list[str] = [
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
]

#: The seed of the book's train / validation split (and of the smoke profile's subsets).
SPLIT_SEED = 20251126


class MNISTDataError(ValueError):
    """A MNIST file is missing, corrupted or not what it claims to be."""


def sha256sum(path: Path) -> str:
    """The hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: Path, expected_sha256: str) -> None:
    """Raise :class:`MNISTDataError` unless ``path`` has the expected sha256."""
    actual = sha256sum(path)
    if actual != expected_sha256:
        raise MNISTDataError(
            f"{path.name}: sha256 mismatch at {path}\n  expected {expected_sha256}\n"
            f"  actual   {actual}\nThe file is corrupted, truncated or not the original; delete it "
            f"and let load_mnist download it again, or point {DATA_DIR_ENV} at a good copy."
        )


def read_idx(path: Path | str) -> np.ndarray:
    """Parse one gzip-compressed IDX file of unsigned bytes into a NumPy array.

    Checks the magic number (two zero bytes, the type code 0x08 for unsigned bytes, the number
    of dimensions) and that the dimensions match the number of bytes that follow.
    """
    path = Path(path)
    try:
        with gzip.open(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError, zlib.error) as err:
        raise MNISTDataError(
            f"{path.name}: not a complete gzip file ({err}). Expected a gzip-compressed IDX file "
            f"such as the original {path.name}; delete it and download it again."
        ) from err
    if len(raw) < 4:
        raise MNISTDataError(f"{path.name}: {len(raw)} bytes after decompression, too short for an IDX header.")
    zero, type_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or type_code != 0x08 or ndim < 1:
        raise MNISTDataError(
            f"{path.name}: wrong IDX magic number 0x{raw[:4].hex()}; expected 0x00000801 (labels) "
            f"or 0x00000803 (images)."
        )
    header_end = 4 + 4 * ndim
    if len(raw) < header_end:
        raise MNISTDataError(f"{path.name}: the IDX header promises {ndim} dimensions but the file ends first.")
    dims = struct.unpack(f">{ndim}I", raw[4:header_end])
    expected = int(np.prod(dims))
    body = len(raw) - header_end
    if body != expected:
        raise MNISTDataError(
            f"{path.name}: the IDX header says shape {dims} ({expected} bytes) but {body} bytes follow."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_end).reshape(dims).copy()


def default_cache_dir() -> Path:
    """Where downloaded files are kept: the Keras cache, ``~/.keras/datasets/mnist``."""
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    return keras_home / "datasets" / "mnist"


def _download(name: str, sha256: str, cache_dir: Path, mirrors: Sequence[str]) -> Path:
    """Fetch ``name`` from the first mirror that serves a file with the right hash."""
    from keras.utils import get_file  # imported here: reading local files needs no TensorFlow

    try:
        cache_dir.mkdir(parents=True, exist_ok=True)  # get_file falls back to /tmp when it is missing
    except OSError:
        pass
    failures = []
    for mirror in mirrors:
        try:
            fetched = get_file(
                fname=name,
                origin=mirror.rstrip("/") + "/" + name,
                file_hash=sha256,
                hash_algorithm="sha256",
                cache_dir=str(cache_dir.parent),
                cache_subdir=cache_dir.name,
            )
        except Exception as err:  # noqa: BLE001 - any failure means: try the next mirror
            failures.append(f"{mirror}: {type(err).__name__}: {err}")
            for partial in (cache_dir / name, Path("/tmp/.keras") / cache_dir.name / name):
                if partial.exists() and sha256sum(partial) != sha256:
                    partial.unlink()
            continue
        return Path(fetched)
    tried = "\n  ".join(failures) or "(no mirrors configured)"
    raise MNISTDataError(
        f"{name}: not found in {cache_dir} and no mirror could provide it:\n  {tried}\n"
        f"Without internet, set {DATA_DIR_ENV} to a folder that holds the four original MNIST files."
    )


def _locate(name: str, sha256: str, data_dir: Path | str | None, mirrors: Sequence[str]) -> Path:
    """The verified path of one file. A folder given as ``data_dir`` or ``$MNIST_DATA_DIR`` must
    hold it; only the cache folder is filled by downloading."""
    explicit = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV) or None
    if explicit is not None:
        path = Path(explicit).expanduser() / name
        if not path.is_file():
            source = "data_dir" if data_dir is not None else DATA_DIR_ENV
            raise MNISTDataError(
                f"{name}: missing from {path.parent} (given by {source}). Put the four original MNIST "
                f"files there, or unset {DATA_DIR_ENV} so load_mnist downloads them into "
                f"{default_cache_dir()}."
            )
    else:
        path = default_cache_dir() / name
        if not path.is_file():
            path = _download(name, sha256, default_cache_dir(), mirrors)
    verify_file(path, sha256)
    return path


def load_mnist(
    data_dir: Path | str | None = None,
    *,
    checksums: Mapping[str, str] | None = None,
    mirrors: Sequence[str] | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load MNIST as ``(x_train, y_train), (x_test, y_test)``, uint8 arrays (chapter 1).

    Parameters
    ----------
    data_dir : path, optional
        A folder with the four original ``*-ubyte.gz`` files. Default: ``$MNIST_DATA_DIR``, else the
        Keras cache folder, where missing files are downloaded.
    checksums : mapping, optional
        File name to sha256, in the order train images, train labels, test images, test labels.
        Default: :data:`MNIST_SHA256`. Tests use it to read small files of their own.
    mirrors : sequence of str, optional
        Base URLs to download from. Default: :data:`MIRRORS`.

    Returns
    -------
    ((x_train, y_train), (x_test, y_test))
        Images of shape (N, 28, 28) and labels of shape (N,), both uint8.

    Raises
    ------
    MNISTDataError
        A file is missing and cannot be downloaded, fails its hash, is not a complete gzip file, or
        has an IDX header that does not match its contents. The message names the file.
    """
    checksums = dict(MNIST_SHA256 if checksums is None else checksums)
    if len(checksums) != 4:
        raise ValueError(f"checksums must name 4 files (train images, train labels, test images, test labels), got {len(checksums)}")
    mirrors = MIRRORS if mirrors is None else mirrors
    names = list(checksums)
    arrays = [read_idx(_locate(name, checksums[name], data_dir, mirrors)) for name in names]
    for images_name, labels_name, images, labels in [(*names[:2], *arrays[:2]), (*names[2:], *arrays[2:])]:
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise MNISTDataError(f"{images_name}: expected images of shape (N, 28, 28), got {images.shape}")
        if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
            raise MNISTDataError(
                f"{labels_name}: expected {images.shape[0]} labels to match {images_name}, got shape {labels.shape}"
            )
        if labels.size and labels.max() > 9:
            raise MNISTDataError(f"{labels_name}: labels must be digits 0-9, found {int(labels.max())}")
    return (arrays[0], arrays[1]), (arrays[2], arrays[3])


def prepare(images: np.ndarray) -> np.ndarray:
    """Scale a batch of raw images to float32 in [0, 1] with a channel axis (chapter 1).

    Parameters
    ----------
    images : array of shape (N, 28, 28) or (N, 28, 28, 1)
        Raw pixel values 0-255 (uint8, or floats that have not been scaled yet).

    Returns
    -------
    array of shape (N, 28, 28, 1), float32 in [0, 1]

    Raises
    ------
    ValueError
        For a single image without a batch axis, images that are not 28 x 28, input that looks
        already scaled (floats no larger than 1), or NaN / infinite values.
    """
    images = np.asarray(images)
    if images.ndim == 2:
        raise ValueError(
            f"prepare expects a batch of shape (N, 28, 28), got a single image of shape {images.shape}; "
            "add a batch axis with images[None]."
        )
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"prepare expects images of shape (N, 28, 28) or (N, 28, 28, 1), got {images.shape}.")
    if images.dtype.kind not in "uif":
        raise ValueError(f"prepare expects numeric pixel values, got dtype {images.dtype}.")
    if images.dtype.kind == "f":
        if not np.isfinite(images).all():
            raise ValueError("prepare got NaN or infinite pixel values; expected raw values 0-255.")
        if images.size and images.max() <= 1.0:
            raise ValueError(
                "prepare expects raw pixel values 0-255, but these floats are all in [0, 1]: they look "
                "already scaled. Pass the raw uint8 images so they are not scaled twice."
            )
    if images.size and (images.min() < 0 or images.max() > 255):
        raise ValueError(
            f"prepare expects raw pixel values 0-255, got values from {images.min()} to {images.max()}."
        )
    return (images.astype(np.float32) / 255.0)[..., None]


@dataclass(frozen=True)
class Splits:
    """The book's fixed data split (raw uint8 images; call :func:`prepare` before training).

    ``test_index`` holds each test image's position in the original 10,000-image test set.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    test_index: np.ndarray
    profile: Profile


def _stratified_pick(y: np.ndarray, size: int, seed: int) -> np.ndarray:
    """The sorted positions of a stratified random pick of ``size`` of the labels ``y``."""
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(np.arange(len(y)), train_size=size, stratify=y, random_state=seed)
    return np.sort(keep)


def load_splits(
    profile: Profile | None = None,
    data_dir: Path | str | None = None,
    seed: int = SPLIT_SEED,
    mnist: tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
) -> Splits:
    """Load MNIST and cut the book's train / validation / test split for a profile (chapter 1).

    The validation set is carved from the 60,000 training images, stratified by digit; the test
    set is the original one, subsampled (stratified) only when the profile asks for fewer images.
    Every chapter calls this, so every chapter trains and validates on the same images. Pass
    ``mnist``, the result of :func:`load_mnist`, when it is already loaded, so it is not read twice.

    Raises
    ------
    ValueError
        If the images and labels of ``mnist`` differ in length.
    """
    from sklearn.model_selection import train_test_split

    profile = profile or get_profile()
    (x_all, y_all), (x_test, y_test) = mnist if mnist is not None else load_mnist(data_dir)
    for x, y in ((x_all, y_all), (x_test, y_test)):
        if len(x) != len(y):
            raise ValueError(f"expected as many labels as images, got {len(x)} images and {len(y)} labels")
    x_train, x_val, y_train, y_val = train_test_split(
        x_all, y_all, test_size=profile.n_val, stratify=y_all, random_state=seed
    )
    if profile.n_train is not None and profile.n_train < len(y_train):
        keep = _stratified_pick(y_train, profile.n_train, seed)
        x_train, y_train = x_train[keep], y_train[keep]
    test_index = np.arange(len(y_test))
    if profile.n_test is not None and profile.n_test < len(y_test):
        test_index = _stratified_pick(y_test, profile.n_test, seed)
        x_test, y_test = x_test[test_index], y_test[test_index]
    return Splits(x_train, y_train, x_val, y_val, x_test, y_test, test_index, profile)


def merge_validation(splits: Splits) -> Splits:
    """The split of a final refit: the validation images join the training images.

    Once every choice has been made on validation data, the chosen recipe can be trained again
    on all the labelled training images. The validation arrays of the result are empty, so
    nothing can be validated on images the model trained on; the test set is unchanged.
    """
    if len(splits.y_val) == 0:
        raise ValueError("expected a split with validation images to merge, got one whose validation set is already empty")
    empty = slice(0, 0)
    return replace(
        splits,
        x_train=np.concatenate([splits.x_train, splits.x_val]),
        y_train=np.concatenate([splits.y_train, splits.y_val]),
        x_val=splits.x_val[empty],
        y_val=splits.y_val[empty],
    )


def check_pipeline(splits: Splits) -> "pd.DataFrame":
    """Run the chapter-1 pipeline checklist on a split and return one row per check
    (``check``, ``passed``, ``detail``). The notebook shows the table and fails if a check fails."""
    import pandas as pd

    rows = []

    def add(check: str, passed: bool, detail: str) -> None:
        rows.append({"check": check, "passed": bool(passed), "detail": detail})

    for name in ("train", "val", "test"):
        x, y = prepare(getattr(splits, f"x_{name}")), getattr(splits, f"y_{name}")
        add(f"{name}: shape (N, 28, 28, 1), float32", x.shape[1:] == (28, 28, 1) and x.dtype == np.float32,
            f"{x.shape} {x.dtype}")
        add(f"{name}: values in [0, 1], finite", bool(np.isfinite(x).all() and x.min() >= 0 and x.max() <= 1),
            f"min {x.min():.2f}, max {x.max():.2f}")
        add(f"{name}: one label per image, all 10 digits", len(y) == len(x) and set(np.unique(y)) == set(range(10)),
            f"{len(y)} labels, digits {sorted(set(np.unique(y).tolist()))}")
    train_keys = {img.tobytes() for img in splits.x_train}
    overlap = sum(img.tobytes() in train_keys for img in splits.x_val)
    add("validation images not in training", overlap == 0, f"{overlap} shared images")
    share = lambda y: np.bincount(y, minlength=10) / len(y)  # noqa: E731
    drift = float(np.abs(share(splits.y_train) - share(splits.y_val)).max())
    add("validation class shares match training (within 1 point)", drift < 0.01, f"largest difference {drift:.2%}")
    expected_test = splits.profile.n_test or 10000
    add("test set is the original one (subsampled only in smoke)", len(splits.y_test) == expected_test,
        f"{len(splits.y_test)} images")
    return pd.DataFrame(rows)
