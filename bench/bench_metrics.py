"""What metrics cost on the relay path, per update: prometheus_client's own Counter.inc and
Histogram.observe, and what annotd does instead (plain int adds, 1-in-8 sampled relay time);
the per-update debug line's guard when debug is off; framing one relayed message; the
tick's orphaned-thread check of a room without comments; and one event-loop lag sample, as
a sleeping task (the old design) and as a timer callback.

    .venv/bin/python -m bench.bench_metrics [--number 200000] [--repeat 7]

Prints the best of ``--repeat`` timeit runs, in microseconds per call, pinned to one core
when ``taskset`` is available (run it when the machine is quiet; results in BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import time
import timeit
from collections.abc import Callable
from typing import Any

import pycrdt
from prometheus_client import CollectorRegistry, Counter, Histogram
from websockets.frames import Frame, Opcode

from annotd.base.looplag import LagMonitor, LagWindow, lateness
from annotd.base.metrics import RELAY_BUCKETS, RELAY_SAMPLE_EVERY, Metrics
from annotd.canvas import ops
from annotd.canvas.live import LiveCanvas
from annotd.core import yproto
from annotd.net.wsconn import wire


def per_call(fn: Callable[[], object], number: int, repeat: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


PERIOD = 1e-9
"""Lag sampling period of :func:`lag_sample_cost`: a real timer, due at once."""


def lag_sample_cost(samples: int) -> dict[str, float]:
    """CPU µs per lag sample on uvloop with a period too short to wait for (so the loop does
    nothing else): the monitor as it is, and the sleeping task it replaced, doing the same
    bookkeeping. (A zero sleep would skip the timer and the future: not what the task paid.)"""
    import uvloop

    async def timer_callbacks() -> None:
        taken = asyncio.get_running_loop().create_future()
        count = 0

        def observe(lag: float) -> None:
            nonlocal count
            count += 1
            if count == samples:
                taken.set_result(None)

        task = asyncio.create_task(LagMonitor(LagWindow(), period_s=PERIOD, observe=observe).run())
        await taken
        task.cancel()

    async def sleeping_task() -> None:
        window, sampled = LagWindow(), asyncio.Event()

        def observe(lag: float) -> None:
            return None
        for _ in range(samples):
            due = time.perf_counter()
            await asyncio.sleep(PERIOD)
            woke = time.perf_counter()
            window.add(woke, lateness(due, woke))
            observe(0.0)
            sampled.set()

    out = {}
    for name, fn in (("lag sample: timer callback (now)", timer_callbacks),
                     ("lag sample: sleeping task (before)", sleeping_task)):
        best = float("inf")
        for _ in range(3):
            t0 = time.process_time()
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(fn())
            best = min(best, (time.process_time() - t0) / samples * 1e6)
        out[name] = best
    return out


def orphan_check_cost(number: int, repeat: int) -> dict[str, float]:
    """The periodic orphaned-thread check of one room whose head moved, in a document with
    annotations and no comments (rooms50's rooms): the three reads it made before (orphans,
    returned threads, pins) and the one read that finds no comments root now."""
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    ops.ensure_schema(doc)
    for i in range(4):
        ops.upsert_annotation(doc, {"id": f"a{i}", "type": "rect", "x": 1, "y": 2, "w": 3, "h": 4}, "u", 1)
    live = LiveCanvas()

    def before() -> None:
        live.orphan_pins(doc, lambda seq: None)
        live.returned(doc)
        live.track(doc, 1)

    return {"orphan check, room without comments: three reads (before)": per_call(before, number, repeat),
            "orphan check, room without comments: one read (now)": per_call(
                lambda: live.checked_without_comments(doc, 1), number, repeat)}


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
    rooms_log = logging.getLogger("annotd.rooms")
    rooms_log.setLevel(logging.INFO)

    class Services:
        debug = False  # the flag read once at start-up that the guard replaced

    services = Services()
    results["debug line off: log.isEnabledFor(DEBUG)"] = per_call(
        lambda: rooms_log.isEnabledFor(logging.DEBUG), args.number, args.repeat)
    results["debug line off: a flag read once (before)"] = per_call(lambda: services.debug, args.number, args.repeat)
    update = bytes(range(40))
    results["frame one 40-byte message: annotd.net.wsconn.wire"] = per_call(lambda: wire(update), args.number,
                                                                          args.repeat)
    results["frame one 40-byte message: websockets Frame.serialize (before)"] = per_call(
        lambda: Frame(Opcode.BINARY, update).serialize(mask=False), args.number, args.repeat)
    results.update(orphan_check_cost(max(1000, args.number // 20), args.repeat))
    results.update(lag_sample_cost(max(1000, args.number // 4)))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for name, us in results.items():
        print(f"{us:8.3f} us  {name}")


if __name__ == "__main__":
    main()
