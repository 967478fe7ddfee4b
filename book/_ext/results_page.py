"""A small Sphinx extension: the results page shows the results record of this build's profile.

The page ``book/results`` holds the placeholder ``<!-- results-table -->``. The extension reads that
page last (after every notebook has executed and appended to the record), always re-reads it, and
replaces the placeholder with the table from :func:`mnist_helpers.results.results_markdown`.
"""

from __future__ import annotations

RESULTS_DOC = "book/results"
PLACEHOLDER = "<!-- results-table -->"


def _read_last(app, env, docnames):
    if RESULTS_DOC in docnames:
        docnames.remove(RESULTS_DOC)
        docnames.append(RESULTS_DOC)


def _always_outdated(app, env, added, changed, removed):
    return [RESULTS_DOC] if RESULTS_DOC in env.found_docs else []


def _fill(app, docname, source):
    if docname != RESULTS_DOC:
        return
    from mnist_helpers.config import get_profile
    from mnist_helpers.results import results_markdown

    profile = get_profile()
    table = f"Profile of this build: **{profile.name}**.\n\n" + results_markdown(profile)
    source[0] = source[0].replace(PLACEHOLDER, table)


def setup(app):
    app.connect("env-get-outdated", _always_outdated)
    app.connect("env-before-read-docs", _read_last)
    app.connect("source-read", _fill)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "0.1"}
