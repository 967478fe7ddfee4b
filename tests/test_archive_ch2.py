"""Chapter 2's visible model is the model the package archives.

The chapter's own cell that builds ``model`` (a ``keras.Sequential``) is run with
``tests/chapter_code.py`` and compared with ``mnist_helpers.models.build_dense()``.
"""

from __future__ import annotations

import pytest

from chapter_code import chapter_definitions, layer_configs
from mnist_helpers.config import get_profile
from mnist_helpers.models import build_dense


@pytest.fixture(scope="module")
def shown():
    return chapter_definitions("02_dense_baseline", "model", namespace={"profile": get_profile("smoke")})["model"]


def test_chapter_2_builds_the_archived_dense_model(shown):
    archived = build_dense()
    assert shown.name == archived.name == "dense_baseline"
    assert layer_configs(shown) == layer_configs(archived)
    assert shown.count_params() == archived.count_params()


def test_the_comparison_sees_a_different_width_or_dropout(shown):
    assert layer_configs(shown) != layer_configs(build_dense(hidden_units=128))
    assert layer_configs(shown) != layer_configs(build_dense(dropout=0.5))
