"""What metrics cost on the relay path, per update: prometheus_client's own Counter.inc and
Histogram.observe, and what annotd does instead (plain int adds, 1-in-8 sampled relay time).

    .venv/bin/python -m bench.bench_metrics [--number 200000] [--repeat 7]

Prints the best of ``--repeat`` timeit runs, in microseconds per call, pinned to one core
when ``taskset`` is available (run it when the machine is quiet; results in BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import time
import timeit
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram

from annotd import yproto
from annotd.metrics import RELAY_BUCKETS, RELAY_SAMPLE_EVERY, Metrics


def per_call(fn: Callable[[], object], number: int, repeat: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--number", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})

    reg = CollectorRegistry()
    hist = Histogram("h_seconds", "h", buckets=RELAY_BUCKETS, registry=reg)
    counter = Counter("c", "c", registry=reg)
    m = Metrics()
    started = time.perf_counter()
    frame = yproto.sync_update(b"\x01\x01\x01\x00\x00\x00")

    def annotd_per_update() -> None:
        # exactly what WsServer._binary adds for one sequenced update
        m.updates_sequenced += 1
        m.relayed(started)

    class Conn:
        sync_started: float | None = None  # a socket past its first sync, as nearly all are

    conn = Conn()

    def annotd_per_frame_join_check() -> None:
        if conn.sync_started is not None and yproto.is_sync_step1(frame):
            conn.sync_started = None

    results = {
        "prometheus_client Histogram.observe": per_call(lambda: hist.observe(80e-6), args.number, args.repeat),
        "prometheus_client Counter.inc": per_call(counter.inc, args.number, args.repeat),
        "time.perf_counter()": per_call(time.perf_counter, args.number, args.repeat),
        f"annotd per update (int add + relay time 1 in {RELAY_SAMPLE_EVERY})": per_call(
            annotd_per_update, args.number, args.repeat),
        "annotd per frame: join-sync check (joined sockets)": per_call(
            annotd_per_frame_join_check, args.number, args.repeat),
        "empty call (subtract from each)": per_call(lambda: None, args.number, args.repeat),
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for name, us in results.items():
        print(f"{us:8.3f} us  {name}")


if __name__ == "__main__":
    main()
