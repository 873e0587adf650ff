"""examples/minimal: the small page of the README's "Build your own frontend", built on the
packed @annotd/client exactly as the README says (bundled with esbuild in a project that
installed the tarball), served by a plain static file server, driven in Chromium against a
live daemon by two people: the base image, a rectangle that the other sees while it is
being dragged, the other's cursor with their name, and the comment list (text, not markup).
"""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from ..client.test_client_js import SDK
from ..client.test_client_pack import consumer  # noqa: F401 - the packed SDK installed in an empty project
from .conftest import ROOT, TIMEOUT_MS, Server

EXAMPLE = ROOT / "examples" / "minimal"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass


@pytest.fixture(scope="module")
def site(consumer: Path) -> Iterator[str]:  # noqa: F811 - the fixture imported above
    """The example bundled against the packed package, on a static server of its own."""
    shutil.copy(EXAMPLE / "main.js", consumer / "main.js")
    root = consumer / "site"
    root.mkdir()
    subprocess.run([str(SDK / "node_modules" / ".bin" / "esbuild"), "main.js", "--bundle", "--format=esm",
                    f"--outfile={root / 'app.js'}", "--log-level=warning"], cwd=consumer, check=True, timeout=120)
    shutil.copy(EXAMPLE / "index.html", root / "index.html")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, name="example-site", daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def png(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 220, 240)).save(buf, "PNG")
    return buf.getvalue()


def test_the_minimal_example_shows_image_live_rectangles_cursors_and_comments(
        site: str, server: Server, browser: Browser) -> None:
    server.create_room("mini", "Mini")
    status, body = server.request("POST", "/v1/rooms/mini/image", raw=png(800, 500), content_type="image/png")
    assert status in (200, 201), body
    errors: list[str] = []
    pages: list[Page] = []
    for name, color in (("Ann", "#e03131"), ("Ben", "#2f9e44")):
        ctx = browser.new_context(viewport={"width": 1060, "height": 520})
        page = ctx.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        page.on("console", lambda m: m.type == "error" and errors.append(f"console.error: {m.text}"))
        query = urlencode({"ws": server.ws, "http": server.http, "room": "mini", "name": name, "color": color})
        page.goto(f"{site}/index.html?{query}")
        expect(page.locator("body[data-synced=true]")).to_have_count(1)
        expect(page.locator("#image image")).to_have_attribute("width", "800")
        pages.append(page)
    ann, ben = pages
    try:
        box = ann.locator("#stage").bounding_box()
        assert box is not None
        ann.mouse.move(box["x"] + 100, box["y"] + 100)
        ann.mouse.down()
        ann.mouse.move(box["x"] + 260, box["y"] + 200, steps=5)
        # live: Ben sees the rectangle and Ann's named cursor before she lets go
        rect = ben.locator("#shapes rect.annotation")
        expect(rect).to_have_count(1)
        expect(ben.locator("#cursors .cursor text")).to_have_text("Ann")
        ann.mouse.up()
        [stored] = server.annotations("mini")
        assert stored["type"] == "rect" and stored["w"] > 50 and stored["h"] > 30
        expect(rect).to_have_attribute("width", str(int(stored["w"])))
        # a comment written elsewhere appears in both lists, as the text that was typed
        status, _ = server.request("POST", "/v1/rooms/mini/comments",
                                   {"anchor": {"kind": "point", "x": 5, "y": 5}, "body": "Look <b>here</b>"})
        assert status == 201
        for page in pages:
            expect(page.locator("#comments li")).to_have_text("Look <b>here</b> — api")  # REST writes as "api" unless told
            expect(page.locator("#comments b")).to_have_count(0)
    finally:
        for page in pages:
            page.context.close()
    assert not errors, "\n".join(errors)
