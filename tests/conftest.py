"""Shared fixtures: small IDX gz files written by the tests themselves."""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

NAMES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def idx_bytes(array: np.ndarray) -> bytes:
    """The raw IDX encoding of a uint8 array."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_gz(path: Path, payload: bytes) -> str:
    path.write_bytes(gzip.compress(payload))
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def tiny_mnist(tmp_path: Path):
    """A folder with four small, valid IDX gz files, and their checksums."""
    rng = np.random.default_rng(0)
    arrays = [
        rng.integers(0, 256, (20, 28, 28), dtype=np.uint8), np.arange(20, dtype=np.uint8) % 10,
        rng.integers(0, 256, (10, 28, 28), dtype=np.uint8), np.arange(10, dtype=np.uint8) % 10,
    ]
    checksums = {name: write_gz(tmp_path / name, idx_bytes(a)) for name, a in zip(NAMES, arrays)}
    return tmp_path, checksums, arrays


@pytest.fixture
def artifacts(tmp_path, monkeypatch):
    """Point the artifacts folder at a temporary one."""
    monkeypatch.setenv("MNIST_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    return tmp_path / "artifacts"
