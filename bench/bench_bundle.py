"""Room bundle benchmark: size of a `.annotd` file, and the time to save and load it, for a
room with 1,000 annotations and 10 tags (issue "Annotations as data").

    .venv/bin/python -m bench.bench_bundle [--annotations 1000] [--tags 10] [--runs 7] [--no-image]

Set-up: a fresh ``annotd serve --ws-port 0 --http-port 0`` in its own process (default
config, stock asyncio loop). This process fills a room through REST: a 1600x1000 JPEG base
image, then the annotations (rect, ellipse, text, arrow, freehand of 50 points, in turn),
with a tag after every tenth of them, and 20 comment threads. Then, ``--runs`` times:

* **save**: ``GET /v1/rooms/{id}/bundle`` until the last byte is read (capture on the loop,
  encoding in a thread, the HTTP transfer);
* **load**: ``POST /v1/rooms/{new}/bundle`` of those bytes until the 201 answer (reading
  the body, zip checks, sha256 of every part, image validation with Pillow, the Yjs replay
  plan in a thread, building the room on the loop).

Printed: bundle bytes (total, and without the image), p50/min/max per operation, the
server's CPU time over the runs, and its RSS growth for the original room and per loaded
copy (every copy stays in memory: a room is in-memory by design) from /proc.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import re
import statistics
import sys
import time
import zipfile
from typing import Any

import aiohttp
from PIL import Image

from bench.bench_history import payload


def jpeg() -> bytes:
    img = Image.effect_noise((1600, 1000), 40).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def proc_stats(pid: int) -> tuple[float, int]:
    """(CPU seconds, RSS KiB) of the server process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return cpu, rss


async def fill(http: aiohttp.ClientSession, room: str, n: int, tags: int, image: bool) -> None:
    (await http.post("/v1/rooms", json={"id": room})).raise_for_status()
    if image:
        (await http.post(f"/v1/rooms/{room}/image", data=jpeg(), headers={"Content-Type": "image/jpeg"})).raise_for_status()
    every = max(1, n // tags)
    ids = []
    for i in range(n):
        r = await http.post(f"/v1/rooms/{room}/annotations", json=payload(i))
        r.raise_for_status()
        ids.append((await r.json())["annotation"]["id"])
        if i % 50 == 0:
            (await http.post(f"/v1/rooms/{room}/comments", json={
                "anchor": {"kind": "annotation", "annotationId": ids[-1]}, "body": f"comment {i}"})).raise_for_status()
        if (i + 1) % every == 0 and (i + 1) // every <= tags:
            (await http.post(f"/v1/rooms/{room}/versions", json={"tag": f"v{(i + 1) // every}"})).raise_for_status()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "annotd", "serve", "--ws-port", "0", "--http-port", "0", "--log-level", "warning",
        stdout=asyncio.subprocess.PIPE, env={**os.environ, "ANNOTD_SERVE_USE_UVLOOP": "0"})
    assert server.stdout is not None
    line = (await server.stdout.readline()).decode()
    m = re.search(r"(http://\S+)", line)
    assert m, line
    try:
        async with aiohttp.ClientSession(base_url=m.group(1), timeout=aiohttp.ClientTimeout(total=600)) as http:
            _, rss_start = proc_stats(server.pid)
            t0 = time.perf_counter()
            await fill(http, "bench", args.annotations, args.tags, not args.no_image)
            fill_s = time.perf_counter() - t0
            cpu0, rss0 = proc_stats(server.pid)
            save_ms, load_ms = [], []
            data = b""
            for k in range(args.runs):
                t = time.perf_counter()
                r = await http.get("/v1/rooms/bench/bundle")
                data = await r.read()
                save_ms.append((time.perf_counter() - t) * 1000)
                assert r.status == 200, data[:200]
                t = time.perf_counter()
                r = await http.post(f"/v1/rooms/copy{k}/bundle", data=data)
                body = await r.read()
                load_ms.append((time.perf_counter() - t) * 1000)
                assert r.status == 201, body[:300]
            cpu1, rss1 = proc_stats(server.pid)
    finally:
        server.terminate()
        await server.wait()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        image_bytes = sum(i.compress_size for i in zf.infolist() if i.filename.startswith("images/"))
        states = sum(1 for i in zf.infolist() if i.filename.startswith("steps/"))

    def stats(xs: list[float]) -> dict[str, float]:
        return {"p50": round(statistics.median(xs), 1), "min": round(min(xs), 1), "max": round(max(xs), 1)}

    return {
        "annotations": args.annotations, "tags": args.tags, "runs": args.runs, "image": not args.no_image,
        "fill_s": round(fill_s, 1), "bundle_bytes": len(data), "bundle_bytes_without_image": len(data) - image_bytes,
        "steps": states, "save_ms": stats(save_ms), "load_ms": stats(load_ms),
        "server_cpu_s": round(cpu1 - cpu0, 2), "server_rss_growth_kib": rss1 - rss0,
        "original_room_rss_kib": rss0 - rss_start, "rss_per_loaded_room_kib": (rss1 - rss0) // args.runs,
        "loadavg": os.getloadavg(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--annotations", type=int, default=1000)
    ap.add_argument("--tags", type=int, default=10)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--no-image", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    result = asyncio.run(run(args))
    if args.json:
        print(json.dumps(result))
        return
    print(f"room: {result['annotations']} annotations, {result['tags']} tags, image={result['image']} "
          f"(filled in {result['fill_s']} s)")
    print(f"bundle: {result['bundle_bytes']:,} bytes ({result['bundle_bytes_without_image']:,} without the image), "
          f"{result['steps']} steps")
    for op in ("save", "load"):
        s = result[f"{op}_ms"]
        print(f"{op}: p50 {s['p50']} ms (min {s['min']}, max {s['max']}) over {result['runs']} runs")
    print(f"server: {result['server_cpu_s']} s CPU for all runs; RSS: original room +{result['original_room_rss_kib']} KiB, "
          f"each loaded copy +{result['rss_per_loaded_room_kib']} KiB; load average {result['loadavg']}")


if __name__ == "__main__":
    main()
