"""Start-up and first join with a big ``rooms.data_dir`` (rooms loaded on first use).

Builds a store of ``--rooms`` rooms (default 1,000) of about 1 MB each on disk (~1 GB),
every one a real annotd document of ``--annotations`` annotations (1,000), one update each
(plus ``--edits`` moves), with a snapshot every ``--snapshot-every`` (2,000) events and one at
the head, as a daemon would have taken them. Then runs ``annotd serve --data-dir`` in its own process and
prints:

* start-up: from spawning the process to its "annotd listening" line, the daemon's own
  "rooms listed" time, and RSS once listening; the same with an empty data_dir beside it
  (what the interpreter and imports cost anyway);
* first join of ``--joins`` rooms not yet loaded (a client connecting until its document
  holds every annotation), p50/p99/max, and a second join of the same rooms (loaded) for
  comparison; RSS after.

    .venv/bin/python -m bench.bench_lazy                    # 1,000 rooms, ~1 GB (build ~2-4 min)
    .venv/bin/python -m bench.bench_lazy --rooms 100 --joins 10
    .venv/bin/python -m bench.bench_lazy --keep /tmp/lazy-store   # reuse a built store
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from pycrdt import Doc, Map

from annotd.base.config import StorageConfig
from annotd.canvas import ops
from annotd.client.roomclient import RoomClient
from annotd.core.history import Event, Snapshot
from annotd.storage import RoomRecord, SqliteStore

from .bench_relay import Server
from .probes import load_avg, pct


def template(annotations: int, edits: int, every: int, seed: int = 7) -> tuple[list[bytes], dict[int, bytes]]:
    """One room's updates (the schema, ``annotations`` rectangles, then ``edits`` moves) and
    its state after every ``every``-th of them and at the end (the snapshots a daemon would
    have taken: by count, then by the time rule); every room gets the same bytes."""
    rng = random.Random(seed)
    doc: Doc[Any] = Doc()
    updates: list[bytes] = []
    sub = doc.observe(lambda e: updates.append(e.update))
    ops.ensure_schema(doc)
    ids = []
    for i in range(annotations):
        ann = ops.upsert_annotation(doc, {"type": "rect", "x": rng.uniform(0, 3000), "y": rng.uniform(0, 2000),
                                          "w": rng.uniform(10, 200), "h": rng.uniform(10, 200),
                                          }, "bench", 1_700_000_000_000 + i)
        ids.append(ann["id"])
    for j in range(edits):
        ops.upsert_annotation(doc, {"id": rng.choice(ids), "x": rng.uniform(0, 3000)}, "bench", 1_700_001_000_000 + j)
    doc.unobserve(sub)
    states: dict[int, bytes] = {}
    replay: Doc[Any] = Doc()
    for seq, update in enumerate(updates, 1):
        replay.apply_update(update)
        if seq % every == 0 or seq == len(updates):
            states[seq] = replay.get_update()
    return updates, states


def build(folder: Path, rooms: int, annotations: int, edits: int, every: int) -> dict[str, Any]:
    """The store: ``rooms`` copies of the template room."""
    t0 = time.perf_counter()
    updates, states = template(annotations, edits, every)
    empty = Snapshot.of(0, 0.0, Doc().get_update())
    with SqliteStore(folder, StorageConfig(sync="off", max_batch_ops=20_000)) as store:
        for r in range(rooms):
            room_id = f"room{r:04}"
            store.create_room(RoomRecord(room_id, f"Room {r}", 1_700_000_000.0 + r, f"epoch{r:07}"), empty)
            for seq, update in enumerate(updates, 1):
                store.append(room_id, Event(seq, 1_700_000_000.0 + seq, "bench", update))
                if seq in states:
                    store.put_snapshot(room_id, Snapshot.of(seq, 1_700_000_000.0 + seq, states[seq]))
            if r % 10 == 9:  # keep the writer's queue bounded
                store.rename_room(room_id, f"Room {r}").result()
    disk = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return {"rooms": rooms, "events_per_room": len(updates), "snapshots_per_room": len(states),
            "event_bytes_per_room": sum(map(len, updates)), "snapshot_bytes_per_room": sum(map(len, states.values())),
            "disk_gb": round(disk / 1e9, 3), "build_s": round(time.perf_counter() - t0, 1)}


def start(folder: Path) -> tuple[Server, float, float | None]:
    """The server on ``folder``: it, seconds from spawn to listening, the daemon's listing ms."""
    t0 = time.perf_counter()
    server = Server(uvloop=True, extra_toml=f'[log]\nformat = "json"\n[rooms]\ndata_dir = "{folder}"\n', cores="0-1")
    spawn_s = time.perf_counter() - t0
    listed = None
    for line in server.stderr_path.read_text().splitlines():
        if "rooms listed from data_dir" in line:
            try:
                listed = float(json.loads(line).get("ms"))
            except (ValueError, TypeError):
                listed = None
    return server, spawn_s, listed


async def first_joins(server: Server, room_ids: list[str], annotations: int) -> list[float]:
    """Seconds from connecting to holding every annotation, one room at a time."""
    out = []
    for room_id in room_ids:
        t0 = time.perf_counter()
        async with RoomClient(server.ws_url, room_id, user_id="bench") as c:
            await c.wait_until(lambda c=c: len(c.doc.get("annotations", type=Map)) >= annotations)  # type: ignore[misc]
            out.append(time.perf_counter() - t0)
    return out


def ms(values: list[float]) -> dict[str, float]:
    return {"p50_ms": round(pct(values, 50) * 1e3, 1), "p99_ms": round(pct(values, 99) * 1e3, 1),  # type: ignore[operator]
            "max_ms": round(max(values) * 1e3, 1), "n": len(values)}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"load_before": load_avg()}
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-lazy-", dir=args.dir))
    folder, empty = base / "data", base / "empty"
    try:
        if not folder.exists():
            out["store"] = build(folder, args.rooms, args.annotations, args.edits, args.snapshot_every)
        else:
            out["store"] = {"reused": str(folder),
                            "disk_gb": round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e9, 3)}
        for label, where in (("empty data_dir", empty), ("big data_dir", folder)):
            runs = []
            for _ in range(args.starts):
                server, spawn_s, listed = start(where)
                runs.append({"spawn_to_listening_s": round(spawn_s, 3), "listed_ms": listed,
                             "rss_mib": round(server.rss_bytes() / 2**20, 1)})
                server.stop()
            out[label] = runs
        server, _, _ = start(folder)
        try:
            rng = random.Random(3)
            rooms = rng.sample(range(args.rooms), args.joins)
            ids = [f"room{r:04}" for r in rooms]
            out["first_join"] = ms(await first_joins(server, ids, args.annotations))
            out["second_join"] = ms(await first_joins(server, ids, args.annotations))
            out["rss_after_joins_mib"] = round(server.rss_bytes() / 2**20, 1)
        finally:
            server.stop()
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    out["load_after"] = load_avg()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rooms", type=int, default=1000)
    ap.add_argument("--annotations", type=int, default=1000)
    ap.add_argument("--edits", type=int, default=0, help="moves after the annotations are made, per room")
    ap.add_argument("--snapshot-every", type=int, default=2000)
    ap.add_argument("--joins", type=int, default=30)
    ap.add_argument("--starts", type=int, default=3)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    ap.add_argument("--keep", help="build the store here (or reuse it) and leave it")
    args = ap.parse_args()
    print(json.dumps(asyncio.run(run(args)), indent=2))


if __name__ == "__main__":
    main()
