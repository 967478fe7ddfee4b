"""The rendered book as readers get it: every page of the table of contents in a real browser.

Playwright (sync API) drives Debian's Chromium (``/usr/bin/chromium``; nothing here downloads a
browser) against the built site, served by Python's ``http.server`` on 127.0.0.1. Every request is
recorded; one to any other host (a font or script CDN, ...) is aborted, so the test runs offline,
and fails the page: the book ships everything its pages load.

The built site is read from ``$BOOK_HTML`` if set, else ``_build/smoke/_build/html`` when
``MNIST_PROFILE=smoke``, else ``_build/html``. Full-page screenshots go to
``_build/screenshots/<profile>/<page-name>.png``.

Run with ``make test-browser`` or, after ``make book MNIST_PROFILE=smoke``,
``MNIST_PROFILE=smoke .venv/bin/python -m pytest tests -m browser -v``.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import pytest
import yaml

if TYPE_CHECKING:  # playwright is imported where it is used, so `-m "not browser"` runs need not load it
    from playwright.sync_api import Browser, ConsoleMessage, ElementHandle, Locator, Page, Request, Response, Route

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
SOURCE_SUFFIXES = (".ipynb", ".md", ".rst")
GALLERY_PAGE = "notebooks/05_error_analysis"
TIMEOUT_MS = 60_000
BUILD_HINT = "Build it first: `make book MNIST_PROFILE=smoke` (then run this test with MNIST_PROFILE=smoke)."


# --- The table of contents -------------------------------------------------------------------


def _strip_suffix(name: str) -> str:
    """A toc entry without its source suffix, e.g. 'notebooks/01_pipeline'."""
    for suffix in SOURCE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _glob_entries(pattern: str) -> list[str]:
    """The source files a toc ``glob:`` entry matches, as toc names."""
    names = {_strip_suffix(str(p.relative_to(REPO_ROOT))) for p in REPO_ROOT.glob(pattern) if p.suffix in SOURCE_SUFFIXES}
    return sorted(names)


def _walk_toc(node: object) -> Iterator[str]:
    """Every ``file:`` (and ``glob:``) entry below a node of the parsed toc, in order."""
    if isinstance(node, dict):
        if isinstance(node.get("file"), str):
            yield _strip_suffix(node["file"])
        if isinstance(node.get("glob"), str):
            yield from _glob_entries(node["glob"])
        for key, value in node.items():
            if key not in ("file", "glob", "root"):
                yield from _walk_toc(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk_toc(item)


def toc_pages(toc_path: Path = REPO_ROOT / "_toc.yml") -> list[str]:
    """The root and every page of the table of contents, without suffix, each once."""
    toc = yaml.safe_load(toc_path.read_text(encoding="utf8"))
    pages = [_strip_suffix(toc["root"]), *_walk_toc(toc)]
    return list(dict.fromkeys(pages))


PAGES = toc_pages()


def screenshot_name(page: str, pages: list[str] = PAGES) -> str:
    """The screenshot file name of a page: its base name, or its whole path if that is ambiguous."""
    base = Path(page).name
    clashes = [p for p in pages if Path(p).name == base]
    return base if len(clashes) <= 1 else page.replace("/", "--")


# --- Locations and environment ---------------------------------------------------------------


def profile() -> str:
    """The book profile under test ('full' unless MNIST_PROFILE says otherwise)."""
    return os.environ.get("MNIST_PROFILE", "full") or "full"


def html_dir() -> Path:
    """The built HTML folder: $BOOK_HTML, else the smoke or full build folder."""
    if os.environ.get("BOOK_HTML"):
        return Path(os.environ["BOOK_HTML"]).resolve()
    if profile() == "smoke":
        return REPO_ROOT / "_build" / "smoke" / "_build" / "html"
    return REPO_ROOT / "_build" / "html"


def screenshot_dir() -> Path:
    """Where full-page screenshots of this profile go (created on demand)."""
    folder = REPO_ROOT / "_build" / "screenshots" / profile()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def is_local(url: str) -> bool:
    """True for URLs the test serves itself (or that need no network at all)."""
    parsed = urlparse(url)
    if parsed.scheme in ("data", "blob", "about"):
        return True
    return parsed.hostname in LOCAL_HOSTS


def short(url: str, limit: int = 120) -> str:
    """A URL cut to a readable length (data: URIs are long)."""
    return url if len(url) <= limit else url[:limit] + "..."


# --- What went wrong on a page ---------------------------------------------------------------


@dataclass
class PageProblems:
    """Errors seen while a page was open; ``requests`` records every request the page made."""

    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    bad_responses: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def errors(self) -> list[str]:
        """Every problem that counts as a failure, one line each; a request to another host is one."""
        return (
            [f"JavaScript error: {e}" for e in self.page_errors]
            + [f"console error: {e}" for e in self.console_errors]
            + [f"request failed: {e}" for e in self.failed_requests]
            + [f"HTTP error: {e}" for e in self.bad_responses]
            + [f"request to another host (expected only {'/'.join(sorted(LOCAL_HOSTS))}): {short(u)}" for u in self.blocked]
        )

    def on_console(self, message: ConsoleMessage) -> None:
        """Keep console errors, except the ones caused by aborting an external request (reported as such)."""
        if message.type != "error":
            return
        where = message.location.get("url", "") if message.location else ""
        caused_by_block = "Failed to load resource" in message.text and (where in self.blocked or not is_local(where))
        if not caused_by_block:
            self.console_errors.append(f"{message.text} (at {short(where)})")

    def on_request_failed(self, request: Request) -> None:
        """Keep failures of local requests; external ones were aborted here and are reported as such."""
        if request.url not in self.blocked and is_local(request.url):
            self.failed_requests.append(f"{short(request.url)}: {request.failure}")

    def on_response(self, response: Response) -> None:
        """Keep local responses with an HTTP error status."""
        if response.status >= 400 and is_local(response.url):
            self.bad_responses.append(f"{response.status} {short(response.url)}")

    def route(self, route: Route) -> None:
        """Record every request; let local ones through, abort (and remember) every other one."""
        url = route.request.url
        self.requests.append(url)
        if is_local(url):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()


# --- Fixtures: site, server, browser, page ---------------------------------------------------


@pytest.fixture(scope="session")
def site() -> Path:
    """The built HTML folder; fails with the command that builds it when it is missing."""
    folder = html_dir()
    if not (folder / "index.html").is_file():
        pytest.fail(f"No built book at {folder} (no index.html). {BUILD_HINT}", pytrace=False)
    return folder


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """A static file handler that does not log every request to stderr."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - signature of the base class
        pass


@pytest.fixture(scope="session")
def base_url(site: Path) -> Iterator[str]:
    """Serve the built site on 127.0.0.1 on a free port, in a background thread."""
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="book-http-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def require_chromium() -> Path:
    """Debian's Chromium; skip without it, except in CI (CI=true), where it must be there."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    reason = (
        f"Chromium not found at {CHROMIUM}; install Debian's package: `apt-get install -y chromium` "
        "(the test never downloads a browser of its own)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """A headless Chromium driven by Playwright; Playwright gives it a fresh temporary profile."""
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(executable), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Tab:
    """A browser page and the problems seen on it."""

    page: Page
    problems: PageProblems
    base_url: str

    def open(self, name: str) -> Response | None:
        """Load ``<name>.html``; returns the main response."""
        return self.page.goto(f"{self.base_url}/{name}.html", wait_until="load")


def watch(page: Page) -> PageProblems:
    """Record the requests and problems of ``page``; requests to other hosts are aborted and count."""
    problems = PageProblems()
    page.route("**/*", problems.route)
    page.on("pageerror", lambda error: problems.page_errors.append(str(error)))
    page.on("console", problems.on_console)
    page.on("requestfailed", problems.on_request_failed)
    page.on("response", problems.on_response)
    return problems


@pytest.fixture
def tab(browser: Browser, base_url: str) -> Iterator[Tab]:
    """A fresh browser context and page with every request and problem recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems = watch(page)
    try:
        yield Tab(page=page, problems=problems, base_url=base_url)
    finally:
        context.close()


# --- Page helpers ------------------------------------------------------------------------------

SCROLL_THROUGH_JS = """async () => {
    const step = Math.max(200, Math.floor(window.innerHeight * 0.8));
    for (let y = 0; y < document.documentElement.scrollHeight; y += step) {
        window.scrollTo(0, y);
        await new Promise(resolve => setTimeout(resolve, 50));
    }
    window.scrollTo(0, document.documentElement.scrollHeight);
    await new Promise(resolve => setTimeout(resolve, 100));
}"""

IMAGES_SETTLED_JS = """(onlyShown) => Array.from(document.images)
    .filter(img => !onlyShown || !img.closest('details:not([open])'))
    .every(img => img.complete)"""

IMAGE_REPORT_JS = """(root) => Array.from((root || document).querySelectorAll('img')).map(img => ({
    src: img.currentSrc || img.src || img.getAttribute('src') || '',
    complete: img.complete,
    width: img.naturalWidth,
}))"""


def scroll_through(page: Page) -> None:
    """Scroll to the bottom in steps so lazy images load, then back to the top."""
    page.evaluate(SCROLL_THROUGH_JS)
    page.evaluate("window.scrollTo(0, 0)")


def wait_for_images(page: Page, only_shown: bool) -> None:
    """Wait until images have finished loading (or failing); broken ones are reported later."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(IMAGES_SETTLED_JS, arg=only_shown, timeout=TIMEOUT_MS)
    except PlaywrightTimeout:
        pass  # the image check names the images that never loaded


def broken_images(page: Page, root: ElementHandle | None = None) -> list[str]:
    """Images (in ``root``, default the whole page) that did not load: naturalWidth 0."""
    report = page.evaluate(IMAGE_REPORT_JS, root)
    return [describe_image(i) for i in report if i["width"] <= 0]


def describe_image(image: dict) -> str:
    """One line about an image that did not load."""
    note = "" if is_local(image["src"]) else " [on another host: ship it with the book]"
    return f"{short(image['src'])} (complete={image['complete']}, naturalWidth={image['width']}){note}"


def open_all_details(page: Page) -> None:
    """Open every <details> element so the images inside them are shown and loaded."""
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")


def assert_no_errors(problems: PageProblems, name: str) -> None:
    """Fail with every JavaScript/console/request error seen on the page."""
    errors = problems.errors()
    assert not errors, f"{name}.html: {len(errors)} error(s) in the browser:\n  " + "\n  ".join(errors)


# --- Tests -----------------------------------------------------------------------------------


def test_toc_lists_pages() -> None:
    """The table of contents parses and names at least the root page."""
    assert PAGES, "no pages found in _toc.yml"
    assert len({screenshot_name(p) for p in PAGES}) == len(PAGES), "two pages would share a screenshot name"


@pytest.mark.parametrize("name", PAGES, ids=str)
def test_page_renders(tab: Tab, site: Path, name: str) -> None:
    """The page loads (HTTP 200), logs no JavaScript error, and every image on it loads."""
    assert (site / f"{name}.html").is_file(), f"{name}.html is in _toc.yml but not in {site}. {BUILD_HINT}"
    response = tab.open(name)
    assert response is not None and response.status == 200, f"{name}.html: HTTP {response and response.status}"
    assert tab.page.locator("article h1").count() > 0, f"{name}.html has no page title (article h1)"
    assert f"{name}.html" in " ".join(tab.problems.requests), f"{name}.html: the request watcher saw no request for the page itself"

    scroll_through(tab.page)
    wait_for_images(tab.page, only_shown=True)
    shot = screenshot_dir() / f"{screenshot_name(name)}.png"
    tab.page.screenshot(path=str(shot), full_page=True)

    open_all_details(tab.page)
    scroll_through(tab.page)
    wait_for_images(tab.page, only_shown=False)
    problems = tab.problems.errors() + [f"image did not load: {b}" for b in broken_images(tab.page)]
    assert not problems, f"{name}.html: {len(problems)} problem(s) in the browser:\n  " + "\n  ".join(problems)


def first_notebook_page() -> str | None:
    """The first chapter in the toc whose source is a notebook."""
    return next((p for p in PAGES if (REPO_ROOT / f"{p}.ipynb").is_file()), None)


def repository_rule() -> ModuleType:
    """book/_ext/repository_links.py, the rule that decides whether repository.url is set."""
    spec = importlib.util.spec_from_file_location("repository_links", REPO_ROOT / "book" / "_ext" / "repository_links.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def configured_repository_url(config_path: Path = REPO_ROOT / "_config.yml") -> str | None:
    """``repository.url`` from _config.yml, or None while it is a placeholder."""
    url = (yaml.safe_load(config_path.read_text(encoding="utf8")).get("repository") or {}).get("url")
    rule = repository_rule()
    return None if rule.is_placeholder(url) else rule.check_repository_url(url)


def test_notebook_page_header_buttons(tab: Tab) -> None:
    """A notebook chapter offers its .ipynb and copy buttons on code; no Binder or Colab button; a
    repository button, linking to repository.url, only when that is set (not a placeholder)."""
    name = first_notebook_page()
    if name is None:
        pytest.skip("no notebook chapter in _toc.yml")
    tab.open(name)
    page = tab.page
    download_selector = f'a[href$="_sources/{name}.ipynb"]'
    assert page.locator(download_selector).count() > 0, f"{name}.html lacks a download link to its .ipynb"
    launch = page.locator('a[href*="mybinder.org"], a[href*="colab.research.google.com"]').evaluate_all("as => as.map(a => a.href)")
    assert not launch, f"{name}.html: expected no Binder or Colab link (they stay off), found {launch}"

    repository_url = configured_repository_url()
    buttons = page.locator("a.btn-source-repository-button").evaluate_all("as => as.map(a => a.href)")
    if repository_url is None:
        github = page.locator('a[href*="github.com"]').evaluate_all("as => as.map(a => a.href)")
        assert not buttons and not github, (
            f"{name}.html: repository.url is a placeholder, so expected no repository button or GitHub link; "
            f"found buttons {buttons}, links {github} (is the build older than _config.yml?)"
        )
    else:
        assert buttons, f"{name}.html: repository.url is {repository_url}, expected a repository button, found none"
        elsewhere = [href for href in buttons if not href.startswith(repository_url)]
        assert not elsewhere, f"{name}.html: expected the repository button to link to {repository_url}, found {elsewhere}"

    download = page.locator(download_selector).first.get_attribute("href")
    fetched = page.request.get(f"{tab.base_url}/{Path(name).parent}/{download}")
    assert fetched.ok, f"download link {download} of {name}.html answers HTTP {fetched.status}"
    assert '"cells"' in fetched.text(), f"download link {download} of {name}.html is not a notebook"

    code_buttons = page.locator("div.cell_input button.copybtn").count()
    output_buttons = page.locator("div.cell_output button.copybtn").count()
    assert code_buttons > 0, f"{name}.html: no copy button on code cells"
    assert output_buttons == 0, f"{name}.html: {output_buttons} copy button(s) on cell outputs"
    assert_no_errors(tab.problems, name)


def test_copy_button_copies_code(browser: Browser, base_url: str) -> None:
    """Clicking a copy button puts the cell's code on the clipboard."""
    name = first_notebook_page()
    if name is None:
        pytest.skip("no notebook chapter in _toc.yml")
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    try:
        page = context.new_page()
        problems = watch(page)
        page.goto(f"{base_url}/{name}.html", wait_until="load")
        cell = page.locator("div.cell_input div.highlight:visible").first
        expected = cell.locator("pre").inner_text().strip()
        cell.hover()
        cell.locator("button.copybtn").click()
        copied = page.evaluate("navigator.clipboard.readText()").strip()
        assert copied == expected, f"{name}.html: copy button copied {copied!r}, expected {expected!r}"
        assert_no_errors(problems, name)
    finally:
        context.close()


# --- What the built pages reference, read from the files ---------------------------------------

# Attributes through which a page loads something (a <link> only for the relations below).
RESOURCE_ATTRIBUTES = {
    "script": ("src",), "link": ("href",), "img": ("src", "srcset"), "iframe": ("src",), "source": ("src", "srcset"),
    "video": ("src", "poster"), "audio": ("src",), "track": ("src",), "embed": ("src",), "object": ("data",),
    "input": ("src",),
}
LOADED_LINK_RELS = {"stylesheet", "preload", "prefetch", "modulepreload", "icon", "apple-touch-icon", "manifest",
                    "preconnect", "dns-prefetch"}
CSS_REFERENCE = re.compile(r"""@import\s+(?:url\(\s*)?["']?([^"')\s;]+)|url\(\s*["']?([^"')]+)""", re.I)
WIDGET_VIEW_TYPE = "application/vnd.jupyter.widget-view+json"


def on_other_host(url: str) -> bool:
    """True for an absolute (or protocol-relative) http(s) URL: relative and data: URLs stay on the site."""
    parsed = urlparse(url.strip())
    return bool(parsed.netloc) and parsed.scheme in ("http", "https", "")


def css_references(css: str) -> list[str]:
    """The URLs of ``@import`` and ``url(...)`` in a stylesheet."""
    return [a or b for a, b in CSS_REFERENCE.findall(css)]


class PageResources(HTMLParser):
    """What a page loads: resource URLs (tag, attribute, URL), CSS references, widget outputs."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []
        self.widget_views = 0
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "link" and not LOADED_LINK_RELS & set(values.get("rel", "").lower().split()):
            return
        for name in RESOURCE_ATTRIBUTES.get(tag, ()):
            for url in values.get(name, "").split(",") if name == "srcset" else [values.get(name, "")]:
                if url.strip():
                    self.urls.append((tag, name, url.strip().split()[0]))
        if "style" in values:
            self.urls += [(tag, "style", url) for url in css_references(values["style"])]
        self._in_style = tag == "style"
        self.widget_views += tag == "script" and values.get("type") == WIDGET_VIEW_TYPE

    def handle_endtag(self, tag: str) -> None:
        self._in_style = self._in_style and tag != "style"

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls += [("style", "css", url) for url in css_references(data)]


def page_resources(html: str) -> PageResources:
    """Parse a built page for what it loads."""
    parser = PageResources()
    parser.feed(html)
    return parser


def built_pages(site: Path) -> list[Path]:
    """Every built HTML page (the theme's template snippets in _static are not pages)."""
    return sorted(p for p in site.rglob("*.html") if not {"_static", "_sources"} & set(p.relative_to(site).parts))


def test_pages_load_nothing_from_other_hosts(site: Path) -> None:
    """No page, inline style or stylesheet of the site references a script, style, font or image on another host."""
    found = []
    for path in built_pages(site):
        urls = page_resources(path.read_text(encoding="utf8")).urls
        found += [f"{path.relative_to(site)}: <{tag} {attr}> {short(url)}" for tag, attr, url in urls if on_other_host(url)]
    for path in sorted(site.rglob("*.css")):
        urls = css_references(path.read_text(encoding="utf8", errors="replace"))
        found += [f"{path.relative_to(site)}: {short(url)}" for url in urls if on_other_host(url)]
    assert not found, f"expected every resource to come from the site itself, found {len(found)} on other hosts:\n  " + "\n  ".join(found)


def test_no_page_shows_a_widget_output(site: Path) -> None:
    """A widget output renders as an empty area in the static book (no kernel, no widget manager)."""
    found = [f"{p.relative_to(site)}: {n}" for p in built_pages(site) if (n := page_resources(p.read_text(encoding="utf8")).widget_views)]
    assert not found, (
        "expected no ipywidgets output on a page (it would show nothing); tag the cell `remove-output` and show a "
        "static rendering instead (as chapter 5's gallery does). Widget outputs per page:\n  " + "\n  ".join(found)
    )


# --- Chapter 5: the kernel-free misclassification gallery --------------------------------------

GALLERY_IMAGES_JS = """(root) => Array.from(root.querySelectorAll('img')).map(img => img.getAttribute('src') || '')"""


def gallery_page_or_skip(site: Path) -> str:
    """The chapter-5 page name; skip while it is not in the toc yet."""
    if GALLERY_PAGE not in PAGES:
        pytest.skip(f"{GALLERY_PAGE} is not in _toc.yml yet")
    if not (site / f"{GALLERY_PAGE}.html").is_file():
        pytest.fail(f"{GALLERY_PAGE} is in _toc.yml but {GALLERY_PAGE}.html is not built. {BUILD_HINT}", pytrace=False)
    return GALLERY_PAGE


def closed_group(page: Page) -> Locator:
    """A closed gallery group: the first closed one, or the first group after closing it by a click.

    The group is addressed by its position, so the locator still means the same group once open.
    """
    groups = page.locator("div.mnist-gallery details.mnist-gallery-group")
    closed = groups.evaluate_all("ds => ds.findIndex(d => !d.open)")
    if closed >= 0:
        return groups.nth(closed)
    group = groups.first
    group.locator("summary").first.click()
    assert not group.evaluate("d => d.open"), "clicking the summary of an open gallery group did not close it"
    return group


def test_gallery_shows_images_and_opens(tab: Tab, site: Path) -> None:
    """The chapter-5 gallery holds inline images, a group opens on click, and its images load."""
    name = gallery_page_or_skip(site)
    tab.open(name)
    page = tab.page
    gallery = page.locator("div.mnist-gallery")
    assert gallery.count() > 0, f"{name}.html has no <div class='mnist-gallery'>"
    groups = page.locator("div.mnist-gallery details.mnist-gallery-group")
    assert groups.count() > 0, f"{name}.html: the gallery has no <details class='mnist-gallery-group'>"
    no_summary = groups.evaluate_all("ds => ds.filter(d => !d.querySelector(':scope > summary')).length")
    assert no_summary == 0, f"{name}.html: {no_summary} gallery group(s) without a <summary>"

    sources = [src for handle in gallery.element_handles() for src in page.evaluate(GALLERY_IMAGES_JS, handle)]
    assert sources, f"{name}.html: the gallery contains no <img>"
    not_inline = [short(s) for s in sources if not s.startswith("data:image/")]
    assert not not_inline, f"{name}.html: gallery images must be inline data: URIs (kernel-free), not {not_inline[:3]}"

    group = closed_group(page)
    group.locator("summary").first.click()
    assert group.evaluate("d => d.open"), f"{name}.html: clicking a gallery group's summary did not open it"
    first_image = group.locator("img").first
    first_image.scroll_into_view_if_needed()
    assert first_image.is_visible(), f"{name}.html: the images of an opened gallery group are not visible"
    wait_for_images(page, only_shown=True)
    broken = broken_images(page, group.element_handle())
    assert not broken, f"{name}.html: image(s) of the opened gallery group did not load:\n  " + "\n  ".join(broken)
    page.evaluate("document.activeElement && document.activeElement.blur()")
    gallery.first.screenshot(path=str(screenshot_dir() / f"{screenshot_name(name)}-gallery-open.png"))

    open_all_details(page)
    wait_for_images(page, only_shown=False)
    broken = [b for handle in gallery.element_handles() for b in broken_images(page, handle)]
    assert not broken, f"{name}.html: {len(broken)} gallery image(s) did not load:\n  " + "\n  ".join(broken)
    assert_no_errors(tab.problems, name)
