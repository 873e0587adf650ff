"""A deleted room gives its memory back.

Nothing may keep a deleted room's objects alive (connections, snapshot builds, export jobs,
canvases, the observer that captures updates): checked with weak references after a room
that had clients, history, snapshots, a version and an export is deleted. What glibc then
keeps in its arenas is returned by ``malloc_trim`` (figures in BENCHMARKS.md, "Memory").
"""

from __future__ import annotations

import asyncio
import gc
import io
import os
import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from pycrdt import Map, Text
from websockets.asyncio.client import connect

from annotd.base import memtrim
from annotd.client.roomclient import RoomClient
from annotd.process.daemon import Daemon

from ..cli.test_cli import start_serve
from ..helpers import T, ok, within

DaemonFactory = Callable[..., Awaitable[Daemon]]
BACK_WITHIN = 1.25
"""RSS after deleting rooms, as a multiple of the baseline: most runs are back within 1.2,
not every one; what stays is interpreter arenas kept by a few objects each (BENCHMARKS.md,
"Round two, continued")."""


async def test_deleted_room_is_collected(make_daemon: DaemonFactory) -> None:
    d = await make_daemon(history={"snapshot_every_ops": 3})
    async with aiohttp.ClientSession(base_url=d.http_url) as http:
        await ok(http, "POST", "/v1/rooms", {"id": "r1"}, status=201)
        live = d.hub.rooms["r1"]
        room = live.room
        refs = [weakref.ref(live), weakref.ref(room), weakref.ref(room.doc), weakref.ref(room.history),
                weakref.ref(live.canvas), weakref.ref(live.snapshots)]
        a = RoomClient(d.ws_url, "r1", user_id="a")
        b = RoomClient(d.ws_url, "r1", user_id="b")
        await a.connect()
        await b.connect()
        for i in range(10):
            a.doc.get("annotations", type=Map)[f"k{i}"] = i
            b.doc.get("t", type=Text).insert(0, "x" * 1000)
        await within(a.flush())
        await within(b.flush())
        await a.send_presence(cursor={"x": 1, "y": 2}, selection=[])
        await ok(http, "POST", "/v1/rooms/r1/versions", {"tag": "v1"}, status=201)
        job = await ok(http, "POST", "/v1/rooms/r1/exports", {"format": "svg"}, status=202)
        await within(d.hub.exports.wait(job["jobId"]))
        del room, live
        await ok(http, "DELETE", "/v1/rooms/r1")
        assert await within(a.wait_closed()) == 4410
        assert await within(b.wait_closed()) == 4410
    await a.close()
    await b.close()
    assert d.hub.freed_bytes > 0  # the trimmer will give it back
    gc.collect()
    alive = [r() for r in refs if r() is not None]
    assert not alive, [gc.get_referrers(x) for x in alive]


def test_malloc_trim_is_available_here() -> None:
    """The project's machines run glibc: the trim must be there (elsewhere it is a no-op)."""
    assert memtrim.available()
    memtrim.trim()


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def _rss_settles(pid: int, bound_mb: float) -> float:
    """The daemon's RSS once it is within ``bound_mb`` (its trimmer runs once a second after
    large frees, up to five times), or what it still is after ``T``: another process gives
    no event to await, so its RSS is read until it holds or the time is up."""
    for _ in range(int(T / 0.25)):
        if (rss := _rss_mb(pid)) <= bound_mb:
            break
        await asyncio.sleep(0.25)
    return rss


def _page(n: int) -> dict[str, Any]:
    return {"type": "AnnotationPage", "items": [
        {"type": "Annotation", "target": {"source": "http://example.org/a.png", "selector": {
            "type": "FragmentSelector", "value": f"xywh={i % 100 * 10},{i // 100 * 10},8,8"}}} for i in range(n)]}


async def _baseline(pid: int, http: aiohttp.ClientSession) -> float:
    """The idle daemon's RSS after a first room was made, given a small import and deleted
    (what any use costs once: the state worker's pool and its threads, lazy imports)."""
    await ok(http, "POST", "/v1/rooms", {"id": "warm"}, status=201)
    await ok(http, "POST", "/v1/rooms/warm/formats/w3c", _page(10), status=201)
    await ok(http, "DELETE", "/v1/rooms/warm")
    return _rss_mb(pid)


async def test_memory_comes_back_after_deleting_many_rooms_or_an_imported_one(tmp_path: Path) -> None:
    """A real ``annotd serve`` process: deleting 2,000 small rooms brings its RSS back within
    25 % of the baseline, and so does deleting one room filled by an import of 10,000
    annotations afterwards (the file is parsed in the state worker, never in the daemon). No
    room object outlives its deletion; what stays is interpreter arenas that a few surviving
    objects keep (BENCHMARKS.md, "Round two, continued", has the figures)."""
    cfg = tmp_path / "annotd.toml"
    # warnings only: nobody reads its stderr until it exits, and a full pipe would stop it
    cfg.write_text("[log]\nlevel = \"warning\"\n[limits]\nmax_rooms = 3000\nmax_rpc_batch = 500\n")
    proc, ws_url, http_url = await start_serve("--config", str(cfg))
    try:
        async with aiohttp.ClientSession(base_url=http_url) as http:
            base = await _baseline(proc.pid, http)
            async with connect(f"{ws_url}/v1/ws") as ws:
                for method in ("rooms.create", "rooms.delete"):
                    for start in range(0, 2000, 500):
                        await ws.send(orjson.dumps([{"jsonrpc": "2.0", "id": i, "method": method, "params": {"roomId": f"r{i}"}
                                                     if method == "rooms.delete" else {"id": f"r{i}"}}
                                                    for i in range(start, start + 500)]).decode())
                        answers = orjson.loads(await within(ws.recv()))
                        assert all("result" in a for a in answers), answers[:2]
                    if method == "rooms.create":
                        peak = _rss_mb(proc.pid)
            rooms_after = await _rss_settles(proc.pid, base * BACK_WITHIN)
            await ok(http, "POST", "/v1/rooms", {"id": "big"}, status=201)
            async with http.post("/v1/rooms/big/formats/w3c", data=io.BytesIO(orjson.dumps(_page(10_000))),
                                 headers={"Content-Type": "application/json"}, timeout=aiohttp.ClientTimeout(total=T * 4)) as r:
                assert r.status == 201, await r.text()
            imported = _rss_mb(proc.pid)
            await ok(http, "DELETE", "/v1/rooms/big")
            import_after = await _rss_settles(proc.pid, base * BACK_WITHIN)
    finally:
        proc.terminate()
        await proc.wait()
    figures = {"base": base, "rooms_peak": peak, "rooms_after": rooms_after, "imported": imported,
               "import_after": import_after}
    assert peak > base + 10 and imported > base + 20, figures  # the rooms and the import did take memory
    assert rooms_after <= base * BACK_WITHIN and import_after <= base * BACK_WITHIN, figures
