"""History benchmark: memory of a room with 1,000 annotations, and the time to rebuild a
state 5,000 events past a snapshot.

Runs the sans-I/O room directly (no sockets are involved in either figure) in a fresh
process per measurement so RSS deltas are clean:

    .venv/bin/python -m bench.bench_history [--annotations 1000] [--events 5000] [--runs 7]

Memory is the process RSS growth (pycrdt keeps the document in Rust, invisible to
tracemalloc) after creating the room and writing the annotations through the same
mutation functions the API uses, plus the sizes of the document update and of the log.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from typing import Any

from pycrdt import Doc

from annotd.base.config import Config
from annotd.canvas import ops
from annotd.canvas.view import build_view
from annotd.core.limits import RoomLimits
from annotd.core.room import Room

TYPES = ("rect", "ellipse", "text", "arrow", "freehand")


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def payload(i: int) -> dict[str, Any]:
    kind = TYPES[i % len(TYPES)]
    p: dict[str, Any] = {"id": f"a{i}", "type": kind, "x": (i * 37) % 1500, "y": (i * 53) % 900, "w": 80, "h": 40,
                         "style": {"stroke": "#1971c2", "strokeWidth": 2}}
    if kind == "text":
        p["text"] = f"label number {i}"
    if kind == "arrow":
        p["points"] = [0, 0, 80, 40]
    if kind == "freehand":
        p["points"] = [float(v) for k in range(50) for v in (k * 1.5, (k * 7) % 40)]
    return p


def fill(room: Room, n: int) -> None:
    for i in range(n):
        room.apply_local("bench", lambda d, i=i: ops.upsert_annotation(d, payload(i), "bench", 1_700_000_000_000 + i),
                         time.time())


def measure_memory(n: int) -> dict[str, Any]:
    gc.collect()
    before = rss_kib()
    room = Room("m", "m", time.time(), replace(RoomLimits.of(Config()), snapshot_every_ops=10**9, snapshot_every_s=1e9))
    fill(room, n)
    gc.collect()
    after_doc = rss_kib()
    snap = room.snapshot(time.time())
    view = build_view(room.doc)
    gc.collect()
    after_all = rss_kib()
    return {
        "annotations": len(view.annotations),
        "events_in_log": len(room.history.log),
        "log_bytes": room.history.log.byte_size(),
        "doc_update_bytes": len(snap.blob),
        "rss_room_kib": after_doc - before,
        "rss_room_with_snapshot_and_view_kib": after_all - before,
    }


def measure_reconstruct(n: int, events: int, runs: int) -> dict[str, Any]:
    room = Room("r", "r", time.time(), replace(RoomLimits.of(Config()), snapshot_every_ops=10**9, snapshot_every_s=1e9,
                                                   reconstruct_cache=1))
    fill(room, n)
    snap = room.snapshot(time.time())
    for k in range(events):  # moves, restyles and text edits spread over the annotations
        i = (k * 7919) % n
        patch = {"id": f"a{i}", "x": (k * 13) % 1500 + 0.5, "y": k % 900 + 0.25}
        room.apply_local("bench", lambda d, p=patch, k=k: ops.upsert_annotation(d, p, "bench", 1_800_000_000_000 + k),
                         time.time())
    target = room.head  # a patch that changes nothing is no event, so count what was logged
    events = target - snap.seq
    times, view_times = [], []
    for _ in range(runs):
        room.history._cache.clear()
        t0 = time.perf_counter()
        blob = room.history.state_at(target)
        times.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        d: Doc[Any] = Doc()
        d.apply_update(blob)
        build_view(d)
        view_times.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    room.history.state_at(target)
    cached_ms = (time.perf_counter() - t0) * 1000
    return {
        "snapshot_seq": snap.seq, "target_seq": target, "events_replayed": events,
        "reconstruct_ms_p50": round(statistics.median(times), 1), "reconstruct_ms_max": round(max(times), 1),
        "then_view_ms_p50": round(statistics.median(view_times), 1),
        "cached_repeat_ms": round(cached_ms, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--annotations", type=int, default=1000)
    ap.add_argument("--events", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--part", choices=["memory", "reconstruct"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.part == "memory":
        print(json.dumps(measure_memory(args.annotations)))
        return
    if args.part == "reconstruct":
        print(json.dumps(measure_reconstruct(args.annotations, args.events, args.runs)))
        return
    out = {}
    for part in ("memory", "reconstruct"):
        proc = subprocess.run([sys.executable, "-m", "bench.bench_history", "--part", part,
                               "--annotations", str(args.annotations), "--events", str(args.events),
                               "--runs", str(args.runs)], capture_output=True, text=True, check=True)
        out[part] = json.loads(proc.stdout)
    m, r = out["memory"], out["reconstruct"]
    print(f"room with {m['annotations']} annotations: RSS +{m['rss_room_kib'] / 1024:.1f} MiB "
          f"(+{m['rss_room_with_snapshot_and_view_kib'] / 1024:.1f} MiB with a snapshot and the view); "
          f"document {m['doc_update_bytes'] / 1024:.0f} KiB, log {m['events_in_log']} events / {m['log_bytes'] / 1024:.0f} KiB")
    print(f"reconstruct seq {r['target_seq']} = snapshot at {r['snapshot_seq']} + {r['events_replayed']} events: "
          f"p50 {r['reconstruct_ms_p50']} ms (max {r['reconstruct_ms_max']}), then view {r['then_view_ms_p50']} ms; "
          f"cached repeat {r['cached_repeat_ms']} ms")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
