"""A small Sphinx extension: the pages filled from this build (results record, recipe, chapter 5's constants).

Each page below holds placeholders such as ``<!-- results-table -->``. The extension reads those pages last (after
every notebook has executed and appended to the record), always re-reads them, and replaces each placeholder with
Markdown computed at build time; the figures are drawn with matplotlib into ``_build/figures/<profile>/`` under the
book's source folder (git-ignored), which the pages include as images. No number on these pages is typed.

- ``book/results``: the results table (:func:`mnist_helpers.results.results_markdown`) and what each step bought
  (:mod:`steps_chart`).
- ``book/cheat-sheet``: the recipe (``mnist_helpers.recipes.CHAPTER4_BEST``) and the error-analysis flowchart with
  chapter 5's thresholds (:mod:`cheat_sheet`).
- ``book/published-results``: published MNIST results beside this build's models (:mod:`published`).
"""

from __future__ import annotations

from pathlib import Path

RESULTS_DOC = "book/results"
CHEAT_SHEET_DOC = "book/cheat-sheet"
PUBLISHED_DOC = "book/published-results"
GENERATED_DOCS = (RESULTS_DOC, CHEAT_SHEET_DOC, PUBLISHED_DOC)
PLACEHOLDER = "<!-- results-table -->"
STEPS_PLACEHOLDER = "<!-- steps-chart -->"
RECIPE_PLACEHOLDER = "<!-- cheat-sheet-recipe -->"
FLOWCHART_PLACEHOLDER = "<!-- cheat-sheet-flowchart -->"
PUBLISHED_PLACEHOLDER = "<!-- published-results -->"
CHAPTER5 = Path("notebooks") / "05_error_analysis.ipynb"


def figure_path(srcdir: Path, profile_name: str, name: str) -> Path:
    """Where a generated figure goes: ``<srcdir>/_build/figures/<profile>/<name>`` (git-ignored)."""
    return Path(srcdir) / "_build" / "figures" / profile_name / name


def _figure(srcdir: Path, path: Path, alt: str) -> str:
    """A MyST image for ``path``, given from the source folder (a leading slash), with its alt text."""
    relative = Path(path).resolve().relative_to(Path(srcdir).resolve()).as_posix()
    return f"```{{image}} /{relative}\n:alt: {alt}\n:width: 100%\n```"


def _test_size(profile) -> int:
    return profile.n_test or 10000


def steps_section(srcdir: Path, profile, results) -> str:
    """What each step bought: the chart, the noise sentences and the table of records."""
    import steps_chart

    n_test = _test_size(profile)
    frame = steps_chart.steps_frame(results, n_test)
    path = steps_chart.write_steps_figure(frame, figure_path(srcdir, profile.name, "what-each-step-bought.png"))
    alt = ("Bar chart of the test error of each step's model with its 95% Wilson interval, from the dense baseline to "
           "the ensemble, with the model each step is compared with and chapter 6's seeds beside the bars")
    return "\n\n".join([_figure(srcdir, path, alt), steps_chart.noise_markdown(frame, n_test),
                        steps_chart.mapping_markdown(frame)])


def cheat_sheet_parts(srcdir: Path, profile) -> tuple[str, str]:
    """The recipe table and the flowchart (its thresholds parsed from chapter 5's cells)."""
    import cheat_sheet
    from mnist_helpers.recipes import CHAPTER4_BEST

    thresholds = cheat_sheet.chapter_constants(Path(srcdir) / CHAPTER5)
    path = cheat_sheet.write_flowchart(thresholds, figure_path(srcdir, profile.name, "error-analysis-flowchart.png"))
    alt = ("Flowchart: underfitting leads to more capacity or longer training, overfitting to regularization or "
           "augmentation; otherwise each error is label noise, ambiguous or a model failure, with what to do for each")
    return cheat_sheet.recipe_markdown(CHAPTER4_BEST), _figure(srcdir, path, alt)


def published_section(profile, results) -> str:
    """The published results and this build's models, and where each of this build's models stands."""
    import published

    n_test = _test_size(profile)
    test_set = (published.OFFICIAL if profile.n_test is None
                else f"subset of {n_test:,} official test images ({profile.name} profile)")
    return (f"Profile of this build: **{profile.name}**.\n\n" + published.published_markdown(results, n_test, test_set)
            + "\n\n" + published.standing_markdown(results, n_test))


def _read_last(app, env, docnames):
    for doc in GENERATED_DOCS:
        if doc in docnames:
            docnames.remove(doc)
            docnames.append(doc)


def _always_outdated(app, env, added, changed, removed):
    return [doc for doc in GENERATED_DOCS if doc in env.found_docs]


def _fill(app, docname, source):
    if docname not in GENERATED_DOCS:
        return
    from mnist_helpers.config import get_profile
    from mnist_helpers.results import read_results, results_markdown

    profile = get_profile()
    srcdir = Path(app.srcdir)
    text = source[0]
    if docname == RESULTS_DOC:
        table = f"Profile of this build: **{profile.name}**.\n\n" + results_markdown(profile)
        text = text.replace(PLACEHOLDER, table)
        text = text.replace(STEPS_PLACEHOLDER, steps_section(srcdir, profile, read_results(profile)))
    elif docname == CHEAT_SHEET_DOC:
        recipe, flowchart = cheat_sheet_parts(srcdir, profile)
        text = text.replace(RECIPE_PLACEHOLDER, recipe).replace(FLOWCHART_PLACEHOLDER, flowchart)
    else:
        text = text.replace(PUBLISHED_PLACEHOLDER, published_section(profile, read_results(profile)))
    source[0] = text


def setup(app):
    app.connect("env-get-outdated", _always_outdated)
    app.connect("env-before-read-docs", _read_last)
    app.connect("source-read", _fill)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "0.2"}
