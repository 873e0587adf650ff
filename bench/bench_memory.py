"""Peak memory of one export in a fresh process, as a render worker runs it.

Each case runs ``render_export`` (what a worker process runs: decode the Yjs state, build
the view, decode the base image, render, encode; the size limit is checked before queueing,
so it is not applied here) in a new Python process and reports its
peak RSS (``VmHWM``), the RSS before the export (imports and inputs loaded: the worker's
idle size), the CPU time and the output size. Scenes are the bench scene's 500 annotations
and 20 comment badges spread over a photo-like base (``bench_render.base_image``), given as
PNG (1600x1000) or JPEG q90 (6000x4000, a camera photo).

    .venv/bin/python -m bench.bench_memory [--cases 4800x3000,12000x8000] [--formats png,jpg] [--frame]

``--frame`` adds a rectangle around the whole image (the old aggdraw renderer's worst case:
its region was then the whole canvas, copied in and out).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from pycrdt import Doc, Map

from annotd.canvas import ops
from annotd.canvas.codec import annotation_to_fields

from .bench_export import SERVER_ONLY
from .bench_render import base_image, scene

ROOT = Path(__file__).resolve().parent.parent
CASES = {  # output size -> (base width, base height, base format, scale)
    "4800x3000": (1600, 1000, "PNG", 3.0),
    "8000x5000": (4000, 2500, "JPEG", 2.0),  # 40 MP: the default export.max_output_pixels
    "12000x8000": (6000, 4000, "JPEG", 2.0),
}

_CHILD = """
import json, resource, sys, time
from annotd.base.docstate import StateParts, sha256
from annotd.services.renders.worker import render_export
from annotd.render import RenderOptions

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
blob = open(sys.argv[1], "rb").read()
data = open(sys.argv[2], "rb").read()
sha, fmt, scale = sys.argv[3], sys.argv[4], float(sys.argv[5])
before = status("VmRSS")
t0 = time.process_time()
opts = RenderOptions(format=fmt, scale=scale, include_comments=True)
out = render_export(StateParts(1, blob, sha256(blob)), (sha, data), opts, {"seq": "1"})
cpu = (time.process_time() - t0) * 1000
print(json.dumps({"before_mb": before, "peak_mb": status("VmHWM"), "cpu_ms": cpu,
                  "bytes": len(getattr(out, "data", b""))}))
"""


def state(width: int, height: int, sha: str, mime: str, frame: bool) -> bytes:
    view = scene(width=width, height=height)
    if frame:  # one rectangle around the whole image (the aggdraw renderer's worst case)
        from dataclasses import replace

        from annotd.canvas.model import Annotation, Style

        box = Annotation("frame", "rect", 10, 10, width - 20, height - 20, z="a9999", style=Style(stroke="#e03131",
                                                                                                   strokeWidth=8))
        view = replace(view, annotations=(*view.annotations, box))
    doc = Doc()
    with doc.transaction():
        ops.set_image(doc, {"sha256": sha, "width": width, "height": height, "mime": mime})
        for a in view.annotations:
            patch = {k: v for k, v in annotation_to_fields(a).items() if k not in SERVER_ONLY}
            ops.upsert_annotation(doc, patch, "bench", 1)
        for t in view.threads:
            ops.create_thread(doc, {"kind": "point", "x": t.anchor.x, "y": t.anchor.y}, "look here", "bench", 1,
                                    thread_id=t.id)
    doc.get("moves", type=Map)  # nothing else: the blob is the canvas only
    return doc.get_update()


def run(case: str, fmt: str, tmp: Path, frame: bool) -> dict[str, float]:
    w, h, base_fmt, scale = CASES[case]
    buf = io.BytesIO()
    base_image(w, h).save(buf, format=base_fmt, **({"quality": 90} if base_fmt == "JPEG" else {"compress_level": 1}))
    data = buf.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    (tmp / "base").write_bytes(data)
    (tmp / "blob").write_bytes(state(w, h, sha, "image/jpeg" if base_fmt == "JPEG" else "image/png", frame))
    out = subprocess.run([sys.executable, "-c", _CHILD, str(tmp / "blob"), str(tmp / "base"), sha, fmt, str(scale)],
                         cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1]}  # type: ignore[dict-item]
    res: dict[str, float] = json.loads(out.stdout)
    res["base_mb"] = len(data) / 1e6
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=lambda s: s.split(","), default=list(CASES))
    ap.add_argument("--formats", type=lambda s: s.split(","), default=["png", "jpg"])
    ap.add_argument("--frame", action="store_true", help="add a rectangle around the whole image (worst case)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        for case in args.cases:
            for fmt in args.formats:
                r = run(case, fmt, Path(d), args.frame)
                if "error" in r:
                    print(f"{case} {fmt}: FAILED {r['error']}")
                    continue
                print(f"{case} {fmt}: peak RSS {r['peak_mb']:7.0f} MB (before the export {r['before_mb']:5.0f} MB), "
                      f"CPU {r['cpu_ms'] / 1000:6.2f} s, output {r['bytes'] / 1e6:6.1f} MB, "
                      f"base {r['base_mb']:5.1f} MB {CASES[case][2]}")


if __name__ == "__main__":
    main()
