"""Copy and paste of many annotations in Debian's Chromium (figures for BENCHMARKS.md; not a test).

    .venv/bin/python -m bench.bench_clipboard [--annotations 1000] [--runs 5]

annotd runs in its own process (default config); the room is bench_web's mixed room. Alice
selects every annotation and presses Ctrl+C, then Ctrl+V with the pointer over the canvas
(then Ctrl+Z, so every run pastes into the same room). Measured in the page, per run:

* **copy, in the event**: the `copy` event's main-thread cost (annotd's JSON written), from a
  capturing listener on `window` to a bubbling one after the page's own;
* **copy, PNG on the clipboard**: from the event until `navigator.clipboard.read()` shows
  `image/png` (painted on a canvas, encoded, written by the browser), polled every 20 ms;
* **paste, in the event**: the `paste` event's cost (parse, validate every annotation as the
  server would, the limit check, one transaction, the scene's repaint);
* **paste, to the next frame**: from the event until the frame that shows the copies has
  had its rendering update.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from bench.bench_web import make_big_room, open_room, summary  # noqa: E402
from tests.browser.conftest import CHROMIUM_ARGS, start_server, stop_server  # noqa: E402

STAMPS = """() => {
  const s = window.__clip = { copy: [], paste: [], frame: [], t0: 0 };
  for (const kind of ['copy', 'paste']) {
    window.addEventListener(kind, () => { s.t0 = performance.now(); }, true);
    window.addEventListener(kind, () => {
      s[kind].push(performance.now() - s.t0);
      if (kind === 'paste') {
        const t0 = s.t0;
        requestAnimationFrame(() => { const ch = new MessageChannel();
          ch.port1.onmessage = () => s.frame.push(performance.now() - t0); ch.port2.postMessage(null); });
      }
    }, false);
  }
}"""

PNG_WAIT = """async () => {
  const t0 = window.__clip.t0;
  for (;;) {
    if ((await navigator.clipboard.read()).some(i => i.types.includes('image/png'))) return performance.now() - t0;
    await new Promise(r => setTimeout(r, 20));
  }
}"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--annotations", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("chromium is not on PATH (apt-get install chromium)")
    result: dict[str, Any] = {"load_before": os.getloadavg(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                              "annotations": args.annotations}
    server = start_server()
    try:
        make_big_room(server, "clip", args.annotations)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = open_room(browser, server, "clip", "Alice")
            page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.http)
            page.evaluate("window.annotd.app.viewport.set(0.4, 0, 0)")
            page.evaluate(STAMPS)
            box = page.locator("svg.canvas").bounding_box()
            assert box is not None
            png: list[float] = []
            n = args.annotations
            for _ in range(args.runs):
                page.evaluate("() => navigator.clipboard.writeText('')")
                page.locator(".stage").focus()
                page.keyboard.press("Control+a")
                page.keyboard.press("Control+c")
                png.append(page.evaluate(PNG_WAIT))
                page.mouse.move(box["x"] + 400, box["y"] + 300)
                page.keyboard.press("Control+v")
                page.wait_for_function("n => window.annotd.app.canvas.list().length === 2 * n", arg=n, polling=50, timeout=60_000)
                page.wait_for_function("k => window.__clip.frame.length >= k", arg=len(png), polling=50, timeout=60_000)
                page.keyboard.press("Control+z")
                page.wait_for_function("n => window.annotd.app.canvas.list().length === n", arg=n, polling=50, timeout=60_000)
            stamps = page.evaluate("window.__clip")
            errors = page.__dict__["bench_errors"]
            assert not errors, errors
            result["copy_event_ms"] = summary(stamps["copy"])
            result["copy_png_on_clipboard_ms"] = summary(png)
            result["paste_event_ms"] = summary(stamps["paste"])
            result["paste_to_next_frame_ms"] = summary(stamps["frame"])
            browser.close()
    finally:
        stop_server(server)
    result["load_after"] = os.getloadavg()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
