"""A Matchday served from a thread of its own, a small blocking JSON client, and headless
Chromium (Debian's package, driven by Selenium through Debian's chromedriver).

Selenium's calls block, so the app cannot share the test's event loop: it runs on its own
thread and loop. It listens on two ports: the browser's (which a test can drop and restore,
as a proxy or a restart would) and the test's own, for API calls that must work meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.testing import bind_unused_port

from config.settings import Settings
from server.admin_cli import create_admin
from server.app import MatchdayApp, make_app
from tests.support import STRONG_PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", REPO / "test-artifacts" / "browser"))
T = TypeVar("T")


def browser_available() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


def chromium(profile: Path) -> webdriver.Chrome:
    """Headless Chromium with a fresh profile; nothing is downloaded (the system driver is
    named, and Selenium Manager is told it is offline)."""
    os.environ["SE_OFFLINE"] = "true"
    options = Options()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(15)
    driver.set_script_timeout(20)
    return driver


class ServedApp:
    """One Matchday app on a background thread, reachable on `url` (the browser's port) and
    `control_url` (the test's)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="served-app", daemon=True)
        self.ready = threading.Event()
        self.app: MatchdayApp | None = None
        self.public: HTTPServer | None = None
        self.control: HTTPServer | None = None
        self.port = 0
        self.control_port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def control_url(self) -> str:
        return f"http://127.0.0.1:{self.control_port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, make: Callable[[], Awaitable[T]], timeout: float = 30) -> T:
        """Run a coroutine on the app's loop and wait for its result."""

        async def run() -> T:
            return await make()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout)

    def start(self) -> None:
        self.thread.start()
        self.call(self._start)

    async def _start(self) -> None:
        self.app = await make_app(self.settings)
        sock, self.port = bind_unused_port()
        control_sock, self.control_port = bind_unused_port()
        self.public = HTTPServer(self.app)
        self.public.add_sockets([sock])
        self.control = HTTPServer(self.app)
        self.control.add_sockets([control_sock])

    def drop(self) -> None:
        """The browser's port closes and its open connections (the stream) are cut."""

        async def drop() -> None:
            assert self.public is not None
            self.public.stop()
            await self.public.close_all_connections()

        self.call(drop)

    def restore(self) -> None:
        async def restore() -> None:
            assert self.app is not None
            self.public = HTTPServer(self.app)
            self.public.add_sockets(bind_sockets(self.port, "127.0.0.1"))

        self.call(restore)

    def replace_app(self) -> None:
        """A restart: the app is closed and a new one opened on the same database (its
        in-process stream begins anew); the browser's port stays closed until `restore`."""

        async def replace() -> None:
            assert self.app is not None and self.control is not None and self.public is not None
            self.public.stop()
            self.control.stop()
            await self.public.close_all_connections()
            await self.control.close_all_connections()
            await self.app.close()
            self.app = await make_app(self.settings)
            self.control = HTTPServer(self.app)
            self.control.add_sockets(bind_sockets(self.control_port, "127.0.0.1"))

        self.call(replace)

    def make_admin(self, email: str) -> None:
        assert self.app is not None
        create_admin(self.app.config, email, STRONG_PASSWORD, "Admin")

    def stop(self) -> None:
        async def stop() -> None:
            for server in (self.public, self.control):
                if server is not None:
                    server.stop()
                    await server.close_all_connections()
            if self.app is not None:
                await self.app.close()

        try:
            self.call(stop)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)


class Client:
    """Blocking JSON calls for the tests (the browser's work happens in Chromium)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.token: str | None = None

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            return error.code, json.loads(raw) if raw else None

    def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        code, reply = self.call(method, path, body)
        assert code == status, (method, path, code, reply)
        return reply

    def sign_in(self, email: str, register: bool = True) -> None:
        if register:
            self.ok(
                "POST",
                "/api/v1/auth/register",
                {"email": email, "password": STRONG_PASSWORD, "display_name": email.split("@")[0]},
                201,
            )
        login = {"email": email, "password": STRONG_PASSWORD}
        self.token = self.ok("POST", "/api/v1/auth/login", login)["access_token"]
