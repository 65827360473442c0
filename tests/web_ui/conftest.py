"""A real server (uvicorn in a thread, on a free loopback port) over a private copy of the demo
home, and Debian's headless Chromium driven by Playwright. Each test gets a fresh 1366×768 page
and leaves a screenshot of its final state in ``tests/artifacts/``."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from copilot.api.auth import COOKIE
from copilot.settings import Settings
from tests.conftest import SHARED_DATA, sign_in

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--autoplay-policy=no-user-gesture-required"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
VIEWPORT = {"width": 1366, "height": 768}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The app served for real, restartable on the same port and home (a restart is a new
    process state: a new context, new call sessions rebuilt from disk)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._ctx: Any = None
        self._tokens: dict[str, str] = {}

    def start(self, timeout: float = 600) -> None:
        """Serve, once the app's start-up (index, category model) is done."""
        import uvicorn

        from copilot.api.app import create_app
        from copilot.context import AppContext

        self._ctx = AppContext(self.settings)
        config = uvicorn.Config(create_app(context=self._ctx), host="127.0.0.1", port=self.port,
                                log_level="warning", timeout_graceful_shutdown=3)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="console-server",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the test server stopped while starting (see the log above)")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the test server did not start in {timeout:.0f} s")
            time.sleep(0.1)

    def sign_in(self, username: str, roles: tuple[str, ...]) -> str:
        """Create the account if missing and log in through the server; returns the token."""
        import httpx

        with httpx.Client(base_url=self.url, timeout=30) as client:
            header = sign_in(client, self._ctx.db, username, roles)
        return header["Authorization"].removeprefix("Bearer ")

    def headers(self, username: str = "operator", roles: tuple[str, ...] = ("operator",)
                ) -> dict[str, str]:
        """Headers for direct API calls made as that account (one session per account)."""
        if username not in self._tokens:
            self._tokens[username] = self.sign_in(username, roles)
        return {"Authorization": f"Bearer {self._tokens[username]}"}

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(60)
        if self._ctx is not None:
            self._ctx.close()
        self._server = self._thread = self._ctx = None


@pytest.fixture(scope="module")
def live_server(demo_home_template: Path,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("console") / "home"
    shutil.copytree(demo_home_template, home)
    audio = SHARED_DATA / "calls" / "audio"
    settings = Settings(home=home, env="test", load_demo=False,
                        demo_audio_dir=audio if audio.is_dir() else None)
    server = LiveServer(settings)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="the browser tests need Playwright for Python")
    if not CHROMIUM.exists():
        pytest.skip(f"the browser tests need Debian's chromium at {CHROMIUM} "
                    "(`make browser` installs it)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


OPERATOR: tuple[str, tuple[str, ...]] = ("operator", ("operator",))


def sign_in_page(page: Any, live_server: LiveServer, username: str,
                 roles: tuple[str, ...]) -> None:
    """Make the page's browser context signed in as that account (its session cookie)."""
    page.context.clear_cookies()
    page.context.add_cookies([{"name": COOKIE, "value": live_server.sign_in(username, roles),
                               "url": live_server.url}])


@contextmanager
def open_page(browser: Any, live_server: LiveServer, name: str, timeout_ms: int = 30_000,
              full_page: bool = False, user: tuple[str, tuple[str, ...]] | None = OPERATOR,
              **context_options: Any) -> Iterator[Any]:
    """A fresh page on the live server, signed in as ``user`` (username, roles; None: nobody).
    JS errors are collected in ``page.console_errors``; the final state is saved as
    tests/artifacts/<name>.png."""
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", **context_options)
    page = context.new_page()
    if user is not None:
        sign_in_page(page, live_server, *user)
    page.set_default_timeout(timeout_ms)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.console_errors = errors
    try:
        yield page
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        try:
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)
        finally:
            context.close()


@pytest.fixture
def page(browser: Any, live_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page at 1366×768, signed in as an operator."""
    with open_page(browser, live_server, request.node.name, viewport=VIEWPORT) as p:
        yield p
