"""A kernel-free gallery of misclassified digits for the static book (chapter 5).

:func:`gallery_html` turns a predictions frame and the test images into one self-contained HTML
string: one collapsible ``<details>`` group per (true, predicted) pair, with the digits inlined as
small base64 PNGs. It needs no JavaScript and no running kernel, so it works in the rendered book,
where the live :class:`mnist_helpers.widgets.MisclassificationBrowser` cannot.
"""

from __future__ import annotations

import base64
import html
import io

import numpy as np
import pandas as pd

from mnist_helpers.analysis import aligned_images, confusion_pairs, format_top3

#: The largest gallery :func:`gallery_html` produces, in bytes (UTF-8): 5 MB.
MAX_GALLERY_BYTES = 5_000_000
#: How large each 28 x 28 digit is drawn in the gallery, in CSS pixels (upscaled without blurring).
DISPLAY_PIXELS = 56
#: Bytes kept free for the closing tags and the "not shown" note when filling the budget.
_RESERVE = 2_000

_CSS = f"""<style>
.mnist-gallery {{ margin: 0.5em 0; }}
.mnist-gallery .mnist-gallery-note {{ font-size: 0.9em; color: #555; margin: 0.2em 0 0.5em; }}
.mnist-gallery details.mnist-gallery-group {{ border: 1px solid #d0d7de; border-radius: 4px; margin: 0.3em 0; padding: 0.2em 0.6em; }}
.mnist-gallery details.mnist-gallery-group > summary {{ cursor: pointer; font-weight: 600; }}
.mnist-gallery .mnist-gallery-items {{ display: flex; flex-wrap: wrap; gap: 6px; margin: 0.4em 0; }}
.mnist-gallery figure {{ margin: 0; width: {DISPLAY_PIXELS + 16}px; text-align: center; }}
.mnist-gallery figure img {{ width: {DISPLAY_PIXELS}px; height: {DISPLAY_PIXELS}px; image-rendering: pixelated; border: 1px solid #ccc; }}
.mnist-gallery figcaption {{ font-size: 11px; line-height: 1.25; }}
</style>"""


def digit_png(image: np.ndarray, scale: int = 1, invert: bool = True) -> bytes:
    """One 28 x 28 digit as PNG bytes (the gallery and the browser draw digits with it).

    Parameters
    ----------
    image : array of shape (28, 28) or (28, 28, 1)
        Raw uint8 pixels (0-255) or floats in [0, 1].
    scale : int
        Upscale by this whole factor with nearest-neighbour pixels (sharp, no blurring).
    invert : bool
        Dark ink on white, like the book's plots (``gray_r``); MNIST itself is white on black.
    """
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
    pixels = image.astype(np.uint8)
    if invert:
        pixels = 255 - pixels
    if scale > 1:
        pixels = np.kron(pixels, np.ones((scale, scale), dtype=np.uint8))
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _figure(row, image: np.ndarray) -> str:
    title = f"test index {int(row['index'])}: label {int(row['true'])}, predicted {int(row['predicted'])}"
    if isinstance(row.get("top3"), (list, tuple)) and row["top3"]:
        title += "; top 3: " + format_top3(row["top3"])
    uri = "data:image/png;base64," + base64.b64encode(digit_png(image)).decode("ascii")
    return (
        f'<figure class="mnist-gallery-item"><img src="{uri}" width="{DISPLAY_PIXELS}" '
        f'height="{DISPLAY_PIXELS}" style="image-rendering: pixelated" alt="{html.escape(title)}" '
        f'title="{html.escape(title)}"><figcaption>#{int(row["index"])}<br>conf {row["confidence"]:.1%}'
        f"</figcaption></figure>"
    )


def gallery_html(
    frame: pd.DataFrame,
    images: np.ndarray,
    max_per_group: int = 16,
    max_groups: int | None = None,
    max_bytes: int = MAX_GALLERY_BYTES,
    open_first: bool = False,
) -> str:
    """A static HTML gallery of the misclassified digits, grouped by confusion.

    The result is ``<div class="mnist-gallery">`` with a short note and, per (true, predicted)
    pair in order of frequency (:func:`mnist_helpers.analysis.confusion_pairs`), a
    ``<details class="mnist-gallery-group">`` whose ``<summary>`` reads
    "true 4 → predicted 9 (12 errors)" and which holds up to ``max_per_group`` digits, most
    confident first, each captioned with its test index and the model's confidence. Display it
    with ``IPython.display.HTML``; it uses no JavaScript.

    Parameters
    ----------
    frame : pandas.DataFrame
        A predictions frame (:func:`mnist_helpers.analysis.predictions_frame`).
    images : array of shape (N, 28, 28)
        The test images, row ``i`` belonging to row ``i`` of ``frame`` (positionally).
    max_per_group : int
        Most digits shown per pair.
    max_groups : int, optional
        Most pairs shown (default: all).
    max_bytes : int
        Upper bound on the size of the returned HTML in UTF-8 bytes; digits that would exceed it
        are left out, and the note says how many. Default :data:`MAX_GALLERY_BYTES` (5 MB).
    open_first : bool
        Render the first (most frequent) group expanded.

    Raises
    ------
    ValueError
        If ``images`` does not match the frame, or the limits are not positive.
    """
    images = aligned_images(frame, images)
    if max_per_group < 1 or (max_groups is not None and max_groups < 1):
        raise ValueError(f"max_per_group and max_groups must be at least 1, got {max_per_group} and {max_groups}")
    if max_bytes < len(_CSS) + _RESERVE + 500:
        raise ValueError(f"max_bytes must leave room for the page structure (at least {len(_CSS) + _RESERVE + 500}), got {max_bytes}")

    rows = frame.reset_index(drop=True)
    errors = rows[~rows["correct"]].sort_values(["confidence", "index"], ascending=[False, True])
    pairs = confusion_pairs(rows)
    shown_pairs = pairs if max_groups is None else pairs.head(max_groups)

    groups: list[str] = []
    size = len(_CSS.encode()) + 400  # the wrapper, the note and the closing tags
    shown = 0
    budget_hit = False
    for number, pair in enumerate(shown_pairs.itertuples(index=False)):
        members = errors[(errors["true"] == pair.true) & (errors["predicted"] == pair.predicted)].head(max_per_group)
        summary = f"true {pair.true} → predicted {pair.predicted} ({_plural(int(pair.count), 'error')})"
        head = (f'<details class="mnist-gallery-group"{" open" if open_first and number == 0 else ""}>'
                f"<summary>{html.escape(summary)}</summary><div class=\"mnist-gallery-items\">")
        tail = "</div></details>"
        figures: list[str] = []
        group_size = len(head.encode()) + len(tail.encode())
        if size + group_size > max_bytes - _RESERVE:
            budget_hit = True
            break
        for position, row in members.iterrows():
            figure = _figure(row, images[position])
            if size + group_size + len(figure.encode()) > max_bytes - _RESERVE:
                budget_hit = True
                break
            figures.append(figure)
            group_size += len(figure.encode())
        groups.append(head + "".join(figures) + tail)
        size += group_size
        shown += len(figures)
        if budget_hit:
            break

    n_errors = len(errors)
    note = (f"{_plural(n_errors, 'misclassified digit')} in {_plural(len(pairs), 'confusion pair')}; "
            f"showing {shown}" + (f" in the {len(groups)} most frequent pairs" if len(groups) < len(pairs) else "")
            + f", at most {max_per_group} per pair, most confident first. Click a pair to open it.")
    if budget_hit:
        note += f" (Size limit of {max_bytes:,} bytes reached: some digits are not shown.)"
    if n_errors == 0:
        note = "No misclassified digits: nothing to show."
    page = (f'<div class="mnist-gallery">{_CSS}<p class="mnist-gallery-note">{html.escape(note)}</p>'
            + "".join(groups) + "</div>")
    assert len(page.encode()) <= max_bytes, f"gallery is {len(page.encode())} bytes, over the limit of {max_bytes}"
    return page
