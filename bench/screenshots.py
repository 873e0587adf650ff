"""Retake the README screenshot: two browsers (Alice and Bob) in one room.

    .venv/bin/python bench/screenshots.py [--out docs/screenshots/two-browsers.png]

Starts its own annotd (free ports), creates a room with the test scene of every primitive,
opens two Chromium contexts side by side, has Alice select a shape and Bob point at
another, and writes one PNG with both windows. Needs Debian's chromium on PATH.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from annotd.render.fonts import load_font  # noqa: E402
from tests.browser.conftest import CHROMIUM_ARGS, start_server, stop_server  # noqa: E402
from tests.browser.scene import annotations, base_png  # noqa: E402

W, H = 1200, 680


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots" / "two-browsers.png"))
    args = ap.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("chromium is not on PATH (apt-get install chromium)")
    server = start_server()
    try:
        server.create_room("harbour", "Harbour survey — weld inspection")
        server.request("POST", "/v1/rooms/harbour/image", raw=base_png(), content_type="image/png")
        ids = []
        for ann in annotations():
            _, body = server.request("POST", "/v1/rooms/harbour/annotations", ann)
            ids.append(body["annotation"]["id"])
        shots = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            pages = {}
            for name, color in (("Alice", "#e03131"), ("Bob", "#1971c2")):
                ctx = browser.new_context(viewport={"width": W, "height": H}, device_scale_factor=1)
                ident = json.dumps({"userId": f"{name}#demo", "name": name, "color": color})
                ctx.add_init_script(f"localStorage.setItem('annotd.identity', {json.dumps(ident)})")
                page = ctx.new_page()
                page.goto(server.http + "/r/harbour")
                page.wait_for_selector(".app[data-synced=true]")
                page.wait_for_function("() => document.fonts.status === 'loaded'", polling=50)
                pages[name] = page
            alice, bob = pages["Alice"], pages["Bob"]
            for page in (alice, bob):
                page.evaluate("window.annotd.app.fit()")
            # Alice selects the dashed rectangle; Bob points at the arrow and opens People
            alice.evaluate("id => window.annotd.app.selection.set([id])", ids[1])
            bob.get_by_role("tab", name="People").click()
            box = bob.locator("svg.canvas").bounding_box()
            assert box is not None
            view = "[window.annotd.app.viewport.tx, window.annotd.app.viewport.ty, window.annotd.app.viewport.scale]"
            tx, ty, s = bob.evaluate(view)
            bob.mouse.move(box["x"] + tx + 270 * s, box["y"] + ty + 185 * s, steps=3)
            abox = alice.locator("svg.canvas").bounding_box()
            assert abox is not None
            atx, aty, as_ = alice.evaluate(view)
            alice.mouse.move(abox["x"] + atx + 330 * as_, abox["y"] + aty + 60 * as_, steps=3)
            bob.wait_for_selector('.cursor[data-user="Alice#demo"]')
            bob.wait_for_selector(".remote-sel")
            alice.wait_for_selector('.cursor[data-user="Bob#demo"]')
            for page in (alice, bob):
                shots.append(Image.open(io.BytesIO(page.screenshot())).convert("RGB"))
            browser.close()
    finally:
        stop_server(server)
    gap, label_h = 24, 34
    out = Image.new("RGB", (2 * W + 3 * gap, H + label_h + 2 * gap), (52, 58, 64))
    draw = ImageDraw.Draw(out)
    font = load_font("sans", "bold", 18)
    for i, (shot, who) in enumerate(zip(shots, ("Alice's browser", "Bob's browser"), strict=True)):
        x = gap + i * (W + gap)
        draw.text((x, gap - 4), who, fill=(248, 249, 250), font=font)
        out.paste(shot, (x, gap + label_h - 8))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    out.save(args.out, optimize=True)
    print(f"wrote {args.out} ({out.width}x{out.height})")


if __name__ == "__main__":
    main()
