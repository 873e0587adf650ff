"""Helpers shared by the socket-level tests (fixtures live in conftest.py; the node peer
in nodepeer.py)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import aiohttp
import orjson
from pycrdt import Doc, Map
from websockets.asyncio.client import connect

from annotd.client.roomclient import RoomClient
from annotd.core.room import Room
from annotd.process.daemon import Daemon

T = 30.0
"""Generous bound on one awaited event: CI is a loaded 2-core machine (node peers, renders)."""

Open = Callable[..., Awaitable[RoomClient]]
"""The ``clients`` fixture: ``await clients(room_id, user_id)`` is a joined RoomClient."""
J = dict[str, Any]


async def create_room(http: aiohttp.ClientSession, room_id: str = "r1") -> None:
    """Create a room through REST (``rooms.create``)."""
    r = await http.post("/v1/rooms", json={"id": room_id})
    assert r.status == 201, await r.text()


async def room_and_client(d: Daemon, user_id: str = "w", room_id: str = "r1") -> tuple[Room, RoomClient]:
    """A new room on ``d`` and a client connected to it: the live :class:`Room` (for
    white-box checks) and the client."""
    d.hub.create_room(room_id)
    c = RoomClient(d.ws_url, room_id, user_id=user_id)
    await c.connect()
    return d.hub.rooms[room_id].room, c


async def settle(daemon: Daemon, room_id: str, *clients: RoomClient) -> int:
    """Wait until the server acked every client's updates and every client reached the head."""
    async with asyncio.timeout(T):
        for c in clients:
            await c.flush()
        head = daemon.hub.rooms[room_id].room.head
        for c in clients:
            await c.wait_for_seq(head)
    return head


def annotations_of(doc: Doc[Any]) -> J:
    return doc.get("annotations", type=Map).to_py() or {}


def comments_of(doc: Doc[Any]) -> J:
    return doc.get("comments", type=Map).to_py() or {}


async def until_doc(doc: Doc[Any], pred: Callable[[], bool], what: str) -> None:
    """Wait until ``pred()`` holds, re-checking after every transaction on ``doc``."""
    changed = asyncio.Event()
    sub = doc.observe(lambda _event: changed.set())
    try:
        async with asyncio.timeout(T):
            while not pred():
                await changed.wait()
                changed.clear()
    except TimeoutError:
        raise AssertionError(f"timed out after {T}s waiting for {what}; annotations={annotations_of(doc)!r}") from None
    finally:
        doc.unobserve(sub)


async def rest(http: aiohttp.ClientSession, method: str, path: str, body: Any = None, *,
               user: str = "rest", params: dict[str, Any] | None = None) -> tuple[int, Any]:
    kw: dict[str, Any] = {"headers": {"X-Annotd-User": user}}
    if body is not None:
        kw["json"] = body
    if params is not None:
        kw["params"] = params
    async with http.request(method, path, **kw) as r:
        return r.status, await r.json()


async def ok(http: aiohttp.ClientSession, method: str, path: str, body: Any = None, *, status: int = 200,
             user: str = "rest", params: dict[str, Any] | None = None) -> Any:
    got, data = await rest(http, method, path, body, user=user, params=params)
    assert got == status, (method, path, got, data)
    return data


async def within(aw: Awaitable[Any], what: str = "") -> Any:
    try:
        async with asyncio.timeout(T):
            return await aw
    except TimeoutError:
        raise AssertionError(f"timed out after {T}s waiting for {what}") from None


async def wait_doc(c: RoomClient, pred: Callable[[], bool], what: str) -> None:
    """``RoomClient.wait_until`` bounded by ``T``, with a readable failure."""
    try:
        async with asyncio.timeout(T):
            await c.wait_until(pred)
    except TimeoutError:
        raise AssertionError(f"{c.user_id}: timed out after {T}s waiting for {what}; "
                             f"annotations={annotations_of(c.doc)!r} comments={comments_of(c.doc)!r}") from None


def stored(a: J) -> J:
    """An annotation's API JSON as it is stored in the document (the API adds ``issues``)."""
    return {k: v for k, v in a.items() if k != "issues"}


def unstamped(a: J) -> J:
    return {k: v for k, v in stored(a).items() if k not in ("updatedBy", "updatedAt")}


def paint_order(anns: Iterable[J]) -> list[tuple[str, str]]:
    return sorted((a["z"], a["id"]) for a in anns)


def expect_fields(ann: J, spec: J) -> None:
    """Every field of ``spec`` (style property by property) is in ``ann`` as the API stores it."""
    for k, v in spec.items():
        if k == "style":
            for sk, sv in v.items():
                assert ann["style"][sk] == sv, (ann["id"], sk)
        elif k == "rotation":
            assert ann[k] == v % 360, ann["id"]
        else:
            assert ann[k] == v, (ann["id"], k, ann[k], v)


def nested(c: RoomClient, ann_id: str) -> Map:
    m = c.doc.get("annotations", type=Map)[ann_id]
    assert isinstance(m, Map), f"{ann_id} is not a nested map at {c.user_id}"
    return m


@contextlib.asynccontextmanager
async def clients_on(d: Daemon) -> AsyncIterator[Open]:
    opened: list[RoomClient] = []

    async def open_client(room_id: str, user_id: str = "u") -> RoomClient:
        c = RoomClient(d.ws_url, room_id, user_id=user_id)
        await within(c.connect(), f"{user_id} to join {room_id}")
        opened.append(c)
        return c

    try:
        yield open_client
    finally:
        for c in opened:
            await c.close()


async def control_call(d: Daemon, method: str, **params: Any) -> J:
    """One JSON-RPC call on the ``/v1/ws`` control socket; the whole reply object."""
    async with connect(f"{d.ws_url}/v1/ws?userId=ctl") as ws:
        await ws.send(orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).decode())
        reply: J = orjson.loads(await within(ws.recv(), f"reply to {method}"))
    assert reply["id"] == 1
    return reply


async def run_annotd(*args: str, cwd: str | None = None) -> tuple[int, str]:
    """Run ``python -m annotd ARGS`` to the end; its exit status and stderr."""
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "annotd", *args, cwd=cwd,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    async with asyncio.timeout(T):
        _, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, err.decode()
