"""Point editing in Debian's Chromium (figures for BENCHMARKS.md; not a test).

    .venv/bin/python -m bench.bench_points [--frames 180] [--stroke-points 10000]

annotd runs in its own process (default config); Alice drags with the real mouse, Bob
watches from another browser context. Measures, for a polygon's vertex and for a key point
of a freehand stroke of N points (the schema's maximum by default):

* Alice's **frame time** while dragging (bench_web's recorder: input handlers + rAF +
  rendering update on the main thread, rAF-to-rAF interval beside it);
* how many **document updates** Bob's page received during the drag and their total size
  (a long stroke is written at most 10 times a second: each write replaces it whole);
* that Bob ends with Alice's last position.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from typing import Any

from playwright.sync_api import Page, sync_playwright

from bench.bench_web import RECORDER, open_room, summary
from tests.browser.conftest import CHROMIUM_ARGS, Server, start_server, stop_server

COUNT_UPDATES = """() => { const first = window.__updates === undefined; window.__updates = { n: 0, bytes: 0 };
  if (first) window.annotd.app.doc.on('update', (u) => { window.__updates.n++; window.__updates.bytes += u.length; }); }"""


def drag_handle(alice: Page, bob: Page, ann_id: str, handle: str, frames: int) -> dict[str, Any]:
    alice.evaluate("() => window.annotd.app.viewport.set(1, 0, 0)")
    alice.evaluate("id => window.annotd.app.selection.set([id])", ann_id)
    alice.keyboard.press("Enter")
    alice.wait_for_selector(handle)
    box = alice.locator(handle).first.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    bob.evaluate(COUNT_UPDATES)
    alice.mouse.move(x, y)
    alice.mouse.down()
    alice.evaluate(RECORDER, frames)
    k = 0
    while not alice.evaluate("window.__rec.done"):
        k += 1
        alice.mouse.move(x + 60 * math.sin(k / 10), y + 30 * math.cos(k / 10), steps=1)
    alice.mouse.up()
    rec = alice.evaluate("window.__rec")
    want = alice.evaluate("id => JSON.stringify(window.annotd.app.canvas.get(id).points)", ann_id)
    bob.wait_for_function("([id, pts]) => JSON.stringify(window.annotd.app.canvas.get(id).points) === pts",
                          arg=[ann_id, want], polling=50, timeout=60_000)
    updates = bob.evaluate("window.__updates")
    alice.keyboard.press("Escape")
    return {"frame_ms": summary(rec["costs"][5:]), "interval_ms": summary(rec["intervals"][5:]), "mouse_moves": k,
            "updates_at_bob": updates["n"], "update_bytes_at_bob": updates["bytes"], "bob_has_last_position": True}


def room(server: Server, stroke_points: int) -> None:
    server.create_room("pts", "Point editing bench")
    poly = {"id": "poly", "type": "polygon", "x": 200, "y": 150, "points": [0, 0, 300, 0, 300, 200, 0, 200]}
    wave = [v for i in range(stroke_points) for v in (i * 800 / stroke_points, 60 + 50 * math.sin(i * 12 / stroke_points))]
    stroke = {"id": "stroke", "type": "freehand", "x": 100, "y": 450, "points": wave}
    for ann in (poly, stroke):
        status, body = server.request("POST", "/v1/rooms/pts/annotations", ann)
        assert status == 200, body


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=180)
    ap.add_argument("--stroke-points", type=int, default=10_000)
    args = ap.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("chromium is not on PATH (apt-get install chromium)")
    result: dict[str, Any] = {"load_before": os.getloadavg(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    server = start_server()
    try:
        room(server, args.stroke_points)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            alice = open_room(browser, server, "pts", "Alice")
            bob = open_room(browser, server, "pts", "Bob")
            result["polygon_vertex"] = drag_handle(alice, bob, "poly", ".point-handle[data-vertex='1']", args.frames)
            result["stroke_key_point"] = drag_handle(alice, bob, "stroke", ".point-handle[data-vertex='1']", args.frames)
            result["stroke_points"] = args.stroke_points
            result["page_errors"] = alice.__dict__["bench_errors"] + bob.__dict__["bench_errors"]
            browser.close()
    finally:
        stop_server(server)
    result["load_after"] = os.getloadavg()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
