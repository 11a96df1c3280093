"""Real-browser test fixtures: the app served on a localhost port, Debian's Chromium driven by Playwright.

Loaded with ``core.testing.fixtures`` (it lists this module in its ``pytest_plugins``). Fixtures:

- ``live_server``: ``carecoord serve`` in a child process on a free 127.0.0.1 port, against the session's
  test database and Redis (the same environment the ``client`` fixture uses), so rows made through
  ``client`` are what the browser sees. One per session; stopped at the end.
- ``browser``: Chromium launched through ``playwright.async_api`` from ``CHROMIUM_PATH`` (default
  ``/usr/bin/chromium``, Debian's package; Playwright never downloads a browser here) with the flags of a
  machine whose network is closed. Playwright gives each launch a new empty ``--user-data-dir``.
- ``page``: a new browser context and page per test (no cookies or storage shared between tests); on a
  failed test a screenshot of where it stopped is saved as ``failed.png``.
- ``screenshot``: ``await screenshot(page, "form")`` saves a full-page PNG in
  ``$TEST_ARTIFACTS_DIR/<test name>/`` (default ``<rootdir>/.artifacts/screenshots``) and returns its path.

Without Chromium (or the ``playwright`` package) the browser tests are skipped with the reason, except
when ``CI`` is set: then they fail, so a CI machine missing its browser cannot pass by skipping.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import httpx
import pytest

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
"""Without the background-networking flags Chromium keeps trying hosts a closed network refuses."""
DEFAULT_CHROMIUM = "/usr/bin/chromium"
START_SECONDS = 60.0

Screenshot = Callable[["Page", str], Awaitable[Path]]


def chromium_path() -> str:
    return os.environ.get("CHROMIUM_PATH") or DEFAULT_CHROMIUM


def _usable_chromium() -> str:
    """The Chromium binary to drive; skips (fails under CI) when there is none."""
    executable = chromium_path()
    if not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
        _unavailable(f"Chromium not found at {executable} (install Debian's chromium, or set CHROMIUM_PATH)")
    return executable


def _unavailable(reason: str) -> NoReturn:
    """Skip, or under CI fail: a browser test that cannot run must not pass there."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: browser tests must run; .ci/run installs Debian's chromium)", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class LiveServer:
    url: str
    """``http://127.0.0.1:<port>``, no trailing slash."""
    process: subprocess.Popen[bytes]
    log: Path


def _wait_until_healthy(server: LiveServer) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.process.kill()
    server.process.wait(timeout=10)
    tail = server.log.read_text(errors="replace")[-3000:]
    pytest.fail(f"the live server at {server.url} did not become healthy:\n{tail}", pytrace=False)


@pytest.fixture(scope="session")
def live_server(test_services: Any) -> Iterator[LiveServer]:
    """The real app over real HTTP (uvicorn, through ``carecoord serve``) on a free localhost port."""
    port = _free_port()
    log = Path(tempfile.mkdtemp(prefix="carecoord-live-")) / "server.log"
    env = {**os.environ, "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING")}
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - this interpreter running carecoord itself
            [sys.executable, "-m", "core.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_until_healthy(server)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        shutil.rmtree(log.parent, ignore_errors=True)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    executable = _usable_chromium()
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (make install)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable, args=list(CHROMIUM_FLAGS), headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture(scope="session")
def artifacts_dir(pytestconfig: pytest.Config) -> Path:
    """Where screenshots go: ``TEST_ARTIFACTS_DIR``, default ``<rootdir>/.artifacts/screenshots`` (git-ignored)."""
    configured = os.environ.get("TEST_ARTIFACTS_DIR")
    path = Path(configured) if configured else pytestconfig.rootpath / ".artifacts" / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _test_dir(artifacts_dir: Path, request: pytest.FixtureRequest) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.split("::", 1)[-1])[:150]
    return artifacts_dir / name


@pytest.fixture
def screenshot(artifacts_dir: Path, request: pytest.FixtureRequest) -> Screenshot:
    """``await screenshot(page, name)``: a full-page PNG ``NN-name.png`` in this test's artifacts folder.

    The folder is emptied when the test first saves one, so it only ever holds the latest run's pictures.
    """
    folder = _test_dir(artifacts_dir, request)
    taken: list[Path] = []

    async def take(page: Page, name: str) -> Path:
        if not taken:
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
        path = folder / f"{len(taken) + 1:02d}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
        await page.screenshot(path=str(path), full_page=True)
        taken.append(path)
        return path

    return take


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, so ``page`` knows at teardown whether the test failed."""
    report = yield
    setattr(item, f"browser_report_{call.when}", report)
    return report


@pytest.fixture
async def page(browser: Browser, artifacts_dir: Path, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    """A page in a new, empty browser context (closed after the test)."""
    context = await browser.new_context(viewport={"width": 1000, "height": 800}, locale="en-US")
    context.set_default_timeout(15_000)
    opened = await context.new_page()
    try:
        yield opened
    finally:
        report = getattr(request.node, "browser_report_call", None)
        if report is not None and report.failed and not opened.is_closed():
            folder = _test_dir(artifacts_dir, request)
            folder.mkdir(parents=True, exist_ok=True)
            # a failure picture must not hide the test's own failure
            with contextlib.suppress(Exception):
                await asyncio.wait_for(opened.screenshot(path=str(folder / "failed.png"), full_page=True), 15)
        await context.close()
