"""Chapter 5's live browser of misclassified digits and chapter 4's augmentation sliders; both
need a running kernel (the static book shows :func:`mnist_helpers.gallery.gallery_html`)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mnist_helpers.analysis import aligned_images, check_frame, confusion_pairs, format_top3
from mnist_helpers.explain import explainer, grad_cam
from mnist_helpers.gallery import digit_png, overlay_png

ALL_ERRORS = "all errors"  #: the dropdown value that selects every misclassified image
EMPTY_MESSAGE = "No misclassified images in this selection."


class MisclassificationBrowser:
    """Page through the misclassified test digits, one confusion at a time (chapter 5).

    A dropdown picks a (true, predicted) pair, or all errors, each with its count; a toggle sorts by
    the model's confidence; a grid shows ``per_page`` digits captioned with their test index,
    confidence and top-3 probabilities; previous / next buttons page through the selection. Given
    the model, a "Grad-CAM" toggle overlays each digit with its Grad-CAM heat map for the predicted
    class (:mod:`mnist_helpers.explain`). Show it as the last expression of a cell.

    Parameters
    ----------
    frame : pandas.DataFrame
        A predictions frame (:func:`mnist_helpers.analysis.predictions_frame`).
    images : array of shape (N, 28, 28)
        The test images, row ``i`` belonging to row ``i`` of ``frame`` (positionally).
    probs : array of shape (N, K), optional
        Probabilities for the top-3 line (default: the frame's ``top3`` column, if any).
    per_page, columns, scale : int
        Digits per page and per grid row; upscaling of each digit.
    model : keras.Model, optional
        The Sequential CNN that made the predictions, for the Grad-CAM toggle (disabled without
        it); ``images`` are then its inputs (floats in [0, 1]).
    """

    def __init__(self, frame: pd.DataFrame, images: np.ndarray, probs: np.ndarray | None = None,
                 per_page: int = 12, columns: int = 6, scale: int = 3, model=None) -> None:
        import ipywidgets as widgets

        check_frame(frame)
        images = aligned_images(frame, images)
        if probs is not None:
            probs = np.asarray(probs)
            if probs.ndim != 2 or len(probs) != len(frame):
                raise ValueError(f"probs must have shape ({len(frame)}, K) to match the frame, got shape {probs.shape}")
        if per_page < 1 or columns < 1 or scale < 1:
            raise ValueError(f"per_page, columns and scale must be at least 1, got {per_page}, {columns}, {scale}")

        self._parts = explainer(model, images)
        self._rows = frame.reset_index(drop=True)
        self._errors = self._rows[~self._rows["correct"].astype(bool)]
        self._images, self._probs = images, probs
        self._png: dict[int, bytes] = {}
        self._cam_png: dict[int, bytes] = {}
        self.per_page, self.scale, self.page = per_page, scale, 0
        self.pairs = confusion_pairs(self._rows)

        options = [(f"all errors ({len(self._errors)})", ALL_ERRORS)] + [
            (f"true {t} → predicted {p} ({c})", (int(t), int(p)))
            for t, p, c in zip(self.pairs["true"], self.pairs["predicted"], self.pairs["count"])
        ]
        self.pair_dropdown = widgets.Dropdown(options=options, value=ALL_ERRORS, description="Confusion:",
                                              layout=widgets.Layout(width="320px"))
        self.sort_toggle = widgets.ToggleButtons(
            options=[("most confident first", "descending"), ("least confident first", "ascending")],
            value="descending", description="Order:", style={"button_width": "160px"})
        self.prev_button = widgets.Button(description="previous", icon="arrow-left", layout=widgets.Layout(width="110px"))
        self.next_button = widgets.Button(description="next", icon="arrow-right", layout=widgets.Layout(width="110px"))
        self.cam_toggle = widgets.ToggleButton(
            value=False, description="Grad-CAM", icon="eye", disabled=model is None, layout=widgets.Layout(width="120px"),
            tooltip="overlay the heat map of the predicted class" if model is not None else "needs the model")
        self.page_label = widgets.Label()
        self.message = widgets.HTML()
        self.grid = widgets.GridBox(layout=widgets.Layout(
            grid_template_columns=f"repeat({columns}, {28 * scale + 40}px)", grid_gap="10px 8px"))

        self.pair_dropdown.observe(lambda _: self.go_to(0), names="value")
        self.sort_toggle.observe(lambda _: self.go_to(0), names="value")
        self.prev_button.on_click(lambda _: self.go_to(self.page - 1))
        self.next_button.on_click(lambda _: self.go_to(self.page + 1))
        self.cam_toggle.observe(lambda _: self.refresh(), names="value")

        pager = widgets.HBox([self.prev_button, self.page_label, self.next_button, self.cam_toggle],
                             layout=widgets.Layout(align_items="center", grid_gap="12px"))
        self.widget = widgets.VBox([widgets.HBox([self.pair_dropdown, self.sort_toggle]), pager, self.message, self.grid])
        self.refresh()

    @property
    def selection(self) -> pd.DataFrame:
        """The errors of the chosen pair (or all errors), sorted by confidence as the toggle says,
        ties by test index; its index holds row positions in the frame (and the images)."""
        rows, pair = self._errors, self.pair_dropdown.value
        if pair != ALL_ERRORS:
            rows = rows[(rows["true"] == pair[0]) & (rows["predicted"] == pair[1])]
        ascending = self.sort_toggle.value == "ascending"
        return rows.sort_values(["confidence", "index"], ascending=[ascending, True], kind="stable")

    @property
    def n_pages(self) -> int:
        """Number of pages of the selection (at least 1, even when it is empty)."""
        return max(1, math.ceil(len(self.selection) / self.per_page))

    @property
    def page_rows(self) -> pd.DataFrame:
        """The rows shown on the current page."""
        return self.selection.iloc[self.page * self.per_page:(self.page + 1) * self.per_page]

    def go_to(self, page: int) -> None:
        """Show page ``page`` (0-based), clamped to the pages there are."""
        self.page = min(max(0, int(page)), self.n_pages - 1)
        self.refresh()

    def top3(self, position: int) -> list[tuple[int, float]] | None:
        """The three most probable digits of the frame row at ``position``, with probabilities."""
        if self._probs is not None:
            p = self._probs[position]
            return [(int(d), float(p[d])) for d in np.argsort(-p, kind="stable")[:3]]
        if "top3" in self._rows.columns:
            return [(int(d), float(q)) for d, q in self._rows.at[position, "top3"]]
        return None

    def caption(self, position: int) -> str:
        """The HTML caption of one digit: test index, label and answer, confidence, top 3."""
        row, top3 = self._rows.loc[position], self.top3(position)
        lines = [f"<b>#{int(row['index'])}</b> true {int(row['true'])} → {int(row['predicted'])}",
                 f"confidence {row['confidence']:.1%}"] + ([format_top3(top3, sep=" · ")] if top3 else [])
        return '<div style="font-size: 11px; line-height: 1.3">' + "<br>".join(lines) + "</div>"

    def heat_maps(self, positions) -> np.ndarray:
        """The Grad-CAM heat maps (N, 28, 28) of the frame rows at ``positions``, for their predicted
        class; ValueError without a model."""
        if self._parts is None:
            raise ValueError("Grad-CAM needs the model: pass model= to MisclassificationBrowser")
        positions = np.asarray(positions, dtype=np.int64)
        return grad_cam(*self._parts, self._images[positions][..., None], self._rows["predicted"].to_numpy()[positions])

    def _tile(self, position: int):
        import ipywidgets as widgets

        if self.cam_toggle.value:
            png = self._cam_png[position]
        else:
            if position not in self._png:
                self._png[position] = digit_png(self._images[position], scale=self.scale)
            png = self._png[position]
        size = f"{28 * self.scale}px"
        image = widgets.Image(value=png, format="png", layout=widgets.Layout(width=size, height=size))
        return widgets.VBox([image, widgets.HTML(self.caption(position))], layout=widgets.Layout(align_items="center"))

    def refresh(self) -> None:
        """Redraw the grid, the page label, the buttons and the message from the current state."""
        n = len(self.selection)
        self.page = min(self.page, self.n_pages - 1)
        rows = self.page_rows
        missing = [int(p) for p in rows.index if p not in self._cam_png]
        if self.cam_toggle.value and missing:
            for position, heat in zip(missing, self.heat_maps(missing)):
                self._cam_png[position] = overlay_png(self._images[position], heat, scale=self.scale)
        self.grid.children = tuple(self._tile(int(position)) for position in rows.index)
        self.message.value = "" if n else f"<p><i>{EMPTY_MESSAGE}</i></p>"
        first = self.page * self.per_page + 1
        self.page_label.value = (f"page {self.page + 1} of {self.n_pages} (images {first}-{first + len(rows) - 1} of {n})"
                                 if n else "no images")
        self.prev_button.disabled = self.page == 0
        self.next_button.disabled = self.page >= self.n_pages - 1

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def augmentation_explorer(images: np.ndarray, seed: int = 0):
    """Rotation and shift sliders above a handful of prepared ``images`` (N, 28, 28, 1) and their
    augmented copies, redrawn live (chapter 4); ``seed`` makes moving a slider back give the same
    picture. Returns an ``ipywidgets.VBox``."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    from mnist_helpers.augment import AugmentPreset, augment_images
    from mnist_helpers.plots import show_digits

    rotation = w.FloatSlider(value=10.0, min=0.0, max=60.0, step=5.0, description="rotation (°)")
    shift = w.FloatSlider(value=0.1, min=0.0, max=0.4, step=0.05, description="shift")
    out = w.Output()

    def redraw(*_):
        preset = AugmentPreset(rotation_degrees=rotation.value, translation=shift.value)
        with out:
            out.clear_output(wait=True)
            show_digits(np.concatenate([images, augment_images(images, preset, seed=seed)]), ncols=len(images), size=0.8)
            plt.show()

    rotation.observe(redraw, names="value")
    shift.observe(redraw, names="value")
    redraw()
    return w.VBox([w.HBox([rotation, shift]), out])
