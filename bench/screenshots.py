"""Retake the README screenshots: two browsers (Alice and Bob) in one room, then the
Comments, Versions and History panels.

    .venv/bin/python bench/screenshots.py [--dir docs/screenshots]

Starts its own annotd (free ports), creates a room with the test scene of every primitive,
opens two Chromium contexts side by side, has Alice select a shape and Bob point at
another, and writes one PNG with both windows (two-browsers.png). Then: a discussion on a
shape with Alice typing, seen by Bob (comments.png); two named versions with one previewed
(versions.png); the history scrubber at a past step (history.png). Last, the same room on a
phone (390×844, the Comments panel open as a bottom sheet: phone.png) and a tablet (1024×768,
the Comments panel open beside the canvas: tablet.png), with touch and at the device's pixel
ratio. One command retakes every picture in the README. Needs Debian's chromium on PATH.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

from annotd.render.fonts import FACES, face_path  # noqa: E402
from tests.browser.conftest import CHROMIUM_ARGS, Server, start_server, stop_server  # noqa: E402
from tests.browser.scene import annotations, base_png  # noqa: E402

W, H = 1200, 680


def as_user(server: Server, user: str, method: str, path: str, body: Any = None) -> Any:
    sep = "&" if "?" in path else "?"
    status, out = server.request(method, f"{path}{sep}userId={user.replace('#', '%23')}", body)
    assert status < 300, out
    return out


def panel_shots(server: Server, alice: Page, bob: Page, ids: list[str], out_dir: Path) -> str:
    """comments.png (Bob's window), versions.png and history.png (Alice's); returns the id of
    the discussion on the red rectangle."""
    base = "/v1/rooms/harbour"
    as_user(server, "Alice#demo", "POST", f"{base}/versions", {"name": "First pass"})
    t1 = as_user(server, "Alice#demo", "POST", f"{base}/comments", {
        "body": "Is this the crack we saw last week? It looks longer.",
        "anchor": {"kind": "annotation", "annotationId": ids[0], "offsetX": 1, "offsetY": 0}})["thread"]["id"]
    as_user(server, "Bob#demo", "POST", f"{base}/comments/{t1}/replies",
            {"body": "Yes, about 2 mm longer. I marked the end with the arrow."})
    t2 = as_user(server, "Bob#demo", "POST", f"{base}/comments", {
        "body": "Rust under the paint here?", "anchor": {"kind": "region", "x": 500, "y": 300, "w": 200, "h": 160}})["thread"]["id"]
    t3 = as_user(server, "Alice#demo", "POST", f"{base}/comments",
                 {"body": "Label moved, fine now.", "anchor": {"kind": "point", "x": 600, "y": 420}})
    as_user(server, "Bob#demo", "PATCH", f"{base}/comments/{t3['thread']['id']}", {"action": "resolve"})
    as_user(server, "Bob#demo", "PATCH", f"{base}/annotations/{ids[3]}", {"x": 430, "style": {"fill": "#ffd43b"}})
    as_user(server, "Bob#demo", "DELETE", f"{base}/annotations/{ids[13]}")
    as_user(server, "Alice#demo", "POST", f"{base}/versions", {"name": "After review"})
    as_user(server, "Alice#demo", "PATCH", f"{base}/annotations/{ids[5]}", {"style": {"stroke": "#1971c2"}})

    # Comments: Bob reads the discussion on the red rectangle while Alice types a reply
    bob.get_by_role("tab", name="Comments").click()
    bob.locator(f'li.thread[data-thread-id="{t1}"] .thread-open').click()
    bob.evaluate("window.annotd.app.fit()")
    alice.get_by_role("tab", name="Comments").click()
    alice.locator(f'li.thread[data-thread-id="{t1}"] .thread-open').click()
    alice.locator(f'li.thread[data-thread-id="{t1}"] textarea').click()
    alice.keyboard.type("Then we")
    bob.wait_for_function("() => document.querySelector('.typing-indicator').textContent === 'Alice is typing…'", polling=50)
    bob.wait_for_selector(f'.pins .pin[data-thread-id="{t2}"]')
    Image.open(io.BytesIO(bob.screenshot())).convert("RGB").save(out_dir / "comments.png", optimize=True)
    alice.keyboard.press("Escape")

    # Versions: Alice previews the first pass while the room has moved on
    alice.get_by_role("tab", name="Versions").click()
    alice.get_by_role("button", name="Preview version First pass").click()
    alice.wait_for_selector(".banner[data-preview=tag]")
    alice.evaluate("window.annotd.app.fit()")
    alice.mouse.move(5, H - 5)
    Image.open(io.BytesIO(alice.screenshot())).convert("RGB").save(out_dir / "versions.png", optimize=True)
    alice.keyboard.press("Escape")

    # History: the scrubber a few steps back, with who changed what
    alice.get_by_role("tab", name="History").click()
    step = alice.evaluate("window.annotd.app.history.head") - 2  # Bob moved and filled the ellipse
    alice.evaluate("""s => { const el = document.getElementById('history-seq'); el.value = String(s);
        el.dispatchEvent(new Event('input', { bubbles: true })); }""", step)
    alice.wait_for_function("s => document.getElementById('history-step').dataset.seq === String(s)", arg=step, polling=50)
    alice.evaluate("window.annotd.app.fit()")
    Image.open(io.BytesIO(alice.screenshot())).convert("RGB").save(out_dir / "history.png", optimize=True)
    alice.keyboard.press("Escape")
    return t1


PHONE = {"width": 390, "height": 844}
TABLET = {"width": 1024, "height": 768}


def device_shots(server: Server, browser: Browser, t1: str, out_dir: Path) -> None:
    """phone.png and tablet.png: the room with its shapes, fitted, with the Comments panel
    open on the discussion (as a bottom sheet on the phone, beside the canvas on the tablet)."""
    for name, viewport, scale in (("phone", PHONE, 2), ("tablet", TABLET, 1)):
        ctx = browser.new_context(viewport=viewport, device_scale_factor=scale, has_touch=True, is_mobile=name == "phone")
        ident = json.dumps({"userId": "Carol#demo", "name": "Carol", "color": "#2f9e44"})
        ctx.add_init_script(f"localStorage.setItem('annotd.identity', {json.dumps(ident)})")
        page = ctx.new_page()
        page.goto(server.http + "/r/harbour")
        page.wait_for_selector(".app[data-synced=true]")
        page.wait_for_function("() => document.fonts.status === 'loaded'", polling=50)
        if name == "phone":
            page.get_by_role("button", name="Panels").tap()
        page.get_by_role("tab", name=re.compile("^Comments")).tap()
        if name == "tablet":  # on the phone the sheet shows the list; opening a thread pans under it
            page.locator(f'li.thread[data-thread-id="{t1}"] .thread-open').tap()
        # fit the image into what the panels leave visible (on the phone: above the sheet)
        page.evaluate("""() => {
            const app = window.annotd.app, img = app.canvas.image();
            const st = app.shell.stage.getBoundingClientRect(), sheet = document.querySelector('.sidebar').getBoundingClientRect();
            const w = sheet.left > st.left + 10 ? Math.min(st.width, sheet.left - st.left) : st.width;
            const h = sheet.top > st.top + 10 ? Math.min(st.height, sheet.top - st.top) : st.height;
            const s = Math.min(w / img.width, h / img.height) * 0.96;
            app.viewport.set(s, (w - img.width * s) / 2, (h - img.height * s) / 2);
        }""")
        page.wait_for_selector(f'.pins .pin[data-thread-id="{t1}"]')
        Image.open(io.BytesIO(page.screenshot())).convert("RGB").save(out_dir / f"{name}.png", optimize=True)
        ctx.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=str(ROOT / "docs" / "screenshots"))
    args = ap.parse_args()
    out_dir = Path(args.dir)
    out_dir.mkdir(parents=True, exist_ok=True)
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
            alice.evaluate("window.annotd.app.selection.clear()")
            t1 = panel_shots(server, alice, bob, ids, out_dir)
            device_shots(server, browser, t1, out_dir)
            browser.close()
    finally:
        stop_server(server)
    gap, label_h = 24, 34
    out = Image.new("RGB", (2 * W + 3 * gap, H + label_h + 2 * gap), (52, 58, 64))
    draw = ImageDraw.Draw(out)
    font = ImageFont.truetype(str(face_path(FACES["sans"], "bold")), 18)
    for i, (shot, who) in enumerate(zip(shots, ("Alice's browser", "Bob's browser"), strict=True)):
        x = gap + i * (W + gap)
        draw.text((x, gap - 4), who, fill=(248, 249, 250), font=font)
        out.paste(shot, (x, gap + label_h - 8))
    out.save(out_dir / "two-browsers.png", optimize=True)
    print(f"wrote {out_dir}: two-browsers.png ({out.width}x{out.height}), comments.png, versions.png, history.png, "
          "phone.png, tablet.png")


if __name__ == "__main__":
    main()
