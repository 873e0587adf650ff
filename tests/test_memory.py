"""A deleted room gives its memory back.

Nothing may keep a deleted room's objects alive (connections, snapshot builds, export jobs,
canvases, the observer that captures updates): checked with weak references after a room
that had clients, history, snapshots, a version and an export is deleted. What glibc then
keeps in its arenas is returned by ``malloc_trim`` (figures in BENCHMARKS.md, "Memory").
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Awaitable, Callable

import aiohttp
from pycrdt import Map, Text

from annotd import memtrim
from annotd.client import RoomClient
from annotd.daemon import Daemon

from .helpers import ok, within

DaemonFactory = Callable[..., Awaitable[Daemon]]


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
