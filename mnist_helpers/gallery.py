"""A kernel-free gallery of misclassified digits for the static book (chapter 5): one collapsible
``<details>`` group per confusion pair, the digits inlined as base64 PNGs, no JavaScript; given the
model, each digit also shows its Grad-CAM heat map (:mod:`mnist_helpers.explain`)."""

from __future__ import annotations

import base64
import html
import io

import numpy as np
import pandas as pd

from mnist_helpers.analysis import aligned_images, confusion_pairs, format_top3
from mnist_helpers.explain import explainer, grad_cam

MAX_GALLERY_BYTES = 5_000_000  # the largest gallery, in UTF-8 bytes
DISPLAY_PIXELS = 56  # CSS size of each 28 x 28 digit
_RESERVE = 2_000  # bytes kept for the wrapper, the note and the closing tags

_CSS = f"""<style>
.mnist-gallery {{ margin: 0.5em 0; }} .mnist-gallery .mnist-gallery-note {{ font-size: 0.9em; color: #555; margin: 0.2em 0 0.5em; }}
.mnist-gallery details.mnist-gallery-group {{ border: 1px solid #d0d7de; border-radius: 4px; margin: 0.3em 0; padding: 0.2em 0.6em; }}
.mnist-gallery details.mnist-gallery-group > summary {{ cursor: pointer; font-weight: 600; }}
.mnist-gallery .mnist-gallery-items {{ display: flex; flex-wrap: wrap; gap: 6px; margin: 0.4em 0; }}
.mnist-gallery figure {{ margin: 0; min-width: {DISPLAY_PIXELS + 16}px; text-align: center; }}
.mnist-gallery figure img {{ width: {DISPLAY_PIXELS}px; height: {DISPLAY_PIXELS}px; image-rendering: pixelated; border: 1px solid #ccc; }}
.mnist-gallery figcaption {{ font-size: 11px; line-height: 1.25; }}
</style>"""


def digit_png(image: np.ndarray, scale: int = 1) -> bytes:
    """One 28 x 28 digit (uint8 0-255 or floats in [0, 1], optional channel axis) as PNG bytes,
    dark ink on white like the book's plots, upscaled ``scale`` times with sharp pixels."""
    from PIL import Image

    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim != 2:
        raise ValueError(f"expected one image of shape (28, 28) or (28, 28, 1), got shape {image.shape}")
    if scale < 1:
        raise ValueError(f"scale must be a whole number >= 1, got {scale}")
    if image.dtype.kind == "f":
        image = np.clip(image * (255.0 if image.max(initial=0) <= 1.0 else 1.0), 0, 255)
    pixels = np.kron(255 - image.astype(np.uint8), np.ones((scale, scale), dtype=np.uint8))
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def overlay_png(image: np.ndarray, heat: np.ndarray, scale: int = 1, alpha: float = 0.6) -> bytes:
    """One digit (as :func:`digit_png` takes it) under a heat map of the same size with values in
    [0, 1], as RGB PNG bytes: the jet colour of each pixel's heat, mixed in by ``alpha`` times the
    heat, so that cold pixels keep the digit as it is."""
    import matplotlib
    from PIL import Image

    image = np.asarray(image)
    image = image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image
    heat = np.asarray(heat, dtype=np.float64)
    if image.shape != heat.shape or image.ndim != 2:
        raise ValueError(f"expected an image and a heat map of the same 2-D shape, got {image.shape} and {heat.shape}")
    if not np.isfinite(heat).all() or heat.min(initial=0) < 0 or heat.max(initial=0) > 1:
        raise ValueError("expected heat values in [0, 1], got values outside it or not finite")
    if scale < 1:
        raise ValueError(f"scale must be a whole number >= 1, got {scale}")
    ink = image.astype(np.float64) / (255.0 if image.dtype.kind in "iu" or image.max(initial=0) > 1 else 1.0)
    gray = np.repeat(1.0 - ink[..., None], 3, axis=-1)
    weight = alpha * heat[..., None]
    rgb = (1 - weight) * gray + weight * matplotlib.colormaps["jet"](heat)[..., :3]
    pixels = np.kron((rgb * 255).round().astype(np.uint8), np.ones((scale, scale, 1), dtype=np.uint8))
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _img(png: bytes, title: str) -> str:
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return (f'<img src="{uri}" width="{DISPLAY_PIXELS}" height="{DISPLAY_PIXELS}" style="image-rendering: pixelated" '
            f'alt="{title}" title="{title}">')


def _figure(row, image: np.ndarray, heat: np.ndarray | None = None) -> str:
    title = html.escape(f"test index {int(row['index'])}: label {int(row['true'])}, predicted {int(row['predicted'])}"
                        + ("; top 3: " + format_top3(row["top3"]) if row.get("top3") else ""))
    images = _img(digit_png(image), title)
    if heat is not None:
        images += _img(overlay_png(image, heat), html.escape(f"Grad-CAM for {int(row['predicted'])}: ") + title)
    return (f'<figure class="mnist-gallery-item">{images}<figcaption>#{int(row["index"])}'
            f'<br>conf {row["confidence"]:.1%}</figcaption></figure>')


def gallery_html(frame: pd.DataFrame, images: np.ndarray, max_per_group: int = 16,
                 max_bytes: int = MAX_GALLERY_BYTES, model=None) -> str:
    """A static HTML gallery of the misclassified digits (show it with ``IPython.display.HTML``).

    ``<div class="mnist-gallery">`` holds a note and, per (true, predicted) pair, most frequent
    first, a ``<details class="mnist-gallery-group">`` whose ``<summary>`` reads "true 4 →
    predicted 9 (12 errors)", with up to ``max_per_group`` digits, most confident first, each
    captioned with its test index and confidence. Given the ``model``, each digit is followed by
    its Grad-CAM heat map for the predicted class, overlaid on it.

    Parameters
    ----------
    frame : pandas.DataFrame
        A predictions frame (:func:`mnist_helpers.analysis.predictions_frame`).
    images : array of shape (N, 28, 28)
        The test images, row ``i`` belonging to row ``i`` of ``frame`` (positionally).
    max_bytes : int
        Upper bound on the UTF-8 size of the result; digits beyond it are left out, and the note says so.
    model : keras.Model, optional
        The Sequential CNN that made the predictions; ``images`` are then its inputs (floats in [0, 1]).

    Raises
    ------
    ValueError
        If ``images`` does not match the frame, or the limits are too small.
    """
    images = aligned_images(frame, images)
    parts = explainer(model, images)
    if max_per_group < 1:
        raise ValueError(f"max_per_group must be at least 1, got {max_per_group}")
    if max_bytes < len(_CSS) + _RESERVE + 500:
        raise ValueError(f"max_bytes must leave room for the page structure (at least {len(_CSS) + _RESERVE + 500}), got {max_bytes}")

    rows = frame.reset_index(drop=True)
    errors = rows[~rows["correct"]].sort_values(["confidence", "index"], ascending=[False, True])
    pairs = confusion_pairs(rows)
    heats: dict[int, np.ndarray] = {}
    if parts and not errors.empty:  # one Grad-CAM pass over every digit a group can show
        candidates = errors.groupby(["true", "predicted"], sort=False).head(max_per_group)
        maps = grad_cam(*parts, images[candidates.index][..., None], candidates["predicted"])
        heats = dict(zip(candidates.index, maps))
    groups: list[str] = []
    size, shown, full = len(_CSS.encode()), 0, False
    for pair in pairs.itertuples(index=False):
        summary = html.escape(f"true {pair.true} → predicted {pair.predicted} ({_plural(int(pair.count), 'error')})")
        group = f'<details class="mnist-gallery-group"><summary>{summary}</summary><div class="mnist-gallery-items">'
        size += len(group.encode()) + 20  # and "</div></details>"
        if full := size > max_bytes - _RESERVE:
            break
        members = errors[(errors["true"] == pair.true) & (errors["predicted"] == pair.predicted)].head(max_per_group)
        for position, row in members.iterrows():
            figure = _figure(row, images[position], heats.get(position))
            if full := size + len(figure.encode()) > max_bytes - _RESERVE:
                break
            group, size, shown = group + figure, size + len(figure.encode()), shown + 1
        groups.append(group + "</div></details>")
        if full:
            break

    note = "No misclassified digits: nothing to show." if errors.empty else (
        f"{_plural(len(errors), 'misclassified digit')} in {_plural(len(pairs), 'confusion pair')}; showing {shown}"
        + (f" in the {len(groups)} most frequent pairs" if len(groups) < len(pairs) else "")
        + f", at most {max_per_group} per pair, most confident first"
        + (", each beside its Grad-CAM heat map for the predicted class" if parts else "")
        + ". Click a pair to open it."
        + (f" (Size limit of {max_bytes:,} bytes reached: some digits are not shown.)" if full else ""))
    page = f'<div class="mnist-gallery">{_CSS}<p class="mnist-gallery-note">{html.escape(note)}</p>{"".join(groups)}</div>'
    assert len(page.encode()) <= max_bytes, f"gallery is {len(page.encode())} bytes, over the limit of {max_bytes}"
    return page

