"""A child process for ``test_cache_faults.py``: one write of the model cache or the results record,
killed with SIGKILL at a named point of it.

Usage: ``python fault_child.py OPERATION [POINT]``

- OPERATION ``train``: ``train_or_load("net", {"v": 2}, ...)`` under the smoke profile; its model saves
  a copy of the Keras file ``$TEMPLATE`` (so this process needs no Keras), after appending a line to
  ``$COUNT`` and, if ``$STARTED`` is set, creating that file and sleeping ``$HOLD`` seconds.
- OPERATION ``clear``: ``clear_chapter(4)``; ``record``: ``record_result`` of a chapter 5 entry.
- POINT ``<os function>:<call>:<when>``: kill at that call of ``os.<function>`` (counted from 1 once
  the operation starts), ``before`` or ``after`` it, or ``half`` (``os.write`` writes half its bytes);
  ``save:half``: the model's save writes half the file.

The artifacts folder is ``$MNIST_ARTIFACTS_DIR``.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import filelock  # noqa: F401  (imported before any os function is wrapped)

from mnist_helpers.cache import train_or_load
from mnist_helpers.config import get_profile
from mnist_helpers.results import clear_chapter, record_result


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def kill_at(point: str) -> None:
    """Wrap ``os.<function>`` so that this process is killed at the named call."""
    function, call, when = point.removeprefix("os.").split(":")
    original, calls = getattr(os, function), []

    def wrapped(*args, **kwargs):
        calls.append(1)
        if len(calls) == int(call):
            if when == "before":
                die()
            if when == "half":
                original(args[0], args[1][: len(args[1]) // 2])
                die()
        result = original(*args, **kwargs)
        if len(calls) == int(call) and when == "after":
            die()
        return result

    setattr(os, function, wrapped)


class CopiedModel:
    """A stand-in for a Keras model whose ``save`` writes a copy of a saved Keras file."""

    def __init__(self, template: Path, cut: bool):
        self.template, self.cut = template, cut

    def save(self, path) -> None:
        data = self.template.read_bytes()
        Path(path).write_bytes(data[: len(data) // 2] if self.cut else data)
        if self.cut:
            die()


def train(cut: bool):
    """The training function of the ``train`` operation."""
    with open(os.environ["COUNT"], "a") as count:
        count.write(f"{os.getpid()}\n")
    if os.environ.get("STARTED"):
        Path(os.environ["STARTED"]).touch()
        time.sleep(float(os.environ["HOLD"]))
    return CopiedModel(Path(os.environ["TEMPLATE"]), cut), {"loss": [0.5]}


def main(operation: str, point: str = "") -> None:
    smoke = get_profile("smoke")
    if point and point != "save:half":
        kill_at(point)
    if operation == "train":
        train_or_load("net", {"v": 2}, lambda: train(point == "save:half"), smoke)
    elif operation == "clear":
        clear_chapter(4, profile=smoke)
    elif operation == "record":
        record_result(5, "new", 10, 1, 1.0, 0.9, 0.9, seed=0, profile=smoke)
    else:
        raise ValueError(f"expected the operation train, clear or record, got {operation!r}")


if __name__ == "__main__":
    main(*sys.argv[1:])
