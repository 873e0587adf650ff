"""Browser tests: Playwright (Python) driving Debian's Chromium against a real daemon.

Playwright cannot download its own browsers here, so it launches the ``chromium`` found on
PATH through ``executable_path``. Without it the browser tests are skipped with a loud
message on a developer machine, but FAIL when ``ANNOTD_REQUIRE_BROWSER=1`` (CI sets it, and
.ci/run installs Debian's chromium), so CI never silently skips them.

Every page is watched: any ``pageerror`` or console error fails the test that opened it.
Synchronisation is always by awaiting a condition (``expect``, ``wait_for_function`` with
``polling=50``), never by sleeping; timeouts are generous for a loaded 2-core machine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

try:
    from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
except ImportError:  # the test extra is not installed (bin/test installs it)
    if os.environ.get("ANNOTD_REQUIRE_BROWSER") == "1":
        raise
    pytest.skip("BROWSER TESTS SKIPPED: playwright is not installed (pip install -e .[test])", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_MS = 20_000
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless=new", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-renderer-backgrounding", "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows", "--force-color-profile=srgb", "--hide-scrollbars",
]
SKIPPED: list[str] = []

expect.set_options(timeout=TIMEOUT_MS)


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        msg = ("Debian's chromium is not on PATH: browser tests cannot run "
               "(apt-get install -y chromium; .ci/run does this)")
        if os.environ.get("ANNOTD_REQUIRE_BROWSER") == "1":
            pytest.fail(msg + " -- ANNOTD_REQUIRE_BROWSER=1, so this is a failure", pytrace=False)
        SKIPPED.append(msg)
        pytest.skip("BROWSER TESTS SKIPPED: " + msg)
    return path


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if SKIPPED:
        terminalreporter.write_sep("!", "BROWSER TESTS WERE SKIPPED", red=True, bold=True)
        terminalreporter.write_line(SKIPPED[0], red=True)


@dataclass
class Server:
    """``annotd serve`` in its own process on free ports (the real thing a user runs)."""

    proc: subprocess.Popen[str]
    http: str
    ws: str
    log: list[str] = field(default_factory=list)
    #: the config file it was started with (None: the repository's config.toml)
    config: Path | None = None

    def drain(self) -> None:
        assert self.proc.stdout is not None
        try:
            for line in self.proc.stdout:
                self.log.append(line)
                del self.log[:-500]
        except ValueError:  # closed at teardown
            pass

    def request(self, method: str, path: str, body: Any = None, raw: bytes | None = None,
                content_type: str = "application/json") -> tuple[int, Any]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.http + path, data=data, method=method,
                                     headers={"Content-Type": content_type} if data is not None else {})
        try:
            with urllib.request.urlopen(req, timeout=20) as r:
                text = r.read()
                return r.status, json.loads(text) if text else None
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def create_room(self, room_id: str, name: str | None = None) -> None:
        status, body = self.request("POST", "/v1/rooms", {"id": room_id, "name": name or room_id})
        assert status == 201, body

    def annotations(self, room_id: str) -> list[dict[str, Any]]:
        status, body = self.request("GET", f"/v1/rooms/{room_id}/annotations")
        assert status == 200, body
        return list(body["annotations"])


def start_server(extra_env: dict[str, str] | None = None, config: Path | None = None) -> Server:
    env = {**os.environ, "ANNOTD_SERVE_WS_PORT": "0", "ANNOTD_SERVE_HTTP_PORT": "0", **(extra_env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "annotd", "serve", "--config", str(config or ROOT / "config.toml")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    for line in proc.stdout:
        lines.append(line)
        m = re.search(r"annotd listening: (ws://\S+)/v1/ws\s+(http://\S+)", line)
        if m:
            server = Server(proc, m.group(2), m.group(1), lines, config)
            # keep reading its log, or a full pipe would stall the server mid-test
            threading.Thread(target=server.drain, name="annotd-log", daemon=True).start()
            return server
    proc.wait(timeout=10)
    raise RuntimeError("annotd did not start:\n" + "".join(lines))


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    s = start_server()
    yield s
    stop_server(s)


def kill_server(s: Server) -> None:
    """Kill the daemon outright, as a crash would: nothing is saved, every socket drops."""
    s.proc.kill()
    s.proc.wait(timeout=15)
    if s.proc.stdout is not None:
        s.proc.stdout.close()


def start_again(s: Server) -> None:
    """Start a new daemon on the ports ``s`` had, with its config file, so the pages that were
    open reconnect to it as they would after a real restart."""
    ports = {"ANNOTD_SERVE_WS_PORT": str(urllib.parse.urlsplit(s.ws).port),
             "ANNOTD_SERVE_HTTP_PORT": str(urllib.parse.urlsplit(s.http).port)}
    fresh = start_server(ports, s.config)
    s.proc, s.log = fresh.proc, fresh.log


def stop_server(s: Server) -> None:
    s.proc.terminate()
    try:
        s.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        s.proc.kill()
        s.proc.wait()
    if s.proc.stdout is not None:
        s.proc.stdout.close()


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    """One Chromium per test module: Playwright's sync API keeps its own event loop running
    while it is open, which must not overlap the asyncio tests of other modules."""
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, timeout=60_000)
        yield b
        b.close()


@dataclass
class Watched:
    page: Page
    context: BrowserContext
    user_id: str
    name: str
    errors: list[str]
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow_console(self, pattern: str) -> None:
        """Declare a console error the test provokes on purpose (Chromium logs every HTTP
        error response of fetch() as "Failed to load resource: ... status of 415")."""
        self.allowed.append(re.compile(pattern))

    def on_console(self, kind: str, text: str) -> None:
        if kind == "error" and not any(p.search(text) for p in self.allowed):
            self.errors.append(f"console.error: {text}")


PageFactory = Callable[..., Watched]


@pytest.fixture
def open_page(browser: Browser, server: Server) -> Iterator[PageFactory]:
    """Open a page as a person (own context = own storage and identity); every page's
    errors fail the test."""
    opened: list[Watched] = []

    def factory(path: str, name: str = "Alice", color: str = "#e03131", *, viewport: dict[str, int] | None = None,
                wait_synced: bool = True, has_touch: bool = False) -> Watched:
        ctx = browser.new_context(viewport=viewport or {"width": 1280, "height": 800}, device_scale_factor=1,
                                  has_touch=has_touch)
        user_id = f"{name}#t{len(opened)}"
        ctx.add_init_script(
            "localStorage.setItem('annotd.identity', " + json.dumps(json.dumps({"userId": user_id, "name": name, "color": color})) + ")")
        page = ctx.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        w = Watched(page, ctx, user_id, name, errors)
        page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        page.on("console", lambda m: w.on_console(m.type, m.text))
        opened.append(w)
        page.goto(server.http + path)
        if wait_synced and path.startswith("/r/"):
            expect(page.locator(".app[data-synced=true]")).to_have_count(1)
        return w

    yield factory
    problems = [f"{w.name}: {e}" for w in opened for e in w.errors]
    for w in opened:
        w.context.close()
    assert not problems, "errors in the page:\n" + "\n".join(problems)


def wait_for(page: Page, js: str, arg: Any = None) -> Any:
    """Await a JS condition (polling every 50 ms: headless rAF can be starved)."""
    return page.wait_for_function(js, arg=arg, polling=50, timeout=TIMEOUT_MS).json_value()
