"""Chapter 5's MisclassificationBrowser, driven through its widgets (no browser, no training)."""

import numpy as np
import pytest

from mnist_helpers.analysis import confusion_pairs, predictions_frame
from mnist_helpers.widgets import ALL_ERRORS, EMPTY_MESSAGE, MisclassificationBrowser


def make_case(n=200, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, 10)) * 3
    y = rng.integers(0, 10, n)
    logits[np.arange(n), y] += 2
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    frame = predictions_frame(probs, y, test_index=np.arange(n) * 7)
    return frame, images, probs


@pytest.fixture
def case():
    return make_case()


def test_starts_on_all_errors_most_confident_first(case):
    frame, images, probs = case
    browser = MisclassificationBrowser(frame, images, probs, per_page=12)
    n_errors = int((~frame["correct"]).sum())
    assert browser.pair_dropdown.value == ALL_ERRORS
    assert browser.pair_dropdown.options[0][0] == f"all errors ({n_errors})"
    assert len(browser.selection) == n_errors and not browser.selection["correct"].any()
    assert browser.selection["confidence"].is_monotonic_decreasing
    assert len(browser.grid.children) == 12
    assert browser.page_label.value.startswith(f"page 1 of {-(-n_errors // 12)}")
    assert browser.prev_button.disabled and not browser.next_button.disabled
    assert browser.message.value == ""


def test_dropdown_lists_pairs_by_count(case):
    frame, images, probs = case
    browser = MisclassificationBrowser(frame, images, probs)
    pairs = confusion_pairs(frame)
    labels = [label for label, _ in browser.pair_dropdown.options[1:]]
    first = pairs.iloc[0]
    assert labels[0] == f"true {int(first['true'])} → predicted {int(first['predicted'])} ({int(first['count'])})"
    assert len(labels) == len(pairs)


def test_selecting_a_pair_filters_and_resets_the_page(case):
    frame, images, probs = case
    browser = MisclassificationBrowser(frame, images, probs, per_page=5)
    browser.next_button.click()
    assert browser.page == 1
    true, pred = browser.pair_dropdown.options[1][1]
    browser.pair_dropdown.value = (true, pred)
    assert browser.page == 0
    selection = browser.selection
    assert len(selection) == confusion_pairs(frame).iloc[0]["count"]
    assert (selection["true"] == true).all() and (selection["predicted"] == pred).all()
    assert len(browser.grid.children) == min(5, len(selection))
    browser.pair_dropdown.value = ALL_ERRORS
    assert len(browser.selection) == int((~frame["correct"]).sum())


def test_sort_toggle_reverses_the_order(case):
    frame, images, probs = case
    browser = MisclassificationBrowser(frame, images, probs)
    browser.sort_toggle.value = "ascending"
    assert browser.selection["confidence"].is_monotonic_increasing
    first_caption = browser.grid.children[0].children[1].value
    least = browser.selection.iloc[0]
    assert f"#{int(least['index'])}" in first_caption and f"{least['confidence']:.1%}" in first_caption
    browser.sort_toggle.value = "descending"
    assert browser.selection["confidence"].is_monotonic_decreasing


def test_paging_with_buttons(case):
    frame, images, probs = case
    browser = MisclassificationBrowser(frame, images, probs, per_page=12)
    n = len(browser.selection)
    pages = browser.n_pages
    assert pages >= 3
    seen = []
    for _ in range(pages + 2):  # clicking past the end stays on the last page
        seen.extend(browser.page_rows["index"].tolist())
        if browser.next_button.disabled:
            break
        browser.next_button.click()
    assert browser.page == pages - 1 and browser.next_button.disabled and not browser.prev_button.disabled
    assert sorted(seen) == sorted(browser.selection["index"].tolist()) and len(seen) == n
    assert len(browser.grid.children) == n - 12 * (pages - 1)
    assert browser.page_label.value.startswith(f"page {pages} of {pages}")
    browser.prev_button.click()
    assert browser.page == pages - 2
    browser.go_to(-5)
    assert browser.page == 0 and browser.prev_button.disabled


def test_tiles_show_index_confidence_and_top3(case):
    frame, images, probs = case
    browser = MisclassificationBrowser(frame, images, probs)
    row = browser.selection.iloc[0]
    tile = browser.grid.children[0]
    image, caption = tile.children
    assert bytes(image.value).startswith(b"\x89PNG") and image.format == "png"
    top = np.argsort(-probs[browser.selection.index[0]])[:3]
    assert f"#{int(row['index'])}" in caption.value
    assert all(f"{d}: " in caption.value for d in top)


def test_top3_falls_back_to_the_frame_column(case):
    frame, images, _ = case
    browser = MisclassificationBrowser(frame, images)
    position = int(browser.selection.index[0])
    assert browser.top3(position) == [(d, pytest.approx(p)) for d, p in frame.loc[position, "top3"]]
    no_top3 = MisclassificationBrowser(frame.drop(columns="top3"), images)
    assert no_top3.top3(position) is None and "confidence" in no_top3.caption(position)


def test_empty_selection_shows_a_message():
    probs = np.full((4, 10), 0.01)
    probs[np.arange(4), [1, 2, 3, 4]] = 0.91
    frame = predictions_frame(probs, np.array([1, 2, 3, 4]))
    browser = MisclassificationBrowser(frame, np.zeros((4, 28, 28), np.uint8))
    assert browser.selection.empty and browser.grid.children == ()
    assert EMPTY_MESSAGE in browser.message.value
    assert browser.prev_button.disabled and browser.next_button.disabled
    browser.next_button.click()  # nothing to page through, and no failure
    browser.sort_toggle.value = "ascending"
    assert browser.page == 0 and browser.n_pages == 1 and browser.page_label.value == "no images"


def test_rejects_misaligned_inputs(case):
    frame, images, probs = case
    with pytest.raises(ValueError, match=r"images must have shape \(200, 28, 28\).*got shape \(199, 28, 28\)"):
        MisclassificationBrowser(frame, images[:-1])
    with pytest.raises(ValueError, match=r"probs must have shape \(200, K\)"):
        MisclassificationBrowser(frame, images, probs[:10])
    with pytest.raises(ValueError, match="missing"):
        MisclassificationBrowser(frame.drop(columns="confidence"), images)
    with pytest.raises(ValueError, match="at least 1"):
        MisclassificationBrowser(frame, images, per_page=0)


def test_has_a_display_entry_point(case):
    frame, images, probs = case
    browser = MisclassificationBrowser(frame, images, probs)
    bundle = browser._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


@pytest.fixture(scope="module")
def cnn():
    import keras

    from mnist_helpers.models import build_cnn

    keras.utils.set_random_seed(0)
    return build_cnn(filters=[4, 8], dense_units=8)


def _png_mode(png) -> str:
    import io

    from PIL import Image

    return Image.open(io.BytesIO(bytes(png))).mode


def test_gradcam_toggle_is_disabled_without_a_model(case):
    frame, images, probs = case
    browser = MisclassificationBrowser(frame, images, probs)
    assert browser.cam_toggle.description == "Grad-CAM" and browser.cam_toggle.disabled
    assert not browser.cam_toggle.value
    with pytest.raises(ValueError, match="needs the model"):
        browser.heat_maps([0])


def test_gradcam_toggle_overlays_heat_maps_and_keeps_the_other_controls(case, cnn):
    from mnist_helpers.explain import grad_cam, split_model

    frame, images, probs = case
    inputs = images / 255.0
    browser = MisclassificationBrowser(frame, inputs, probs, per_page=6, model=cnn)
    plain = [bytes(tile.children[0].value) for tile in browser.grid.children]
    captions = [tile.children[1].value for tile in browser.grid.children]
    assert not browser.cam_toggle.disabled and all(_png_mode(p) == "L" for p in plain)

    browser.cam_toggle.value = True
    overlaid = [bytes(tile.children[0].value) for tile in browser.grid.children]
    assert all(_png_mode(p) == "RGB" for p in overlaid) and overlaid != plain
    assert [tile.children[1].value for tile in browser.grid.children] == captions
    positions = browser.page_rows.index.to_numpy()
    expected = grad_cam(*split_model(cnn), inputs[positions][..., None], frame["predicted"].to_numpy()[positions])
    np.testing.assert_allclose(browser.heat_maps(positions), expected, atol=1e-6)

    browser.next_button.click()  # the next page gets its overlays too
    assert browser.page == 1 and all(_png_mode(t.children[0].value) == "RGB" for t in browser.grid.children)
    browser.pair_dropdown.value = browser.pair_dropdown.options[1][1]
    browser.sort_toggle.value = "ascending"
    assert browser.page == 0 and browser.selection["confidence"].is_monotonic_increasing
    assert all(_png_mode(t.children[0].value) == "RGB" for t in browser.grid.children)

    browser.cam_toggle.value = False
    browser.sort_toggle.value = "descending"
    browser.pair_dropdown.value = ALL_ERRORS
    assert [bytes(tile.children[0].value) for tile in browser.grid.children] == plain


def test_gradcam_needs_the_models_inputs(case, cnn):
    frame, images, probs = case
    with pytest.raises(ValueError, match=r"images must be its inputs \(floats in \[0, 1\].*got dtype uint8"):
        MisclassificationBrowser(frame, images, probs, model=cnn)


def test_gallery_shows_gradcam_beside_each_digit_given_the_model(case, cnn):
    from mnist_helpers.gallery import gallery_html

    frame, images, _ = case
    plain = gallery_html(frame, images / 255.0, max_per_group=2)
    with_cam = gallery_html(frame, images / 255.0, max_per_group=2, model=cnn)
    n_figures = plain.count("<figure")
    assert n_figures == with_cam.count("<figure") > 0
    assert plain.count("<img") == n_figures and with_cam.count("<img") == 2 * n_figures
    assert with_cam.count('title="Grad-CAM for ') == n_figures
    assert "Grad-CAM heat map for the predicted class" in with_cam and "Grad-CAM" not in plain
    with pytest.raises(ValueError, match="images must be its inputs"):
        gallery_html(frame, images, model=cnn)


def test_overlay_png_refuses_heat_outside_zero_to_one():
    from mnist_helpers.gallery import overlay_png

    image = np.zeros((28, 28), np.float32)
    assert overlay_png(image, np.ones((28, 28)), scale=2).startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="same 2-D shape"):
        overlay_png(image, np.ones((14, 14)))
    with pytest.raises(ValueError, match=r"heat values in \[0, 1\]"):
        overlay_png(image, np.full((28, 28), 2.0))
