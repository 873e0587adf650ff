"""Deep history (``rooms.data_dir``): what one read at a seq older than memory holds costs,
next to the same read at a seq memory holds.

    .venv/bin/python -m bench.bench_deephistory [--annotations 1000] [--changes 1200] [--runs 15] [--big]

An in-process daemon with a store (``storage.sync = "full"``, a fresh folder) and the
default memory retention (a snapshot every 200 changes, 5 kept): a room gets
``--annotations`` annotations (the mix of ``bench_history``), then ``--changes`` moves, so
the seqs of the first part are on disk only. Each figure is the wall time of
``RoomAccess.read(seq, annotations_listing)`` (what ``annotations.list {seq}`` does) at a
seq ``k`` events after the nearest snapshot, for the worst ``k`` (199: a full snapshot
interval) and ``k = 0`` (a snapshot's own seq), p50 and max over ``--runs``, and the
longest the event loop was held meanwhile (a ticker every 1 ms); the store's read alone
(``parts_at`` in a thread); a ``history.events`` page of 100 steps across memory's
boundary and one in memory. Memory reads repeat one seq, so they hit the history's
reconstruction cache (as a scrubber going back and forth does); deep reads are not cached.
``--big`` sets ``inline_encode_bytes = 1`` so every state is built in the state worker, as
for a room over 1 MiB. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from annotd.base.config import Config
from annotd.canvas import ops
from annotd.commands.canvas import annotations_listing
from annotd.process import datadir
from annotd.process.daemon import Daemon

from .bench_history import payload


class Stalls:
    """The longest gap between 1 ms ticks of the loop while running."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            self.worst = max(self.worst, now - last - 0.001)
            last = now

    def __enter__(self) -> Stalls:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def timed(fn: Callable[[], Awaitable[Any]], runs: int) -> dict[str, float]:
    """Wall time of ``fn()`` (p50, max) and the longest the loop was held meanwhile (the
    loop is let go between runs, so a read done wholly on the loop shows as a stall)."""
    times = []
    with Stalls() as stalls:
        for _ in range(runs):
            await asyncio.sleep(0.005)
            t0 = time.perf_counter()
            await fn()
            times.append((time.perf_counter() - t0) * 1000)
        await asyncio.sleep(0.005)
    return {"p50_ms": round(statistics.median(times), 2), "max_ms": round(max(times), 2),
            "loop_held_max_ms": round(stalls.worst * 1000, 2)}


async def main(args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="deephist-bench-"))
    history: dict[str, Any] = {"inline_encode_bytes": 1} if args.big else {}
    cfg = (Config().replace("server", ws_port=0, http_port=0, use_uvloop=False)
           .replace("rooms", data_dir=str(folder / "data")).replace("history", **history))
    store = datadir.open_store(cfg)
    assert store is not None
    d = Daemon(cfg, store=store)
    await d.start()
    try:
        live = d.hub.create_room("r")
        t0 = time.perf_counter()
        for i in range(args.annotations):
            await live.apply("bench", lambda doc, i=i: ops.upsert_annotation(doc, payload(i), "bench", 1_700_000_000_000 + i))
        for j in range(args.changes):
            i = j % args.annotations
            await live.apply("bench", lambda doc, i=i, j=j: ops.upsert_annotation(
                doc, {"id": f"a{i}", "x": (j * 13) % 1500}, "bench", 1_700_000_100_000 + j))
        fill_s = time.perf_counter() - t0
        history_ = live.room.history
        snaps = [s.seq for s in history_.snapshots]
        memory_oldest = history_.oldest_seq
        every = cfg.history.snapshot_every_ops
        deep_snap = (memory_oldest // every - 1) * every  # the snapshot interval just below memory's window
        assert deep_snap > 0, f"not enough changes to push a snapshot interval out of memory: {snaps}"
        deep_far, deep_at = deep_snap + every - 1, deep_snap
        mem_far, mem_at = snaps[-2] + every - 1, snaps[-2]
        assert deep_far < memory_oldest <= mem_at
        room = d.hub.room("r")
        out: dict[str, Any] = {
            "annotations": args.annotations, "changes": args.changes, "head": live.head,
            "memory_oldest_seq": memory_oldest, "room_oldest_seq": room.oldest_seq,
            "document_bytes": live.room.state_bytes, "big": args.big, "fill_s": round(fill_s, 1),
        }
        out["deep_read_199_after_snapshot"] = await timed(lambda: room.read(deep_far, annotations_listing), args.runs)
        out["deep_read_at_snapshot"] = await timed(lambda: room.read(deep_at, annotations_listing), args.runs)
        out["store_parts_at_199_after"] = await timed(lambda: asyncio.to_thread(store.parts_at, "r", deep_far), args.runs)
        boundary = memory_oldest - 50
        out["history_events_100_across_boundary"] = await timed(lambda: room.steps(boundary, boundary + 99, 1000), args.runs)
        out["history_events_100_in_memory"] = await timed(lambda: room.steps(mem_at + 1, mem_at + 100, 1000), args.runs)
        out["memory_read_199_after_snapshot"] = await timed(lambda: room.read(mem_far, annotations_listing), args.runs)
        out["memory_read_at_snapshot"] = await timed(lambda: room.read(mem_at, annotations_listing), args.runs)
        out["seqs"] = {"deep": [deep_at, deep_far], "memory": [mem_at, mem_far]}
        out["events_replayed_deep_far"] = len(store.parts_at("r", deep_far).updates)
        return out
    finally:
        await d.stop()
        store.close()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--annotations", type=int, default=1000)
    ap.add_argument("--changes", type=int, default=1200)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--big", action="store_true")
    print(json.dumps(asyncio.run(main(ap.parse_args())), indent=1))
