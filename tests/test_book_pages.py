"""The reference pages filled at build time: what each step bought, the cheat sheet, published results, the glossary.

The functions of ``book/_ext`` are tested on small results frames; the last test checks a smoke build's pages and
their images when one exists (``make book MNIST_PROFILE=smoke``, or the folder named by ``BOOK_HTML`` as for the
browser test), and skips otherwise.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import cheat_sheet  # noqa: E402
import published  # noqa: E402
import results_page  # noqa: E402
import steps_chart  # noqa: E402

#: The shared term list: chapters link to these with {term}, so the glossary must define exactly them.
TERMS = [
    "channels-last", "softmax", "logits", "cross-entropy", "convolution", "filter", "feature map", "pooling",
    "batch normalization", "dropout", "training mode and inference mode", "learning-rate schedule", "cosine decay",
    "early stopping", "data augmentation", "test-time augmentation", "validation set", "overfitting", "underfitting",
    "calibration", "expected calibration error", "reliability diagram", "Grad-CAM", "confusion matrix", "precision",
    "recall", "label noise", "McNemar's test", "Wilson interval", "ensemble", "seed",
]


def _record(rows: list[tuple[int, str, float, float, int]]) -> pd.DataFrame:
    """A results frame as ``read_results`` returns it, from (chapter, model, val, test, seed) rows."""
    return pd.DataFrame([{"chapter": c, "model": m, "val_accuracy": v, "test_accuracy": t, "seed": s}
                         for c, m, v, t, s in rows])


def _full_record(tta: bool = True) -> pd.DataFrame:
    rows = [
        (2, "dense baseline", 0.983, 0.9829, 2),
        (3, "compact CNN", 0.9952, 0.9942, 3),
        (3, "compact CNN without batch norm", 0.9948, 0.9941, 3),
        (3, "compact CNN without dropout", 0.9944, 0.9940, 3),
        (4, "CNN, none augmentation, 5 epochs", 0.994, 0.9930, 5),
        (4, "CNN, mild augmentation, 5 epochs", 0.993, 0.9925, 5),
        (4, "CNN + mild augmentation + plateau callbacks", 0.995, 0.9950, 4),
        (4, "CNN + mild augmentation + cosine schedule", 0.9942, 0.9956, 4),
        (6, "chapter 4 recipe, seed 4", 0.9942, 0.9956, 4),
        (6, "chapter 4 recipe, seed 5", 0.9960, 0.9949, 5),
        (6, "chapter 4 recipe, seed 6", 0.9956, 0.9956, 6),
    ]
    if tta:
        rows += [
            (4, "CNN + mild augmentation + cosine schedule + TTA", 0.9956, 0.9963, 4),
            (6, "chapter 4 recipe, seed 4 + TTA", 0.9956, 0.9963, 4),
            (6, "chapter 4 recipe, seed 5 + TTA", 0.9958, 0.9961, 5),
            (6, "chapter 4 recipe, seed 6 + TTA", 0.9956, 0.9965, 6),
            (6, "ensemble of 3 seeds + TTA", 0.9960, 0.9966, 4),
        ]
    else:
        rows.append((6, "ensemble of 3 seeds", 0.9950, 0.9958, 4))
    return _record(rows)


def test_steps_map_to_the_records_they_stand_for():
    frame = steps_chart.steps_frame(_full_record(), 10000).set_index("step")
    assert list(frame.index) == [step.label for step in steps_chart.STEPS]
    assert frame.loc["dense", "model"] == "dense baseline"
    assert pd.isna(frame.loc["CNN", "test_accuracy"])  # no model of its own
    assert frame.loc["+ batch normalization", "model"] == "compact CNN without dropout"
    # Batch normalization is measured with dropout in both: the full CNN against the CNN without it.
    assert frame.loc["+ batch normalization", "measured"] == "compact CNN"
    assert frame.loc["+ batch normalization", "comparison"] == "compact CNN without batch norm"
    assert frame.loc["+ batch normalization", "change_images"] == 1
    assert frame.loc["+ augmentation", "comparison"] == "CNN, none augmentation, 5 epochs"
    assert frame.loc["+ augmentation", "change_images"] == -5
    assert frame.loc["+ schedule", "seed_accuracies"] == [0.9956, 0.9949, 0.9956]
    assert frame.loc["+ test-time augmentation", "seed_accuracies"] == [0.9963, 0.9961, 0.9965]
    # The ensemble is compared with the best single model on validation, as single models predict (TTA here).
    assert frame.loc["ensemble", "model"] == "ensemble of 3 seeds + TTA"
    assert frame.loc["ensemble", "comparison"] == "chapter 4 recipe, seed 5 + TTA"
    assert frame.loc["ensemble", "change_images"] == 5


def test_a_step_is_within_noise_when_it_lies_inside_the_comparisons_interval():
    frame = steps_chart.steps_frame(_full_record(), 10000).set_index("step")
    low, high = frame.loc["+ dropout", ["comparison_low", "comparison_high"]]
    assert low < frame.loc["+ dropout", "test_accuracy"] < high
    assert frame.loc["+ dropout", "within_interval"]
    assert frame.loc["ensemble", "within_interval"]  # 5 images on 10,000 is inside a Wilson interval
    text = steps_chart.noise_markdown(frame.reset_index(), 10000)
    inside = text.split("**Outside that interval**")[0]
    assert "+ dropout (+2 images)" in inside and "ensemble (+5 images)" in inside
    # A large change on a small test set falls outside the interval.
    big = _full_record()
    big.loc[big["model"] == "CNN, mild augmentation, 5 epochs", "test_accuracy"] = 0.80
    big_frame = steps_chart.steps_frame(big, 1000)
    text = steps_chart.noise_markdown(big_frame, 1000)
    outside = text.split("**Outside that interval**")[1].split("**Not measured")[0]
    assert "+ augmentation (-193 images)" in outside
    assert "seeds of the recipe are 7 test images apart" in steps_chart.noise_markdown(frame.reset_index(), 10000)


def test_steps_without_records_are_said_not_measured():
    frame = steps_chart.steps_frame(_full_record(tta=False), 10000).set_index("step")
    assert pd.isna(frame.loc["+ test-time augmentation", "test_accuracy"])
    assert frame.loc["+ test-time augmentation", "within_interval"] is None
    assert frame.loc["ensemble", "comparison"] == "chapter 4 recipe, seed 5"  # plain singles when TTA was not chosen
    text = steps_chart.noise_markdown(frame.reset_index(), 10000)
    assert "dense, CNN, + test-time augmentation." in text.split("**Not measured in this build**")[1]
    table = steps_chart.mapping_markdown(frame.reset_index())
    assert "| CNN | *no model recorded* |  | not measured |  |" in table and "nan" not in table


def test_steps_frame_refuses_what_is_not_a_record():
    with pytest.raises(ValueError, match="missing"):
        steps_chart.steps_frame(pd.DataFrame({"model": []}), 10000)
    with pytest.raises(ValueError, match="positive integer"):
        steps_chart.steps_frame(_full_record(), 0)


def test_steps_chart_draws_a_bar_per_recorded_step(tmp_path):
    frame = steps_chart.steps_frame(_full_record(), 10000)
    ax = steps_chart.plot_steps(frame)
    assert len(ax.patches) == frame["test_accuracy"].notna().sum()
    assert [t.get_text() for t in ax.get_xticklabels()] == list(frame["step"])
    assert any(t.get_text() == "no model of its own" for t in ax.texts)
    path = steps_chart.write_steps_figure(frame, tmp_path / "figures" / "steps.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_chapter5_thresholds_are_read_from_its_cells(tmp_path):
    thresholds = cheat_sheet.chapter_constants(ROOT / "notebooks" / "05_error_analysis.ipynb")
    assert set(thresholds) == set(cheat_sheet.THRESHOLDS)
    assert all(0 < value < 1 for value in thresholds.values())
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("UNDERFIT_TRAIN_ACCURACY = 0.99")])
    nbformat.write(notebook, tmp_path / "chapter.ipynb")
    with pytest.raises(ValueError, match="OVERFIT_GAP"):
        cheat_sheet.chapter_constants(tmp_path / "chapter.ipynb")


def test_flowchart_shows_the_thresholds_it_is_given():
    thresholds = {"UNDERFIT_TRAIN_ACCURACY": 0.97, "OVERFIT_GAP": 0.02, "NOISE_CONFIDENCE": 0.8, "NOISE_P_TRUE": 0.1,
                  "AMBIGUOUS_MARGIN": 0.25}
    text = " ".join(t.get_text() for t in cheat_sheet.plot_flowchart(thresholds).texts)
    for shown in ("< 0.97", "> 0.02", ">= 0.8", "< 0.1", "0.25 behind"):
        assert shown in text
    with pytest.raises(ValueError, match="OVERFIT_GAP"):
        cheat_sheet.plot_flowchart({"UNDERFIT_TRAIN_ACCURACY": 0.99})


def test_recipe_table_takes_its_values_from_the_recipe():
    from mnist_helpers.recipes import CHAPTER4_BEST

    recipe = {**CHAPTER4_BEST, "epochs": 23, "batch_size": 48, "model": {**CHAPTER4_BEST["model"], "dense_units": 77}}
    table = cheat_sheet.recipe_markdown(recipe)
    assert "| epochs | 23," in table and "| batch size | 48 |" in table and "| dense layer | 77 units |" in table


def test_published_table_places_this_books_models():
    record = _full_record()
    models = published.book_models(record)
    assert list(models["method"]) == ["this book: chapter 4's recipe, one model, with test-time augmentation",
                                      "this book: ensemble of 3 seeds + TTA (chapter 6)"]
    table = published.published_markdown(record, 10000, "official MNIST test set (10,000)")
    errors = [float(m) for m in re.findall(r"^\| [^|]+ \| \**([0-9.]+)%", table, flags=re.M)]
    assert errors == sorted(errors) and len(errors) == len(published.PUBLISHED) + 2
    standing = published.standing_markdown(record, 10000)
    # The ensemble's test error is 0.34%; its 95% interval starts above DropConnect's 0.21%.
    assert "DropConnect (0.21%)" in standing.splitlines()[1].split("Inside it")[0]
    assert published.standing_markdown(record.iloc[0:0], 10000).startswith("*This build recorded neither")


def test_glossary_defines_exactly_the_shared_terms():
    text = (ROOT / "book" / "glossary.md").read_text(encoding="utf-8")
    body = text.split("```{glossary}")[1].split("```")[0]
    terms = [line for line in body.splitlines() if line and not line.startswith((" ", ":"))]
    assert terms == TERMS
    for term in TERMS:  # every definition links to a chapter
        definition = body.split(f"\n{term}\n", 1)[1].split("\n\n", 1)[0]
        assert re.search(r"\]\(\.\./notebooks/0[1-6]_\w+\.ipynb\)", definition), term


def test_the_new_pages_are_in_the_table_of_contents():
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    for page in ("book/published-results", "book/cheat-sheet", "book/glossary"):
        assert f"file: {page}\n" in toc
        assert (ROOT / f"{page}.md").is_file()
    for doc in results_page.GENERATED_DOCS:
        placeholders = re.findall(r"<!-- [a-z-]+ -->", (ROOT / f"{doc}.md").read_text(encoding="utf-8"))
        assert placeholders, doc


SMOKE_HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "smoke" / "_build" / "html"))


@pytest.mark.browser  # run by `make test-browser`, right after it builds the smoke book
@pytest.mark.skipif(not (SMOKE_HTML / "book" / "results.html").is_file(), reason="no smoke build of the book")
def test_smoke_build_pages_show_their_images():
    for page, image in (("results", "what-each-step-bought"), ("cheat-sheet", "error-analysis-flowchart")):
        html = (SMOKE_HTML / "book" / f"{page}.html").read_text(encoding="utf-8")
        assert not re.search(r"<!-- (results-table|steps-chart|cheat-sheet-[a-z]+) -->", html), page
        sources = re.findall(r'<img[^>]+src="([^"]*' + image + r'[^"]*)"', html)
        assert sources, page
        assert (SMOKE_HTML / "book" / sources[0]).resolve().is_file(), sources[0]
    glossary = (SMOKE_HTML / "book" / "glossary.html").read_text(encoding="utf-8")
    ids = {anchor.lower() for anchor in re.findall(r'id="term-([^"]+)"', glossary)}
    assert ids == {re.sub(r"[^a-z0-9]+", "-", term.lower()).strip("-") for term in TERMS}
