"""The chapters as readers run them in JupyterLab: live notebooks in a real browser.

The test starts JupyterLab itself (``python -m jupyterlab``, the project's venv as the kernel) on
127.0.0.1 on a free port with a random token, rooted in a temporary folder that holds copies of
``notebooks/`` and ``book/`` (the layout ``make lab`` serves; nothing is ever autosaved into the
repository), with ``MNIST_PROFILE=smoke``, ``MNIST_DATA_DIR`` passed through and
``MNIST_ARTIFACTS_DIR`` in a temporary folder, so every model a chapter needs is trained afresh under
the smoke profile. Playwright (sync API) drives Debian's Chromium
(``/usr/bin/chromium``, the flags of ``tests/test_browser.py``; nothing downloads a browser) and runs
every chapter with ``notebook:run-all-cells`` through ``window.jupyterapp`` (the server is started
with ``--LabApp.expose_app_in_browser=True``, as galata does). Then it checks:

* every code cell ran, no cell output is an error (but in cells tagged ``raises-exception``, which
  show a pitfall on purpose), and the page raised no JavaScript error;
* no rendered markdown cell shows a raw MyST role (``{glue:text}`...```, ``{doc}``, ``{eval}``),
  uses a role jupyterlab-myst cannot render (it shows ``{glue:text}`n_val:,``` as bare ``n_val:,``),
  shows an ``{eval}`` expression without its result (jupyterlab-myst renders an expression it has
  no result for as ``<code>expression</code>``, a result as a plain ``<span>``) or a failed one, or
  links to a file that does not exist;
* chapter 5's ``MisclassificationBrowser`` answers clicks (confusion pair, sort order, next and
  previous page) with new captions and new images, and its Grad-CAM toggle with new images under
  the same captions; chapter 4's augmentation explorer redraws its preview when the rotation
  slider moves;
* the page requested nothing from any host but the local server;
* on a three-cell probe notebook, how jupyterlab-myst evaluates ``{eval}`` under Run All: after the
  last code cell. So no code cell may rebind a name that prose above it quotes; the unmarked test
  ``test_eval_expressions_show_their_own_values_under_run_all`` checks that statically.

Screenshots of both widgets go to ``_build/screenshots/lab/``. The server and every kernel it
started are stopped at the end, also when a test fails, and the test asserts none is left.

Run with ``make test-lab``, or::

    MNIST_PROFILE=smoke MNIST_DATA_DIR=/path/to/mnist .venv/bin/python -m pytest tests/test_lab.py -v

The tests that drive the browser are marked ``browser`` and ``lab``: ``pytest -m "not browser"``
(``make test-unit``) skips them but runs this module's checks that need no browser,
``make test-browser`` (the built book) leaves them out, and ``make test`` runs them as
``make test-lab``.
"""

from __future__ import annotations

import ast
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

import pytest

from test_browser import CHROMIUM_ARGS, browser, require_chromium, short  # noqa: F401 (browser: the shared fixture)

if TYPE_CHECKING:  # playwright is imported where it is used, so `-m "not browser"` runs need not load it
    from playwright.sync_api import Browser, Locator, Page, Request, Route, WebSocket

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO_ROOT / "notebooks"
SCREENSHOTS = REPO_ROOT / "_build" / "screenshots" / "lab"
CHAPTERS = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
ERROR_ANALYSIS = "05_error_analysis.ipynb"
AUGMENTATION = "04_augmentation.ipynb"
EXPECTED_ERROR_TAG = "raises-exception"  # a cell that shows an error on purpose
COPIED = ("notebooks", "book")  # what the server's root holds: the chapters and the pages they link to

SERVER_START_S = 120  # until the server answers on its port
KERNEL_READY_MS = 120_000  # until a chapter's kernel is idle after opening it
CHAPTER_RUN_MS = 600_000  # until "run all" of one smoke chapter has finished
EXPRESSIONS_MS = 30_000  # until jupyterlab-myst has shown the results of a chapter's inline expressions
WIDGET_MS = 60_000  # until a widget answers a click (a round trip to the kernel)
SHUTDOWN_S = 60  # until the server and its kernels have exited after /api/shutdown


def lab(test: Callable) -> Callable:
    """Mark a test that drives JupyterLab in Chromium: markers ``browser`` and ``lab``."""
    return pytest.mark.browser(pytest.mark.lab(test))


# --- What the rendered markdown must not show -------------------------------------------------

#: A MyST role left as text, e.g. {glue:text}`n_train:,` or {doc}`01_pipeline`.
RAW_ROLE = re.compile(r"\{[a-z][a-z:-]*\}`[^`]*`")
#: Role names that must never be visible, even without their backticks.
RAW_ROLE_NAMES = ("{eval}", "{glue", "{doc}")
#: A role in a markdown source: {name}`content`.
SOURCE_ROLE = re.compile(r"\{([a-z][a-z0-9:_-]*)\}`([^`]*)`")
#: The inline expressions of a markdown source: {eval}`expression`.
EVAL_ROLE = re.compile(r"\{eval\}`([^`]+)`")
#: Roles jupyterlab-myst renders in JupyterLab. Any other one ({glue:text}, {doc}, {ref}, ...) is shown
#: as its bare content (``n_errors:,``) or as a link to a file that does not exist. {term} shows its
#: text (``{term}`filters <filter>``` as "filters"), as a link to "#": the glossary is a page of the book.
LAB_ROLES = frozenset({"eval", "math", "sub", "sup", "subscript", "superscript", "kbd", "abbr", "del", "u", "sc",
                       "term"})


def raw_roles(text: str) -> list[str]:
    """The raw MyST roles (and bare role names) visible in a rendered markdown cell's text."""
    found = RAW_ROLE.findall(text)
    found += [name for name in RAW_ROLE_NAMES if name in text and not any(name in f for f in found)]
    return found


def eval_expressions(source: str) -> list[str]:
    """The expressions of the ``{eval}`` roles in a markdown cell's source, in order."""
    return EVAL_ROLE.findall(source)


def roles_lab_cannot_render(source: str) -> list[str]:
    """The roles of a markdown source that jupyterlab-myst does not render, as written."""
    return [f"{{{name}}}`{content}`" for name, content in SOURCE_ROLE.findall(source) if name not in LAB_ROLES]


def broken_link(href: str, root: Path, port: int) -> str | None:
    """Why a link of a rendered markdown cell leads nowhere in JupyterLab, or None if it is fine.

    JupyterLab rewrites a relative link ``x.ipynb`` to ``/files/x.ipynb`` on its server; such a link
    must name a file under the server's root. Other hosts and in-page anchors are not checked.
    """
    parsed = urlparse(href)
    if parsed.hostname not in ("127.0.0.1", "localhost") or parsed.port != port:
        return None
    if parsed.path.startswith("/lab"):  # an anchor in the notebook itself ({term} links to "#")
        return None
    if not parsed.path.startswith("/files/"):
        return f"{parsed.path} is not a file JupyterLab serves"
    relative = unquote(parsed.path[len("/files/"):])
    if not (root / relative).is_file():
        return f"{relative} does not exist in the repository's notebooks/ or book/"
    return None


def markdown_problems(cell: dict, root: Path | None = None, port: int = 0) -> list[str]:
    """What is wrong with one rendered markdown cell, as reported by :data:`MARKDOWN_CELLS_JS`.

    ``cell`` holds its ``index``, ``source``, whether it is ``rendered`` and by jupyterlab-myst (``myst``),
    its rendered ``text``, the texts of its inline ``codes``
    (``<code>`` outside code blocks), its rendered expression ``errors`` and its link ``hrefs``. An
    ``{eval}`` expression whose text is shown as inline code was not evaluated: jupyterlab-myst shows
    a result as a plain ``<span>`` and an expression it has no result for as ``<code>``.
    """
    first_line = cell["source"].strip().splitlines()[0] if cell["source"].strip() else ""
    where = f"markdown cell {cell['index']} ({short(first_line, 60)!r})"
    if not cell.get("rendered", True):
        return [f"{where} is not rendered after run all"]
    problems = [] if cell.get("myst", True) else [
        f"{where} is rendered by JupyterLab's own markdown renderer, not jupyterlab-myst (is it installed and "
        "enabled? `jupyter labextension list`)"]
    problems += [f"{where} shows the raw role {role!r}" for role in raw_roles(cell["text"])]
    problems += [f"{where} uses {role}, which jupyterlab-myst cannot render (readers see its bare content or a "
                 "dead link)"
                 for role in dict.fromkeys(roles_lab_cannot_render(cell["source"]))]
    codes = set(cell["codes"])
    problems += [f"{where} shows the expression {e!r} instead of its value (jupyterlab-myst has no result for it)"
                 for e in dict.fromkeys(eval_expressions(cell["source"])) if e in codes]
    problems += [f"{where}: an inline expression failed: {error}" for error in cell["errors"]]
    if root is not None:
        for href in dict.fromkeys(cell.get("hrefs", [])):
            if (why := broken_link(href, root, port)) is not None:
                problems.append(f"{where} links to {short(href.split('?')[0], 80)}, which leads nowhere in "
                                f"JupyterLab: {why}")
    return problems


# --- What Run All evaluates when -----------------------------------------------------------
#
# jupyterlab-myst evaluates a markdown cell's {eval} expressions when the cell is run, by a request
# of its own to the kernel. Run All sends every code cell to the kernel first and the markdown
# cells' requests only after them, so each expression sees the kernel as the LAST code cell left it.
# An expression therefore shows what its prose means only if no code cell below it rebinds a name
# it reads.


def notebook_cells(path: Path) -> list[dict]:
    """The cells of a notebook file as dicts with ``cell_type`` and ``source`` (a string)."""
    cells = json.loads(path.read_text(encoding="utf8"))["cells"]
    return [{**cell, "source": "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]}
            for cell in cells]


def python_source(cell_source: str) -> str:
    """A code cell's source as plain Python (IPython magics and shell escapes turned into calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(cell_source)


def target_names(node: ast.AST) -> Iterator[str]:
    """The names an assignment target binds; for ``x[k] = ...`` and ``x.a = ...``, ``x`` (changed in place)."""
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, (ast.Tuple, ast.List)):
        for element in node.elts:
            yield from target_names(element)
    elif isinstance(node, (ast.Starred, ast.Subscript, ast.Attribute)):
        yield from target_names(node.value)


def names_bound(source: str) -> set[str]:
    """The module-level names a code cell binds, rebinds or changes by assignment (not inside functions)."""
    bound: set[str] = set()
    pending: list[ast.AST] = list(ast.parse(python_source(source)).body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
            continue
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue  # scopes of their own
        if isinstance(node, ast.Assign):
            bound.update(n for t in node.targets for n in target_names(t))
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor, ast.NamedExpr)):
            bound.update(target_names(node.target))
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            bound.update(target_names(node.optional_vars))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Delete):
            bound.update(n for t in node.targets for n in target_names(t))
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        pending.extend(ast.iter_child_nodes(node))
    return bound


def names_read(expression: str) -> set[str]:
    """The names an ``{eval}`` expression reads (names its own comprehensions bind left out)."""
    tree = ast.parse(expression.strip(), mode="eval")
    names = [node for node in ast.walk(tree) if isinstance(node, ast.Name)]
    return {n.id for n in names if isinstance(n.ctx, ast.Load)} - {n.id for n in names if isinstance(n.ctx, ast.Store)}


def eval_order_problems(cells: list[dict]) -> list[str]:
    """Expressions that Run All shows with another value than the one their place in the chapter means:
    a name they read is rebound by a code cell below them. (That a cell above defines every name is
    tests/test_notebook_sources.py's check.)"""
    problems: list[str] = []
    code = [(i, names_bound(c["source"])) for i, c in enumerate(cells) if c["cell_type"] == "code"]
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        for expression in dict.fromkeys(eval_expressions(cell["source"])):
            try:
                read = names_read(expression)
            except SyntaxError as error:
                problems.append(f"markdown cell {index}: {{eval}}`{expression}` is not a Python expression "
                                f"({error.msg})")
                continue
            for i, names in code:
                for name in sorted(read & names if i > index else set()):
                    problems.append(f"markdown cell {index}: {{eval}}`{expression}` reads {name!r}, which code cell "
                                    f"{i} below rebinds: after Run All it shows the value code cell {i} leaves")
    return problems


# --- The server ---------------------------------------------------------------------------------


@dataclass
class LabServer:
    """A JupyterLab server this test started, and what it needs to be reached and stopped."""

    process: subprocess.Popen
    port: int
    token: str
    root: Path
    log: Path

    @property
    def url(self) -> str:
        """The server's base URL (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, name: str, workspace: str) -> str:
        """The URL that opens ``name`` alone, in a fresh JupyterLab workspace called ``workspace``."""
        return f"{self.url}/lab/workspaces/{workspace}/tree/{name}?reset&token={self.token}"

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log, for failure messages."""
        text = self.log.read_text(encoding="utf8", errors="replace") if self.log.is_file() else ""
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mnist_data_dir() -> str:
    """``MNIST_DATA_DIR``, which the chapters read MNIST from; the test fails clearly without it."""
    folder = os.environ.get("MNIST_DATA_DIR", "")
    if not folder or not Path(folder).is_dir():
        pytest.fail(f"MNIST_DATA_DIR must name the folder with the four MNIST .gz files, got {folder!r}", pytrace=False)
    return str(Path(folder).resolve())


def write_lab_settings(settings_dir: Path) -> None:
    """JupyterLab user settings for the test: every cell in the DOM, no news or update checks."""
    settings = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                            "checkForUpdates": False},
    }
    for name, values in settings.items():
        path = settings_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf8")


def lab_environment(home: Path) -> dict[str, str]:
    """The server's (and so its kernels') environment: the smoke profile, MNIST, temporary artifacts,
    and Jupyter's config, data and runtime folders in ``home`` so no user setting leaks in."""
    env = dict(os.environ)
    env.update(
        MNIST_PROFILE="smoke",
        MNIST_DATA_DIR=mnist_data_dir(),
        MNIST_ARTIFACTS_DIR=str(home / "artifacts"),
        TF_CPP_MIN_LOG_LEVEL="3",
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        PYTHONUNBUFFERED="1",
    )
    env.pop("JUPYTER_TOKEN", None)
    write_lab_settings(home / "settings")
    return env


def start_lab(root: Path, home: Path) -> LabServer:
    """Start ``python -m jupyterlab`` on a free port of 127.0.0.1 in its own process group."""
    port, token = free_port(), secrets.token_hex(24)
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--ServerApp.terminals_enabled=False",
    ]
    if os.geteuid() == 0:  # CI runs as root
        command.append("--allow-root")
    log = home / "lab.log"
    with log.open("w", encoding="utf8") as out:
        process = subprocess.Popen(command, cwd=root, env=lab_environment(home), stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return LabServer(process=process, port=port, token=token, root=root, log=log)


def api(server: LabServer, path: str, method: str = "GET", timeout: float = 10) -> tuple[int, str]:
    """Call the server's REST API with the token; returns (status, body)."""
    request = urllib.request.Request(f"{server.url}{path}", method=method, data=b"" if method == "POST" else None,
                                     headers={"Authorization": f"token {server.token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf8", errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf8", errors="replace")


def wait_until_answers(server: LabServer, timeout_s: float = SERVER_START_S) -> None:
    """Poll ``/api/status`` until the server answers 200; fail with its log if it exits or never does."""
    deadline = time.monotonic() + timeout_s
    last = "no answer yet"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {server.process.returncode} before answering; "
                               f"its log ends:\n{server.log_tail()}")
        try:
            status, body = api(server, "/api/status", timeout=2)
            if status == 200:
                return
            last = f"HTTP {status}: {body[:200]}"
        except OSError as error:  # connection refused while it starts
            last = str(error)
        time.sleep(0.5)
    raise RuntimeError(f"JupyterLab did not answer on {server.url}/api/status within {timeout_s:.0f} s "
                       f"(last: {last}); its log ends:\n{server.log_tail()}")


def proc_table() -> dict[int, tuple[int, int, str, bytes]]:
    """Every process of the machine as pid -> (parent pid, process group, state, environment)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()  # state, ppid, pgrp, ...
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:  # not ours to read
                environ = b""
            table[int(entry.name)] = (int(fields[1]), int(fields[2]), fields[0], environ)
        except (OSError, ValueError, IndexError):  # gone meanwhile
            continue
    return table


def processes_of(server_pid: int) -> set[int]:
    """The live processes the server started: its descendants, every kernel whose environment names it
    as ``JPY_PARENT_PID`` (kernels run in sessions of their own, and outlive a killed server), their
    descendants, and whatever is left in the server's process group."""
    table = proc_table()
    marker = f"JPY_PARENT_PID={server_pid}".encode()
    found = {pid for pid, (_, group, _, environ) in table.items()
             if group == server_pid or marker in environ.split(b"\0")}
    frontier = [server_pid, *found]
    while frontier:
        parent = frontier.pop()
        children = {pid for pid, (ppid, *_) in table.items() if ppid == parent and pid not in found}
        found |= children
        frontier.extend(children)
    return {pid for pid in found - {server_pid} if table[pid][2] != "Z"}


def wait_gone(server: LabServer, timeout_s: float) -> set[int]:
    """Wait until the server has exited and nothing it started is alive; returns what is still alive."""
    deadline = time.monotonic() + timeout_s
    while True:
        left = processes_of(server.process.pid) | ({server.process.pid} if server.process.poll() is None else set())
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def stop_lab(server: LabServer) -> None:
    """Stop the server and every kernel it started: ``/api/shutdown`` (kernels first, then the server),
    then SIGTERM and SIGKILL to the server's process group and to each kernel's own group. Raises
    AssertionError if any of those processes is still alive."""
    if server.process.poll() is None:
        try:
            api(server, "/api/shutdown", method="POST", timeout=10)
        except OSError:
            pass
    left = wait_gone(server, SHUTDOWN_S)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not left:
            break
        table = proc_table()
        groups = {server.process.pid} | {table[pid][1] for pid in left if pid in table and table[pid][1] in left}
        for group in groups:  # the server's group, and groups led by one of its kernels: nothing else
            try:
                os.killpg(group, sig)
            except (ProcessLookupError, PermissionError):
                pass
        left = wait_gone(server, 10)
    assert not left, (f"processes of the JupyterLab server (pid {server.process.pid}) still alive after stopping it: "
                      f"{sorted(left)}")


# --- The browser page and what it saw ----------------------------------------------------------


@dataclass
class Traffic:
    """Every request and websocket the page opened, and the JavaScript errors it raised."""

    allowed_port: int
    requests: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def is_local(self, url: str) -> bool:
        """True for the test's own server (or URLs that need no network: data:, blob:, about:)."""
        parsed = urlparse(url)
        if parsed.scheme in ("data", "blob", "about"):
            return True
        return parsed.hostname in ("127.0.0.1", "localhost") and parsed.port == self.allowed_port

    def record(self, url: str) -> None:
        """Remember a URL the page asked for, and whether it went elsewhere."""
        self.requests.append(url)
        if not self.is_local(url):
            self.external.append(url)

    def on_request(self, request: Request) -> None:
        """Every HTTP request of the page."""
        self.record(request.url)

    def on_websocket(self, socket_: WebSocket) -> None:
        """Every websocket of the page (kernels and collaboration talk over them)."""
        self.record(socket_.url)

    def route(self, route: Route) -> None:
        """Let requests to the local server through and abort the rest (they are failures anyway)."""
        if self.is_local(route.request.url):
            route.continue_()
        else:
            route.abort()

    def assert_clean(self) -> None:
        """Fail on any JavaScript error or any request to another host."""
        problems = [f"JavaScript error: {e}" for e in self.page_errors]
        problems += [f"request to a host other than the local server: {short(u)}" for u in dict.fromkeys(self.external)]
        assert not problems, f"{len(problems)} problem(s) in the browser:\n  " + "\n  ".join(problems)


@dataclass
class LabTab:
    """A browser page on the lab server and its traffic."""

    page: Page
    traffic: Traffic
    server: LabServer


# --- JavaScript run in JupyterLab (through window.jupyterapp) --------------------------------

FIND_PANEL_JS = """(name) => {
    const app = window.jupyterapp;
    if (!app) return null;
    return Array.from(app.shell.widgets('main')).find(w => w.context && w.context.path === name) || null;
}"""

KERNEL_IDLE_JS = """(name) => {
    const find = %s;
    const panel = find(name);
    const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
    return !!(kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle');
}""" % FIND_PANEL_JS

RUN_ALL_JS = """async (name) => {
    const find = %s;
    const app = window.jupyterapp;
    const panel = find(name);
    app.shell.activateById(panel.id);
    window.__labRuns = window.__labRuns || {};
    window.__labRuns[name] = {done: false};
    app.commands.execute('notebook:run-all-cells').then(
        ok => { window.__labRuns[name] = {done: true, ok: ok}; },
        error => { window.__labRuns[name] = {done: true, ok: false, error: String(error)}; });
}""" % FIND_PANEL_JS

RUN_FINISHED_JS = """(name) => {
    const find = %s;
    const run = window.__labRuns && window.__labRuns[name];
    const panel = find(name);
    if (!run || !run.done || !panel) return false;
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    const starred = Array.from(panel.content.node.querySelectorAll('.jp-InputPrompt'))
        .some(p => p.textContent.includes('[*]'));
    const running = panel.content.widgets.some(c => c.model.type === 'code' && c.model.executionState === 'running');
    return !!kernel && kernel.status === 'idle' && !starred && !running;
}""" % FIND_PANEL_JS

CODE_CELLS_JS = """(name) => {
    const find = %s;
    return find(name).content.widgets.map((cell, index) => ({cell, index}))
        .filter(({cell}) => cell.model.type === 'code')
        .map(({cell, index}) => ({
            index,
            source: cell.model.sharedModel.getSource(),
            count: cell.model.executionCount,
            tags: cell.model.getMetadata('tags') || [],
            outputs: cell.model.outputs.toJSON(),
        }));
}""" % FIND_PANEL_JS

MARKDOWN_CELLS_JS = """(name) => {
    const find = %s;
    return find(name).content.widgets.map((cell, index) => ({cell, index}))
        .filter(({cell}) => cell.model.type === 'markdown')
        .map(({cell, index}) => {
            const myst = cell.node.querySelector('.jp-InputArea .myst');
            const rendered = myst || cell.node.querySelector('.jp-MarkdownOutput') || document.createElement('div');
            return {
                index,
                source: cell.model.sharedModel.getSource(),
                rendered: cell.rendered && rendered.isConnected,
                myst: !!myst,
                text: rendered.innerText,
                codes: Array.from(rendered.querySelectorAll('code')).filter(c => !c.closest('pre'))
                    .map(c => c.textContent),
                errors: Array.from(rendered.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]'))
                    .map(e => e.textContent.trim()),
                hrefs: Array.from(rendered.querySelectorAll('a[href]')).map(a => a.href),
            };
        });
}""" % FIND_PANEL_JS

EXPRESSIONS_SHOWN_JS = """([name, expressions]) => {
    const cells = (%s)(name);
    return cells.every(cell => !(expressions[cell.index] || []).some(e => cell.codes.includes(e)));
}""" % MARKDOWN_CELLS_JS

SHUTDOWN_KERNEL_JS = """async (name) => {
    const find = %s;
    const panel = find(name);
    if (!panel) return;
    await panel.sessionContext.shutdown();
}""" % FIND_PANEL_JS


# --- Running a chapter ----------------------------------------------------------------------


@dataclass
class ChapterRun:
    """What running one chapter with "run all" produced, read from the page."""

    name: str
    seconds: float
    code_cells: list[dict]
    markdown_cells: list[dict]
    root: Path
    port: int

    def errors(self) -> list[str]:
        """Code cells that did not run, and error outputs, one line each. A cell tagged
        ``raises-exception`` shows a pitfall on purpose: its error is expected (JupyterLab, nbclient and
        the book all run on past it)."""
        lines = []
        for cell in self.code_cells:
            first = short(cell["source"].strip().splitlines()[0] if cell["source"].strip() else "", 60)
            if cell["count"] is None:
                lines.append(f"code cell {cell['index']} ({first!r}) did not run")
            if EXPECTED_ERROR_TAG in cell["tags"]:
                continue
            for output in cell["outputs"]:
                if output.get("output_type") == "error" or "application/vnd.jupyter.error" in output.get("data", {}):
                    lines.append(f"code cell {cell['index']} ({first!r}) failed: "
                                 f"{output.get('ename')}: {output.get('evalue')}")
        return lines

    def markdown_problems(self) -> list[str]:
        """Raw roles, unevaluated or failed expressions and dead links in the rendered markdown."""
        return [problem for cell in self.markdown_cells for problem in markdown_problems(cell, self.root, self.port)]


def lab_path(name: str) -> str:
    """A chapter's path on the server (relative to its root), e.g. 'notebooks/05_error_analysis.ipynb'."""
    return f"notebooks/{name}"


def open_chapter(tab: LabTab, path: str) -> None:
    """Open the notebook at ``path`` alone in a fresh workspace and wait until its kernel is idle."""
    workspace = "w-" + secrets.token_hex(5)
    tab.page.goto(tab.server.notebook_url(path, workspace), wait_until="load")
    tab.page.wait_for_function(KERNEL_IDLE_JS, arg=path, timeout=KERNEL_READY_MS, polling=250)


def run_chapter(tab: LabTab, name: str) -> ChapterRun:
    """Open ``name``, run all its cells and wait until the kernel is idle with no cell left at ``[*]``;
    then wait (a bounded time) until jupyterlab-myst has shown the results of the markdown cells'
    inline expressions. Returns the cells as the page holds them."""
    path = lab_path(name)
    open_chapter(tab, path)
    start = time.monotonic()
    tab.page.evaluate(RUN_ALL_JS, path)
    tab.page.wait_for_function(RUN_FINISHED_JS, arg=path, timeout=CHAPTER_RUN_MS, polling=1000)
    seconds = time.monotonic() - start
    wait_for_expressions(tab.page, path)
    print(f"{name}: run all took {seconds:.0f} s in JupyterLab (smoke profile)")
    return ChapterRun(name=name, seconds=seconds, code_cells=tab.page.evaluate(CODE_CELLS_JS, path),
                      markdown_cells=tab.page.evaluate(MARKDOWN_CELLS_JS, path),
                      root=tab.server.root, port=tab.server.port)


def wait_for_expressions(page: Page, path: str) -> None:
    """Wait until no ``{eval}`` expression of the chapter is shown as bare code any more; a timeout is
    not fatal here, since :meth:`ChapterRun.markdown_problems` then names the expressions."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    cells = page.evaluate(MARKDOWN_CELLS_JS, path)
    expressions = {cell["index"]: found for cell in cells if (found := eval_expressions(cell["source"]))}
    if not expressions:
        return
    try:
        page.wait_for_function(EXPRESSIONS_SHOWN_JS, arg=[path, expressions], timeout=EXPRESSIONS_MS, polling=500)
    except PlaywrightTimeout:
        pass


def close_chapter(tab: LabTab, name: str) -> None:
    """Shut the chapter's kernel down, so its models and data leave memory before the next chapter.
    A page that cannot do it any more (it crashed, or never loaded) is left alone: the test's own
    failure says why, and stopping the server stops the kernel."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        tab.page.evaluate(SHUTDOWN_KERNEL_JS, lab_path(name))
    except PlaywrightError:
        pass


def assert_ran_clean(run: ChapterRun, traffic: Traffic) -> None:
    """Every code cell ran without an error output and the page raised no JavaScript error."""
    errors = run.errors() + [f"JavaScript error: {e}" for e in traffic.page_errors]
    assert not errors, (f"{run.name} under JupyterLab (smoke profile): {len(errors)} problem(s):\n  "
                        + "\n  ".join(errors))


def assert_markdown_rendered(run: ChapterRun) -> None:
    """No raw MyST role, no unevaluated or failed inline expression and no dead link in the markdown."""
    problems = run.markdown_problems()
    assert not problems, (f"{run.name}: {len(problems)} problem(s) in the rendered markdown after run all "
                          f"(expected every number shown and every link to lead somewhere):\n  "
                          + "\n  ".join(problems))


def screenshot(locator: Locator, name: str) -> Path:
    """Save a screenshot of ``locator`` as ``_build/screenshots/lab/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(path))
    return path


def widget_output(page: Page, label: str) -> Locator:
    """The cell output that holds the widget with a control labelled ``label``."""
    outputs = page.locator(".jp-Cell-outputArea > .jp-OutputArea-child > .jp-OutputArea-output")
    found = outputs.filter(has=page.locator("label.widget-label", has_text=label))
    found.first.wait_for(state="visible", timeout=WIDGET_MS)
    if found.count() != 1:
        raise AssertionError(f"expected one widget with a control labelled {label!r}, found {found.count()}")
    return found.first


# --- Chapter 5: the misclassification browser ----------------------------------------------

PAGE_LABEL = re.compile(r"page (\d+) of (\d+) \(images (\d+)-(\d+) of (\d+)\)")
OPTION_COUNT = re.compile(r"\((\d+)\)\s*$")

BROWSER_CAPTIONS_JS = """(root) => ({
    label: (root.querySelector('div.widget-label') || {textContent: ''}).textContent.trim(),
    captions: Array.from(root.querySelectorAll('.widget-gridbox .widget-html-content')).map(c => c.innerText.trim()),
    images: Array.from(root.querySelectorAll('.widget-gridbox img'))
        .filter(img => img.getAttribute('src') && img.complete && img.naturalWidth > 0).length,
})"""

#: The image bytes behind each tile (blob: URLs are new for every tile, so their URLs say nothing).
BROWSER_IMAGES_JS = """async (root) => {
    const digest = async (src) => {
        const bytes = await (await fetch(src)).arrayBuffer();
        const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
        return Array.from(hash.slice(0, 8), b => b.toString(16).padStart(2, '0')).join('');
    };
    return Promise.all(Array.from(root.querySelectorAll('.widget-gridbox img'), img => digest(img.src)));
}"""

#: True once the browser shows a whole page (as many loaded tiles as its label says) that differs from ``before``.
BROWSER_CHANGED_JS = """([root, before]) => {
    const state = (%s)(root);
    const match = state.label.match(/images (\\d+)-(\\d+) of/);
    const expected = match ? Number(match[2]) - Number(match[1]) + 1 : -1;
    return state.captions.length === expected && state.images === expected
        && JSON.stringify([state.label, state.captions]) !== JSON.stringify([before.label, before.captions]);
}""" % BROWSER_CAPTIONS_JS


@dataclass(frozen=True)
class BrowserView:
    """What the misclassification browser shows: its page label, captions and image digests."""

    label: str
    captions: tuple[str, ...]
    images: tuple[str, ...]

    @property
    def page(self) -> tuple[int, int, int]:
        """(page number, pages, images in the selection), parsed from the page label."""
        match = PAGE_LABEL.fullmatch(self.label)
        if match is None:
            raise ValueError(f"expected a page label like 'page 1 of 3 (images 1-12 of 30)', got {self.label!r}")
        return int(match[1]), int(match[2]), int(match[5])


def browser_view(root: Locator) -> BrowserView:
    """Read the browser's current view."""
    state = root.evaluate(BROWSER_CAPTIONS_JS)
    images = tuple(root.evaluate(BROWSER_IMAGES_JS))
    return BrowserView(label=state["label"], captions=tuple(state["captions"]), images=images)


def act_and_wait(root: Locator, before: BrowserView, action: Callable[[], None], what: str) -> BrowserView:
    """Do ``action`` (a click), wait until the browser shows a whole new page, and check its images changed."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    action()
    try:
        shown = {"label": before.label, "captions": list(before.captions)}
        root.page.wait_for_function(BROWSER_CHANGED_JS, arg=[root.element_handle(), shown], timeout=WIDGET_MS, polling=250)
    except PlaywrightTimeout:
        now = root.evaluate(BROWSER_CAPTIONS_JS)
        raise AssertionError(f"after {what}, expected new captions (a whole page of loaded tiles) within "
                             f"{WIDGET_MS // 1000} s; the browser still shows {now['label']!r} with "
                             f"{len(now['captions'])} caption(s), {now['images']} loaded image(s); first caption "
                             f"before: {before.captions[:1]}, now: {now['captions'][:1]}") from None
    after = browser_view(root)
    assert after.images != before.images, (f"after {what}, the captions changed but the images did not "
                                           f"({len(after.images)} tiles)")
    return after


#: The blob: URLs of the tiles' images: a refresh makes new tiles, each with a new URL.
TILE_SOURCES_JS = """(root) => Array.from(root.querySelectorAll('.widget-gridbox img'))
    .filter(img => img.complete && img.naturalWidth > 0).map(img => img.getAttribute('src'))"""

#: True once every tile shows a new, loaded image (as many as before).
TILES_REPLACED_JS = """([root, before]) => {
    const now = (%s)(root);
    return now.length === before.length && now.every(src => !before.includes(src));
}""" % TILE_SOURCES_JS


def toggle_grad_cam(root: Locator, before: BrowserView) -> BrowserView:
    """Click the Grad-CAM toggle: the same digits and captions come back with other images (the heat
    map over each digit)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    toggle = root.locator("button.widget-toggle-button", has_text="Grad-CAM")
    assert toggle.count() == 1, f"expected one Grad-CAM toggle in the browser, found {toggle.count()}"
    assert toggle.is_enabled(), "the Grad-CAM toggle is disabled: the browser was made without model="
    sources = root.evaluate(TILE_SOURCES_JS)
    toggle.click()
    try:
        root.page.wait_for_function(TILES_REPLACED_JS, arg=[root.element_handle(), sources], timeout=WIDGET_MS,
                                    polling=250)
    except PlaywrightTimeout:
        raise AssertionError(f"clicking Grad-CAM did not redraw the {len(sources)} tiles within "
                             f"{WIDGET_MS // 1000} s") from None
    after = browser_view(root)
    assert after.captions == before.captions, "Grad-CAM should keep the digits and their captions"
    changed = sum(a != b for a, b in zip(after.images, before.images))
    assert changed == len(before.images), f"Grad-CAM changed {changed} of {len(before.images)} images, expected all"
    return after


def drive_misclassification_browser(page: Page) -> Locator:
    """Click through chapter 5's browser: a confusion pair, the other sort order, next and previous page.
    Each must bring new captions and new images; then the Grad-CAM toggle must overlay every digit of
    the page. Returns the widget's output."""
    root = widget_output(page, "Confusion:")
    start = browser_view(root)
    assert start.page[0] == 1 and start.captions, f"the browser should open on page 1 with digits, shows {start.label!r}"
    assert len(start.images) == len(start.captions), f"{len(start.images)} images for {len(start.captions)} captions"

    dropdown = root.locator(".widget-dropdown select")
    options = dropdown.locator("option").all_inner_texts()
    counts = [int(m[1]) if (m := OPTION_COUNT.search(o.replace("\xa0", " "))) else 0 for o in options]
    pair = next((i for i in range(1, len(options)) if counts[i] >= 2), None)
    assert pair is not None, f"expected a confusion pair with at least 2 errors in the dropdown, got {options}"
    true_digit, predicted = re.findall(r"\d+", options[pair])[:2]
    picked = act_and_wait(root, start, lambda: dropdown.select_option(index=pair), f"picking {options[pair]!r}")
    wrong = [c for c in picked.captions if f"true {true_digit} → {predicted}" not in c]
    assert not wrong, f"after picking {options[pair]!r}, captions of other pairs are shown: {wrong[:3]}"

    least = root.locator("button.widget-toggle-button", has_text="least confident first")
    flipped = act_and_wait(root, picked, least.click, "clicking 'least confident first'")
    assert "mod-active" in (least.get_attribute("class") or ""), "the clicked sort button is not shown as active"

    if flipped.page[1] < 2:  # this pair fits on one page: page through all errors instead
        flipped = act_and_wait(root, flipped, lambda: dropdown.select_option(index=0), "picking all errors again")
        assert flipped.page[1] >= 2, f"expected more than one page of errors to page through, got {flipped.label!r}"
    next_button = root.locator("button.widget-button", has_text="next")
    next_page = act_and_wait(root, flipped, next_button.click, "clicking 'next'")
    assert next_page.page[0] == 2, f"after 'next', expected page 2, got {next_page.label!r}"
    previous_button = root.locator("button.widget-button", has_text="previous")
    back = act_and_wait(root, next_page, previous_button.click, "clicking 'previous'")
    assert back == flipped, f"'previous' should show the page before 'next' again: {back.label!r} vs {flipped.label!r}"
    toggle_grad_cam(root, back)
    return root


# --- Chapter 4: the augmentation explorer --------------------------------------------------

PREVIEW_JS = """(root) => {
    const img = root.querySelector('.widget-output img');
    return img && img.complete && img.naturalWidth > 0 ? img.getAttribute('src') : null;
}"""

PREVIEW_CHANGED_JS = """([root, before]) => { const src = (%s)(root); return src !== null && src !== before; }""" % PREVIEW_JS


def move_rotation_slider(page: Page) -> Locator:
    """Press the right arrow on the focused rotation handle: the readout moves one step and the preview
    image is redrawn. Returns the widget's output."""
    root = widget_output(page, "rotation (°)")
    slider = root.locator(".widget-slider").filter(has=page.locator("label.widget-label", has_text="rotation (°)"))
    readout = slider.locator(".widget-readout")
    root.page.wait_for_function(PREVIEW_JS, arg=root.element_handle(), timeout=WIDGET_MS)
    before_src, before_value = root.evaluate(PREVIEW_JS), readout.inner_text().strip()

    handle = slider.locator(".noUi-handle")
    handle.focus()
    handle.press("ArrowRight")
    try:
        root.page.wait_for_function(PREVIEW_CHANGED_JS, arg=[root.element_handle(), before_src], timeout=WIDGET_MS,
                                    polling=250)
    except Exception as error:  # Playwright's TimeoutError
        raise AssertionError(f"moving the rotation slider from {before_value} to {readout.inner_text().strip()} did not "
                             f"redraw the preview within {WIDGET_MS // 1000} s") from error
    after_value = readout.inner_text().strip()
    assert float(after_value) > float(before_value), (f"ArrowRight on the rotation handle: readout {before_value} -> "
                                                      f"{after_value}")
    return root


# --- Fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """JupyterLab on temporary copies of notebooks/ and book/ (the layout ``make lab`` serves from the
    repository, so the chapters' links to ../book/*.md are checked too); stopped with all its kernels."""
    home = tmp_path_factory.mktemp("lab")
    root = home / "book-copy"
    for folder in COPIED:
        shutil.copytree(REPO_ROOT / folder, root / folder,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    server = start_lab(root, home)
    try:
        wait_until_answers(server)
        yield server
    finally:
        stop_lab(server)


@pytest.fixture
def tab(browser: Browser, lab_server: LabServer) -> Iterator[LabTab]:
    """A fresh context and page with every request recorded and JavaScript errors kept."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(WIDGET_MS)
    traffic = Traffic(allowed_port=lab_server.port)
    page = context.new_page()
    page.route("**/*", traffic.route)
    page.on("request", traffic.on_request)
    page.on("websocket", traffic.on_websocket)
    page.on("pageerror", lambda error: traffic.page_errors.append(str(error)))
    try:
        yield LabTab(page=page, traffic=traffic, server=lab_server)
    finally:
        context.close()


@pytest.fixture
def chapter(tab: LabTab, request: pytest.FixtureRequest) -> Iterator[ChapterRun]:
    """The chapter named by the test's ``name`` parameter, run all in JupyterLab; its kernel is shut
    down afterwards."""
    name = request.param
    try:
        yield run_chapter(tab, name)
    finally:
        close_chapter(tab, name)


# --- Tests without a browser: the checks themselves, and what a reader's Run All needs -------


def test_raw_roles_are_found() -> None:
    """The text check sees raw roles and bare role names, and not ordinary text or code."""
    found = raw_roles("we kept {glue:text}`n_val:,` images, see {doc}`01_pipeline`")
    assert found == ["{glue:text}`n_val:,`", "{doc}`01_pipeline`"]
    assert raw_roles("the {eval} role") == ["{eval}"]
    assert raw_roles("a dict {'a': 1} and `code`") == []


def test_markdown_problems_are_found(tmp_path: Path) -> None:
    """Roles JupyterLab cannot render, expressions shown as code, failed expressions and dead links."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "06_beyond_one_run.ipynb").write_text("{}")
    cell = {"index": 3, "source": 'We kept {eval}`f"{n_val:,}"` images.', "text": "We kept 500 images.",
            "codes": [], "errors": [],
            "hrefs": ["http://127.0.0.1:8888/files/notebooks/06_beyond_one_run.ipynb?_xsrf=1", "https://keras.io/"]}
    assert markdown_problems(cell, tmp_path, 8888) == []
    bare = {**cell, "text": 'We kept f"{n_val:,}" images.', "codes": ['f"{n_val:,}"']}
    assert [p for p in markdown_problems(bare) if "instead of its value" in p]
    assert "NameError" in markdown_problems({**cell, "errors": ["NameError: name 'n_val' is not defined"]})[0]
    glued = {**cell, "source": "We kept {glue:text}`n_val:,` images.", "text": "We kept n_val:, images."}
    assert "{glue:text}`n_val:,`, which jupyterlab-myst cannot render" in markdown_problems(glued)[0]
    dead = {**cell, "hrefs": ["http://127.0.0.1:8888/files/notebooks/01_pipeline?_xsrf=1",
                              "http://127.0.0.1:8888/book/results"]}
    assert len(markdown_problems(dead, tmp_path, 8888)) == 2
    assert "not jupyterlab-myst" in markdown_problems({**cell, "myst": False})[0]
    assert markdown_problems({**cell, "rendered": False})[0].endswith("is not rendered after run all")


def test_errors_are_found_except_expected_ones(tmp_path: Path) -> None:
    """An error output fails, unless its cell is tagged raises-exception; a cell that never ran fails."""
    error = {"output_type": "error", "ename": "ValueError", "evalue": "bad shape", "traceback": []}
    cells = [{"index": 1, "source": "prepare(x)", "count": 1, "tags": ["raises-exception"], "outputs": [error]},
             {"index": 2, "source": "fit()", "count": 2, "tags": [], "outputs": [error]},
             {"index": 3, "source": "later()", "count": None, "tags": [], "outputs": []}]
    run = ChapterRun(name="x.ipynb", seconds=1.0, code_cells=cells, markdown_cells=[], root=tmp_path, port=1)
    assert run.errors() == ["code cell 2 ('fit()') failed: ValueError: bad shape",
                            "code cell 3 ('later()') did not run"]


def test_eval_order_problems_are_found() -> None:
    """A name rebound (or changed by assignment) below an expression is found; comprehension variables
    and names bound inside functions are not."""
    cells = [
        {"cell_type": "code", "source": "%matplotlib inline\nimport numpy as np\nacc = 0.9\nrows = [1, 2]"},
        {"cell_type": "markdown",
         "source": 'acc {eval}`f"{acc:.1%}"`, {eval}`sum(r for r in rows)`, {eval}`len(rows)` {eval}`later`'},
        {"cell_type": "code", "source": "def f():\n    rows = []\nacc, n = 1.0, 2\nlater = 3"},
    ]
    problems = eval_order_problems(cells)
    assert len(problems) == 2, problems
    assert "reads 'acc', which code cell 2 below rebinds" in problems[0] and "reads 'later'" in problems[1], problems
    bound = names_bound("x[0] = 1\nfor i, (a, b) in z: pass\nwith open(p) as fh: pass\nimport a.b as c, d.e")
    assert bound == {"x", "i", "a", "b", "fh", "c", "d"}


@pytest.mark.parametrize("name", CHAPTERS)
def test_eval_expressions_show_their_own_values_under_run_all(name: str) -> None:
    """Every {eval} expression of a chapter shows, after Run All in JupyterLab, the value its place in
    the chapter means: no code cell below rebinds a name it reads, and a code cell above defines each.
    (jupyterlab-myst evaluates the markdown cells after all code cells under Run All.)"""
    problems = eval_order_problems(notebook_cells(NOTEBOOKS / name))
    assert not problems, (f"{name}: {len(problems)} inline expression(s) would show another value in JupyterLab:\n  "
                          + "\n  ".join(problems))


PROBE = "probe_eval_order.ipynb"


def write_eval_probe(folder: Path) -> None:
    """A three-cell notebook: a code cell, a markdown cell with two {eval} roles, a code cell that
    rebinds one of the names."""
    import nbformat

    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook = nbformat.v4.new_notebook(metadata={"kernelspec": kernelspec})
    notebook.cells = [nbformat.v4.new_code_cell('label = "first"\nvalue = 1234.5'),
                      nbformat.v4.new_markdown_cell('Shown: {eval}`label` and {eval}`f"{value:,.1f}"`.'),
                      nbformat.v4.new_code_cell('label = "last"')]
    nbformat.write(notebook, folder / PROBE)


@lab
def test_run_all_evaluates_expressions_after_the_last_code_cell(tab: LabTab) -> None:
    """What README's JupyterLab section and the rebinding check above rely on: after Run All,
    jupyterlab-myst shows an f-string's result without quotes, and evaluates every expression after
    the last code cell (so a name rebound below the prose shows its final value)."""
    write_eval_probe(tab.server.root / "notebooks")
    try:
        run = run_chapter(tab, PROBE)
        assert_ran_clean(run, tab.traffic)
        shown = run.markdown_cells[0]["text"].strip()
        assert shown != "Shown: first and 1,234.5.", (
            "jupyterlab-myst now evaluates {eval} in document order under Run All: the README sentence "
            "'under Run All after the last code cell' and "
            "test_eval_expressions_show_their_own_values_under_run_all can go")
        assert shown == "Shown: last and 1,234.5.", f"expected 'Shown: last and 1,234.5.' after Run All, got {shown!r}"
    finally:
        close_chapter(tab, PROBE)


@lab
@pytest.mark.parametrize("chapter", [ERROR_ANALYSIS], indirect=True)
def test_error_analysis_browser(tab: LabTab, chapter: ChapterRun) -> None:
    """Chapter 5 runs clean in JupyterLab, its misclassification browser answers every click with new
    captions and images, its markdown shows every number, and the page stays on the local server."""
    assert_ran_clean(chapter, tab.traffic)
    root = drive_misclassification_browser(tab.page)
    screenshot(root, "05-misclassification-browser")
    tab.traffic.assert_clean()
    assert_markdown_rendered(chapter)


@lab
@pytest.mark.parametrize("chapter", [AUGMENTATION], indirect=True)
def test_augmentation_explorer(tab: LabTab, chapter: ChapterRun) -> None:
    """Chapter 4 runs clean in JupyterLab, moving its rotation slider redraws the augmented digits, its
    markdown shows every number, and the page stays on the local server."""
    assert_ran_clean(chapter, tab.traffic)
    root = move_rotation_slider(tab.page)
    screenshot(root, "04-augmentation-explorer")
    tab.traffic.assert_clean()
    assert_markdown_rendered(chapter)


@lab
@pytest.mark.parametrize("chapter", [c for c in CHAPTERS if c not in (ERROR_ANALYSIS, AUGMENTATION)], indirect=True)
def test_chapter_in_lab(tab: LabTab, chapter: ChapterRun) -> None:
    """The chapter runs clean in JupyterLab, its markdown shows every number, and the page stays on the
    local server."""
    assert_ran_clean(chapter, tab.traffic)
    tab.traffic.assert_clean()
    assert_markdown_rendered(chapter)
