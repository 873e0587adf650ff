"""One room or one client cannot take the process.

A real daemon on port 0 for each: the document size limit (refused whole, state unchanged,
made exact before refusing, pending updates counted, commands too), read backpressure
(slows the sender, loses nothing, others unaffected), the cap on handshakes in progress,
and the one user-id rule for sockets and REST.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import orjson
import pytest
from pycrdt import Doc, Map, Text
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from annotd.client.roomclient import RoomClient, RpcError
from annotd.core import yproto
from annotd.net.readbudget import ReadBudget
from annotd.process.daemon import Daemon

from ..helpers import T, annotations_of, rest, room_and_client, within

DaemonFactory = Callable[..., Awaitable[Daemon]]
KIB = 1024


def updates_of(doc: Doc[Any]) -> list[bytes]:
    """Every update ``doc`` emits from now on, in order."""
    out: list[bytes] = []
    doc.observe(lambda e: out.append(e.update))
    return out


async def v1_socket(d: Daemon, room: str, user: str) -> ClientConnection:
    ws = await connect(f"{d.ws_url}/v1/ws/rooms/{room}?userId={user}", subprotocols=["annotd.v1"],  # type: ignore[list-item]
                       max_size=None, compression=None)
    await ws.send(yproto.sync_step1(b"\x00"))
    return ws


async def next_text(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """The next text frame of ``type`` (or a JSON-RPC reply when ``kind`` is ``rpc``)."""
    async with asyncio.timeout(T):
        while True:
            msg = await ws.recv()
            if isinstance(msg, str):
                data = orjson.loads(msg)
                if data.get("type") == kind or (kind == "rpc" and "jsonrpc" in data):
                    return data  # type: ignore[no-any-return]


async def closed(ws: ClientConnection) -> int | None:
    async with asyncio.timeout(T):
        try:
            while True:
                await ws.recv()
        except ConnectionClosed:
            pass
    return ws.close_code


async def test_update_past_document_limit_is_refused_whole(make_daemon: DaemonFactory) -> None:
    d = await make_daemon(limits={"max_document_bytes": 64 * KIB})
    room, writer = await room_and_client(d, "writer")
    text = writer.doc.get("t", type=Text)
    text += "a" * 20_000
    text += "b" * 20_000
    await within(writer.flush())
    state, head = room.doc.get_update(), room.head

    doc: Doc[Any] = Doc()
    sent = updates_of(doc)
    doc.get("big", type=Text).insert(0, "c" * 30_000)  # 40 KB + 30 KB > 64 KiB
    ws = await v1_socket(d, "r1", "big")
    await next_text(ws, "roomInfo")
    await ws.send(yproto.sync_update(sent[-1]))
    error = await next_text(ws, "error")
    assert error["error"]["code"] == "document_too_large"
    assert error["error"]["data"]["limit"] == 64 * KIB
    assert await closed(ws) == 4413
    assert room.doc.get_update() == state and room.head == head  # nothing of it was applied
    m = d.hub.metrics
    assert m.total(m.frames_rejected, reason="document_too_large") == 1

    # The room still works: a small change fits, and a fresh client converges.
    text += "d"
    await within(writer.flush())
    fresh = RoomClient(d.ws_url, "r1", user_id="fresh")
    await fresh.connect()
    await within(fresh.wait_for_seq(room.head))
    assert str(fresh.doc.get("t", type=Text)) == "a" * 20_000 + "b" * 20_000 + "d"
    await fresh.close()
    await writer.close()


async def test_overwrites_are_measured_before_refusing(make_daemon: DaemonFactory) -> None:
    """Overwriting one key counts every update in the running bound, although the state
    does not grow: the room measures (a snapshot) instead of refusing."""
    d = await make_daemon(limits={"max_document_bytes": 64 * KIB})
    room, c = await room_and_client(d)
    m = c.doc.get("m", type=Map)
    for i in range(12):  # 12 x 20 KB written, ~20 KB kept
        m["k"] = chr(97 + i) * 20_000
        assert await within(c.flush()) == i + 2
    assert c.close_code is None
    assert room.history.state_bytes < 64 * KIB
    assert room.doc.get("m", type=Map)["k"] == "l" * 20_000
    await c.close()


async def test_pending_updates_count_against_the_limit(make_daemon: DaemonFactory) -> None:
    """Updates Yjs cannot integrate (a gap in a client's clock) change nothing visible but
    are held in memory: they are counted, so they cannot grow a room without bound."""
    d = await make_daemon(limits={"max_document_bytes": 64 * KIB})
    d.hub.create_room("r1")
    room = d.hub.rooms["r1"].room
    ws = await v1_socket(d, "r1", "gaps")
    await next_text(ws, "roomInfo")
    codes: list[Any] = []
    for i in range(5):
        doc: Doc[Any] = Doc()
        sent = updates_of(doc)
        text = doc.get("t", type=Text)
        text += "x"
        text += str(i) * 20_000
        await ws.send(yproto.sync_update(sent[1]))  # without the first: pending
        try:
            codes.append((await next_text(ws, "ack"))["changed"])
        except ConnectionClosed:
            break
    assert codes == [False, False, False]  # the fourth (60 KB pending + 20 KB) is refused
    assert await closed(ws) == 4413
    assert room.pending.nbytes >= 60_000


async def test_commands_refused_when_document_full(make_daemon: DaemonFactory) -> None:
    """A command is refused once the document is past its limit; the one that took it past
    was accepted (it is checked before it runs, and the schema caps its size)."""
    d = await make_daemon(limits={"max_document_bytes": 48 * KIB})
    room, c = await room_and_client(d)
    c.doc.get("t", type=Text).insert(0, "z" * 45_000)
    await within(c.flush())
    rect = {"type": "rect", "x": 1, "y": 1, "w": 5, "h": 5}
    async with aiohttp.ClientSession(base_url=d.http_url) as http:
        status, body = await rest(http, "POST", "/v1/rooms/r1/annotations", {**rect, "type": "text", "text": "t" * 10_000})
        assert status == 200, body
        head, state = room.head, room.doc.get_update()
        status, body = await rest(http, "POST", "/v1/rooms/r1/annotations", rect)
        assert status == 413 and body["error"]["code"] == "document_too_large", body
    with pytest.raises(RpcError) as err:
        await c.call("annotations.upsert", annotation=rect)
    assert err.value.code == -32014 and err.value.data["code"] == "document_too_large"
    assert room.head == head and room.doc.get_update() == state
    await c.close()


async def test_read_backpressure_slows_the_sender_only(make_daemon: DaemonFactory) -> None:
    rate, burst = 128 * KIB, 64 * KIB
    d = await make_daemon(limits={"max_frame_bytes": 64 * KIB, "inbound_burst_bytes": burst,
                                  "max_inbound_bytes_per_s": rate})
    d.hub.create_room("r1")
    fast = RoomClient(d.ws_url, "r1", user_id="fast")
    await fast.connect()
    other = RoomClient(d.ws_url, "r1", user_id="other")
    await other.connect()
    text = fast.doc.get("t", type=Text)
    t0 = time.monotonic()
    for i in range(6):  # 6 x 60 KB sent at once: (360 - 64) KB over budget
        text += str(i) * 60_000
    flushed = asyncio.ensure_future(fast.flush())
    other.doc.get("annotations", type=Map)["small"] = 1
    await within(other.flush())  # served while the fast client is held back
    assert not flushed.done()
    await within(flushed)
    elapsed = time.monotonic() - t0
    # Paced: the sixth update is read only once the budget covered the five before it (a
    # lower bound, so a slow machine cannot make it fail).
    assert elapsed >= (5 * 60_000 - burst) / rate * 0.9
    assert fast.close_code is None
    await within(other.wait_for_seq(d.hub.rooms["r1"].room.head))
    assert str(other.doc.get("t", type=Text)) == "".join(str(i) * 60_000 for i in range(6))  # nothing lost
    assert annotations_of(d.hub.rooms["r1"].room.doc) == {"small": 1.0}
    await fast.close()
    await other.close()


def test_read_budget() -> None:
    b = ReadBudget(rate=100.0, burst=50.0, now=0.0)
    assert b.spend(50, 0.0) == 0.0  # the burst
    assert b.spend(20, 0.0) == pytest.approx(0.2)  # 20 over: 0.2 s to refill
    assert b.spend(10, 0.5) == 0.0  # refilled 50 by t=0.5 (capped at the burst), 30 - 10 left
    assert b.spend(100, 10.0) == pytest.approx(0.5)  # never more than the burst saved up


async def test_handshakes_in_progress_are_capped(make_daemon: DaemonFactory, caplog: pytest.LogCaptureFixture) -> None:
    """On both loops (conftest): the refusal is a 503 JSON answer, logged as a warning, never
    a traceback (uvloop's transports are not ``asyncio.Transport`` instances)."""
    d = await make_daemon(limits={"max_pending_handshakes": 2})
    d.hub.create_room("r1")
    host, port = d.ws_url.removeprefix("ws://").rsplit(":", 1)
    idle = [await asyncio.open_connection(host, int(port)) for _ in range(2)]  # never send a request
    reader, writer = await asyncio.open_connection(host, int(port))
    async with asyncio.timeout(T):
        answer = await reader.read()  # answered and closed at once
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503")
    assert orjson.loads(body)["error"]["code"] == "limit_reached"
    writer.close()
    # One of the idle connections finishes its handshake: the next one is admitted.
    r0, w0 = idle[0]
    w0.write(b"GET /v1/ws/rooms/r1 HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    async with asyncio.timeout(T):
        assert (await r0.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
    async with connect(f"{d.ws_url}/v1/ws/rooms/r1") as ws:
        assert isinstance(await within(ws.recv()), bytes)
    for _, w in idle:
        w.close()
    assert [r.getMessage() for r in caplog.records if "handshakes in progress" in r.getMessage()] == [
        "too many handshakes in progress; connection refused"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_a_handshake_that_never_comes_frees_its_place(make_daemon: DaemonFactory) -> None:
    """On both loops: a TCP connection that never sends its upgrade request holds the only
    handshake place until ``limits.handshake_timeout_s``; then the server closes it, and the
    place is free again (a refusal before it, a handshake after it)."""
    d = await make_daemon(limits={"max_pending_handshakes": 1, "handshake_timeout_s": 0.2})
    d.hub.create_room("r1")
    host, port = d.ws_url.removeprefix("ws://").rsplit(":", 1)
    idle_r, idle_w = await asyncio.open_connection(host, int(port))  # never sends a request
    reader, writer = await asyncio.open_connection(host, int(port))
    async with asyncio.timeout(T):
        assert (await reader.read()).startswith(b"HTTP/1.1 503")  # the place is taken
    writer.close()
    async with asyncio.timeout(T):
        assert await idle_r.read() == b""  # the server gave up on it: closed without an answer
    assert d.ws.handshakes.pending == 0
    async with connect(f"{d.ws_url}/v1/ws/rooms/r1") as ws:
        assert isinstance(await within(ws.recv()), bytes)
    idle_w.close()


@pytest.mark.parametrize("user", ["u" * 129, "bad\nname"])
async def test_one_user_id_rule_for_sockets_and_rest(daemon: Daemon, user: str) -> None:
    daemon.hub.create_room("r1")
    from urllib.parse import quote

    async with connect(f"{daemon.ws_url}/v1/ws/rooms/r1?userId={quote(user)}") as ws:
        assert await closed(ws) == 4400
    async with aiohttp.ClientSession(base_url=daemon.http_url) as http:
        if "\n" not in user:  # a header cannot carry a newline; the query string can
            async with http.post("/v1/rooms/r1/annotations", json={"type": "rect"},
                                 headers={"X-Annotd-User": user}) as r:
                body = await r.json()
            assert r.status == 422 and body["error"]["data"]["field"] == "X-Annotd-User"
        async with http.post("/v1/rooms/r1/annotations", params={"userId": user}, json={"type": "rect"}) as r:
            body = await r.json()
        assert r.status == 422 and body["error"]["data"]["field"] == "userId"
        async with http.post("/v1/rooms/r1/annotations", json={"type": "rect"}, headers={"X-Annotd-User": "u" * 128}) as r:
            assert r.status == 200 and (await r.json())["annotation"]["createdBy"] == "u" * 128
    assert daemon.hub.rooms["r1"].room.head == 2  # only the valid request wrote
