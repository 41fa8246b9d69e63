"""End-to-end fixtures: a real uvicorn server on a free loopback port and Debian's headless Chromium.

The server and the browser are session-scoped because starting them costs seconds; each test gets its
own page, and every test creates the runs it needs, so no test depends on another's data.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from tests.e2e.factories import write_wide_template

TIMEOUT_MS = 30_000
CHROMIUM = Path(os.environ.get("FLOWTIME_CHROMIUM", "/usr/bin/chromium"))  # Debian's package
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
SRC = Path(__file__).resolve().parents[2] / "src"
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_SERVER = """
import sys, uvicorn
from pathlib import Path
from flowtime.runs import Settings
from flowtime.server import create_app
settings = Settings.resolve(data_dir=Path(sys.argv[1]), templates_dir=Path(sys.argv[2]), env={})
uvicorn.run(create_app(settings), host="127.0.0.1", port=int(sys.argv[3]), log_level="warning")
"""


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _missing_browser() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: run scripts/ensure-browser.sh (apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is missing: pip install -e '.[test]'"
    return None


def require_playwright() -> ModuleType:
    """``playwright.sync_api`` for a test module: skipped locally when missing, an error under CI."""
    try:
        return importlib.import_module("playwright.sync_api")
    except ImportError:
        if _in_ci():
            raise
        pytest.skip("the playwright package is missing: pip install -e '.[test]'", allow_module_level=True)


@pytest.fixture(scope="session")
def browser_context() -> Iterator[object]:
    """A fresh persistent Chromium profile; skipped locally when the browser is missing, failed under CI."""
    reason = _missing_browser()
    if reason:
        if _in_ci():
            pytest.fail(f"End-to-end UI tests cannot run under CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)  # CI runs on two possibly loaded cores: wait on DOM state generously
    profile = tempfile.mkdtemp(prefix="flowtime-chromium-")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=BROWSER_ARGS,
            viewport={"width": 1400, "height": 900},
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(2 * TIMEOUT_MS)
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's data directory (absolute): tests check that no page ever shows it."""
    return tmp_path_factory.mktemp("data").resolve()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[str]:
    """``flowtime``'s app under uvicorn in a child process, with an empty data dir and one extra template."""
    templates_dir = tmp_path_factory.mktemp("templates")
    write_wide_template(templates_dir)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    log = (tmp_path_factory.mktemp("log") / "server.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(data_dir), str(templates_dir), str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.seek(0)
            pytest.fail(f"The FlowTime server did not start:\n{log.read()}")
        time.sleep(0.1)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture
def page(browser_context: object, server: str) -> Iterator[object]:
    """A new tab; console errors, and any request that leaves the FlowTime server, fail the test."""
    page = browser_context.new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    elsewhere: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("request", lambda r: None if r.url.startswith((server, "data:")) else elsewhere.append(r.url))
    yield page
    page.close()
    assert not [e for e in errors if not e.startswith("Failed to load resource")], f"browser errors: {errors}"
    assert not elsewhere, f"the UI fetched from outside the server: {elsewhere}"


@pytest.fixture
def api(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=60) as client:
        yield client


def shot(page: object, name: str) -> Path:
    """Save a full-page screenshot under tests/artifacts/screenshots/ (git-ignored; kept by CI as an artifact)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def colours(page: object) -> dict[str, str]:
    """The API colour word each drawn topology node is painted with, by node id."""
    return page.eval_on_selector_all(  # type: ignore[attr-defined]
        ".node", "els => Object.fromEntries(els.map(e => [e.dataset.node, e.dataset.color]))"
    )


class HeldPosts:
    """Holds the page's POSTs to one URL until ``release()``, so a test can look at the page mid-request."""

    def __init__(self, page: object, url_glob: str) -> None:
        self.page = page
        self.url_glob = url_glob
        self.routes: list[object] = []
        page.route(url_glob, self._hold)  # type: ignore[attr-defined]

    def _hold(self, route: object) -> None:
        if route.request.method == "POST":  # type: ignore[attr-defined]
            self.routes.append(route)
        else:
            route.continue_()  # type: ignore[attr-defined]

    def release(self) -> None:
        for route in self.routes:
            route.continue_()  # type: ignore[attr-defined]
        self.page.unroute(self.url_glob, self._hold)  # type: ignore[attr-defined]
