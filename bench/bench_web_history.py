"""Web client figures (for BENCHMARKS.md; not a test): version preview and history
scrub latency in a 1,000-annotation room, and the export round trip from the dialog.

    .venv/bin/python -m bench.bench_web_history [--annotations 1000] [--previews 20] [--scrubs 30] [--exports 10]

annotd runs in its own process (``annotd serve``, default config); Debian's Chromium is
driven by Playwright with the browser tests' flags. The room is bench_web's: N annotations
of 7 types (30-point freehand strokes, wrapped text) on the 720×480 test image, tagged
``v1``, then 200 of them moved and tagged ``v2`` (so consecutive previews differ).

* **preview**: click "Preview" on a version in the Versions panel → the version is drawn
  (the preview's `change` event, after `annotations.list {tag}` came back and the scene
  was rebuilt) → the next frame's rendering update has run (rAF + MessageChannel). Then
  "Back to live" (Escape), measured the same way. Versions alternate.
* **scrub**: the History slider set to a random retained seq (an `input` event, what a
  drag or an arrow key produces) → that step drawn → next frame; and → "who changed what"
  shown (`history.events`, fetched around the step and cached). A *fast drag* fires 60
  inputs 16 ms apart: how many steps were actually drawn, and the delay from the last
  input to the last position drawn.
* **export**: in the dialog (PNG, scale 1, white background, open comments), click
  "Export" → the browser's download finished (Playwright's download saved); the job's
  server-side render time beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, sync_playwright  # noqa: E402

from bench.bench_web import make_big_room, open_room, summary  # noqa: E402
from tests.browser.conftest import CHROMIUM_ARGS, Server, start_server, stop_server  # noqa: E402

FRAME_JS = """() => new Promise(r => requestAnimationFrame(() => { const c = new MessageChannel();
    c.port1.onmessage = () => r(performance.now()); c.port2.postMessage(null); }))"""

PREVIEW_JS = """async ([tag]) => {
  const app = window.annotd.app;
  const frame = """ + FRAME_JS + """;
  const changed = () => new Promise(r => { const off = app.preview.on('change', () => { off(); r(performance.now()); }); });
  const btn = document.querySelector(`li.version[data-tag="${tag}"] button`);
  const wait = changed();
  const t0 = performance.now();
  btn.click();
  const shown = await wait;
  const painted = await frame();
  if (app.preview.current?.tag !== tag || app.scene.size !== app.preview.shown.annotations.length) throw new Error('not shown');
  const back = changed();
  const t1 = performance.now();
  app.preview.exit();
  const live = await back;
  const livePainted = await frame();
  return { shown: shown - t0, painted: painted - t0, live: live - t1, livePainted: livePainted - t1, fetchAndDraw: app.preview.lastMs };
}"""

SCRUB_JS = """async ([seq]) => {
  const app = window.annotd.app;
  const frame = """ + FRAME_JS + """;
  const el = document.getElementById('history-seq');
  const info = document.getElementById('history-step');
  const drawn = new Promise(r => {
    const off = app.preview.on('change', (c) => { if (c && c.seq === seq) { off(); r(performance.now()); } }); });
  const t0 = performance.now();
  el.value = String(seq);
  el.dispatchEvent(new Event('input', { bubbles: true }));
  const shown = await drawn;
  const painted = await frame();
  while (info.dataset.seq !== String(seq)) await new Promise(r => setTimeout(r, 5));
  const told = performance.now();
  return { shown: shown - t0, painted: painted - t0, told: told - t0 };
}"""

DRAG_JS = """async ([from, to, steps]) => {
  const app = window.annotd.app;
  const el = document.getElementById('history-seq');
  let drawn = 0, lastAt = 0;
  const off = app.preview.on('change', (c) => { if (c) { drawn++; lastAt = performance.now(); } });
  let lastInput = 0;
  for (let i = 0; i <= steps; i++) {
    el.value = String(Math.round(from + (to - from) * i / steps));
    el.dispatchEvent(new Event('input', { bubbles: true }));
    lastInput = performance.now();
    await new Promise(r => setTimeout(r, 16));
  }
  while (app.preview.current?.seq !== to) await new Promise(r => setTimeout(r, 5));
  off();
  return { inputs: steps + 1, drawn, lastDelay: lastAt - lastInput };
}"""


def prepare(server: Server, n: int) -> dict[str, int]:
    make_big_room(server, "review", n)
    server.request("POST", "/v1/rooms/review/comments", {"body": "check", "anchor": {"kind": "point", "x": 300, "y": 200}})
    _, v1 = server.request("POST", "/v1/rooms/review/versions", {"tag": "v1"})
    anns = server.request("GET", "/v1/rooms/review/annotations")[1]["annotations"]
    for a in anns[:200]:
        server.request("PATCH", f"/v1/rooms/review/annotations/{a['id']}", {"x": a["x"] + 15})
    _, v2 = server.request("POST", "/v1/rooms/review/versions", {"tag": "v2"})
    _, room = server.request("GET", "/v1/rooms/review")
    return {"v1": v1["seq"], "v2": v2["seq"], "oldest": room["oldestSeq"], "head": room["headSeq"]}


def bench_previews(page: Page, count: int) -> dict[str, Any]:
    page.get_by_role("tab", name="Versions").click()
    page.wait_for_selector('li.version[data-tag="v2"]')
    runs = [page.evaluate(PREVIEW_JS, ["v1" if i % 2 == 0 else "v2"]) for i in range(count + 2)][2:]  # 2 warm-up
    return {k: summary([r[k] for r in runs]) for k in ("shown", "painted", "fetchAndDraw", "live", "livePainted")}


def bench_scrub(page: Page, count: int, oldest: int, head: int) -> dict[str, Any]:
    page.get_by_role("tab", name="History").click()
    rnd = random.Random(11)
    seqs = [rnd.randint(oldest + 1, head - 1) for _ in range(count + 2)]
    runs = [page.evaluate(SCRUB_JS, [s]) for s in seqs][2:]
    out: dict[str, Any] = {k: summary([r[k] for r in runs]) for k in ("shown", "painted", "told")}
    out["fast_drag"] = page.evaluate(DRAG_JS, [head - 400, head - 100, 60])
    page.keyboard.press("Escape")
    return out


def bench_export(page: Page, server: Server, count: int) -> dict[str, Any]:
    page.get_by_role("button", name="Export as PNG, JPG or SVG").click()
    dialog = page.get_by_role("dialog", name="Export")
    dialog.get_by_label("White").check()
    dialog.get_by_label("Open threads").check()
    times, render_ms, sizes = [], [], []
    for _ in range(count + 1):
        with page.expect_download(timeout=120_000) as info:
            t0 = time.perf_counter()
            dialog.get_by_role("button", name="Export and download").click()
        info.value.path()
        times.append((time.perf_counter() - t0) * 1000)
        job_id = dialog.evaluate("d => d.dataset.lastJob")
        _, job = server.request("GET", f"/v1/exports/{job_id}")
        render_ms.append(job["renderMs"])
        sizes.append(job["size"])
        page.wait_for_function("() => !document.querySelector('dialog.export button.primary').disabled", polling=50)
    return {"round_trip_ms": summary(times[1:]), "server_render_ms": summary(render_ms[1:]), "bytes": sizes[-1],
            "first_ms": round(times[0], 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--annotations", type=int, default=1000)
    ap.add_argument("--previews", type=int, default=20)
    ap.add_argument("--scrubs", type=int, default=30)
    ap.add_argument("--exports", type=int, default=10)
    args = ap.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("chromium is not on PATH (apt-get install chromium)")
    result: dict[str, Any] = {"load_before": os.getloadavg(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                              "annotations": args.annotations}
    server = start_server()
    try:
        result["room"] = prepare(server, args.annotations)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = open_room(browser, server, "review", "Carol")
            page.evaluate("window.annotd.app.viewport.set(0.5, 0, 0)")  # all 1,000 in view: nothing culled
            result["preview_ms"] = bench_previews(page, args.previews)
            result["scrub_ms"] = bench_scrub(page, args.scrubs, result["room"]["oldest"], result["room"]["head"])
            result["export"] = bench_export(page, server, args.exports)
            result["page_errors"] = page.__dict__["bench_errors"]
            browser.close()
    finally:
        stop_server(server)
    result["load_after"] = os.getloadavg()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
