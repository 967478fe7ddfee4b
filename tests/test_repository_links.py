"""``repository.url`` is the one setting for repository links (book/_ext/repository_links.py).

The rule is tested on its own, then on built HTML: a tiny book made of the project's real
``_config.yml`` (notebooks not executed), one text page and one notebook chapter, built twice with
jupyter-book in a temporary folder, once with the placeholder URL and once with a set one. The two
builds run side by side and take about half a minute.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
EXT_DIR = REPO_ROOT / "book" / "_ext"
PLACEHOLDER_URL = "https://github.com/OWNER/REPO"
SET_URL = "https://github.com/example-org/example-book"
TEXT_PAGE = "book/intro"
NOTEBOOK_PAGE = "notebooks/02_dense_baseline"
PAGES = {TEXT_PAGE: ".md", NOTEBOOK_PAGE: ".ipynb"}
BUILD_TIMEOUT_S = 600
# Hosts of repository and launch links: github.com, mybinder.org, colab.research.google.com.
LINK_HOSTS = re.compile(r"(?:https?:)?//(?:[\w-]+\.)*(?:github\.com|mybinder\.org|colab\.research\.google\.com)[^\s\"'<>)]*", re.I)
LAUNCH_HOSTS = re.compile(r"mybinder\.org|colab\.research\.google\.com", re.I)
# Header buttons of sphinx-book-theme that point into the repository or launch the page elsewhere.
REPOSITORY_CLASSES = ("btn-source-", "btn-launch-", "dropdown-launch-buttons", "dropdown-source-buttons")


def load_extension() -> ModuleType:
    """book/_ext/repository_links.py as a module (book/_ext is not a package)."""
    spec = importlib.util.spec_from_file_location("repository_links", EXT_DIR / "repository_links.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


links = load_extension()


# --- The rule --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["", None, "  ", PLACEHOLDER_URL, PLACEHOLDER_URL + "/", "https://gitlab.com/OWNER/REPO",
                                 "https://github.com/example-org/REPO", "https://github.com/executablebooks/jupyter-book"])
def test_placeholders(url: str | None) -> None:
    """Empty, OWNER/REPO and jupyter-book's own default are placeholders."""
    assert links.is_placeholder(url), f"{url!r} should count as a placeholder"


@pytest.mark.parametrize("url", [SET_URL, SET_URL + "/", SET_URL + ".git", "https://gitlab.com/owner/repo"])
def test_set_urls(url: str) -> None:
    """A repository URL on a known host is not a placeholder and passes the check."""
    assert not links.is_placeholder(url), f"{url!r} should count as set"
    assert links.check_repository_url(url) == url.rstrip("/")


@pytest.mark.parametrize("url", ["github.com/example-org/example-book", "http://github.com/example-org/example-book",
                                 "https://github.com/example-org", "https://example.com/example-org/example-book"])
def test_malformed_urls_fail_the_build(url: str) -> None:
    """A value that is neither a placeholder nor a repository URL is refused, saying what was expected."""
    from sphinx.errors import ConfigError

    with pytest.raises(ConfigError, match=r"expected https://github.com/<owner>/<repo>"):
        links.apply_repository_rule({"repository_url": url})


def test_placeholder_turns_off_every_repository_and_launch_button() -> None:
    """With a placeholder the theme gets no URL, no repository button and no launch provider."""
    options = {
        "repository_url": PLACEHOLDER_URL, "use_repository_button": True, "use_issues_button": True,
        "use_edit_page_button": True, "use_download_button": True,
        "launch_buttons": {"notebook_interface": "classic", "binderhub_url": "https://mybinder.org",
                           "colab_url": "https://colab.research.google.com", "thebe": True},
    }
    after = links.apply_repository_rule(options)
    assert after["repository_url"] == ""
    assert not any(after[key] for key in links.REPOSITORY_BUTTONS), after
    assert not any(after["launch_buttons"].get(key) for key in (*links.LAUNCH_URL_KEYS, "thebe")), after["launch_buttons"]
    assert after["use_download_button"] is True and after["launch_buttons"]["notebook_interface"] == "classic"
    assert options["use_repository_button"] is True, "the rule must not change the dict it was given"


def test_set_url_keeps_the_buttons_the_config_turns_on() -> None:
    """With a set URL the options are left as they are (the URL without its trailing slash)."""
    options = {"repository_url": SET_URL + "/", "use_repository_button": True, "launch_buttons": {"colab_url": ""}}
    assert links.apply_repository_rule(options) == {**options, "repository_url": SET_URL}


# --- Built HTML ------------------------------------------------------------------------------


def jupyter_book_executable() -> str:
    """The jupyter-book next to this Python (the project's virtualenv), else the one on PATH."""
    beside = Path(sys.executable).parent / "jupyter-book"
    found = str(beside) if beside.is_file() else shutil.which("jupyter-book")
    if not found:
        pytest.fail(f"no jupyter-book beside {sys.executable} nor on PATH; install requirements.txt", pytrace=False)
    return found


def write_tiny_book(folder: Path, url: str) -> Path:
    """The project's _config.yml with ``repository.url`` = ``url`` and no execution, two pages, book/_ext."""
    config = yaml.safe_load((REPO_ROOT / "_config.yml").read_text(encoding="utf8"))
    config["repository"]["url"] = url
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    (folder / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf8")
    toc = {"format": "jb-book", "root": TEXT_PAGE, "chapters": [{"file": NOTEBOOK_PAGE}]}
    (folder / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False), encoding="utf8")
    for page, suffix in PAGES.items():
        target = folder / f"{page}{suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / f"{page}{suffix}", target)
    shutil.copytree(EXT_DIR, folder / "book" / "_ext", ignore=shutil.ignore_patterns("__pycache__"))
    return folder


@dataclass
class Build:
    """One tiny-book build: the repository URL it was given, its HTML folder and its log."""

    url: str
    html: Path
    log: str
    seconds: float

    def page(self, name: str) -> str:
        """The built HTML of a page; fails with the end of the build log when it is missing."""
        path = self.html / f"{name}.html"
        assert path.is_file(), f"{name}.html was not built with repository.url={self.url!r}; build log:\n{self.log[-3000:]}"
        return path.read_text(encoding="utf8")


def start_build(folder: Path) -> subprocess.Popen:
    """Start ``jupyter-book build`` of ``folder`` into ``folder/out``, output to a log file."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    log = (folder / "build.log").open("w", encoding="utf8")
    command = [jupyter_book_executable(), "build", str(folder), "--path-output", str(folder / "out"), "--builder", "html"]
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=folder)


def finish_build(process: subprocess.Popen, folder: Path, url: str, started: float) -> Build:
    """Wait for a build; fail with its log when it fails or times out."""
    try:
        code = process.wait(timeout=BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        code = None
    log = (folder / "build.log").read_text(encoding="utf8", errors="replace")
    if code != 0:
        outcome = f"timed out after {BUILD_TIMEOUT_S} s" if code is None else f"exited with {code}"
        pytest.fail(f"jupyter-book build with repository.url={url!r} {outcome}; log:\n{log[-4000:]}", pytrace=False)
    return Build(url=url, html=folder / "out" / "_build" / "html", log=log, seconds=time.monotonic() - started)


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Build]:
    """The tiny book built with the placeholder and with a set URL, both builds running at once."""
    started = time.monotonic()
    running = {}
    for kind, url in (("placeholder", PLACEHOLDER_URL), ("set", SET_URL)):
        folder = write_tiny_book(tmp_path_factory.mktemp(f"book-{kind}"), url)
        running[kind] = (start_build(folder), folder, url)
    return {kind: finish_build(process, folder, url, started) for kind, (process, folder, url) in running.items()}


class Anchors(HTMLParser):
    """The ``<a>`` elements of a page as (href, class) pairs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            values = dict(attrs)
            self.found.append((values.get("href") or "", values.get("class") or ""))


def anchors(html: str) -> list[tuple[str, str]]:
    """(href, class) of every link on a page."""
    parser = Anchors()
    parser.feed(html)
    return parser.found


def repository_buttons(html: str) -> list[str]:
    """The class attributes of every repository or launch button or menu on a page."""
    return [m.group(1) for m in re.finditer(r'class="([^"]*)"', html) if any(c in m.group(1) for c in REPOSITORY_CLASSES)]


def assert_header_rendered(build: Build, name: str, html: str) -> None:
    """The page has the theme's header buttons (the download menu), so missing buttons mean something."""
    source = f"_sources/{name}{PAGES[name]}"
    assert "btn-download-source-button" in html and source in html, (
        f"{name}.html ({build.url}): expected a download button for {source}; the header did not render as expected"
    )


@pytest.mark.parametrize("name", PAGES, ids=str)
def test_placeholder_book_links_no_repository(builds: dict[str, Build], name: str) -> None:
    """Placeholder URL: nothing on the page points at GitHub, Binder or Colab; no repository button."""
    build = builds["placeholder"]
    html = build.page(name)
    assert_header_rendered(build, name, html)
    found = sorted(set(LINK_HOSTS.findall(html)))
    assert not found, f"{name}.html with repository.url={PLACEHOLDER_URL!r}: expected no GitHub/Binder/Colab URL, found {found}"
    buttons = repository_buttons(html)
    assert not buttons, f"{name}.html with repository.url={PLACEHOLDER_URL!r}: expected no repository or launch button, found {buttons}"


@pytest.mark.parametrize("name", PAGES, ids=str)
def test_set_url_book_links_that_repository(builds: dict[str, Build], name: str) -> None:
    """Set URL: a repository button; every repository/launch button and GitHub URL starts with it; no Binder or Colab."""
    build = builds["set"]
    html = build.page(name)
    assert_header_rendered(build, name, html)
    buttons = [(href, cls) for href, cls in anchors(html) if any(c in cls for c in REPOSITORY_CLASSES)]
    repository = [href for href, cls in buttons if "btn-source-repository-button" in cls]
    assert repository, f"{name}.html with repository.url={SET_URL!r}: expected a repository button, found buttons {buttons}"
    elsewhere = [href for href, _ in buttons if not href.startswith(SET_URL)]
    assert not elsewhere, f"{name}.html: expected every repository/launch button to start with {SET_URL}, found {elsewhere}"
    foreign = sorted({u for u in LINK_HOSTS.findall(html) if not re.sub(r"^(?:https?:)?//", "https://", u).startswith(SET_URL)})
    assert not foreign, f"{name}.html: expected every GitHub/Binder/Colab URL to start with {SET_URL}, found {foreign}"
    launch = sorted(set(LAUNCH_HOSTS.findall(html)))
    assert not launch, f"{name}.html: Binder and Colab stay off with a set URL too, found {launch}"
