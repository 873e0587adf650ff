"""Do deleted rooms give memory back? Leak or allocator?

Each cycle creates ``--rooms`` rooms, has three annotd.v1 clients join each, write (new
annotations, moves, a 200 KB text), send presence, takes a snapshot and a version, closes
the clients and deletes every room. Printed per cycle: RSS after filling, after deleting
(and waiting ``--settle`` s, long enough for the daemon's trimmer), and in ``inprocess``
mode also what Python still holds.

* ``--mode external`` (default): the server in its own process (``--root`` another tree
  for "before" figures); RSS from /proc.
* ``--mode inprocess``: the daemon runs in this process under ``tracemalloc`` (so Python
  allocations are traced: a leak of Python objects shows as traced memory that grows cycle
  after cycle, and as surviving ``Room``/``Doc`` objects), and RSS is read before and after
  an explicit ``malloc_trim`` (what the allocator kept but did not need). pycrdt's own
  (Rust) allocations are not traced; they show in RSS only.

    .venv/bin/python -m bench.bench_room_memory [--mode external|inprocess] [--cycles 5] [--rooms 20]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import time
from pathlib import Path
from typing import Any

import aiohttp
from pycrdt import Doc, Map, Text

from annotd.client.roomclient import RoomClient

from .bench_relay import ROOT, Server
from .probes import json_request, load_avg, proc_sample


async def cycle(ws_url: str, http_url: str, n_rooms: int, seed: int) -> None:
    rng = random.Random(seed)
    async with aiohttp.ClientSession() as http:
        ids = [f"m{seed}-{i}" for i in range(n_rooms)]
        for rid in ids:
            await json_request(http, "POST", f"{http_url}/v1/rooms", {"id": rid})

        async def work(rid: str) -> None:
            clients = [RoomClient(ws_url, rid, user_id=f"u{k}") for k in range(3)]
            for c in clients:
                await c.connect()
            for k, c in enumerate(clients):
                anns = c.doc.get("annotations", type=Map)
                for j in range(30):
                    anns[f"a{k}-{j}"] = Map({"id": f"a{k}-{j}", "type": "rect", "x": rng.uniform(0, 900),
                                             "y": rng.uniform(0, 900), "w": 40, "h": 30})
                for j in range(60):
                    anns[f"a{k}-{j % 30}"]["x"] = rng.uniform(0, 900)
                await c.send_presence(cursor={"x": 1, "y": 2}, selection=[])
            clients[0].doc.get("notes", type=Text).insert(0, "n" * 200_000)
            for c in clients:
                await c.flush()
            await json_request(http, "POST", f"{http_url}/v1/rooms/{rid}/snapshots")
            await json_request(http, "POST", f"{http_url}/v1/rooms/{rid}/versions", {"tag": "v"})
            for c in clients:
                await c.close()

        await asyncio.gather(*(work(rid) for rid in ids))
        for rid in ids:
            await json_request(http, "DELETE", f"{http_url}/v1/rooms/{rid}")


async def external(args: argparse.Namespace) -> dict[str, Any]:
    server = Server(uvloop=True, root=args.root)
    try:
        await asyncio.sleep(1.0)
        base = proc_sample(server.pid)["rss_mib"]
        rows = []
        for k in range(args.cycles):
            await cycle(server.ws_url, server.http_url, args.rooms, k)
            deleted = proc_sample(server.pid)["rss_mib"]
            await asyncio.sleep(args.settle)
            settled = proc_sample(server.pid)
            rows.append({"cycle": k + 1, "rss_at_delete_mib": deleted, "rss_settled_mib": settled["rss_mib"],
                         "fds": settled["fds"], "threads": settled["threads"]})
            print(json.dumps(rows[-1]), flush=True)
        last = rows[-1]["rss_settled_mib"]
        return {"mode": "external", "root": str(args.root), "load_1min": load_avg(), "rss_baseline_mib": base,
                "rss_last_mib": last, "above_baseline_pct": round(100 * (last - base) / base, 1), "cycles": rows}
    finally:
        server.stop()


async def inprocess(args: argparse.Namespace) -> dict[str, Any]:
    import tracemalloc

    from annotd.base import memtrim
    from annotd.base.config import Config
    from annotd.core.room import Room
    from annotd.process.daemon import Daemon

    cfg = Config().replace("server", ws_port=0, http_port=0, use_uvloop=False)
    daemon = Daemon(cfg)
    await daemon.start()
    tracemalloc.start()
    try:
        gc.collect()
        memtrim.trim()
        base_traced = tracemalloc.get_traced_memory()[0]
        base_rss = proc_sample(os.getpid())["rss_mib"]
        rows = []
        for k in range(args.cycles):
            await cycle(daemon.ws_url, daemon.http_url, args.rooms, k)
            await asyncio.sleep(0.5)  # the sockets' handlers finish
            daemon.hub.freed_bytes = 0  # this bench trims by hand, to see both sides
            gc.collect()
            rss_before = proc_sample(os.getpid())["rss_mib"]
            t0 = time.perf_counter()
            memtrim.trim()
            trim_ms = (time.perf_counter() - t0) * 1000
            rows.append({
                "cycle": k + 1,
                "traced_python_mib": round((tracemalloc.get_traced_memory()[0] - base_traced) / 2**20, 2),
                "rooms_alive": sum(1 for o in gc.get_objects() if isinstance(o, Room)),
                "docs_alive": sum(1 for o in gc.get_objects() if isinstance(o, Doc)),
                "clients_alive": sum(1 for o in gc.get_objects() if isinstance(o, RoomClient)),
                "rss_before_trim_mib": rss_before, "rss_after_trim_mib": proc_sample(os.getpid())["rss_mib"],
                "trim_ms": round(trim_ms, 1),
            })
            print(json.dumps(rows[-1]), flush=True)
        top = tracemalloc.take_snapshot().statistics("filename")[:5]
        return {"mode": "inprocess", "load_1min": load_avg(), "rss_baseline_mib": base_rss, "cycles": rows,
                "traced_top_files": [f"{s.traceback[0].filename.split('site-packages/')[-1]}: {s.size / 2**20:.2f} MiB"
                                     for s in top]}
    finally:
        tracemalloc.stop()
        await daemon.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", choices=("external", "inprocess"), default="external")
    ap.add_argument("--cycles", type=int, default=5)
    ap.add_argument("--rooms", type=int, default=20)
    ap.add_argument("--settle", type=float, default=3.0)
    ap.add_argument("--root", type=Path, default=ROOT)
    args = ap.parse_args()
    run = external if args.mode == "external" else inprocess
    print(json.dumps(asyncio.run(run(args))), flush=True)


if __name__ == "__main__":
    main()
