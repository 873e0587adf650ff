"""The real Annotorious (npm ``@annotorious/annotorious``, pinned in tests/interop/package.json)
reads annotd's W3C export, and what a person edits in it comes back into annotd.

Annotorious' own UMD build is served with a photo from a small static site next to the
daemon; the page loads it as any web page would (``createImageAnnotator`` with the
``W3CImageFormat`` adapter). Nothing of Annotorious is mocked: what it reads, draws and
writes back is its own doing. The page is watched like every other browser test (any page
error or console error fails the test).
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page

from .conftest import ROOT, TIMEOUT_MS, Server, wait_for
from .helpers import new_room

DIST = ROOT / "tests" / "interop" / "node_modules" / "@annotorious" / "annotorious" / "dist"
WIDTH, HEIGHT = 800, 600
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><link rel="stylesheet" href="annotorious.css">
<style>body { margin: 0 } img { display: block }</style>
<script src="annotorious.js"></script></head>
<body><img id="photo" src="photo.png" width="800" height="600" alt="">
<script>
  window.photoLoaded = new Promise(resolve => {
    const img = document.getElementById('photo');
    if (img.complete) resolve(); else img.addEventListener('load', () => resolve());
  });
</script></body></html>
"""
SHAPES: list[dict[str, Any]] = [
    {"type": "rect", "x": 100, "y": 100, "w": 160, "h": 100, "style": {"stroke": "#1971c2"}},
    {"type": "rect", "x": 450, "y": 60, "w": 120, "h": 60, "rotation": 20},
    {"type": "text", "x": 40, "y": 20, "w": 120, "h": 24, "text": "label"},
    {"type": "ellipse", "x": 60, "y": 300, "w": 100, "h": 60},
    {"type": "ellipse", "x": 220, "y": 420, "w": 100, "h": 50, "rotation": 30},
    {"type": "polygon", "x": 600, "y": 200, "points": [0, 0, 80, 10, 40, 90]},
    {"type": "polygon", "x": 600, "y": 330, "points": [0, 0, 60, 20, 20, 70], "closed": False},
    {"type": "freehand", "x": 60, "y": 450, "points": [0, 0, 10, 5, 30, 12, 50, 8]},
    {"type": "line", "x": 400, "y": 480, "points": [0, 0, 80, 40]},
    {"type": "arrow", "x": 500, "y": 560, "points": [0, 0, 100, -30], "startArrowhead": "dot"},
]
MOVE = (200, 100)
"""How far the test drags the first rect (from its centre) in Annotorious."""
ELLIPSE_MOVE = (120, -60)
"""… and the rotated ellipse."""
DRAWN = ((200, 8), (400, 40))
"""Where the test then draws a new rectangle in Annotorious (an empty strip of the photo)."""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Annotorious' built files, a photo and the page, served over HTTP on a free port."""
    root: Path = tmp_path_factory.mktemp("annotorious-site")
    for name in ("annotorious.js", "annotorious.css"):
        shutil.copy(DIST / name, root / name)
    Image.new("RGB", (WIDTH, HEIGHT), (236, 240, 244)).save(root / "photo.png")
    (root / "index.html").write_text(PAGE, encoding="utf-8")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, name="annotorious-site", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def annotorious(browser: Browser, site: str) -> Iterator[Page]:
    """A page with Annotorious on the photo; any page or console error fails the test."""
    ctx = browser.new_context(viewport={"width": 1000, "height": 700}, device_scale_factor=1)
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("console", lambda m: errors.append(f"console.error: {m.text}") if m.type == "error" else None)
    page.goto(site + "/index.html")
    page.evaluate("""async () => {
        await window.photoLoaded;
        window.anno = Annotorious.createImageAnnotator('photo', { adapter: Annotorious.W3CImageFormat('photo.png') });
        window.updated = [];
        window.anno.on('updateAnnotation', a => window.updated.push(a));
    }""")
    yield page
    ctx.close()
    assert not errors, "errors in the Annotorious page:\n" + "\n".join(errors)


def _room_with_every_primitive(server: Server) -> str:
    rid = new_room(server, "anno", *SHAPES)
    ids = [a["id"] for a in server.annotations(rid)]
    comments = [
        {"anchor": {"kind": "point", "x": 700, "y": 80}, "body": "What is this dot?"},
        {"anchor": {"kind": "region", "x": 650, "y": 450, "w": 100, "h": 80}, "body": "Look here"},
        {"anchor": {"kind": "annotation", "annotationId": ids[3]}, "body": "On the ellipse"},
    ]
    for c in comments:
        status, body = server.request("POST", f"/v1/rooms/{rid}/comments", c)
        assert status == 201, body
    return rid


def _export(server: Server, rid: str) -> list[dict[str, Any]]:
    status, page = server.request("GET", f"/v1/rooms/{rid}/formats/w3c")
    assert status == 200, page
    items: list[dict[str, Any]] = page["items"]
    assert len(items) == len(SHAPES) + 2  # the ellipse's thread rides on the ellipse
    return items


SHOWN_JS = """ids => {
    const layer = document.querySelector('.a9s-annotationlayer');
    const shown = new Map([...layer.querySelectorAll('g.a9s-annotation[data-id]')].map(g => [g.getAttribute('data-id'), g]));
    return ids.map(id => {
        const g = shown.get(id);
        if (!g) return { id, shown: false };
        const attrs = [...g.querySelectorAll('*')].flatMap(el => [...el.attributes].map(a => a.value));
        const box = g.getBBox();
        return { id, shown: true, nan: attrs.some(v => v.includes('NaN')), w: box.width, h: box.height };
    });
}"""


def test_annotorious_shows_every_item_of_an_export(server: Server, annotorious: Page) -> None:
    items = _export(server, _room_with_every_primitive(server))
    loaded = annotorious.evaluate("items => { anno.setAnnotations(items); return anno.getAnnotations().length; }", items)
    assert loaded == len(items)
    ids = [i["id"] for i in items]
    wait_for(annotorious, "n => document.querySelectorAll('.a9s-annotationlayer g.a9s-annotation[data-id]').length === n", len(ids))
    report = annotorious.evaluate(SHOWN_JS, ids)
    assert [r["id"] for r in report if not r["shown"] or r["nan"]] == []
    point = ids[-2]  # the point comment: a zero-size box, the only item without extent
    assert [r["id"] for r in report if r["w"] <= 0 and r["h"] <= 0] == [point]
    # The rotated ellipse keeps its rotation (drawn as its outline: taller than it is wide
    # would be wrong for a 100 x 50 ellipse turned by 30 degrees, so compare with the box).
    rotated = next(r for r in report if r["id"] == ids[4])
    assert 90 < rotated["w"] < 100 and 55 < rotated["h"] < 70


def _drag(page: Page, at: tuple[float, float], by: tuple[float, float]) -> None:
    """Select the shape under ``at`` (Annotorious opens its editor), then drag its body."""
    x, y = at
    page.mouse.click(x, y)
    wait_for(page, "() => anno.getSelected().length === 1 && !!document.querySelector('.a9s-shape-handle')")
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + by[0], y + by[1], steps=12)
    page.mouse.up()


def test_shapes_moved_and_drawn_in_annotorious_come_back(server: Server, annotorious: Page) -> None:
    items = _export(server, _room_with_every_primitive(server))
    annotorious.evaluate("items => anno.setAnnotations(items)", items)
    photo = annotorious.locator("#photo").bounding_box()
    assert photo is not None
    rect, ellipse = SHAPES[0], SHAPES[4]  # a rect, and a rotated ellipse Annotorious sees as a polygon
    for shape, by in ((rect, MOVE), (ellipse, ELLIPSE_MOVE)):
        _drag(annotorious, (photo["x"] + shape["x"] + shape["w"] / 2, photo["y"] + shape["y"] + shape["h"] / 2), by)
    annotorious.mouse.click(photo["x"] + 790, photo["y"] + 10)  # deselect: the last edit is committed
    wait_for(annotorious, "() => window.updated.length === 2")
    annotorious.evaluate("""() => {
        window.created = [];
        anno.on('createAnnotation', a => window.created.push(a));
        anno.setDrawingTool('rectangle');
        anno.setDrawingEnabled(true);
    }""")
    (x0, y0), (x1, y1) = DRAWN
    annotorious.mouse.move(photo["x"] + x0, photo["y"] + y0)
    annotorious.mouse.down()
    annotorious.mouse.move(photo["x"] + x1, photo["y"] + y1, steps=12)
    annotorious.mouse.up()
    wait_for(annotorious, "() => window.created.length === 1")
    edited = annotorious.evaluate("() => anno.getAnnotations()")
    assert len(edited) == len(items) + 1

    rid = new_room(server, "back")
    status, result = server.request("POST", f"/v1/rooms/{rid}/formats/w3c", edited)
    assert status == 201, result
    assert result["skipped"] == []
    moved_notes = sorted(n.split(":")[0] for n in result["notes"] if "moved in another tool" in n)
    assert moved_notes == ["page.items[0]", "page.items[4]"], result["notes"]
    assert len(result["notes"]) == 2
    back = server.annotations(rid)
    got_rect = next(a for a in back if a["type"] == "rect" and (a["w"], a["h"]) == (rect["w"], rect["h"]))
    assert got_rect["x"] == pytest.approx(rect["x"] + MOVE[0], abs=2)
    assert got_rect["y"] == pytest.approx(rect["y"] + MOVE[1], abs=2)
    assert got_rect["style"]["stroke"] == "#1971c2"  # the rest comes from annotd:annotation
    got_ellipse = next(a for a in back if a["type"] == "ellipse" and a.get("rotation"))
    assert got_ellipse["rotation"] == pytest.approx(30)
    assert got_ellipse["x"] == pytest.approx(ellipse["x"] + ELLIPSE_MOVE[0], abs=2)
    assert got_ellipse["y"] == pytest.approx(ellipse["y"] + ELLIPSE_MOVE[1], abs=2)
    drawn = [a for a in back if a["type"] == "rect" and a is not got_rect and not a.get("rotation")]
    assert len(drawn) == 1  # the rect drawn in Annotorious, read from its selector
    assert [drawn[0][k] for k in ("x", "y", "w", "h")] == pytest.approx([x0, y0, x1 - x0, y1 - y0], abs=2)
    # Every other shape came through Annotorious unchanged, so exactly as it was.
    others = sorted((a["type"], a["x"], a["y"], a.get("rotation", 0)) for a in back
                    if a not in (got_rect, got_ellipse, *drawn))
    expected = [s for i, s in enumerate(SHAPES) if i not in (0, 4)]
    assert others == sorted((s["type"], float(s["x"]), float(s["y"]), float(s.get("rotation", 0))) for s in expected)
    status, threads = server.request("GET", f"/v1/rooms/{rid}/comments")
    assert status == 200 and len(threads["threads"]) == 3
