"""What many idle rooms cost one process: N rooms, each with one connected client, nothing
happening.

For each N (``--rooms``, default 1,000 / 5,000 / 10,000) a fresh server (its own process,
pinned to core 0, ``limits.max_rooms`` and ``max_connections`` raised to fit) gets N rooms
(``POST /v1/rooms``), then one WebSocket client joins each (``/v1/ws/rooms/<id>``, sync step 1
sent, timed to the server's first answer: **join** p50/p99/max, at most 64 handshakes in
flight). A separate probe process (``bench.probes``) then measures ``/healthz`` and a relay
round trip in another room every 10 ms:

* **idle**: 10 s with nothing happening: the server's CPU (% of one core, from ``/proc``),
  ``/healthz`` and relay p50/p99/max;
* **list**: ``GET /v1/rooms`` (the first page, the server's default page size) and every page
  walked with ``cursor``, timed from this process;
* **mass leave**: every client's connection dropped at once (TCP abort, as when a network or a
  proxy goes): ``/healthz`` and relay max over the next 3 s, and the daemon's own loop-lag max.

    .venv/bin/python -m bench.bench_rooms [--rooms 1000,5000,10000] [--root /other/tree]

``--leave-only`` skips the idle and list phases (it waits as long instead); ``--py-spy OUT`` records the server with
py-spy (``--native``: the collector's C frames show) for 10 s after the idle phase, into
``OUT-<N>-idle.txt``, and during the mass leave, into ``OUT-<N>.txt`` (summarise with
``bench.pyspy_top``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
from pycrdt._sync import create_sync_step1_message
from websockets.asyncio.client import ClientConnection, connect

from .bench_relay import ROOT, Server
from .probes import ProbeProcess, load_avg, proc_sample, summary

IN_FLIGHT = 64


async def create_rooms(http: aiohttp.ClientSession, url: str, n: int) -> float:
    sem = asyncio.Semaphore(IN_FLIGHT)

    async def one(i: int) -> None:
        async with sem, http.post(f"{url}/v1/rooms", json={"id": f"r{i}"}) as r:
            assert r.status == 201, await r.text()

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return time.perf_counter() - t0


async def join_all(ws_url: str, n: int) -> tuple[list[ClientConnection], list[float]]:
    sem = asyncio.Semaphore(IN_FLIGHT)
    clients: list[ClientConnection] = []
    times: list[float] = []

    async def one(i: int) -> None:
        async with sem:
            t0 = time.perf_counter()
            ws = await connect(f"{ws_url}/v1/ws/rooms/r{i}?userId=u{i}", ping_interval=None, max_size=None,
                               compression=None, open_timeout=120)
            await ws.send(create_sync_step1_message(b"\x00"))
            await ws.recv()
            times.append(time.perf_counter() - t0)
            clients.append(ws)

    await asyncio.gather(*(one(i) for i in range(n)))
    return clients, times


async def drain(clients: list[ClientConnection]) -> None:
    """Keep reading what the server sends (presence and the like) so no client's buffer fills."""
    async def one(ws: ClientConnection) -> None:
        try:
            async for _ in ws:
                pass
        except Exception:  # noqa: BLE001 - a bench client dropped on purpose
            return
    await asyncio.gather(*(one(ws) for ws in clients))


async def list_rooms(http: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    async with http.get(f"{url}/v1/rooms") as r:
        first = await r.json()
    first_s = time.perf_counter() - t0
    pages, total, data = 1, len(first["rooms"]), first
    t1 = time.perf_counter()
    while data.get("nextCursor"):
        async with http.get(f"{url}/v1/rooms", params={"cursor": data["nextCursor"]}) as r:
            data = await r.json()
        pages += 1
        total += len(data["rooms"])
    walk_s = time.perf_counter() - t0 if pages > 1 else first_s
    return {"first_page_ms": round(first_s * 1000, 1), "first_page_rooms": len(first["rooms"]),
            "all_pages_ms": round(walk_s * 1000, 1), "pages": pages, "rooms": total,
            "rest_pages_ms": round((time.perf_counter() - t1) * 1000, 1)}


async def one_size(root: Path, n: int, *, leave_only: bool = False, spy: Path | None = None) -> dict[str, Any]:
    extra = f"[limits]\nmax_rooms = {n + 10}\nmax_connections = {n + 100}\n"
    server = Server(uvloop=True, root=root, extra_toml=extra)
    out: dict[str, Any] = {"rooms": n}
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=IN_FLIGHT)) as http:
            out["create_s"] = round(await create_rooms(http, server.http_url, n), 1)
            clients, joins = await join_all(server.ws_url, n)
            readers = asyncio.create_task(drain(clients))
            out["join"] = summary(joins)
            probe = ProbeProcess(server.ws_url, server.http_url, room="probe")
            await probe.start()
            await asyncio.sleep(11)  # the server's lag window forgets the joins
            if not leave_only:
                await probe.reset()
                cpu0, t0 = server.cpu_s(), time.perf_counter()
                await asyncio.sleep(10)
                cpu = (server.cpu_s() - cpu0) / (time.perf_counter() - t0)
                if spy is not None:  # after the CPU figure: py-spy costs the server time
                    server.spy_start(spy.with_name(f"{spy.name}-{n}-idle.txt"), native=True)
                    await asyncio.sleep(10)
                    server.spy_stop()
                out["idle"] = {"cpu_pct": round(cpu * 100, 1), "load_1min": load_avg(), **await probe.report()}
                out["list"] = await list_rooms(http, server.http_url)
                await asyncio.sleep(11)
            else:  # the same timeline: the rooms' first snapshots (due 30 s after creation) are behind
                await asyncio.sleep(22)
            await probe.reset()
            if spy is not None:
                server.spy_start(spy.with_name(f"{spy.name}-{n}.txt"), native=True)
                await asyncio.sleep(1)  # py-spy attached
            for ws in clients:
                ws.transport.abort()
            await asyncio.sleep(3)
            server.spy_stop()
            out["mass_leave"] = {"load_1min": load_avg(), **await probe.report()}
            readers.cancel()
            await probe.stop()
            out["rss"] = proc_sample(server.pid)
    finally:
        server.stop()
    return out


async def run(root: Path, sizes: list[int], *, leave_only: bool = False, spy: Path | None = None) -> dict[str, Any]:
    results = []
    for n in sizes:
        res = await one_size(root, n, leave_only=leave_only, spy=spy)
        print(f"  {json.dumps(res)}", flush=True)
        results.append(res)
    return {"root": str(root), "load_1min": load_avg(), "results": results}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=ROOT)
    ap.add_argument("--rooms", default="1000,5000,10000")
    ap.add_argument("--leave-only", action="store_true", help="skip the idle and list phases")
    ap.add_argument("--py-spy", type=Path, metavar="OUT", help="record the server during the mass leave")
    args = ap.parse_args()
    sizes = [int(s) for s in args.rooms.split(",")]
    print(json.dumps(asyncio.run(run(args.root, sizes, leave_only=args.leave_only, spy=args.py_spy))), flush=True)


if __name__ == "__main__":
    main()
