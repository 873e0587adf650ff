"""The handshake cap from outside: many connections that never finish their WebSocket
handshake, and a legitimate join meanwhile.

A fresh server (its own process, uvloop, default ``limits.max_pending_handshakes`` = 128)
gets ``--held`` TCP connections on its WebSocket port that send nothing. Counted: how many of
them got an HTTP 503 answer (the cap), how many were closed with no answer, how many are
still open after 2 s; meanwhile a legitimate client joins a room (did it get in, how long it
took) and the probe process (``bench.probes``) measures ``/healthz`` and a relay in another
room. Afterwards the server's log is searched for tracebacks.

    .venv/bin/python -m bench.bench_handshakes [--held 200] [--root /other/tree]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from pycrdt._sync import create_sync_step1_message
from websockets.asyncio.client import connect

from .bench_relay import ROOT, Server
from .probes import ProbeProcess, load_avg


async def hold(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(host, port)


async def outcome(reader: asyncio.StreamReader) -> str:
    try:
        data = await asyncio.wait_for(reader.read(200), 2.0)
    except TimeoutError:
        return "open"
    except ConnectionError:
        return "reset"
    if not data:
        return "closed_without_answer"
    return "503" if data.startswith(b"HTTP/1.1 503") else f"other:{data[:20]!r}"


async def run(root: Path, held: int) -> dict[str, Any]:
    server = Server(uvloop=True, root=root)
    out: dict[str, Any] = {"root": str(root), "held": held}
    try:
        probe = ProbeProcess(server.ws_url, server.http_url)
        await probe.start()
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{server.http_url}/v1/rooms", json={"id": "legit"}) as r:
                assert r.status == 201
        url = urlsplit(server.ws_url)
        await asyncio.sleep(1)
        await probe.reset()
        conns = await asyncio.gather(*(hold(url.hostname or "127.0.0.1", url.port or 0) for _ in range(held)))
        t0 = time.perf_counter()
        try:
            ws = await connect(f"{server.ws_url}/v1/ws/rooms/legit?userId=legit", open_timeout=10)
            await ws.send(create_sync_step1_message(b"\x00"))
            await asyncio.wait_for(ws.recv(), 10)
            out["legit_join"] = {"ok": True, "ms": round((time.perf_counter() - t0) * 1000, 1)}
            await ws.close()
        except Exception as exc:  # noqa: BLE001 - what the legitimate client saw is the figure
            out["legit_join"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:200]}
        results = await asyncio.gather(*(outcome(r) for r, _ in conns))
        counts: dict[str, int] = {}
        for res in results:
            counts[res] = counts.get(res, 0) + 1
        out["held_outcomes"] = counts
        for _, w in conns:
            w.close()
        out["probe"] = {"load_1min": load_avg(), **await probe.report()}
        await probe.stop()
        log = server.stderr_path.read_text(errors="replace")
        out["log_tracebacks"] = log.count("Traceback")
        out["log_error_lines"] = sum(1 for line in log.splitlines() if "ERROR" in line)
    finally:
        server.stop()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=ROOT)
    ap.add_argument("--held", type=int, default=200)
    args = ap.parse_args()
    print(json.dumps(asyncio.run(run(args.root, args.held))), flush=True)


if __name__ == "__main__":
    main()
