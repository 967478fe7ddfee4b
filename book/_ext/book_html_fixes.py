"""Sphinx extension: keep each page's <script> list free of duplicates and of unused widget state.

With Sphinx 7.x (jupyter-book 1.x pins ``sphinx~=7.0``) an inline script added through
``app.add_js_file(None, body=...)`` after the HTML builder starts is registered twice: once with
filename ``None`` and once, when the builder prepares writing, with filename ``""``. The two do
not compare equal, so every page carries sphinx-thebe's ``const THEBE_JS_URL = ...`` twice and
the browser reports "Identifier 'THEBE_JS_URL' has already been declared" on every page (the
duplicated ``var togglebuttonSelector`` is harmless but goes too). ``tests/test_browser.py``
catches this class of error.

myst-nb embeds the ipywidgets state of an executed notebook (``<script
type="application/vnd.jupyter.widget-state+json">``, about 100 kB on chapter 5 in the smoke
build) for the widget manager it loads from a CDN. With ``nb_ipywidgets_js`` empty
(``_config.yml``) no manager reads it, and the book's widget cells keep no output, so the state
is dropped from the page too.
"""

from __future__ import annotations

from typing import Any

WIDGET_STATE_TYPE = "application/vnd.jupyter.widget-state+json"


def _script_key(script: Any) -> tuple:
    """What makes two script entries the same: source (None and "" alike) and attributes."""
    filename = getattr(script, "filename", script) or ""
    attributes = getattr(script, "attributes", {}) or {}
    return (filename, tuple(sorted((str(k), str(v)) for k, v in attributes.items())))


def unique_scripts(scripts: list[Any]) -> list[Any]:
    """The scripts in their order, each once."""
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    return unique


def without_widget_state(scripts: list[Any]) -> list[Any]:
    """The scripts without ipywidgets state blocks."""
    return [s for s in scripts if (getattr(s, "attributes", {}) or {}).get("type") != WIDGET_STATE_TYPE]


def dedupe_page_scripts(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """``html-page-context`` handler, run after the others: drop repeated scripts from the page, and
    the widget state when no widget manager is loaded (``nb_ipywidgets_js`` empty)."""
    if "script_files" in context:
        scripts = unique_scripts(list(context["script_files"]))
        if not getattr(app.config, "nb_ipywidgets_js", None):
            scripts = without_widget_state(scripts)
        context["script_files"] = scripts


def setup(app: Any) -> dict[str, Any]:
    """Register the handler late, after extensions that add page scripts."""
    app.connect("html-page-context", dedupe_page_scripts, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
