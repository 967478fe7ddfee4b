"""The cheat sheet's build-time parts: the recipe as a table (from ``mnist_helpers.recipes.CHAPTER4_BEST``) and chapter
5's diagnosis rules as a flowchart drawn with matplotlib, its thresholds read from chapter 5's visible cells."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

#: The constants of chapter 5's diagnosis rules, assigned in its visible cells.
THRESHOLDS = ("UNDERFIT_TRAIN_ACCURACY", "OVERFIT_GAP", "NOISE_CONFIDENCE", "NOISE_P_TRUE", "AMBIGUOUS_MARGIN")


def chapter_constants(notebook: Path, names: tuple[str, ...] = THRESHOLDS) -> dict[str, float]:
    """The numbers that ``notebook``'s code cells assign to ``names`` at top level (``NAME = 0.99``).

    Raises
    ------
    ValueError
        If a name is not assigned a number in any code cell, so that a renamed constant fails the build.
    """
    import nbformat

    found: dict[str, float] = {}
    for cell in nbformat.read(Path(notebook), as_version=4).cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source.replace("%", "#"))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                value = node.value.value if isinstance(node.value, ast.Constant) else None
                if name in names and isinstance(value, (int, float)):
                    found[name] = float(value)
    missing = [name for name in names if name not in found]
    if missing:
        raise ValueError(f"expected {Path(notebook).name} to assign a number to each of {list(names)}; "
                         f"not found: {missing}")
    return found


def recipe_markdown(recipe: dict[str, Any]) -> str:
    """The recipe dictionary (``CHAPTER4_BEST``) as a two-column Markdown table, every value taken from it."""
    model = recipe["model"]
    schedule = {"cosine": "cosine decay to zero over all epochs", "constant": "constant"}.get(recipe["schedule"],
                                                                                              recipe["schedule"])
    rows = [
        ("network", f"compact CNN: blocks of {', '.join(str(f) for f in model['filters'])} filters "
                    "(3 x 3 convolution, max pooling, batch normalization, ReLU, dropout), then a dense layer"),
        ("dense layer", f"{model['dense_units']} units"),
        ("batch normalization", "yes" if model["batch_norm"] else "no"),
        ("dropout", f"{model['dropout']} in the blocks, {model['dense_dropout']} before the output"),
        ("augmentation", f"{recipe['augment']} preset (chapter 4)"),
        ("optimizer", f"Adam, learning rate {recipe['learning_rate']:g}"),
        ("learning-rate schedule", schedule),
        ("epochs", f"{recipe['epochs']}, all trained; the last weights are kept"),
        ("batch size", str(recipe["batch_size"])),
        ("callbacks", ", ".join(recipe["callbacks"]) if recipe.get("callbacks") else "none"),
        ("seed", f"{recipe['seed']} (chapter 6 adds more)"),
    ]
    lines = ["| setting | value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines)


def plot_flowchart(thresholds: dict[str, float], ax=None):
    """Chapter 5's decisions as a flowchart: the fit diagnosis first, then each error's category, with what to do;
    the thresholds are ``thresholds`` (:func:`chapter_constants`). Returns the axes."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    missing = [name for name in THRESHOLDS if name not in thresholds]
    if missing:
        raise ValueError(f"expected a threshold for each of {list(THRESHOLDS)}, missing {missing}")
    t = thresholds
    ax = ax if ax is not None else plt.subplots(figsize=(10, 7.5))[1]
    ax.set_xlim(-1, 101)
    ax.set_ylim(0, 100)
    ax.axis("off")
    question, action, stop = "#dbe8f6", "#e3f1df", "#f6e6d0"

    def box(x, y, text, colour, width=30, height=10):
        ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.6",
                                    facecolor=colour, edgecolor="0.3", linewidth=1))
        ax.text(x, y, text, ha="center", va="center", fontsize=10.5)

    def arrow(start, end, label="", offset=(1.2, 0)):
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, color="0.3", linewidth=1))
        if label:
            ax.text((start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1], label, fontsize=10,
                    color="0.2", ha="left", va="center")

    box(30, 93, f"Underfitting?\ntraining accuracy < {t['UNDERFIT_TRAIN_ACCURACY']:g}", question, width=40)
    box(80, 93, "More capacity (wider or deeper CNN)\nor longer training", action)
    box(30, 73, f"Overfitting?\ntraining accuracy - validation accuracy > {t['OVERFIT_GAP']:g}", question, width=40)
    box(80, 73, "Regularization (dropout)\nor augmentation", action)
    box(30, 53, "Neither: look at the errors,\none by one (confidence, margin, runner-up)", question, width=40)
    box(18, 28, f"Label noise?\na known label error, or the answer gets\n>= {t['NOISE_CONFIDENCE']:g} "
                f"probability and the label < {t['NOISE_P_TRUE']:g}", question, width=33, height=13)
    box(53, 28, f"Ambiguous?\nthe label is the runner-up,\nless than {t['AMBIGUOUS_MARGIN']:g} behind the answer",
        question, width=29, height=13)
    box(85, 28, "Model failure:\neverything else", question, width=22, height=13)
    box(18, 7, "Look at the image: a wrong label\nis not for the model to \"fix\"", stop, width=33)
    box(53, 7, "A close call: would a person\nlabel it with confidence?", stop, width=26)
    box(85, 7, "What is left to win: augmentation\nfor the confused pairs (chosen on\nvalidation), seeds, ensembles",
        action, width=29, height=12)

    arrow((51, 93), (64, 93), "yes", (-6, 2))
    arrow((30, 88), (30, 78), "no")
    arrow((51, 73), (64, 73), "yes", (-6, 2))
    arrow((30, 68), (30, 58), "no")
    arrow((22, 48), (18, 34.5), "each error", (-1, 2))
    arrow((34, 48), (53, 34.5), "if not label noise", (-1, 2))
    arrow((46, 48), (85, 34.5), "if neither", (-6, 3))
    for x in (18, 53, 85):
        arrow((x, 21.5), (x, 12))
    ax.set_title("Error analysis: what to change next (thresholds from chapter 5, MNIST-specific)", fontsize=12)
    return ax


def write_flowchart(thresholds: dict[str, float], path: Path) -> Path:
    """Draw :func:`plot_flowchart` into a PNG at ``path`` (folders created) and return the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(12, 8.5))
    plot_flowchart(thresholds, ax=ax)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path
