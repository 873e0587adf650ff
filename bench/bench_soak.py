"""Soak with churn: rooms created and deleted, clients joining and leaving, writes and
presence, for ``--duration`` s against a server in its own process. Prints a sample of the
server's RSS, open descriptors and threads every ``--every`` s, the event-loop lag (the
daemon's ``event_loop_lag_ms`` max over each 10 s window, and the lag others saw from
outside: ``/healthz`` and relay in an unrelated room, from ``bench.probes``), and RSS once
every room is deleted against the baseline.

    .venv/bin/python -m bench.bench_soak [--duration 120] [--rooms 20] [--clients 40] [--root /tmp/harden-base]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import time
from pathlib import Path
from typing import Any

import aiohttp
from pycrdt import Map, Text

from annotd.client.roomclient import RoomClient

from .bench_relay import ROOT, Server
from .probes import ProbeProcess, json_request, load_avg, proc_sample


class Churn:
    def __init__(self, server: Server, rooms: int, clients: int, seed: int) -> None:
        self.server = server
        self.rng = random.Random(seed)
        self.max_rooms = rooms
        self.max_clients = clients
        self.rooms: list[str] = []
        self.clients: list[RoomClient] = []
        self.counts: dict[str, int] = {"rooms_created": 0, "rooms_deleted": 0, "joins": 0, "leaves": 0,
                                       "writes": 0, "presence": 0}
        self._n = 0

    async def step(self, http: aiohttp.ClientSession) -> None:
        rng, base = self.rng, self.server.http_url
        roll = rng.random()
        if roll < 0.03 or not self.rooms:
            if len(self.rooms) < self.max_rooms:
                self._n += 1
                rid = f"s{self._n}"
                await json_request(http, "POST", f"{base}/v1/rooms", {"id": rid})
                self.rooms.append(rid)
                self.counts["rooms_created"] += 1
        elif roll < 0.05 and len(self.rooms) > 1:
            rid = self.rooms.pop(rng.randrange(len(self.rooms)))
            await json_request(http, "DELETE", f"{base}/v1/rooms/{rid}")
            self.clients = [c for c in self.clients if c.room_id != rid or await _close(c)]
            self.counts["rooms_deleted"] += 1
        elif roll < 0.15 and len(self.clients) < self.max_clients:
            c = RoomClient(self.server.ws_url, rng.choice(self.rooms), user_id=f"u{rng.randrange(1000)}")
            with contextlib.suppress(OSError, ConnectionError):
                await c.connect()
                self.clients.append(c)
                self.counts["joins"] += 1
        elif roll < 0.22 and self.clients:
            await _close(self.clients.pop(rng.randrange(len(self.clients))))
            self.counts["leaves"] += 1
        elif self.clients:
            c = rng.choice(self.clients)
            if c.close_code is not None:
                self.clients.remove(c)
                return
            if roll < 0.8:
                anns = c.doc.get("annotations", type=Map)
                key = f"a{rng.randrange(40)}"
                if key in anns and isinstance(anns[key], Map):
                    anns[key]["x"] = rng.uniform(0, 1000)
                else:
                    anns[key] = Map({"id": key, "type": "rect", "x": 1, "y": 2, "w": 30, "h": 20})
                if rng.random() < 0.02:
                    c.doc.get("notes", type=Text).insert(0, "n" * rng.randrange(100, 20_000))
                self.counts["writes"] += 1
            else:
                with contextlib.suppress(Exception):
                    await c.send_presence(cursor={"x": rng.uniform(0, 900), "y": rng.uniform(0, 900)}, selection=[])
                    self.counts["presence"] += 1

    async def finish(self, http: aiohttp.ClientSession) -> None:
        for c in self.clients:
            await _close(c)
        for rid in self.rooms:
            await json_request(http, "DELETE", f"{self.server.http_url}/v1/rooms/{rid}")
        self.clients, self.rooms = [], []


async def _close(c: RoomClient) -> bool:
    with contextlib.suppress(Exception):
        await c.close()
    return False


async def run(args: argparse.Namespace) -> dict[str, Any]:
    server = Server(uvloop=True, root=args.root)
    probe = ProbeProcess(server.ws_url, server.http_url, room="soak-probe")
    try:
        await asyncio.sleep(1.0)
        baseline = proc_sample(server.pid)
        await probe.start()
        churn = Churn(server, args.rooms, args.clients, args.seed)
        samples: list[dict[str, Any]] = []
        lag_max: list[float] = []
        lag_p99: list[float] = []
        async with aiohttp.ClientSession() as http:
            t0 = time.perf_counter()
            next_sample = 0.0
            while (now := time.perf_counter() - t0) < args.duration:
                await churn.step(http)
                await asyncio.sleep(args.pace)
                if now >= next_sample:
                    next_sample += args.every
                    s = proc_sample(server.pid)
                    _, m = await json_request(http, "GET", f"{server.http_url}/metrics")
                    lag = m.get("event_loop_lag_ms") if isinstance(m, dict) else None
                    if isinstance(lag, dict) and lag.get("max") is not None:
                        lag_max.append(lag["max"])
                        lag_p99.append(lag["p99"])
                    s.update(t=round(now), rooms=len(churn.rooms), clients=len(churn.clients), lag_ms=lag)
                    samples.append(s)
                    print(json.dumps(s), flush=True)
            outside = await probe.report()
            await churn.finish(http)
        await asyncio.sleep(3.0)
        end = proc_sample(server.pid)
        return {"root": str(args.root), "duration_s": args.duration, "load_1min": load_avg(), "counts": churn.counts,
                "baseline": baseline, "peak_rss_mib": max(s["rss_mib"] for s in samples), "after_all_deleted": end,
                "above_baseline_pct": round(100 * (end["rss_mib"] - baseline["rss_mib"]) / baseline["rss_mib"], 1),
                "server_lag_ms": {"max_of_windows": max(lag_max, default=None), "worst_window_p99": max(lag_p99, default=None)},
                "others_waited": outside}
    finally:
        await probe.stop()
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=120.0)
    ap.add_argument("--rooms", type=int, default=20)
    ap.add_argument("--clients", type=int, default=40)
    ap.add_argument("--every", type=float, default=10.0)
    ap.add_argument("--pace", type=float, default=0.002, help="pause between churn steps (s)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--root", type=Path, default=ROOT)
    args = ap.parse_args()
    print(json.dumps(asyncio.run(run(args))), flush=True)


if __name__ == "__main__":
    main()
