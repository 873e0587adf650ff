"""The room store alone (no server): durable appends/s and commit latency at each
``storage.sync`` level, disk bytes per update, listing and opening a big store, PRAGMA
quick_check's cost, an image as a file vs as a row. Figures in BENCHMARKS.md ("Storage").

    .venv/bin/python bench/bench_store.py                 # everything, ~0.25 GB store
    .venv/bin/python bench/bench_store.py --gb 1          # the 1,000-room store at ~1 GB
    .venv/bin/python bench/bench_store.py --only appends

Appends are submitted as a loaded daemon would: up to ``--window`` waiting for their commit
at once (many clients, each waiting for its ack), each latency from submit to the future
resolving; "alone" is one append at a time (an idle room: the latency one client sees).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from annotd.base.config import StorageConfig  # noqa: E402
from annotd.core.history import Event, Snapshot  # noqa: E402
from annotd.storage import RoomRecord, SqliteStore  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EMPTY = Snapshot(0, 0.0, b"\x00\x00", hashlib.sha256(b"\x00\x00").hexdigest(), b"\x00")


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100 * len(s)))]


def updates(n: int, seed: int = 1) -> list[bytes]:
    """Sizes like the relay's: 60-200 bytes (a key set with a stamp, a short stroke)."""
    rng = random.Random(seed)
    return [rng.randbytes(rng.randint(60, 200)) for _ in range(n)]


def appends(folder: Path, sync: str, rooms: int, n: int, window: int) -> dict[str, float]:
    data = updates(n)
    heads = [0] * rooms
    lat: list[float] = []
    slots = threading.Semaphore(window)
    lock = threading.Lock()
    with SqliteStore(folder, StorageConfig(sync=sync)) as store:
        for r in range(rooms):
            store.create_room(RoomRecord(f"room{r}", "r", 0.0, "e"), EMPTY)
        done = threading.Event()
        remaining = [n]

        def finished(t0: float) -> None:
            dt = time.perf_counter() - t0
            with lock:
                lat.append(dt)
                remaining[0] -= 1
                if remaining[0] == 0:
                    done.set()
            slots.release()

        c0 = store.commits
        t0 = time.perf_counter()
        for i, u in enumerate(data):
            r = i % rooms
            heads[r] += 1
            slots.acquire()
            ts = time.perf_counter()
            store.append(f"room{r}", Event(heads[r], 0.0, "user-1", u)).add_done_callback(
                lambda _f, ts=ts: finished(ts))
        done.wait()
        elapsed = time.perf_counter() - t0
        commits = store.commits - c0
        # one at a time: what a lone client waits for its ack
        alone: list[float] = []
        for i in range(300):
            heads[0] += 1
            ts = time.perf_counter()
            store.append("room0", Event(heads[0], 0.0, "user-1", data[i])).result()
            alone.append(time.perf_counter() - ts)
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return {"per_s": n / elapsed, "p50_ms": pct(lat, 50) * 1e3, "p99_ms": pct(lat, 99) * 1e3,
            "per_commit": n / max(1, commits), "alone_p50_ms": pct(alone, 50) * 1e3,
            "alone_p99_ms": pct(alone, 99) * 1e3, "bytes_per_update": size / (n + 300),
            "payload_per_update": sum(map(len, data)) / n}


def build_big(folder: Path, rooms: int, bytes_per_room: int) -> float:
    """``rooms`` rooms of ~``bytes_per_room`` each: 200 B events, a snapshot every 1,000."""
    t0 = time.perf_counter()
    per_room = max(1, bytes_per_room // 260)
    blob = random.Random(2).randbytes(50_000)
    with SqliteStore(folder, StorageConfig(sync="off", max_batch_ops=5000)) as store:
        for r in range(rooms):
            room = f"room{r:05}"
            store.create_room(RoomRecord(room, f"Room {r}", float(r), "e" * 12), EMPTY)
            last = None
            for seq in range(1, per_room + 1):
                last = store.append(room, Event(seq, float(seq), "user-1", blob[seq % 1000: seq % 1000 + 200]))
                if seq % 1000 == 0:
                    snap = blob[: 20_000 + seq % 7]
                    store.put_snapshot(room, Snapshot(seq, float(seq), snap, hashlib.sha256(snap).hexdigest(), b"\x00"))
            assert last is not None
            if r % 50 == 49:
                last.result()
    return time.perf_counter() - t0


OPEN_AND_LIST = """
import sys, time
def hwm_mb():
    # VmHWM, not ru_maxrss: after fork + exec Linux keeps the forked parent's peak in ru_maxrss
    line = next(ln for ln in open("/proc/self/status") if ln.startswith("VmHWM:"))
    return int(line.split()[1]) // 1024
t0 = time.perf_counter()
from pathlib import Path
from annotd.base.config import StorageConfig
from annotd.storage import SqliteStore
t1 = time.perf_counter()
s = SqliteStore(Path(sys.argv[1]), StorageConfig(quick_check=sys.argv[2] == "1"))
t2 = time.perf_counter()
rooms = s.list_rooms()
t3 = time.perf_counter()
room = s.load_room(rooms[len(rooms) // 2].id, 5)
t4 = time.perf_counter()
s.close()
print(len(rooms), round((t2 - t1) * 1e3, 1), round((t3 - t2) * 1e3, 1), round((t4 - t3) * 1e3, 1),
      len(room.events), hwm_mb(), round((t1 - t0) * 1e3))
"""


def open_and_list(folder: Path, quick_check: bool) -> str:
    out = subprocess.run([sys.executable, "-c", OPEN_AND_LIST, str(folder), "1" if quick_check else "0"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    n, open_ms, list_ms, load_ms, events, rss, import_ms = out
    return (f"{n} rooms: open {open_ms} ms, list {list_ms} ms, load one room ({events} events) {load_ms} ms, "
            f"process peak RSS {rss} MB (imports {import_ms} ms)")


def image_file_vs_row(folder: Path) -> str:
    """A 20 MB image: as a file (the store's way) vs as a row, and what an append queued
    behind the row waits."""
    data = random.Random(3).randbytes(20_000_000)
    digest = hashlib.sha256(data).hexdigest()
    with SqliteStore(folder / "file", StorageConfig(sync="full")) as store:
        t0 = time.perf_counter()
        store.images.write(digest, data)
        file_ms = (time.perf_counter() - t0) * 1e3
    conn = sqlite3.connect(folder / "row.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE img (sha TEXT PRIMARY KEY, data BLOB)")
    t0 = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO img VALUES (?, ?)", (digest, data))
    conn.execute("COMMIT")
    row_ms = (time.perf_counter() - t0) * 1e3
    t0 = time.perf_counter()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    ckpt_ms = (time.perf_counter() - t0) * 1e3
    conn.close()
    return (f"20 MB image: file (write, fsync, rename, dir fsync) {file_ms:.0f} ms off the writer; as a row "
            f"{row_ms:.0f} ms inside the writer's commit (every queued append waits it) + {ckpt_ms:.0f} ms to checkpoint "
            "it into the database (written twice)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["appends", "big", "image", "many"])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--window", type=int, default=256)
    ap.add_argument("--gb", type=float, default=0.25)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    args = ap.parse_args()
    print("load:", os.getloadavg())
    base = Path(tempfile.mkdtemp(prefix="bench-store-", dir=args.dir))
    try:
        if args.only in (None, "appends"):
            for sync in ("full", "batch", "off"):
                for rooms in (1, 50):
                    folder = base / f"{sync}-{rooms}"
                    r = appends(folder, sync, rooms, args.n, args.window)
                    print(f"sync={sync:5} rooms={rooms:2}: {r['per_s']:7.0f} appends/s, commit latency "
                          f"p50 {r['p50_ms']:.1f} ms p99 {r['p99_ms']:.1f} ms ({r['per_commit']:.0f} per commit); "
                          f"alone p50 {r['alone_p50_ms']:.2f} ms p99 {r['alone_p99_ms']:.2f} ms; "
                          f"{r['bytes_per_update']:.0f} disk bytes/update ({r['payload_per_update']:.0f} payload)")
                    shutil.rmtree(folder)
        if args.only in (None, "many"):
            folder = base / "many"
            with SqliteStore(folder, StorageConfig(sync="off", max_batch_ops=5000)) as store:
                for r in range(10_000):
                    last = store.create_room(RoomRecord(f"room{r:05}", f"Room {r}", float(r), "e" * 12), EMPTY)
                last.result()
            print("10,000 small rooms:", open_and_list(folder, False))
            shutil.rmtree(folder)
        if args.only in (None, "big"):
            folder = base / "big"
            built = build_big(folder, 1000, int(args.gb * 1e9 / 1000))
            size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
            print(f"1,000 rooms, {size / 1e9:.2f} GB on disk (built in {built:.0f} s):")
            print("  ", open_and_list(folder, False))
            print("   with quick_check:", open_and_list(folder, True))
            shutil.rmtree(folder)
        if args.only in (None, "image"):
            print(image_file_vs_row(base))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print("load:", os.getloadavg())


if __name__ == "__main__":
    main()
