"""What you see is what you export: the same scene (every primitive and style, and text in
every script of the export's font list: Arabic, Hebrew, Devanagari, Thai, CJK, emoji, mixed
directions, wrapped) drawn by Chromium at 100 % and rendered by the server's PNG export at
the same seq, compared pixel by pixel; then the SVG export of the same seq, opened by
Chromium, against the same PNG.

Both sides are Skia with the same font files; glyph edges still differ a little (Chromium's
text gamma and hinting settings are its own), so pixels along glyph edges differ; a wrong
dash length, arrowhead, text baseline, wrap, font, bidi order or colour shows up as whole
strokes of very different pixels. Tolerance, set from the measured figures with a margin
(BENCHMARKS.md): mean absolute difference <= MAX_MEAN (0..255 per channel) and at most
MAX_BAD of the pixels differing by more than BAD_DELTA in some channel.
"""

from __future__ import annotations

import base64
import io
import os
import urllib.request
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageStat
from playwright.sync_api import Page, expect

from .conftest import PageFactory, Server, wait_for
from .scene import HEIGHT, WIDTH, annotations, base_png

MAX_MEAN = 1.2
BAD_DELTA = 64
MAX_BAD = 0.008
MAX_BAD_SHAPES = 0.001
"""Outside text boxes: glyph edges differ most, shapes must agree more closely (measured
0.79/255 mean, 0.45 % and 0.000 % for the screen; 0.41/255, 0.05 % and 0.000 % for the SVG)."""


def text_mask(size: tuple[int, int]) -> Image.Image:
    """White where a text annotation (with generous margins) is."""
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    for ann in annotations():
        if ann["type"] == "text":
            m = ann["style"].get("fontSize", 16)
            draw.rectangle([ann["x"] - m, ann["y"] - 2 * m, ann["x"] + ann["w"] + m, ann["y"] + ann["h"] + m], fill=255)
    return mask


def compare(screen: Image.Image, export: Image.Image) -> tuple[float, float, float]:
    """(mean absolute difference 0..255, share of pixels off by more than BAD_DELTA, the same
    share counting only pixels outside text)."""
    a = screen.convert("RGB")
    b = export.convert("RGB")
    assert a.size == b.size, (a.size, b.size)
    diff = ImageChops.difference(a, b)
    mean = sum(ImageStat.Stat(diff).mean) / 3
    r, g, bl = diff.split()
    worst = ImageChops.lighter(ImageChops.lighter(r, g), bl)
    n = a.width * a.height
    bad = sum(worst.histogram()[BAD_DELTA + 1:]) / n
    shapes_only = ImageChops.subtract(worst, text_mask(a.size))
    bad_shapes = sum(shapes_only.histogram()[BAD_DELTA + 1:]) / n
    return mean, bad, bad_shapes


def export_file(server: Server, page: Page, seq: int, fmt: str = "png") -> bytes:
    """Ask for the export over the page's own socket and await its exports.finished notification."""
    job = page.evaluate("""async ([seq, format]) => { const socket = window.annotd.app.socket;
        const done = new Promise((resolve, reject) => { const off = socket.on('notification', ({ method, params }) => {
          if (method === 'exports.finished') { off(); resolve(params); }
          else if (method === 'exports.failed') { off(); reject(new Error(JSON.stringify(params))); } }); });
        await socket.call('exports.create', { format, seq });
        return await done; }""", [seq, fmt])
    assert job["status"] == "done" and job["seq"] == seq, job
    with urllib.request.urlopen(f"{server.http}/v1/exports/{job['jobId']}/download", timeout=30) as r:
        data: bytes = r.read()
        return data


def export_png(server: Server, page: Page, seq: int) -> Image.Image:
    return Image.open(io.BytesIO(export_file(server, page, seq))).convert("RGB")


def svg_in_chromium(page: Page, svg: bytes) -> Image.Image:
    """``svg`` opened by Chromium as an image (the way a viewer shows a file), at 100 %."""
    tab = page.context.new_page()
    try:
        tab.set_viewport_size({"width": WIDTH, "height": HEIGHT})
        src = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
        tab.set_content(f'<html><body style="margin:0"><img id="e" src="{src}"></body></html>')
        wait_for(tab, "() => { const i = document.getElementById('e'); return i.complete && i.naturalWidth > 0; }")
        shot = tab.screenshot(clip={"x": 0, "y": 0, "width": WIDTH, "height": HEIGHT}, animations="disabled")
    finally:
        tab.close()
    return Image.open(io.BytesIO(shot)).convert("RGB")


def test_screen_matches_the_export(server: Server, open_page: PageFactory, tmp_path: Path) -> None:
    rid = "wysiwyg"
    server.create_room(rid, "Every primitive")
    status, _ = server.request("POST", f"/v1/rooms/{rid}/image", raw=base_png(), content_type="image/png")
    assert status == 201
    for ann in annotations():
        status, body = server.request("POST", f"/v1/rooms/{rid}/annotations", ann)
        assert status == 200, body
    _, info = server.request("GET", f"/v1/rooms/{rid}")
    seq = info["headSeq"]
    w = open_page(f"/r/{rid}", "Viewer", viewport={"width": 1100, "height": 700})
    page = w.page
    wait_for(page, "n => window.annotd.app.canvas.list().length === n", len(annotations()))
    # fallback faces no character needs are never fetched ("unloaded"); the others must be in
    wait_for(page, "() => document.fonts.status === 'loaded' && [...document.fonts].every(f => f.status !== 'loading')"
             " && [...document.fonts].filter(f => f.status === 'loaded').length >= 2")
    page.evaluate("""() => { const app = window.annotd.app; app.selection.clear();
        app.scene.cullingEnabled = false; app.viewport.set(1, 0, 0); app.layout.reset(); app.scene.renderAll();
        document.querySelector('svg.canvas-overlay').style.display = 'none'; }""")
    wait_for(page, "s => window.annotd.app.socket.lastSeq >= s", seq)
    expect(page.locator("svg.canvas image.base")).to_have_attribute("width", str(WIDTH))
    wait_for(page, """() => new Promise(r => { const img = new Image(); img.onload = () => r(true); img.onerror = () => r(false);
        img.src = document.querySelector('svg.canvas image.base').getAttribute('href'); })""")
    box = page.locator("svg.canvas").bounding_box()
    assert box is not None
    shot = page.screenshot(clip={"x": box["x"], "y": box["y"], "width": WIDTH, "height": HEIGHT}, animations="disabled")
    screen = Image.open(io.BytesIO(shot)).convert("RGB")
    export = export_png(server, page, seq)
    mean, bad, bad_shapes = compare(screen, export)
    out = Path(os.environ.get("ANNOTD_EXPORT_DIFF_DIR", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    screen.save(out / "screen.png")
    export.save(out / "export.png")
    ImageChops.difference(screen, export).point(lambda v: min(255, v * 4)).save(out / "diff-x4.png")
    print(f"\nscreen vs export: mean abs diff {mean:.3f}/255, pixels off by >{BAD_DELTA}: {bad * 100:.3f} % "
          f"({bad_shapes * 100:.3f} % outside text); tolerance: mean <= {MAX_MEAN}, <= {MAX_BAD * 100:.1f} % "
          f"(<= {MAX_BAD_SHAPES * 100:.1f} % outside text); images in {out}")
    assert mean <= MAX_MEAN and bad <= MAX_BAD and bad_shapes <= MAX_BAD_SHAPES, (mean, bad, bad_shapes, str(out))

    # The SVG export carries its fonts: opened by Chromium it shows the PNG export's pixels.
    svg = svg_in_chromium(page, export_file(server, page, seq, "svg"))
    svg.save(out / "svg.png")
    mean, bad, bad_shapes = compare(svg, export)
    print(f"SVG (in Chromium) vs PNG export: mean abs diff {mean:.3f}/255, pixels off by >{BAD_DELTA}: "
          f"{bad * 100:.3f} % ({bad_shapes * 100:.3f} % outside text)")
    assert mean <= MAX_MEAN and bad <= MAX_BAD and bad_shapes <= MAX_BAD_SHAPES, ("svg", mean, bad, bad_shapes)
