"""Chapter 5's plumbing: the predictions frame, its confusion pairs, the known label errors and the
static gallery. Tiny synthetic data, fixed seeds, no training."""

import io
import json
import re
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from mnist_helpers.analysis import confusion_pairs, format_top3, known_label_errors, predictions_frame
from mnist_helpers.gallery import MAX_GALLERY_BYTES, digit_png, gallery_html


def one_hot_probs(pairs):
    """Probabilities from explicit rows: each item is a dict {label: prob}, the rest spread evenly."""
    rows = []
    for spec in pairs:
        row = np.zeros(10)
        for label, p in spec.items():
            row[label] = p
        rest = 1.0 - row.sum()
        free = [d for d in range(10) if d not in spec]
        row[free] = rest / len(free)
        rows.append(row)
    return np.array(rows)


def random_case(n=300, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, 10)) * 3
    y = rng.integers(0, 10, n)
    logits[np.arange(n), y] += 3  # mostly right, some wrong
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    return probs, y, images


# --- predictions_frame -------------------------------------------------------------------------

def test_predictions_frame_columns_and_values():
    probs = one_hot_probs([{3: 0.7, 5: 0.2}, {1: 0.95}, {4: 0.5, 9: 0.45}])
    frame = predictions_frame(probs, np.array([3, 7, 9]), test_index=np.array([10, 20, 30]))
    assert list(frame.columns) == ["index", "true", "predicted", "confidence", "p_true", "margin", "second", "correct", "top3"]
    assert frame["index"].tolist() == [10, 20, 30]
    assert frame["predicted"].tolist() == [3, 1, 4]
    assert frame["second"].tolist() == [5, 0, 9]  # ties among the rest go to the smallest digit
    assert frame["correct"].tolist() == [True, False, False]
    np.testing.assert_allclose(frame["confidence"], [0.7, 0.95, 0.5])
    np.testing.assert_allclose(frame["margin"], [0.5, 0.95 - 0.05 / 9, 0.05])
    np.testing.assert_allclose(frame["p_true"], [0.7, 0.05 / 9, 0.45])
    assert frame.loc[0, "top3"][:2] == [(3, pytest.approx(0.7)), (5, pytest.approx(0.2))]
    assert frame["correct"].dtype == bool


def test_predictions_frame_default_index_is_arange():
    probs, y, _ = random_case(20)
    assert predictions_frame(probs, y)["index"].tolist() == list(range(20))


@pytest.mark.parametrize(
    "probs, y, index, message",
    [
        (np.full((4, 10), 0.1), np.zeros(3, int), None, r"y_true must have shape \(4,\).*got shape \(3,\)"),
        (np.full(10, 0.1), np.zeros(1, int), None, r"probs must have shape \(N, K\).*got shape \(10,\)"),
        (np.full((4, 10), 0.1), np.zeros(4, int), np.arange(5), r"test_index must have shape \(4,\).*got shape \(5,\)"),
        (np.full((4, 10), 0.1), np.array([0, 1, 2, 10]), None, r"labels 0..9.*0..10"),
        (np.full((4, 10), 0.1), np.zeros(4), None, r"integer labels.*float64"),
        (np.ones((4, 10)), np.zeros(4, int), None, r"sum to 1.*got sums from 10"),
    ],
)
def test_predictions_frame_rejects_bad_shapes(probs, y, index, message):
    with pytest.raises(ValueError, match=message):
        predictions_frame(probs, y, index)


# --- confusion pairs ---------------------------------------------------------------------------

def test_confusion_pairs_counts_and_order():
    # errors: (4, 9) three times, (7, 1) twice, (3, 5) and (2, 8) once each
    truth = [4, 4, 4, 7, 7, 3, 2, 0, 1]
    preds = [9, 9, 9, 1, 1, 5, 8, 0, 1]
    probs = one_hot_probs([{p: 0.9} for p in preds])
    pairs = confusion_pairs(predictions_frame(probs, np.array(truth)))
    assert list(pairs.columns) == ["true", "predicted", "count", "mean_confidence"]
    assert list(zip(pairs["true"], pairs["predicted"], pairs["count"])) == [(4, 9, 3), (7, 1, 2), (2, 8, 1), (3, 5, 1)]
    np.testing.assert_allclose(pairs["mean_confidence"], 0.9)


def test_confusion_pairs_empty_when_all_correct():
    probs = one_hot_probs([{d: 0.9} for d in range(10)])
    pairs = confusion_pairs(predictions_frame(probs, np.arange(10)))
    assert pairs.empty and "count" in pairs.columns


def test_confusion_pairs_needs_a_predictions_frame():
    with pytest.raises(ValueError, match=r"missing \['confidence'\]"):
        confusion_pairs(pd.DataFrame({"index": [0], "true": [1], "predicted": [2], "correct": [False]}))


# --- known label errors -------------------------------------------------------------------------

def test_known_label_errors_data():
    indices = known_label_errors()
    assert indices.dtype == np.int64
    assert indices.tolist() == [947, 1621, 1901, 2130, 2462, 2597, 2654, 3520, 3558, 5937, 6651, 6783, 8527, 9679, 9729]
    record = json.loads(resources.files("mnist_helpers").joinpath("data_files", "known_label_errors.json").read_text())
    assert "Northcutt" in record["citation"] and "2021" in record["citation"]


# --- static gallery -----------------------------------------------------------------------------

def test_digit_png_is_a_small_png():
    png = digit_png(np.zeros((28, 28), np.uint8))
    assert png.startswith(b"\x89PNG") and len(png) < 500
    from PIL import Image
    big = Image.open(io.BytesIO(digit_png(np.ones((28, 28, 1), np.float32), scale=3)))
    assert big.size == (84, 84) and big.getpixel((0, 0)) == 0  # white ink inverted to black
    with pytest.raises(ValueError, match=r"shape \(28, 28\).*got shape \(2, 28, 28\)"):
        digit_png(np.zeros((2, 28, 28), np.uint8))


def test_gallery_structure_and_order():
    probs, y, images = random_case(seed=2)
    frame = predictions_frame(probs, y, test_index=np.arange(len(y)) + 5000)
    page = gallery_html(frame, images, max_per_group=3)
    assert page.startswith('<div class="mnist-gallery">') and page.endswith("</div>")
    assert "<script" not in page.lower()
    pairs = confusion_pairs(frame)
    summaries = re.findall(r"<summary>(.*?)</summary>", page)
    assert len(summaries) == len(pairs) == page.count('<details class="mnist-gallery-group"')
    true, pred, count = (int(pairs.iloc[0][c]) for c in ("true", "predicted", "count"))
    assert summaries[0] == f"true {true} → predicted {pred} ({count} {'error' if count == 1 else 'errors'})"
    counts = [int(re.search(r"\((\d+) errors?\)", s).group(1)) for s in summaries]
    assert counts == sorted(counts, reverse=True)
    assert page.count("<img ") == sum(min(3, c) for c in counts)
    assert "image-rendering: pixelated" in page and "data:image/png;base64," in page
    assert "#5" in page and "conf " in page  # captions carry the test index and confidence


def test_gallery_limits_per_group_and_refuses_bad_limits():
    probs, y, images = random_case(seed=2)
    frame = predictions_frame(probs, y)
    page = gallery_html(frame, images, max_per_group=1)
    assert page.count("<img ") == page.count("<summary>") == len(confusion_pairs(frame))
    assert " open>" not in page and "at most 1 per pair" in page
    with pytest.raises(ValueError, match="max_per_group must be at least 1, got 0"):
        gallery_html(frame, images, max_per_group=0)
    with pytest.raises(ValueError, match="max_bytes must leave room"):
        gallery_html(frame, images, max_bytes=100)


def test_gallery_stays_under_the_size_limit():
    probs, y, images = random_case(n=3000, seed=4)  # noisy images compress badly: the worst case
    frame = predictions_frame(probs, y)
    page = gallery_html(frame, images, max_per_group=1000)
    assert len(page.encode()) <= MAX_GALLERY_BYTES
    small = gallery_html(frame, images, max_per_group=1000, max_bytes=60_000)
    assert len(small.encode()) <= 60_000
    assert "Size limit" in small and small.endswith("</div>")


def test_gallery_empty_and_mismatched_inputs():
    probs = one_hot_probs([{d: 0.9} for d in range(10)])
    frame = predictions_frame(probs, np.arange(10))
    page = gallery_html(frame, np.zeros((10, 28, 28), np.uint8))
    assert "No misclassified digits" in page and "<details" not in page
    with pytest.raises(ValueError, match=r"shape \(10, 28, 28\).*got shape \(9, 28, 28\)"):
        gallery_html(frame, np.zeros((9, 28, 28), np.uint8))


def test_format_top3():
    assert format_top3([(7, 0.62), (1, 0.3), (2, 0.004)]) == "7: 62%, 1: 30%, 2: 0.4%"
    assert format_top3([(7, 0.62), (1, 0.3)], sep=" · ") == "7: 62% · 1: 30%"
