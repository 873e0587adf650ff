"""The room socket's own frame reader (annotd.net.wsread): every frame shape a client may send,
as raw bytes on a real socket, arrives whole, once and in order, or is closed as websockets
closes it."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import orjson
from pycrdt import Doc, Map
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from annotd.core import yproto
from annotd.net.wsread import Inbox
from annotd.process.daemon import Daemon

from ..helpers import T


def frame(payload: bytes, *, first: int = 0x82, masked: bool = True) -> bytes:
    """A client frame as raw bytes: ``first`` is FIN, the extension bits and the opcode."""
    n = len(payload)
    if n < 126:
        head = bytes((first, (0x80 if masked else 0) | n))
    elif n < 1 << 16:
        head = bytes((first, (0x80 if masked else 0) | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((first, (0x80 if masked else 0) | 127)) + n.to_bytes(8, "big")
    if not masked:
        return head + payload
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def updates(n: int, *, big_every: int = 0) -> list[bytes]:
    """``n`` sync-update messages of one writer, each changing the document (every
    ``big_every``-th carries a 70 KB string: a 64-bit length header)."""
    doc: Doc[Any] = Doc()
    out: list[bytes] = []
    doc.observe(lambda e: out.append(yproto.sync_update(e.update)))
    m = doc.get("annotations", type=Map)
    for i in range(n):
        m[f"k{i}"] = "x" * 70_000 if big_every and i % big_every == big_every - 1 else i
    return out


async def open_raw(d: Daemon, room: str = "r1") -> ClientConnection:
    ws = await connect(f"{d.ws_url}/v1/ws/rooms/{room}?userId=raw", subprotocols=["annotd.v1"])  # type: ignore[list-item]
    async with asyncio.timeout(T):
        while True:  # roomInfo, then the server's sync step 1
            if isinstance(await ws.recv(), bytes):
                return ws


async def acks(ws: ClientConnection, count: int) -> list[int]:
    seqs: list[int] = []
    async with asyncio.timeout(T):
        while len(seqs) < count:
            message = await ws.recv()
            if isinstance(message, str) and (msg := orjson.loads(message)).get("type") == "ack":
                seqs.append(msg["seq"])
    return seqs


async def test_frames_in_any_segmentation_arrive_in_order(daemon: Daemon) -> None:
    """Many frames in one write, frames cut at every byte, 16- and 64-bit lengths: each
    message is applied once, in order (one ack per message, one seq each, ascending)."""
    daemon.hub.create_room("r1")
    ws = await open_raw(daemon)
    head = daemon.hub.rooms["r1"].room.head
    try:
        messages = updates(40, big_every=10)
        raw = b"".join(frame(m) for m in messages)
        transport: Any = ws.transport
        transport.write(raw[:len(raw) // 3])  # several whole frames and a cut one
        cut = raw[len(raw) // 3:len(raw) // 3 + 300]
        for i in range(len(cut)):  # then byte by byte
            transport.write(cut[i:i + 1])
            await asyncio.sleep(0)
        rest = raw[len(raw) // 3 + 300:]
        for i in range(0, len(rest), 4096):  # the big frames in pieces
            transport.write(rest[i:i + 4096])
        assert await acks(ws, len(messages)) == list(range(head + 1, head + len(messages) + 1))
        room = daemon.hub.rooms["r1"].room
        assert len(room.doc.get("annotations", type=Map)) == len(messages)
        (conn,) = daemon.hub.delivery.conns.values()  # type: ignore[attr-defined]
        assert conn.ws.inbox.taken  # the inbox read them, not websockets
    finally:
        await ws.close()


async def test_fragments_pings_and_text_keep_their_order(daemon: Daemon) -> None:
    """A fragmented message (handed to websockets for good) between simple ones, a client
    ping (answered) before them, a JSON-RPC text frame after them: all in order."""
    daemon.hub.create_room("r1")
    ws = await open_raw(daemon)
    head = daemon.hub.rooms["r1"].room.head
    try:
        pong = await ws.ping(b"hello")
        async with asyncio.timeout(T):
            await pong  # websockets answered a ping that arrived through the inbox
        first, second, third = updates(3)
        transport: Any = ws.transport
        fragmented = frame(second[:3], first=0x02) + frame(second[3:], first=0x80)
        call = orjson.dumps({"jsonrpc": "2.0", "id": 7, "method": "rooms.get", "params": {"roomId": "r1"}})
        transport.write(frame(first) + fragmented + frame(third) + frame(call, first=0x81))
        got: list[Any] = []
        async with asyncio.timeout(T):
            while len(got) < 4:
                message = await ws.recv()
                if isinstance(message, str):
                    msg = orjson.loads(message)
                    if msg.get("type") == "ack":
                        got.append(msg["seq"])
                    elif msg.get("id") == 7:
                        got.append(msg["result"]["headSeq"])
        assert got == [head + 1, head + 2, head + 3, head + 3]
    finally:
        await ws.close()


async def test_bad_frames_close_as_websockets_does(daemon: Daemon) -> None:
    """Text that is not UTF-8 closes with 1007, an unmasked frame or a reserved opcode with
    1002, a frame past limits.max_frame_bytes with 1009; what came before each is applied."""
    daemon.hub.create_room("r1")
    limit = daemon.hub.config.limits.max_frame_bytes
    cases = [(frame(b"\xff\xfe", first=0x81), 1007), (frame(b"\x00", masked=False), 1002),
             (frame(b"\x00", first=0x83), 1002), (frame(b"")[:1] + bytes((0xFF,)) + (limit + 1).to_bytes(8, "big"), 1009)]
    for bad, code in cases:
        ws = await open_raw(daemon)
        head = daemon.hub.rooms["r1"].room.head
        (good,) = updates(1)
        ws.transport.write(frame(good) + bad)
        try:
            async with asyncio.timeout(T):
                while True:
                    await ws.recv()
        except ConnectionClosed:
            pass
        assert ws.close_code == code, (bad[:12], ws.close_code)
        assert daemon.hub.rooms["r1"].room.head == head + 1
        await ws.close()


async def test_flow_control_pauses_and_resumes_reading() -> None:
    """Past ``high`` queued messages the transport stops reading; once the handler has
    taken the queue down to a quarter, it reads again; the messages come out in order."""

    class Transport:
        reading = True

        def pause_reading(self) -> None:
            self.reading = False

        def resume_reading(self) -> None:
            self.reading = True

    class Conn:
        transport = Transport()

        def to_websockets(self, data: bytes) -> None:
            raise AssertionError("only simple frames were sent")

    inbox = Inbox(Conn(), max_size=1 << 20, high=8)  # type: ignore[arg-type]
    inbox.taken = True
    inbox.feed(b"".join(frame(bytes([i])) for i in range(12)))
    assert not Conn.transport.reading
    got = [await inbox.get() for _ in range(9)]
    assert not Conn.transport.reading  # 3 left: not yet a quarter of 8
    got.append(await inbox.get())
    assert Conn.transport.reading
    got += [await inbox.get() for _ in range(2)]
    assert got == [bytes([i]) for i in range(12)]


async def test_frames_sent_at_once_after_the_handshake_are_the_inboxs(daemon: Daemon) -> None:
    """A client's first frames may arrive before the handler runs (y-websocket sends its
    sync step 1 at once): the inbox takes the stream from the first byte after the
    handshake, so they are parsed by it too, and answered."""
    daemon.hub.create_room("r1")
    head = daemon.hub.rooms["r1"].room.head
    ws = await connect(f"{daemon.ws_url}/v1/ws/rooms/r1?userId=eager", subprotocols=["annotd.v1"])  # type: ignore[list-item]
    try:
        (update,) = updates(1)
        ws.transport.write(frame(yproto.sync_step1(b"\x00")) + frame(update))
        assert await acks(ws, 1) == [head + 1]
        (conn,) = daemon.hub.delivery.conns.values()  # type: ignore[attr-defined]
        assert conn.ws.inbox.taken
    finally:
        await ws.close()
