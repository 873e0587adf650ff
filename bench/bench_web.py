"""Web client benchmarks in Debian's Chromium (figures for BENCHMARKS.md; not a test).

    .venv/bin/python -m bench.bench_web [--edits 250] [--annotations 1000] [--frames 180]

annotd runs in its own process (``annotd serve`` on free ports, default config); Chromium
is driven by Playwright with the same flags as the browser tests. Measures:

* **latency**: page A (Alice) creates an annotation every 40 ms through the document model
  (what a tool does); page B (Bob, another browser context) stamps the moment the shape's
  ``<g data-annotation-id>`` exists in its DOM (MutationObserver). Both stamps are
  ``performance.timeOrigin + performance.now()`` on one machine clock.
* **first render**: a room with N annotations (mixed types, 30-point freehand strokes,
  wrapped text); a fresh page measures ``scene.renderAll()`` after the first sync, and the
  time until that frame's rendering update (style, layout, paint) has run.
* **frame time** in that room: for pan and zoom gestures (live: shown by a compositor
  transform, committed when the gesture pauses), zoom committed on every frame (the cost of
  one settle, as a worst case), dragging one shape with the mouse, and dragging all N
  annotations selected at once (grabbing one of them), each
  frame's main-thread cost = input handlers since the previous frame + rAF callback +
  the rendering update (measured by a MessageChannel task posted from rAF, which runs right
  after the update). Raster runs off the main thread and is not included; the rAF-to-rAF
  interval (dropped frames) is reported beside it.
* **bundle**: app.js and app.css, minified and gzip -9.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, sync_playwright  # noqa: E402

from tests.browser.conftest import CHROMIUM_ARGS, Server, start_server, stop_server  # noqa: E402

RECORDER = """
(n) => {
  const rec = window.__rec = { costs: [], intervals: [], handlers: 0, done: false };
  const t = { start: 0 };
  window.addEventListener('pointermove', () => { t.start = performance.now(); }, true);
  window.addEventListener('pointermove', () => { rec.handlers += performance.now() - t.start; }, false);
  let last = null, i = 0;
  function frame(ts) {
    const start = performance.now();
    if (last !== null) rec.intervals.push(ts - last);
    last = ts;
    if (window.__benchStep) window.__benchStep(i);
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      rec.costs.push(performance.now() - start + rec.handlers);
      rec.handlers = 0;
      if (++i < n) requestAnimationFrame(frame); else rec.done = true;
    };
    ch.port2.postMessage(null);
  }
  requestAnimationFrame(frame);
}
"""


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "median": round(statistics.median(values), 2), "p95": round(pct(values, 95), 2),
            "max": round(max(values), 2)}


def identity_script(name: str) -> str:
    ident = json.dumps({"userId": f"{name}#bench", "name": name, "color": "#e03131"})
    return f"localStorage.setItem('annotd.identity', {json.dumps(ident)})"


def open_room(browser: Any, server: Server, room: str, name: str) -> Page:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, device_scale_factor=1)
    ctx.add_init_script(identity_script(name))
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server.http}/r/{room}")
    page.wait_for_selector(".app[data-synced=true]", timeout=60_000)
    page.wait_for_function("() => document.fonts.status === 'loaded'", polling=50)
    page.__dict__["bench_errors"] = errors
    return page


def bench_latency(browser: Any, server: Server, edits: int) -> dict[str, float]:
    server.create_room("lat", "latency")
    a = open_room(browser, server, "lat", "Alice")
    b = open_room(browser, server, "lat", "Bob")
    b.evaluate("""() => { window.__seen = {};
        new MutationObserver(ms => { const t = performance.timeOrigin + performance.now();
          for (const m of ms) for (const n of m.addedNodes) { const id = n.getAttribute && n.getAttribute('data-annotation-id');
            if (id && !(id in window.__seen)) window.__seen[id] = t; } })
          .observe(document.querySelector('svg.canvas .shapes'), { childList: true }); }""")
    sent = a.evaluate("""async (n) => { const app = window.annotd.app, out = {};
        for (let i = 0; i < n; i++) {
          const id = 'lat' + i; const t = performance.timeOrigin + performance.now();
          app.canvas.create({ id, type: 'rect', x: 10 + (i % 40) * 20, y: 10 + Math.floor(i / 40) * 20, w: 15, h: 15 });
          out[id] = t;
          await new Promise(r => setTimeout(r, 40));
        }
        return out; }""", edits)
    b.wait_for_function("n => Object.keys(window.__seen).length >= n", arg=edits, polling=50, timeout=60_000)
    seen = b.evaluate("window.__seen")
    lat = [seen[k] - v for k, v in sent.items()]
    for p in (a, b):
        p.context.close()
    return summary(lat)


def make_big_room(server: Server, room: str, n: int) -> None:
    server.create_room(room, f"{n} annotations")
    from tests.browser.scene import base_png

    big = base_png()
    server.request("POST", f"/v1/rooms/{room}/image", raw=big, content_type="image/png")
    rnd = random.Random(7)
    kinds = ["rect", "ellipse", "arrow", "freehand", "text", "polygon", "line"]
    for i in range(n):
        kind = kinds[i % len(kinds)]
        x, y = rnd.uniform(0, 2400), rnd.uniform(0, 1600)
        ann: dict[str, Any] = {"type": kind, "x": x, "y": y}
        if kind in ("rect", "ellipse"):
            ann.update(w=rnd.uniform(20, 120), h=rnd.uniform(20, 90), style={"strokeStyle": rnd.choice(["solid", "dashed"])})
        elif kind in ("arrow", "line"):
            ann["points"] = [0, 0, rnd.uniform(20, 150), rnd.uniform(-60, 60)]
        elif kind == "polygon":
            ann["points"] = [0, 0, 60, 10, 30, 50, 5, 35]
        elif kind == "freehand":
            pts: list[float] = []
            for k in range(30):
                pts += [k * 4.0, 20 + 15 * ((k % 7) - 3) / 3]
            ann["points"] = pts
        else:
            ann.update(w=160, h=40, text=f"note {i}: something to check here", style={"fontSize": 14})
        status, body = server.request("POST", f"/v1/rooms/{room}/annotations", ann)
        assert status == 200, body


def bench_big_room(browser: Any, server: Server, n: int, frames: int) -> dict[str, Any]:
    make_big_room(server, "big", n)
    out: dict[str, Any] = {}
    renders = []
    for _ in range(3):
        page = open_room(browser, server, "big", "Carol")
        page.wait_for_function("() => window.annotd.app.timings.firstFrameMs !== undefined", polling=50)
        renders.append(page.evaluate("window.annotd.app.timings"))
        page.context.close()
    out["first_render_ms"] = [round(r["firstRenderMs"], 1) for r in renders]
    out["first_frame_ms"] = [round(r["firstFrameMs"], 1) for r in renders]
    out["annotations_rendered"] = renders[0]["annotations"]
    page = open_room(browser, server, "big", "Carol")
    page.evaluate("window.annotd.app.viewport.set(0.5, 0, 0)")  # the whole room is visible: nothing culled

    def run(step_js: str | None) -> dict[str, Any]:
        page.evaluate(f"window.__benchStep = {step_js or 'null'}")
        page.evaluate(RECORDER, frames)
        page.wait_for_function("() => window.__rec.done", polling=50, timeout=120_000)
        rec = page.evaluate("window.__rec")
        return {"frame_ms": summary(rec["costs"][5:]), "interval_ms": summary(rec["intervals"][5:])}

    # gestures as the wheel, pinch and drag-to-pan produce them (live: compositor transform)
    out["pan"] = run("i => window.annotd.app.viewport.panBy(i % 60 < 30 ? 4 : -4, i % 60 < 30 ? 2 : -2, true)")
    out["zoom"] = run("i => window.annotd.app.viewport.zoomAt(600, 400, i % 60 < 30 ? 1.02 : 1 / 1.02, true)")
    # worst case: the SVG repainted at a new scale every frame (what each gesture's settle costs once)
    out["zoom_committed_every_frame"] = run("i => window.annotd.app.viewport.zoomAt(600, 400, i % 60 < 30 ? 1.02 : 1 / 1.02)")
    page.evaluate("window.annotd.app.viewport.set(0.5, 0, 0)")
    # drag one shape with the real mouse through the select tool
    target = page.evaluate("""() => { const a = window.annotd.app.canvas.list().find(a => a.type === 'rect');
        const v = window.annotd.app.viewport; const [sx, sy] = v.toScreen(a.x + a.w / 2, a.y + a.h / 2);
        const r = document.querySelector('svg.canvas').getBoundingClientRect(); return [r.left + sx, r.top + sy, a.id]; }""")
    page.evaluate("window.__benchStep = null")
    page.mouse.move(target[0], target[1])
    page.mouse.down()
    page.evaluate(RECORDER, frames)
    k = 0
    while not page.evaluate("window.__rec.done"):
        k += 1
        page.mouse.move(target[0] + (k % 80) * 2, target[1] + (k % 40), steps=1)
    page.mouse.up()
    rec = page.evaluate("window.__rec")
    moved = page.evaluate("id => window.annotd.app.canvas.get(id)", target[2])
    out["drag"] = {"frame_ms": summary(rec["costs"][5:]), "interval_ms": summary(rec["intervals"][5:]), "mouse_moves": k,
                   "shape_moved": moved is not None}
    # drag every annotation at once: select all, then drag one of them with the real mouse
    page.evaluate("window.annotd.app.viewport.set(0.5, 0, 0)")
    page.evaluate("() => window.annotd.app.selection.set(window.annotd.app.canvas.list().map(a => a.id))")
    target = page.evaluate("""() => { const a = window.annotd.app.canvas.list().find(a => a.type === 'rect');
        const v = window.annotd.app.viewport; const [sx, sy] = v.toScreen(a.x + a.w / 2, a.y + a.h / 2);
        const r = document.querySelector('svg.canvas').getBoundingClientRect(); return [r.left + sx, r.top + sy, a.id, a.x]; }""")
    page.mouse.move(target[0], target[1])
    page.mouse.down()
    page.evaluate(RECORDER, frames)
    k = 0
    while not page.evaluate("window.__rec.done"):
        k += 1
        page.mouse.move(target[0] + (k % 80) * 2, target[1] + (k % 40), steps=1)
    page.mouse.move(target[0] + 40, target[1] + 20, steps=1)  # end 40 px right: 80 image px at 50 %
    page.mouse.up()
    rec = page.evaluate("window.__rec")
    selected = page.evaluate("window.annotd.app.selection.ids.length")
    moved_x = page.evaluate("id => window.annotd.app.canvas.get(id).x", target[2])
    out["drag_all_selected"] = {"frame_ms": summary(rec["costs"][5:]), "interval_ms": summary(rec["intervals"][5:]),
                                "mouse_moves": k, "selected": selected, "moved_by_x": round(moved_x - target[3], 2)}
    errors = page.__dict__["bench_errors"]
    page.context.close()
    out["page_errors"] = errors
    return out


def bundle_sizes() -> dict[str, int]:
    static = ROOT / "annotd" / "web" / "static"
    out = {}
    for name in ("app.js", "app.css"):
        data = (static / name).read_bytes()
        out[name] = len(data)
        out[name + ".gz"] = len(gzip.compress(data, 9, mtime=0))
    out["total.gz"] = out["app.js.gz"] + out["app.css.gz"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--edits", type=int, default=250)
    ap.add_argument("--annotations", type=int, default=1000)
    ap.add_argument("--frames", type=int, default=180)
    ap.add_argument("--skip", default="", help="comma list of latency,big")
    args = ap.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("chromium is not on PATH (apt-get install chromium)")
    skip = set(args.skip.split(","))
    result: dict[str, Any] = {"load_before": os.getloadavg(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    result["bundle_bytes"] = bundle_sizes()
    server = start_server()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            if "latency" not in skip:
                result["latency_ms"] = bench_latency(browser, server, args.edits)
            if "big" not in skip:
                result["big_room"] = bench_big_room(browser, server, args.annotations, args.frames)
            browser.close()
    finally:
        stop_server(server)
    result["load_after"] = os.getloadavg()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
