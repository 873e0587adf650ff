"""CPU the room store costs per update at a steady, daemon-like rate (no server).

bench_relay's rooms50 sends ~2,000 updates/s into 50 rooms; with ``--data-dir`` the server
spends more CPU than without. This isolates the store's share: one thread submits appends
at ``--rate`` across ``--rooms`` rooms as the door does (``StoredLog.append``: one write per
sequenced change, its failure watched, its ack released by the commit listener), and the
script reports the process CPU per update (every thread: the submitting side, the writer's
Python and SQLite), the commits made and updates per commit.

    .venv/bin/python -m bench.bench_store_cpu                     # 2000/s, 50 rooms, 10 s, sync full
    .venv/bin/python -m bench.bench_store_cpu --rate 5000 --sync batch
    .venv/bin/python -m bench.bench_store_cpu --held 50000       # per-update cost alone (one commit)
    PYTHONPATH=/tmp/base .venv/bin/python bench/bench_store_cpu.py   # the store of another tree (before)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import tempfile
import threading
import time
from pathlib import Path

from annotd.base.config import StorageConfig
from annotd.core.history import Event, Snapshot
from annotd.storage import RoomRecord, SqliteStore
from annotd.storage.writer import Op

EMPTY = Snapshot(0, 0.0, b"\x00\x00", hashlib.sha256(b"\x00\x00").hexdigest(), b"\x00")


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run(folder: Path, sync: str, rooms: int, rate: float, seconds: float, futures: bool,
        interval_ms: float) -> dict[str, float]:
    released = 0

    def on_commit(heads: dict[str, int]) -> None:  # the door hands this to its loop: count it here
        nonlocal released
        released += 1

    # a tree from before storage.commit_interval_ms (PYTHONPATH=/tmp/base) runs with its own rule
    interval = {"commit_interval_ms": interval_ms} if hasattr(StorageConfig, "commit_interval_ms") else {}
    store = SqliteStore(folder, StorageConfig(sync=sync, **interval), on_commit=on_commit)  # type: ignore[arg-type]
    try:
        ids = [f"room{i}" for i in range(rooms)]
        for rid in ids:
            store.create_room(RoomRecord(rid, rid, 0.0, "e" * 12), EMPTY).result(30)
        update = os.urandom(34)  # a moved annotation is ~30-40 bytes
        heads = dict.fromkeys(ids, 0)
        quiet = hasattr(store, "write_event") and not futures
        if quiet:
            store.failures = lambda room, seq, exc: None
        n = int(rate * seconds)
        commits0, cpu0, t0 = store.commits, cpu_s(), time.perf_counter()
        for i in range(n):
            due = t0 + i / rate
            lag = due - time.perf_counter()
            if lag > 0.0005:
                time.sleep(lag)
            rid = ids[i % rooms]
            heads[rid] += 1
            event = Event(heads[rid], time.time(), "u", update)
            if quiet:
                store.write_event(rid, event)
            else:
                store.append(rid, event).add_done_callback(lambda f: f.exception())
        last = ids[(n - 1) % rooms]  # one more append, waited for: every one before it is committed
        heads[last] += 1
        store.append(last, Event(heads[last], time.time(), "u", update)).result(60)
        wall, cpu, commits = time.perf_counter() - t0, cpu_s() - cpu0, store.commits - commits0
    finally:
        store.close()
    return {"updates": n, "wall_s": round(wall, 2), "cpu_us_per_update": round(cpu / n * 1e6, 1),
            "cpu_pct": round(100 * cpu / wall, 1), "commits": commits, "updates_per_commit": round(n / max(1, commits), 1)}


def held(folder: Path, rooms: int, n: int, futures: bool) -> dict[str, float]:
    """The per-update cost alone: ``n`` appends queued while the writer is held, then
    written in one transaction (one commit: its cost spread over ``n``)."""
    store = SqliteStore(folder, StorageConfig(max_batch_ops=n + 1))
    try:
        ids = [f"room{i}" for i in range(rooms)]
        for rid in ids:
            store.create_room(RoomRecord(rid, rid, 0.0, "e" * 12), EMPTY).result(30)
        quiet = hasattr(store, "write_event") and not futures
        if quiet:
            store.failures = lambda room, seq, exc: None
        entered, gate = threading.Event(), threading.Event()

        def hold(_conn: object) -> None:
            entered.set()
            gate.wait(60)

        store._writer.submit(Op(hold))  # type: ignore[arg-type]
        entered.wait(60)
        update = os.urandom(34)
        events = [(ids[i % rooms], Event(i // rooms + 1, 1.0, "u", update)) for i in range(n)]
        commits0, cpu0 = store.commits, cpu_s()
        for rid, event in events:
            if quiet:
                store.write_event(rid, event)
            else:
                store.append(rid, event).add_done_callback(lambda f: f.exception())
        gate.set()
        last = ids[0]
        store.append(last, Event(n // rooms + 1, 1.0, "u", update)).result(60)
        cpu, commits = cpu_s() - cpu0, store.commits - commits0
    finally:
        store.close()
    return {"updates": n, "commits": commits, "cpu_us_per_update": round(cpu / n * 1e6, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=2000.0)
    ap.add_argument("--rooms", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--sync", choices=("full", "batch", "off"), default="full")
    ap.add_argument("--dir", default=tempfile.gettempdir())
    ap.add_argument("--interval-ms", type=float, default=2.0, help="storage.commit_interval_ms (2)")
    ap.add_argument("--held", type=int, default=0, metavar="N",
                    help="instead: N appends queued behind a held writer, one commit (per-update cost alone)")
    ap.add_argument("--futures", action="store_true", help="a future per append (the door's path before write_event)")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="annotd-storecpu-", dir=args.dir))
    try:
        if args.held:
            print(os.getloadavg(), held(folder / "data", args.rooms, args.held, args.futures))
            return
        print(os.getloadavg(), run(folder / "data", args.sync, args.rooms, args.rate, args.seconds, args.futures,
                                 args.interval_ms))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
