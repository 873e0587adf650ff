"""Measuring a running server from outside: how long others waited, and what it holds.

Shared by the hardening benchmarks (``bench_abuse``, ``bench_bigroom``, ``bench_soak``):

* :class:`LagProbe` measures what every other user of the process sees while something
  heavy happens: ``/healthz`` answered (one request every 10 ms) and a relay round trip in
  an unrelated room (a small update every 10 ms, timed from send to its ``ack``). A stall of
  the server's event loop shows in both, whatever caused it; the daemon's own
  ``event_loop_lag_ms`` (``/metrics``) is read too where the server has it.
* :func:`proc_sample` reads RSS, open descriptors and threads of the server from ``/proc``.

Nothing here asserts; the benchmarks print figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from pycrdt import Doc, Map, create_update_message
from pycrdt._sync import create_sync_step1_message
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

V1 = [Subprotocol("annotd.v1")]
PAGE = os.sysconf("SC_PAGE_SIZE")
PERIOD_S = 0.01


def proc_sample(pid: int) -> dict[str, float]:
    """RSS (MiB), open file descriptors and threads of process ``pid``."""
    with open(f"/proc/{pid}/statm") as f:
        rss = int(f.read().split()[1]) * PAGE
    threads = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                threads = int(line.split()[1])
    return {"rss_mib": round(rss / 2**20, 1), "fds": len(os.listdir(f"/proc/{pid}/fd")), "threads": threads}


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))]


def summary(values: list[float]) -> dict[str, Any]:
    """p50 / p99 / max in ms of samples given in seconds."""
    def ms(x: float | None) -> float | None:
        return None if x is None else round(x * 1000, 2)
    return {"n": len(values), "p50_ms": ms(pct(values, 50)), "p99_ms": ms(pct(values, 99)),
            "max_ms": ms(max(values) if values else None)}


async def json_request(http: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> tuple[int, Any]:
    kw: dict[str, Any] = {"timeout": aiohttp.ClientTimeout(total=120.0)}
    if body is not None:
        kw["data"] = orjson.dumps(body)
        kw["headers"] = {"Content-Type": "application/json"}
    async with http.request(method, url, **kw) as r:
        text = await r.read()
        try:
            return r.status, orjson.loads(text)
        except orjson.JSONDecodeError:
            return r.status, text.decode(errors="replace")


async def read_ack(ws: ClientConnection) -> dict[str, Any]:
    """The next ``ack`` text frame (other frames are skipped)."""
    while True:
        msg = await ws.recv()
        if isinstance(msg, str):
            data = orjson.loads(msg)
            if isinstance(data, dict) and data.get("type") == "ack":
                return data


@dataclass
class LagProbe:
    """Background probes of the server while something else runs (see the module doc)."""

    ws_url: str
    http_url: str
    room: str = "probe"
    healthz: list[float] = field(default_factory=list)
    relay: list[float] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _http: aiohttp.ClientSession | None = None
    _ws: ClientConnection | None = None

    async def start(self) -> None:
        self._http = aiohttp.ClientSession()
        await json_request(self._http, "POST", f"{self.http_url}/v1/rooms", {"id": self.room})
        self._ws = await connect(f"{self.ws_url}/v1/ws/rooms/{self.room}?userId=probe", subprotocols=V1,
                                 max_size=None, compression=None)
        await self._ws.send(create_sync_step1_message(b"\x00"))
        self._tasks = [asyncio.create_task(self._poll_healthz()), asyncio.create_task(self._ping_relay())]

    def reset(self) -> None:
        self.healthz.clear()
        self.relay.clear()

    async def _poll_healthz(self) -> None:
        assert self._http is not None
        while True:
            t0 = time.perf_counter()
            async with self._http.get(f"{self.http_url}/healthz") as r:
                await r.read()
            self.healthz.append(time.perf_counter() - t0)
            await asyncio.sleep(PERIOD_S)

    async def _ping_relay(self) -> None:
        ws = self._ws
        assert ws is not None
        doc: Doc[Any] = Doc()
        updates: list[bytes] = []
        doc.observe(lambda e: updates.append(e.update))
        m = doc.get("probe", type=Map)
        i = 0
        while True:
            m["k"] = i
            i += 1
            t0 = time.perf_counter()
            await ws.send(create_update_message(updates.pop()))
            await read_ack(ws)
            self.relay.append(time.perf_counter() - t0)
            await asyncio.sleep(PERIOD_S)

    async def server_lag(self, name: str = "event_loop_lag_ms") -> Any:
        """The daemon's own ``event_loop_lag_ms`` (or another windowed figure of ``/metrics``,
        such as ``gc_pause_ms``) over its last window (``None`` where the tree lacks it)."""
        assert self._http is not None
        status, data = await json_request(self._http, "GET", f"{self.http_url}/metrics")
        return data.get(name) if status == 200 and isinstance(data, dict) else None

    def figures(self) -> dict[str, Any]:
        return {"healthz": summary(self.healthz), "relay_other_room": summary(self.relay)}

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        if self._ws is not None:
            await self._ws.close()
        if self._http is not None:
            await self._http.close()


def load_avg() -> float:
    return round(os.getloadavg()[0], 2)


class ProbeProcess:
    """A :class:`LagProbe` in its own process (``python -m bench.probes``), so the load a
    benchmark generates in its own process (encoding big updates, say) never delays the
    probe's timings. ``report()`` returns the figures since the last ``reset()``."""

    def __init__(self, ws_url: str, http_url: str, room: str = "probe") -> None:
        self.args = ["--ws", ws_url, "--http", http_url, "--room", room]
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        import sys

        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.probes", *self.args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert self.proc.stdout is not None
        line = await self.proc.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError(f"probe did not start: {line!r}")

    async def _ask(self, cmd: str) -> Any:
        assert self.proc is not None and self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(cmd.encode() + b"\n")
        await self.proc.stdin.drain()
        return orjson.loads(await self.proc.stdout.readline())

    async def reset(self) -> None:
        await self._ask("reset")

    async def report(self) -> dict[str, Any]:
        data: dict[str, Any] = await self._ask("report")
        return data

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            await self.proc.wait()


async def _serve_probe(ws_url: str, http_url: str, room: str) -> None:
    import sys

    probe = LagProbe(ws_url, http_url, room)
    await probe.start()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print("ready", flush=True)
    while line := (await reader.readline()).strip():
        if line == b"reset":
            probe.reset()
            print("{}", flush=True)
        elif line == b"report":
            out = probe.figures()
            out["server_event_loop_lag_ms"] = await probe.server_lag()
            out["server_gc_pause_ms"] = await probe.server_lag("gc_pause_ms")
            print(orjson.dumps(out).decode(), flush=True)
    await probe.stop()


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--ws", required=True)
    ap.add_argument("--http", required=True)
    ap.add_argument("--room", default="probe")
    a = ap.parse_args()
    asyncio.run(_serve_probe(a.ws, a.http, a.room))
