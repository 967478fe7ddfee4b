"""Chapter 6's exercises stay solvable: the python code of their solutions, taken from the notebook's
solution directives, runs and gives what the solutions say (smoke-sized, no training)."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "06_beyond_one_run.ipynb"


def solution_code(label: str) -> str:
    """The python block of the solution to exercise ``label`` in chapter 6."""
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    body = re.search(r"\{solution\} " + re.escape(label) + r"\n(.*?)(?=\{exercise\}|\{solution\}|\Z)", text, re.S)
    found = body and re.search(r"```python\n(.*?)\n```", body.group(1), re.S)
    if found is None:
        raise LookupError(f"no solution with a python block for {label} in {NOTEBOOK.name}")
    return found.group(1)


def run(code: str) -> tuple[dict, str]:
    """Execute ``code`` in a fresh namespace; return the namespace and what it printed."""
    scope: dict = {"__name__": "exercise"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(code, scope)
    return scope, printed.getvalue()


def test_every_exercise_has_a_solution():
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    exercises = re.findall(r"\{exercise\}\n:label: (\S+)", text)
    solutions = re.findall(r"\{solution\} (\S+)\n:class: dropdown", text)
    assert 3 <= len(exercises) <= 5 and exercises == solutions, (exercises, solutions)


def test_parameter_count_by_hand_matches_keras():
    from mnist_helpers.models import build_cnn

    scope, printed = run(solution_code("ex-beyond-2"))
    assert scope["by_hand"] == build_cnn(filters=[32]).count_params() == 1_609_642
    assert printed.strip() == "1,609,642 by hand, 1,609,642 by Keras"


def test_chance_of_a_false_alarm_among_five_tests():
    _, printed = run(solution_code("ex-beyond-3"))
    assert printed.strip() == "22.6%"


def test_elastic_augmenter_keeps_the_mild_layers_and_seeds():
    from chapter_code import layer_configs
    from mnist_helpers.augment import build_augmenter

    scope, _ = run(solution_code("ex-beyond-4"))
    augmenter = scope["build_elastic_augmenter"](seed=5)
    assert [type(layer).__name__ for layer in augmenter.layers] == [
        "RandomRotation", "RandomTranslation", "RandomZoom", "RandomElasticTransform"]
    assert layer_configs(augmenter)[:3] == layer_configs(build_augmenter("mild", seed=5))
    seeds = [layer.get_config()["seed"] for layer in augmenter.layers]
    assert len(set(seeds)) == 4
    x = np.zeros((4, 28, 28, 1), np.float32)
    x[:, 8:20, 12:16] = 1.0
    out = np.asarray(augmenter(x, training=True))
    assert out.shape == x.shape and np.isfinite(out).all() and not np.allclose(out, x)


def test_a_solution_without_code_has_none_to_run():
    with pytest.raises(LookupError, match="ex-beyond-1"):
        solution_code("ex-beyond-1")
