"""Memory abuse by one client: RSS of the server while one socket
floods a room, and after the room is deleted.

Scenarios (each on a fresh ``annotd serve`` pinned to core 0, default configuration):

* ``text``: one client inserts 900 KB into a ``Y.Text`` per update and waits for each
  ``ack`` before the next (what the outside test did: 55 MB → 2,085 MB in 13 s);
* ``map``: one client overwrites one ``Y.Map`` key with a 900 KB string as fast as the
  socket takes it (no waiting for acks; the outside test reached 314 MB/s, ~1.3 GB).

Printed: RSS before, peak and at the end of the flood, after deleting the room (and after
a further settle), what the server accepted (acks, MB/s), how the flooding socket ended
(close code), and the latency others saw meanwhile (``/healthz``, relay in another room).

    .venv/bin/python -m bench.bench_abuse [--scenario text,map] [--duration 13] [--root /tmp/harden-base]

``--root`` runs the server from another tree with this venv (for "before" figures).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
from pycrdt import Doc, Map, Text, create_update_message
from pycrdt._sync import create_sync_step1_message
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from .bench_relay import ROOT, Server
from .probes import V1, ProbeProcess, json_request, load_avg, proc_sample, read_ack

CHUNK = 900_000


async def flood(server: Server, room: str, scenario: str, duration: float, samples: list[dict[str, Any]]) -> dict[str, Any]:
    doc: Doc[Any] = Doc()
    updates: list[bytes] = []
    doc.observe(lambda e: updates.append(e.update))
    acks = sent = accepted_bytes = 0
    close_code: int | None = None
    t0 = time.perf_counter()
    ws = await connect(f"{server.ws_url}/v1/ws/rooms/{room}?userId=flood", subprotocols=V1, max_size=None,
                       compression=None)
    await ws.send(create_sync_step1_message(b"\x00"))

    async def count_acks() -> None:
        nonlocal acks
        with contextlib.suppress(ConnectionClosed):
            while True:
                ack = await read_ack(ws)
                if ack.get("changed"):
                    acks += 1

    try:
        if scenario == "text":
            text = doc.get("t", type=Text)
            while time.perf_counter() - t0 < duration:
                text += chr(97 + sent % 26) * CHUNK
                await ws.send(create_update_message(updates.pop()))
                sent += 1
                ack = await asyncio.wait_for(read_ack(ws), timeout=max(1.0, duration))
                if ack.get("changed"):
                    acks += 1
                    accepted_bytes += CHUNK
        else:
            counter = asyncio.create_task(count_acks())
            m = doc.get("m", type=Map)
            while time.perf_counter() - t0 < duration:
                m["k"] = chr(97 + sent % 26) * CHUNK
                await ws.send(create_update_message(updates.pop()))
                sent += 1
            counter.cancel()
            accepted_bytes = acks * CHUNK
    except (ConnectionClosed, TimeoutError):
        pass
    finally:
        elapsed = time.perf_counter() - t0
        close_code = ws.close_code
        await ws.close()
    return {"updates_sent": sent, "updates_acked": acks, "accepted_mb": round(accepted_bytes / 1e6, 1),
            "accepted_mb_per_s": round(accepted_bytes / 1e6 / elapsed, 2), "seconds": round(elapsed, 1),
            "close_code": close_code}


async def sampler(pid: int, out: list[dict[str, Any]], t0: float) -> None:
    while True:
        s = proc_sample(pid)
        s["t"] = round(time.perf_counter() - t0, 2)
        out.append(s)
        await asyncio.sleep(0.25)


async def run(scenario: str, duration: float, root: Path) -> dict[str, Any]:
    server = Server(uvloop=True, root=root)
    try:
        probe = ProbeProcess(server.ws_url, server.http_url)
        async with aiohttp.ClientSession() as http:
            await json_request(http, "POST", f"{server.http_url}/v1/rooms", {"id": "abuse"})
            await asyncio.sleep(1.0)
            base = proc_sample(server.pid)
            await probe.start()
            samples: list[dict[str, Any]] = []
            t0 = time.perf_counter()
            task = asyncio.create_task(sampler(server.pid, samples, t0))
            result = await flood(server, "abuse", scenario, duration, samples)
            end = proc_sample(server.pid)
            task.cancel()
            figures = await probe.report()
            await probe.stop()
            status, info = await json_request(http, "GET", f"{server.http_url}/v1/rooms/abuse")
            await json_request(http, "DELETE", f"{server.http_url}/v1/rooms/abuse")
            await asyncio.sleep(2.0)
            after_delete = proc_sample(server.pid)
            await asyncio.sleep(5.0)
            later = proc_sample(server.pid)
        return {
            "scenario": scenario, "load_1min": load_avg(), "rss_before_mib": base["rss_mib"],
            "rss_peak_mib": max(s["rss_mib"] for s in samples) if samples else None,
            "rss_end_mib": end["rss_mib"], "rss_after_delete_mib": after_delete["rss_mib"],
            "rss_7s_after_delete_mib": later["rss_mib"],
            **result, "room": {k: info.get(k) for k in ("headSeq", "snapshotSeq", "oldestSeq")} if status == 200 else None,
            "others_waited": figures,
            "rss_samples_mib": [s["rss_mib"] for s in samples[:: max(1, len(samples) // 20)]],
        }
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default="text,map")
    ap.add_argument("--duration", type=float, default=13.0)
    ap.add_argument("--root", type=Path, default=ROOT, help="tree to run the server from")
    args = ap.parse_args()
    for scenario in args.scenario.split(","):
        print(json.dumps(asyncio.run(run(scenario, args.duration, args.root))), flush=True)


if __name__ == "__main__":
    main()
