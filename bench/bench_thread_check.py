"""What the periodic tick's comment-thread check costs when the head moves in a room with many
threads: the room is built with ``--threads`` annotations each carrying a thread, then one
unrelated annotation is moved ``--moves`` times and each tick's
``LiveRoom.detach_orphaned_threads`` is timed (in-process: the check is synchronous loop work).
A last move deletes an annotation with a thread, so the detach itself is timed too.

    .venv/bin/python -m bench.bench_thread_check [--threads 10000] [--moves 20]

Run from another tree (``cd /other/tree && python -m bench.bench_thread_check``) for "before"
figures: the package is imported from the working directory.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import pycrdt

from annotd.base.config import Config
from annotd.canvas import ops
from annotd.live.hub import Hub


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=10_000)
    ap.add_argument("--moves", type=int, default=20)
    args = ap.parse_args()
    hub = Hub(Config())
    live = hub.create_room("threads")
    doc = live.room.doc

    def build(d: pycrdt.Doc) -> None:
        for i in range(args.threads):
            ops.upsert_annotation(d, {"id": f"a{i}", "type": "rect", "x": i % 100, "y": i // 100, "w": 5, "h": 5},
                                  "u", 1)
            ops.create_thread(d, {"kind": "annotation", "annotationId": f"a{i}"}, "b", "u", 1, thread_id=f"t{i}")
        ops.upsert_annotation(d, {"id": "mover", "type": "rect"}, "u", 1)

    live.upkeep(build)
    first: list[float] = []  # the first checks after the build read every thread, once
    while not first or getattr(live.canvas, "backlog", False):  # spread over ticks where bounded
        t0 = time.perf_counter()
        live.detach_orphaned_threads()
        first.append(time.perf_counter() - t0)
    times = []
    for i in range(args.moves):
        live.upkeep(lambda d, i=i: ops.upsert_annotation(d, {"id": "mover", "x": i}, "u", 2))
        t0 = time.perf_counter()
        live.detach_orphaned_threads()
        times.append(time.perf_counter() - t0)
    live.upkeep(lambda d: d.get("annotations", type=pycrdt.Map).pop("a5"))
    t0 = time.perf_counter()
    live.detach_orphaned_threads()
    detach = time.perf_counter() - t0
    assert doc.get("comments", type=pycrdt.Map)["t5"]["anchor"]["kind"] == "point"
    times.sort()
    print(json.dumps({"threads": args.threads, "load_1min": round(os.getloadavg()[0], 2),
                      "first_checks": {"n": len(first), "total_ms": round(sum(first) * 1000, 2),
                                       "max_ms": round(max(first) * 1000, 2)},
                      "per_move_ms": {"p50": round(times[len(times) // 2] * 1000, 3),
                                      "max": round(times[-1] * 1000, 3)},
                      "delete_and_detach_ms": round(detach * 1000, 2)}))


if __name__ == "__main__":
    main()
