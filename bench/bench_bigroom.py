"""A big room must not stall every room.

Fills one room to ``--mb`` MB of document (the biggest the default
``limits.max_document_bytes`` allows, by default), then runs what used to encode its whole
state on the event loop, one at a time, while a separate probe process (``bench.probes``)
measures what everybody else waited meanwhile: ``/healthz`` every 10 ms, and a relay round
trip in an unrelated room every 10 ms. The daemon's own ``event_loop_lag_ms`` max over its
10 s window is printed too where the server has it.

Actions: ``join`` (a fresh annotd.v1 client until its sync step 2 is applied), ``join x5``
(five fresh clients at once), ``snapshot`` (``snapshots.create``), ``export`` (PNG of the
head, submit to done), ``history`` (``annotations.list`` at an older retained seq),
``version`` (``versions.create`` at an older retained seq), ``write`` (one more 400 KB
update).

    .venv/bin/python -m bench.bench_bigroom [--content text|annotations] [--mb 16] [--limit-mb 220] [--root /tmp/harden-base]

``--limit-mb`` raises ``limits.max_document_bytes`` to fill further (what an operator who
raises the limit gets). ``--content annotations`` fills with up to 10,000 annotations (the schema's cap) instead
of text. ``--root`` runs the server from another tree (for "before" figures).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from pycrdt import Decoder, Doc, Map, Text, create_update_message, handle_sync_message
from pycrdt._sync import create_sync_step1_message
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from .bench_history import payload
from .bench_relay import ROOT, Server
from .probes import V1, ProbeProcess, json_request, load_avg, proc_sample, read_ack

CHUNK = 900_000
ROOM = "big"


async def open_v1(server: Server, user: str) -> ClientConnection:
    ws = await connect(f"{server.ws_url}/v1/ws/rooms/{ROOM}?userId={user}", subprotocols=V1, max_size=None,
                       compression=None, open_timeout=120)
    return ws


async def fill(server: Server, content: str, target_bytes: int) -> dict[str, Any]:
    """Send updates until the room's state is ``target_bytes`` or the server refuses more."""
    doc: Doc[Any] = Doc()
    updates: list[bytes] = []
    doc.observe(lambda e: updates.append(e.update))
    ws = await open_v1(server, "filler")
    await ws.send(create_sync_step1_message(b"\x00"))
    sent = 0
    refused: int | None = None
    try:
        if content == "text":
            text = doc.get("t", type=Text)
            while sent + CHUNK <= target_bytes:
                text += chr(97 + (sent // CHUNK) % 26) * CHUNK
                await ws.send(create_update_message(updates.pop()))
                await read_ack(ws)
                sent += CHUNK
        else:
            from annotd.canvas import ops

            i = 0
            while sent < target_bytes and i < 10_000:
                with doc.transaction():
                    for _ in range(250):
                        ops.upsert_annotation(doc, {**payload(i), "id": f"b{i}"}, "filler", 1_700_000_000_000 + i)
                        i += 1
                update = b"".join(updates)  # one transaction: one update
                updates.clear()
                await ws.send(create_update_message(update))
                await read_ack(ws)
                sent += len(update)
    except ConnectionClosed:
        refused = ws.close_code
    await ws.close()
    return {"sent_mb": round(sent / 1e6, 1), "refused_with": refused}


async def join(server: Server, user: str) -> float:
    """Seconds from connect to having applied the server's sync step 2."""
    t0 = time.perf_counter()
    ws = await open_v1(server, user)
    doc: Doc[Any] = Doc()
    await ws.send(create_sync_step1_message(doc.get_state()))
    head = None
    while True:
        msg = await ws.recv()
        if isinstance(msg, str):
            info = orjson.loads(msg)
            if info.get("type") == "roomInfo":
                head = info["headSeq"]
            continue
        seq = None
        if msg[0] == 100:
            d = Decoder(msg[1:])
            seq = d.read_var_uint()
            msg = msg[1 + d.i0:]
        if msg[0] == 0:
            reply = handle_sync_message(msg[1:], doc)
            if reply is not None:
                await ws.send(reply)
        if seq is not None and head is not None and seq >= head:
            break
    dt = time.perf_counter() - t0
    await ws.close()
    return dt


async def action(name: str, server: Server, http: aiohttp.ClientSession, old_seq: int) -> dict[str, Any]:
    base = server.http_url
    t0 = time.perf_counter()
    out: dict[str, Any] = {}
    if name == "join":
        out["join_s"] = round(await join(server, "joiner"), 3)
    elif name == "join x5":
        times = await asyncio.gather(*(join(server, f"j{i}") for i in range(5)))
        out["join_s_max"] = round(max(times), 3)
    elif name == "snapshot":
        out["status"], out["result"] = await json_request(http, "POST", f"{base}/v1/rooms/{ROOM}/snapshots")
    elif name == "export":
        status, job = await json_request(http, "POST", f"{base}/v1/rooms/{ROOM}/exports", {"format": "png"})
        out["status"] = status
        while status == 202 or (isinstance(job, dict) and job.get("status") in ("queued", "running")):
            await asyncio.sleep(0.05)
            status, job = await json_request(http, "GET", f"{base}/v1/exports/{job['jobId']}")
        out["export"] = job.get("status") if isinstance(job, dict) else job
    elif name == "history":
        status, body = await json_request(http, "GET", f"{base}/v1/rooms/{ROOM}/annotations?seq={old_seq}")
        out["status"] = status
        out["annotations"] = len(body.get("annotations", [])) if isinstance(body, dict) else body
    elif name == "version":
        out["status"], out["result"] = await json_request(http, "POST", f"{base}/v1/rooms/{ROOM}/versions",
                                                          {"tag": f"v{old_seq}", "seq": old_seq})
    elif name == "write":
        ws = await open_v1(server, "writer")
        doc: Doc[Any] = Doc()
        updates: list[bytes] = []
        doc.observe(lambda e: updates.append(e.update))
        doc.get("w", type=Map)["k"] = "w" * 400_000  # fits under the default limit after the fill
        try:
            await ws.send(create_update_message(updates.pop()))
            out["ack"] = await asyncio.wait_for(read_ack(ws), 120)
        except ConnectionClosed:
            out["closed"] = ws.close_code
        await ws.close()
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return out


async def run(content: str, mb: float, root: Path, limit_mb: float | None) -> dict[str, Any]:
    extra = f"[limits]\nmax_document_bytes = {int(limit_mb * 1e6)}\n" if limit_mb else ""
    server = Server(uvloop=True, root=root, extra_toml=extra)
    try:
        async with aiohttp.ClientSession() as http:
            await json_request(http, "POST", f"{server.http_url}/v1/rooms", {"id": ROOM})
            filled = await fill(server, content, int(mb * 1e6))
            _, snaps = await json_request(http, "GET", f"{server.http_url}/v1/rooms/{ROOM}/snapshots")
            retained = [s["seq"] for s in snaps["snapshots"]] if isinstance(snaps, dict) else []
            old_seq = max(snaps["oldestSeq"], snaps["headSeq"] - 3) if isinstance(snaps, dict) else 0
            probe = ProbeProcess(server.ws_url, server.http_url)
            await probe.start()
            await asyncio.sleep(11)  # the server's lag window (10 s) forgets the filling
            results: dict[str, Any] = {}
            for name in ("idle", "join", "join x5", "snapshot", "export", "history", "version", "write"):
                await probe.reset()
                if name == "idle":
                    await asyncio.sleep(2)
                    res: dict[str, Any] = {}
                else:
                    res = await action(name, server, http, old_seq)
                await asyncio.sleep(0.3)
                res.update(await probe.report())
                results[name] = res
                print(f"  {name}: {json.dumps(res)}", flush=True)
                await asyncio.sleep(11 if name != "idle" else 0)  # let the lag window forget this action
            await probe.stop()
            _, room = await json_request(http, "GET", f"{server.http_url}/v1/rooms/{ROOM}")
        return {"content": content, "target_mb": mb, "load_1min": load_avg(), **filled,
                "snapshots": retained, "old_seq": old_seq, "room": room, "rss": proc_sample(server.pid),
                "results": results}
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--content", default="text", choices=("text", "annotations"))
    ap.add_argument("--mb", type=float, default=16.7)
    ap.add_argument("--root", type=Path, default=ROOT)
    ap.add_argument("--limit-mb", type=float, default=None,
                    help="set limits.max_document_bytes (MB) to fill past the default, e.g. 220 with --mb 200")
    args = ap.parse_args()
    print(json.dumps(asyncio.run(run(args.content, args.mb, args.root, args.limit_mb))), flush=True)


if __name__ == "__main__":
    main()
