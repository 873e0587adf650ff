"""Real sockets on port 0: convergence, replay, resync, offline edits, refusals, limits."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import orjson
import pytest
from pycrdt import Doc, Map
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from annotd.client.roomclient import RoomClient, RpcError, backoff_delay
from annotd.core import yproto
from annotd.process.daemon import Daemon

from ..helpers import Open, T, annotations_of, create_room, room_and_client, settle


async def test_concurrent_edits_converge(daemon: Daemon, http: aiohttp.ClientSession, clients: Open) -> None:
    await create_room(http)
    cs = [await clients("r1", f"u{i}") for i in range(4)]
    for round_ in range(5):
        for i, c in enumerate(cs):
            m = c.doc.get("annotations", type=Map)
            m[f"{i}-{round_}"] = round_
            m["shared"] = f"{i}-{round_}"
    await settle(daemon, "r1", *cs)
    server = annotations_of(daemon.hub.rooms["r1"].room.doc)
    assert len(server) == 21
    for c in cs:
        assert annotations_of(c.doc) == server


async def test_reconnect_with_last_seq_gets_exactly_missing(daemon: Daemon, http: aiohttp.ClientSession, clients: Open) -> None:
    await create_room(http)
    writer = await clients("r1", "writer")
    reader = await clients("r1", "reader")
    seen: list[int] = []
    for i in range(3):
        writer.doc.get("annotations", type=Map)[f"a{i}"] = i
        await writer.flush()
    await settle(daemon, "r1", reader, writer)
    await reader.close()
    last = reader.last_seq
    assert last == daemon.hub.rooms["r1"].room.head
    for i in range(5):
        writer.doc.get("annotations", type=Map)[f"b{i}"] = i
        await writer.flush()
    await settle(daemon, "r1", writer)
    reader.on_seq = lambda seq, why: seen.append(seq) if why == "event" else None
    info = await reader.connect()
    assert info["sync"] == "replay" and info["replayFrom"] == last
    await settle(daemon, "r1", reader)
    assert last is not None
    assert seen == list(range(last + 1, last + 6))  # exactly the missing events, in order, once each
    assert annotations_of(reader.doc) == annotations_of(daemon.hub.rooms["r1"].room.doc)


async def test_offline_edits_arrive_after_reconnect(daemon: Daemon, http: aiohttp.ClientSession, clients: Open) -> None:
    await create_room(http)
    a = await clients("r1", "alice")
    b = await clients("r1", "bob")
    await a.close()
    a.doc.get("annotations", type=Map)["offline"] = "yes"  # made while disconnected
    b.doc.get("annotations", type=Map)["online"] = "yes"
    await b.flush()
    await a.connect()
    async with asyncio.timeout(T):
        await b.wait_for_seq(3)  # bob's edit is seq 2; alice's offline edit comes back as seq 3
        await a.wait_for_seq(3)
    assert annotations_of(a.doc) == annotations_of(b.doc) == annotations_of(daemon.hub.rooms["r1"].room.doc)


async def test_restart_new_epoch_resyncs(make_daemon: Callable[..., Awaitable[Daemon]]) -> None:
    first = await make_daemon()
    first.hub.create_room("r1")
    c = RoomClient(first.ws_url, "r1", user_id="alice")
    await c.connect()
    c.doc.get("annotations", type=Map)["kept"] = 1
    assert await c.flush() == 2
    await c.close()
    await first.stop()
    second = await make_daemon()  # a new server life: same room id, new epoch, empty state
    second.hub.create_room("r1")
    c.base_url = second.ws_url
    info = await c.connect()
    try:
        assert info["sync"] == "resync" and info["epoch"] == second.hub.rooms["r1"].room.epoch
        # the client's document is not left diverged: its content reaches the new server
        async with asyncio.timeout(T):
            await c.wait_for_seq(2)  # the new room's seq 1 is its schema; 2 is the client's old content
        assert annotations_of(second.hub.rooms["r1"].room.doc) == {"kept": 1.0}
    finally:
        await c.close()


async def test_unknown_room_closes_4404(daemon: Daemon) -> None:
    async with connect(f"{daemon.ws_url}/v1/ws/rooms/nope") as ws:
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    assert ws.close_code == 4404 and "nope" in (ws.close_reason or "")


async def test_auto_create(make_daemon: Callable[..., Awaitable[Daemon]]) -> None:
    d = await make_daemon(rooms={"auto_create": True})
    c = RoomClient(d.ws_url, "fresh-room", user_id="a")
    info = await c.connect()
    await c.close()
    assert info["roomId"] == "fresh-room" and "fresh-room" in d.hub.rooms


async def test_bad_last_seq_closes_4400(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    await create_room(http)
    async with connect(f"{daemon.ws_url}/v1/ws/rooms/r1?lastSeq=abc") as ws:
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    assert ws.close_code == 4400 and "lastSeq" in (ws.close_reason or "")


async def test_origin_refused(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    await create_room(http)
    with pytest.raises(InvalidStatus) as err:
        async with connect(f"{daemon.ws_url}/v1/ws/rooms/r1", origin="https://evil.example"):  # type: ignore[arg-type]
            pass
    assert err.value.response.status_code == 403
    async with connect(f"{daemon.ws_url}/v1/ws/rooms/r1", origin="http://localhost:5173") as ws:  # type: ignore[arg-type]
        assert isinstance(await ws.recv(), bytes)  # allowed: loopback origin


async def test_origin_allowed_by_config(make_daemon: Callable[..., Awaitable[Daemon]]) -> None:
    d = await make_daemon(server={"allowed_origins": ("https://app.example",), "ws_port": 0, "http_port": 0})
    d.hub.create_room("r1")
    async with connect(f"{d.ws_url}/v1/ws/rooms/r1", origin="https://app.example") as ws:  # type: ignore[arg-type]
        assert isinstance(await ws.recv(), bytes)


async def test_unknown_path_404(daemon: Daemon) -> None:
    with pytest.raises(InvalidStatus) as err:
        async with connect(f"{daemon.ws_url}/elsewhere"):
            pass
    assert err.value.response.status_code == 404


async def expect_close(ws: Any) -> None:
    async with asyncio.timeout(T):
        with pytest.raises(ConnectionClosed):
            while True:
                await ws.recv()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"\x00\x02\x05\x01\x02", 1002),  # declared length 5, 2 bytes present
        (b"\x00\x02\x03\xff\xff\xff", 1002),  # undecodable Yjs update
        (b"\x07\x00", 1002),  # unknown message type
        (b"", 1002),
    ],
)
async def test_malformed_frame_leaves_room_intact(
    daemon: Daemon, http: aiohttp.ClientSession, clients: Open, frame: bytes, code: int
) -> None:
    await create_room(http)
    good = await clients("r1", "good")
    good.doc.get("annotations", type=Map)["before"] = 1
    await settle(daemon, "r1", good)
    room = daemon.hub.rooms["r1"].room
    state, head = room.doc.get_update(), room.head
    async with connect(f"{daemon.ws_url}/v1/ws/rooms/r1?userId=bad") as ws:
        await ws.send(frame)
        await expect_close(ws)
    assert ws.close_code == code
    assert room.doc.get_update() == state and room.head == head
    good.doc.get("annotations", type=Map)["after"] = 2  # the room still works for others
    await settle(daemon, "r1", good)
    m = daemon.hub.metrics
    assert room.head == head + 1 and m.total(m.frames_rejected, reason="malformed") >= 1


async def test_oversized_frame_closes_1009(make_daemon: Callable[..., Awaitable[Daemon]]) -> None:
    d = await make_daemon(limits={"max_frame_bytes": 1000})
    d.hub.create_room("r1")
    async with connect(f"{d.ws_url}/v1/ws/rooms/r1") as ws:
        doc = Doc()
        doc.get("annotations", type=Map)["big"] = "x" * 5000
        await ws.send(yproto.sync_update(doc.get_update()))
        await expect_close(ws)
    assert ws.close_code == 1009
    assert "big" not in annotations_of(d.hub.rooms["r1"].room.doc)


async def test_text_frame_from_stock_client_closes_1003(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    await create_room(http)
    async with connect(f"{daemon.ws_url}/v1/ws/rooms/r1") as ws:
        await ws.send("hello")
        await expect_close(ws)
    assert ws.close_code == 1003


async def test_slow_consumer_closed_others_unaffected(make_daemon: Callable[..., Awaitable[Daemon]]) -> None:
    # 30 MB in one room, as fast as possible: above the default document limit and read pace
    d = await make_daemon(limits={"send_queue_frames": 8, "max_document_bytes": 64_000_000,
                                  "max_inbound_bytes_per_s": 1_000_000_000, "inbound_burst_bytes": 1_000_000_000})
    d.hub.create_room("r1")
    fast = RoomClient(d.ws_url, "r1", user_id="fast")
    await fast.connect()
    # The slow client never reads: its TCP window fills, then its queue, then it is closed.
    slow = await connect(f"{d.ws_url}/v1/ws/rooms/r1?userId=slow", max_queue=1, compression=None)
    writer = RoomClient(d.ws_url, "r1", user_id="writer")
    await writer.connect()
    try:
        blob = "x" * 200_000
        m = writer.doc.get("annotations", type=Map)
        # 30 MB: more than loopback socket buffers plus the 8-frame queue. Written 4 updates at
        # a time, each batch read by "fast" before the next: a reading client never has more
        # than 4 frames outstanding, however starved this machine is, while "slow" gets all.
        for i in range(150):
            m[f"k{i}"] = blob + str(i)
            if i % 4 == 3 or i == 149:
                await writer.flush()
                await fast.wait_until(lambda seq=i + 2: (fast.last_seq or 0) >= seq or fast.close_code is not None)
                assert fast.close_code is None, f"the reading client was closed too ({fast.close_code})"
        assert len(annotations_of(fast.doc)) == 150
        # Everything was queued for the slow client by now; reading what reached it ends in 4008.
        await expect_close(slow)
        assert slow.close_code == 4008
        assert d.hub.metrics.total(d.hub.metrics.clients_closed, code="4008") == 1  # counted when decided
    finally:
        await slow.close()
        await fast.close()
        await writer.close()


async def test_room_delete_closes_sockets_4410(daemon: Daemon, http: aiohttp.ClientSession, clients: Open) -> None:
    await create_room(http, "doomed")
    await create_room(http, "other")
    c = await clients("doomed", "a")
    other = await clients("other", "b")
    r = await http.delete("/v1/rooms/doomed")
    assert r.status == 200
    async with asyncio.timeout(T):
        assert await c.wait_closed() == 4410
    other.doc.get("annotations", type=Map)["still"] = "works"
    assert await other.flush() == 2


async def test_rpc_on_room_socket_and_errors(daemon: Daemon, http: aiohttp.ClientSession, clients: Open) -> None:
    await create_room(http)
    c = await clients("r1", "a")
    info = await c.call("rooms.get")  # roomId defaults to the socket's room
    assert info["id"] == "r1"
    with pytest.raises(RpcError) as err:
        await c.call("rooms.get", roomId="zzz")
    assert err.value.code == -32001
    with pytest.raises(RpcError) as err:
        await c.call("rooms.create", id="bad id!")
    assert err.value.code == -32602 and err.value.data["field"] == "id"
    with pytest.raises(RpcError) as err:
        await c.call("no.such")
    assert err.value.code == -32601


async def test_control_socket_jsonrpc(daemon: Daemon) -> None:
    async with connect(f"{daemon.ws_url}/v1/ws") as ws:
        await ws.send("{not json")
        reply = orjson.loads(await ws.recv())
        assert reply["error"]["code"] == -32700 and reply["id"] is None
        await ws.send('{"jsonrpc":"2.0","method":"rooms.create","params":{"id":"c1"},"id":1}')
        assert orjson.loads(await ws.recv())["result"]["id"] == "c1"
        batch = [
            {"jsonrpc": "2.0", "method": "rooms.get", "params": {"roomId": "c1"}, "id": "a"},
            {"jsonrpc": "2.0", "method": "rooms.list"},  # a notification: no reply
            {"jsonrpc": "2.0", "method": "rooms.get", "params": {"roomId": 5}, "id": "b"},
            {"foo": 1},
        ]
        await ws.send(orjson.dumps(batch).decode())
        replies = orjson.loads(await ws.recv())
        assert [r.get("id") for r in replies] == ["a", "b", None]
        assert replies[0]["result"]["id"] == "c1"
        assert replies[1]["error"]["code"] == -32602 and replies[1]["error"]["data"]["field"] == "roomId"
        assert replies[2]["error"]["code"] == -32600
        await ws.send("[]")
        assert orjson.loads(await ws.recv())["error"]["code"] == -32600
        await ws.send(b"\x00")
        await expect_close(ws)
    assert ws.close_code == 1003


async def test_presence_between_v1_clients(daemon: Daemon, http: aiohttp.ClientSession, clients: Open) -> None:
    await create_room(http)
    a = await clients("r1", "alice")
    b = await clients("r1", "bob")
    await a.send_presence(cursor={"x": 100, "y": 200}, selection=["anno-123"], name="Alice", color="#ff0000")
    async with asyncio.timeout(T):
        await b.wait_until(lambda: bool(b.presence))
    (entry,) = b.presence.values()
    assert entry["userId"] == "alice" and entry["cursor"] == {"x": 100, "y": 200} and entry["name"] == "Alice"
    await a.close()
    async with asyncio.timeout(T):
        await b.wait_until(lambda: not b.presence)  # removed the moment the socket closed


async def test_connection_limit_503(make_daemon: Callable[..., Awaitable[Daemon]]) -> None:
    d = await make_daemon(limits={"max_connections": 1})
    d.hub.create_room("r1")
    async with connect(f"{d.ws_url}/v1/ws") as first:
        await first.send('{"jsonrpc":"2.0","id":1,"method":"rooms.list"}')
        await first.recv()  # the control socket is counted once it is served
        with pytest.raises(InvalidStatus) as err:
            async with connect(f"{d.ws_url}/v1/ws/rooms/r1"):
                pass
        assert err.value.response.status_code == 503


async def test_room_client_limit_closes_4429(make_daemon: Callable[..., Awaitable[Daemon]]) -> None:
    d = await make_daemon(limits={"max_clients_per_room": 1})
    d.hub.create_room("r1")
    first = RoomClient(d.ws_url, "r1", user_id="a")
    await first.connect()
    try:
        async with connect(f"{d.ws_url}/v1/ws/rooms/r1") as ws:
            await expect_close(ws)
        assert ws.close_code == 4429
    finally:
        await first.close()


async def test_client_auto_reconnects_with_replay(daemon: Daemon, http: aiohttp.ClientSession, clients: Open) -> None:
    await create_room(http)
    writer = await clients("r1", "writer")
    c = RoomClient(daemon.ws_url, "r1", user_id="roamer", auto_reconnect=True)
    await c.connect()
    try:
        session = c.room_info["session"]
        daemon.ws.conns[session].close_soon(4008, "too slow")  # the server drops it
        writer.doc.get("annotations", type=Map)["while-away"] = 1
        await writer.flush()
        async with asyncio.timeout(T):
            await c.wait_until(lambda: c.connects == 2)
            await c.wait_for_seq(daemon.hub.rooms["r1"].room.head)
        assert c.room_info["sync"] == "replay" and c.close_code == 4008
        assert annotations_of(c.doc) == annotations_of(daemon.hub.rooms["r1"].room.doc)
    finally:
        await c.close()
    assert c.connects == 2  # close() of our own does not reconnect


async def test_client_does_not_reconnect_to_deleted_room(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    await create_room(http)
    c = RoomClient(daemon.ws_url, "r1", user_id="a", auto_reconnect=True)
    await c.connect()
    await http.delete("/v1/rooms/r1")
    async with asyncio.timeout(T):
        assert await c.wait_closed() == 4410
    assert c._keeper is None and c.connects == 1
    await c.close()


async def test_awareness_coalesced_in_batch_window(make_daemon: Callable[..., Awaitable[Daemon]]) -> None:
    """Noisy frames: the first goes out at once; a burst within the window becomes its latest state."""
    from pycrdt import Awareness

    d = await make_daemon(rooms={"batch_window_ms": 1000.0})  # wide, so the burst surely falls inside it
    d.hub.create_room("r1")
    async with connect(f"{d.ws_url}/v1/ws/rooms/r1?userId=a") as a, \
            connect(f"{d.ws_url}/v1/ws/rooms/r1?userId=b") as b:
        mine = Awareness(Doc())
        frames = []
        for i in range(20):
            mine.set_local_state({"cursor": i})
            frames.append(yproto.awareness(mine.encode_awareness_update([mine.client_id])))
        for f in frames:
            await a.send(f)
        seen: list[bytes] = []
        async with asyncio.timeout(T):
            while frames[-1] not in seen:
                msg = await b.recv()
                if isinstance(msg, bytes) and msg[0] == 1:
                    seen.append(msg)
        assert seen == [frames[0], frames[-1]]  # isolated first at once, then only the latest


async def test_relay_with_permessage_deflate(make_daemon: Callable[..., Awaitable[Daemon]]) -> None:
    """With compression negotiated, frames are framed per connection (not pre-framed once)."""
    d = await make_daemon(server={"compression": True})
    d.hub.create_room("r1")
    async with connect(f"{d.ws_url}/v1/ws/rooms/r1", compression="deflate") as raw:
        assert raw.protocol.extensions  # deflate was negotiated
        c = RoomClient(d.ws_url, "r1", user_id="v1")
        await c.connect()
        try:
            doc = Doc()
            doc.get("annotations", type=Map)["k"] = "x" * 1000
            await raw.send(yproto.sync_update(doc.get_update()))
            async with asyncio.timeout(T):
                await c.wait_for_seq(2)
            assert annotations_of(c.doc) == {"k": "x" * 1000}
        finally:
            await c.close()


async def test_replay_past_the_send_queue_closes_with_4008_and_its_reason(make_daemon: Callable[..., Awaitable[Daemon]]) -> None:
    """A rejoin whose replay overflows the send queue is closed as too slow: the client
    sees 4008 and the reason on the wire (not a normal 1000), so it knows to come back."""
    d = await make_daemon(limits={"send_queue_frames": 8})
    room, writer = await room_and_client(d)
    epoch = room.epoch
    m = writer.doc.get("annotations", type=Map)
    for i in range(30):  # 6 MB in 30 events: more than loopback takes at once, then the 8-frame queue
        m[f"a{i}"] = "x" * 200_000 + str(i)
        await writer.flush()
    async with connect(f"{d.ws_url}/v1/ws/rooms/r1?userId=late&lastSeq=0&epoch={epoch}",
                       subprotocols=["annotd.v1"], compression=None) as ws:  # type: ignore[list-item]
        await ws.send(yproto.sync_step1(Doc().get_state()))  # the replay answers it
        with pytest.raises(ConnectionClosed):
            async with asyncio.timeout(T):
                while True:
                    await ws.recv()
    assert ws.close_code == 4008
    assert ws.close_reason == "too slow: send queue full; reconnect with lastSeq"
    await writer.close()


def test_backoff_delay_grows_to_its_cap_and_is_immediate_once_after_4008() -> None:
    assert backoff_delay(0, 5.0, immediate=True, jitter=0.0) == 0.0
    assert backoff_delay(1, 5.0, immediate=True, jitter=0.0) == 0.25  # only the first retry is at once
    assert [backoff_delay(n, 5.0, immediate=False, jitter=0.999) for n in range(6)] == pytest.approx(
        [0.25, 0.5, 1.0, 2.0, 4.0, 5.0], rel=1e-3)
    assert backoff_delay(3, 5.0, immediate=False, jitter=0.0) == 1.0  # jitter takes off up to half
    assert backoff_delay(10_000, 5.0, immediate=False, jitter=0.5) == 3.75


async def test_client_backs_off_when_every_join_is_closed_as_too_slow(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    """A client closed with 4008 right after each join retries once at once, then waits
    longer each time (it never reconnects in a tight loop)."""
    await create_room(http)
    c = RoomClient(daemon.ws_url, "r1", user_id="laggard", auto_reconnect=True, max_backoff_s=2.0)
    await c.connect()
    loop = asyncio.get_running_loop()
    gaps: list[float] = []
    try:
        for n in range(1, 5):
            closed_at = loop.time()
            daemon.ws.conns[c.room_info["session"]].close_soon(4008, "too slow")
            async with asyncio.timeout(T):
                await c.wait_until(lambda n=n: c.connects == n + 1)
            gaps.append(loop.time() - closed_at)
    finally:
        await c.close()
    # waits: 0, then 0.5 x [0.5, 1], 1.0 x [0.5, 1], 2.0 x [0.5, 1] (the cap)
    # (each gap also holds one connect, so the first is compared with a wait, not a constant)
    assert gaps[0] < gaps[3] - 0.5
    assert [g >= floor for g, floor in zip(gaps[1:], (0.25, 0.5, 1.0), strict=True)] == [True] * 3
