"""Saved models and the results record survive kills, damage, Ctrl-C and a second process.

Kills happen in a child process (``fault_child.py``) at named points of a save or a record write;
the parent then loads, which must give the old or the new complete state or a clean retrain.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from mnist_helpers.cache import FitResult, save_trained, saved_model_path, train_or_load
from mnist_helpers.config import get_profile
from mnist_helpers.results import clear_chapter, read_results, record_result, results_path

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and fcntl locks are POSIX")

CHILD = Path(__file__).with_name("fault_child.py")
SMOKE = get_profile("smoke")


def _tiny_model(value: float = 0.0):
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, kernel_initializer="zeros")])
    model.layers[0].bias.assign([value, value])
    return model


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A Keras file of a tiny model whose bias is 2.0, which the child process saves as its model."""
    path = tmp_path_factory.mktemp("template") / "new.keras"
    _tiny_model(2.0).save(path)
    return path


@pytest.fixture
def trainer(artifacts):
    """A training function that counts its calls in a file (as the child's does) and its count."""
    count = artifacts.parent / "count.txt"

    def train():
        with open(count, "a") as handle:
            handle.write(f"{os.getpid()}\n")
        return _tiny_model(1.0), {"loss": [0.5]}

    return train, lambda: len(count.read_text().splitlines()) if count.exists() else 0


def _child(artifacts: Path, *args: str, **env: str) -> subprocess.Popen:
    """Start ``fault_child.py`` with ``args`` (and ``env``) on this test's artifacts folder."""
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]),
           "MNIST_ARTIFACTS_DIR": str(artifacts), "COUNT": str(artifacts.parent / "count.txt"), **env}
    return subprocess.Popen([sys.executable, str(CHILD), *args], env=env, stderr=subprocess.PIPE, text=True)


def _run_killed(artifacts: Path, *args: str, **env: str) -> None:
    """Run ``fault_child.py`` with ``args`` and check that it was killed by SIGKILL."""
    child = _child(artifacts, *args, **env)
    _, errors = child.communicate(timeout=60)
    assert child.returncode == -9, errors


def _bias(model) -> float:
    return float(model.layers[0].bias.numpy()[0])


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob(".*.tmp*"))


@pytest.mark.parametrize("point, state", [
    ("save:half", "old"),            # during the model's write
    ("os.fsync:1:before", "old"),    # model written beside, nothing moved
    ("os.replace:1:before", "none"),  # old metadata removed, model not moved yet
    ("os.replace:1:after", "none"),   # new model in place, no metadata yet
    ("os.replace:2:before", "none"),  # new metadata written beside, not moved
    ("os.replace:2:after", "new"),    # both in place
])
def test_a_save_killed_at_any_point_leaves_the_old_or_new_model_or_a_clean_retrain(artifacts, template, trainer, capsys, point, state):
    train, trainings = trainer
    train_or_load("net", {"v": 1}, train, SMOKE)
    _run_killed(artifacts, "train", point, TEMPLATE=str(template))
    folder = saved_model_path("net", SMOKE).parent
    if state == "old":
        model, _, loaded = train_or_load("net", {"v": 1}, train, SMOKE)
        assert loaded and _bias(model) == 1.0
    elif state == "new":
        model, result, loaded = train_or_load("net", {"v": 2}, train, SMOKE)
        assert loaded and _bias(model) == 2.0 and result.history == {"loss": [0.5]}
    else:
        _, _, loaded = train_or_load("net", {"v": 2}, train, SMOKE)
        assert not loaded and trainings() == 3 and _leftovers(folder) == []
        assert "has no metadata" in capsys.readouterr().err
        assert train_or_load("net", {"v": 2}, train, SMOKE)[2]


def _damage(path: Path, how: str) -> None:
    if how == "cut":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif how == "empty":
        path.write_bytes(b"")
    else:  # a model that this Keras cannot rebuild, as if saved by another version
        with zipfile.ZipFile(path) as old:
            files = {name: old.read(name) for name in old.namelist()}
        files["config.json"] = files["config.json"].replace(b'"Dense"', b'"DenseOfAnotherVersion"')
        with zipfile.ZipFile(path, "w") as new:
            for name, data in files.items():
                new.writestr(name, data)


@pytest.mark.parametrize("how", ["cut", "empty", "foreign"])
def test_a_model_that_cannot_be_loaded_is_set_aside_and_trained_again(artifacts, trainer, capsys, how):
    train, trainings = trainer
    train_or_load("net", {"v": 1}, train, SMOKE)
    path = saved_model_path("net", SMOKE)
    _damage(path, how)
    _, _, loaded = train_or_load("net", {"v": 1}, train, SMOKE)
    message = capsys.readouterr().err.strip()
    assert not loaded and trainings() == 2
    assert len(message.splitlines()) == 1 and f"{path} cannot be loaded" in message
    assert len(list(path.parent.glob("net.keras.broken-*"))) == 1
    assert len(list(path.parent.glob("net.json.broken-*"))) == 1
    assert train_or_load("net", {"v": 1}, train, SMOKE)[2]


@pytest.mark.parametrize("text", ['{"config": {"v": 1}, "profi', "[1, 2]", "\xff\xfe"])
def test_metadata_that_is_not_json_is_set_aside_and_the_model_trained_again(artifacts, trainer, capsys, text):
    train, trainings = trainer
    train_or_load("net", {"v": 1}, train, SMOKE)
    meta = saved_model_path("net", SMOKE).with_suffix(".json")
    meta.write_bytes(text.encode("latin-1"))
    assert not train_or_load("net", {"v": 1}, train, SMOKE)[2] and trainings() == 2
    message = capsys.readouterr().err.strip()
    assert len(message.splitlines()) == 1 and f"{meta} is not valid metadata" in message
    assert len(list(meta.parent.glob("net.json.broken-*"))) == 1


def test_ctrl_c_while_training_saves_nothing_and_releases_the_lock(artifacts, trainer):
    train, _ = trainer
    train_or_load("net", {"v": 1}, train, SMOKE)
    record_result(2, "dense", 10, 1, 1.0, 0.9, 0.9, seed=0, profile=SMOKE)
    folder = saved_model_path("net", SMOKE).parent
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}

    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_or_load("net", {"v": 2}, interrupted, SMOKE)
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before
    from filelock import FileLock

    with FileLock(f"{saved_model_path('net', SMOKE)}.lock").acquire(timeout=0):
        pass


def test_a_second_process_waits_and_loads_the_model_the_first_trained(artifacts, template, trainer, capsys):
    train, trainings = trainer
    started = artifacts.parent / "started"
    child = _child(artifacts, "train", TEMPLATE=str(template), STARTED=str(started), HOLD="2")
    deadline = time.monotonic() + 60
    while not started.exists():
        assert child.poll() is None and time.monotonic() < deadline, child.stderr.read()
        time.sleep(0.05)
    model, _, loaded = train_or_load("net", {"v": 2}, train, SMOKE)
    assert child.communicate(timeout=60) and child.returncode == 0
    assert loaded and _bias(model) == 2.0 and trainings() == 1
    assert "Waiting for another process training or loading net" in capsys.readouterr().err


def _record_three() -> bytes:
    for chapter, model in ((2, "dense"), (4, "cnn"), (4, "cnn + TTA")):
        record_result(chapter, model, 10, 1, 1.0, 0.9, 0.9, seed=0, profile=SMOKE)
    return results_path(SMOKE).read_bytes()


@pytest.mark.parametrize("operation, point, models", [
    ("clear", "os.fsync:1:before", ["dense", "cnn", "cnn + TTA"]),  # new record written beside
    ("clear", "os.replace:1:before", ["dense", "cnn", "cnn + TTA"]),
    ("clear", "os.replace:1:after", ["dense"]),
    ("record", "os.write:1:before", ["dense", "cnn", "cnn + TTA"]),
    ("record", "os.write:1:half", ["dense", "cnn", "cnn + TTA"]),  # a cut last line
    ("record", "os.write:1:after", ["dense", "cnn", "cnn + TTA", "new"]),
])
def test_a_record_write_killed_at_any_point_leaves_the_old_or_new_record(artifacts, operation, point, models):
    _record_three()
    _run_killed(artifacts, operation, point)
    assert read_results(SMOKE)["model"].tolist() == models
    record_result(6, "later", 10, 1, 1.0, 0.9, 0.9, seed=0, profile=SMOKE)
    assert read_results(SMOKE)["model"].tolist() == [*models, "later"]
    assert clear_chapter(6, profile=SMOKE) == 1 and _leftovers(results_path(SMOKE).parent) == []


@pytest.mark.parametrize("damage, line", [("cut last line", 4), ("garbage in the middle", 2)])
def test_a_record_line_that_cannot_be_read_is_skipped_with_its_line_number(artifacts, capsys, damage, line):
    path = results_path(SMOKE)
    lines = _record_three().decode().splitlines(keepends=True)
    if damage == "cut last line":
        lines.append(lines[-1][:25])
    else:
        lines.insert(1, "garbage\n")
    path.write_text("".join(lines))
    assert read_results(SMOKE)["model"].tolist() == ["dense", "cnn", "cnn + TTA"]
    assert f"{path}, line {line}: not a results entry" in capsys.readouterr().err
    assert clear_chapter(4, profile=SMOKE) == 2
    assert read_results(SMOKE)["model"].tolist() == ["dense"]
    assert json.loads(path.read_text())["model"] == "dense"


def test_an_old_state_saved_by_save_trained_loads(artifacts, trainer):
    train, trainings = trainer
    save_trained("net", {"v": 1}, _tiny_model(3.0), FitResult({"loss": [0.1]}, 1, 1.0), SMOKE)
    model, result, loaded = train_or_load("net", {"v": 1}, train, SMOKE)
    assert loaded and _bias(model) == 3.0 and result.history == {"loss": [0.1]} and trainings() == 0


def test_first_run_message_says_what_trains_and_how_long():
    from mnist_helpers.cache import first_run_message
    from mnist_helpers.config import PROFILES

    full = first_run_message("chapter4_best", {"model": {}, "epochs": 17}, PROFILES["full"])
    assert "'chapter4_best'" in full and "17 epochs" in full and "about 13 min" in full
    smoke = first_run_message("chapter4_best", {"model": {}, "epochs": 17}, PROFILES["smoke"])
    assert "1 epoch," in smoke and "under a minute" in smoke
    dense = first_run_message("chapter4_dense_baseline", {"hidden_units": 256, "epochs": 20}, PROFILES["full"])
    assert "20 epochs" in dense and "about 1 min" in dense
