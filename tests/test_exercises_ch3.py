"""Chapter 3's exercises stay solvable: each solution's code runs as written in the chapter (see
``test_exercises_ch1.solution_code``) with the chapter's own ``build_cnn``; none trains."""

from __future__ import annotations

import pytest

from chapter_code import chapter_definitions
from mnist_helpers.config import get_profile
from test_exercises_ch1 import solution_code


@pytest.fixture(scope="module")
def chapter():
    return chapter_definitions("03_cnn", "build_cnn", namespace={"profile": get_profile("smoke")})


@pytest.mark.parametrize("label", ["ex-cnn-1", "ex-cnn-2", "ex-cnn-3"])
def test_exercise_solutions_run_and_hold(chapter, label):
    import numpy as np

    scope = {**chapter, "np": np}
    exec(solution_code("03_cnn", label), scope)  # the solutions assert their own answers


def test_frozen_first_layer_exercise_freezes_only_the_first_convolution(chapter):
    scope = dict(chapter)
    exec(solution_code("03_cnn", "ex-cnn-4"), scope)
    frozen, plain = scope["build_cnn_frozen_first"](), chapter["build_cnn"]()
    assert not frozen.layers[0].trainable and all(layer.trainable for layer in frozen.layers[1:])
    assert len(frozen.trainable_weights) == len(plain.trainable_weights) - 1
