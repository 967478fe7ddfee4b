"""Sphinx extension: ``repository.url`` in ``_config.yml`` is the one setting for repository links.

The rule (also in the README, section "The repository URL"):

* **Placeholder** - the URL is a placeholder when its owner or name is the literal ``OWNER`` or
  ``REPO`` (the committed value is ``https://github.com/OWNER/REPO``), when it is jupyter-book's
  own default, ``https://github.com/executablebooks/jupyter-book`` (substituted when the key is
  left out), or when it is empty. Then the built book links to no repository: the repository,
  issues, edit and source buttons and every launch button (Binder, Colab, JupyterHub, Deepnote,
  JupyterLite, Thebe) are turned off, and the theme gets no repository URL. (jupyter-book itself
  stops with "you must specify the repository URL" when the URL is empty or missing while an
  ``html.use_*_button`` is on, before this extension runs: hence the OWNER/REPO placeholder.)
* **Set** - any other value must look like ``https://<host>/<owner>/<repo>`` on a host the theme
  can name (its name contains github, gitlab or bitbucket); the buttons ``_config.yml`` turns on
  then point at it. A value that is neither fails the build with a message saying what was expected.

jupyter-book copies ``repository.url`` into ``html_theme_options["repository_url"]`` and the
``html:`` button switches into the same dict; this extension adjusts that dict at ``config-inited``,
before sphinx-book-theme reads it (at ``builder-inited`` and on every page).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError

PLACEHOLDER_PARTS = frozenset({"OWNER", "REPO"})
JUPYTER_BOOK_DEFAULT_URL = "https://github.com/executablebooks/jupyter-book"
PROVIDERS = ("github", "gitlab", "bitbucket")  #: what sphinx-book-theme infers from the host
REPOSITORY_BUTTONS = ("use_repository_button", "use_issues_button", "use_edit_page_button", "use_source_button")
LAUNCH_URL_KEYS = ("binderhub_url", "jupyterhub_url", "colab_url", "deepnote_url", "jupyterlite_url")
EXAMPLE_URL = "https://github.com/<owner>/<repo>"


def repository_parts(url: str) -> list[str]:
    """The path segments of a repository URL, e.g. ['owner', 'repo'] (a trailing / or .git ignored)."""
    path = urlparse(url).path.strip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")]
    return [part for part in path.split("/") if part]


def is_placeholder(url: str | None) -> bool:
    """True when ``url`` is empty, names OWNER or REPO, or is jupyter-book's default URL."""
    text = (url or "").strip()
    if not text or text.rstrip("/") == JUPYTER_BOOK_DEFAULT_URL:
        return True
    return bool(PLACEHOLDER_PARTS & set(repository_parts(text)))


def check_repository_url(url: str) -> str:
    """A set repository URL without trailing slash; ConfigError when it is not https://<host>/<owner>/<repo>."""
    text = url.strip().rstrip("/")
    parsed = urlparse(text)
    problems = []
    if parsed.scheme != "https" or not parsed.hostname:
        problems.append("an https:// URL with a host")
    elif not any(provider in parsed.hostname for provider in PROVIDERS):
        problems.append(f"a host whose name contains {', '.join(PROVIDERS)}")
    if len(repository_parts(text)) < 2:
        problems.append("an owner and a repository name in the path")
    if problems:
        raise ConfigError(
            f"repository.url in _config.yml is {url!r}: expected {EXAMPLE_URL} ({'; '.join(problems)}), "
            "or the placeholder https://github.com/OWNER/REPO for a book without repository links"
        )
    return text


def without_repository(theme_options: dict[str, Any]) -> dict[str, Any]:
    """Theme options with no repository URL, no repository button and no launch button."""
    options = dict(theme_options)
    options["repository_url"] = ""
    for key in REPOSITORY_BUTTONS:
        options[key] = False
    launch = dict(options.get("launch_buttons") or {})
    for key in LAUNCH_URL_KEYS:
        launch[key] = ""
    launch["thebe"] = False
    options["launch_buttons"] = launch
    return options


def apply_repository_rule(theme_options: dict[str, Any]) -> dict[str, Any]:
    """The theme options after the rule: no repository links for a placeholder, a checked URL otherwise."""
    url = theme_options.get("repository_url")
    if is_placeholder(url):
        return without_repository(theme_options)
    return {**theme_options, "repository_url": check_repository_url(str(url))}


def on_config_inited(app: Sphinx, config: Config) -> None:
    """``config-inited`` handler: apply the rule to ``html_theme_options`` in place."""
    config.html_theme_options = apply_repository_rule(dict(config.html_theme_options or {}))


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the handler."""
    app.connect("config-inited", on_config_inited)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
