"""Corked writes (annotd.net.wsconn.Cork): a socket's first frame in a loop turn is written at
once, the ones after it in the same turn once at the turn's end, in order, and before
anything websockets writes itself."""

from __future__ import annotations

import asyncio
from typing import Any

from websockets.protocol import State

from annotd.net.wsconn import Connection, Cork, wire


class Transport:
    def __init__(self) -> None:
        self.writes: list[list[bytes]] = []
        self.closing = False

    def is_closing(self) -> bool:
        return self.closing

    def writelines(self, chunks: list[bytes]) -> None:
        self.writes.append(list(chunks))

    def write(self, data: bytes) -> None:
        self.writes.append([data])

    def get_write_buffer_size(self) -> int:
        return 0


class Protocol:
    def __init__(self) -> None:
        self.state = State.OPEN
        self.extensions: list[Any] = []
        self.pending: list[bytes] = []

    def data_to_send(self) -> list[bytes]:
        out, self.pending = self.pending, []
        return out


class Ws:
    def __init__(self) -> None:
        self.protocol = Protocol()
        self.transport = Transport()


def connection(cork: Cork, *, high_water: int = 1 << 20) -> tuple[Connection, Ws]:
    ws = Ws()
    return Connection(ws, "c1", max_frames=100, window_s=0.01, high_water=high_water, cork=cork), ws  # type: ignore[arg-type]


async def test_first_frame_at_once_the_rest_of_the_turn_in_one_write() -> None:
    cork = Cork()
    a, ws_a = connection(cork)
    b, ws_b = connection(cork)
    frames = [b"one", "two", b"three"]
    for f in frames:
        assert a.push(f, wire(f))
    assert b.push(b"x", wire(b"x"))
    assert ws_a.transport.writes == [[wire(b"one")]] and ws_b.transport.writes == [[wire(b"x")]]
    await asyncio.sleep(0)  # the turn ends
    assert ws_a.transport.writes == [[wire(b"one")], [wire("two"), wire(b"three")]]
    assert ws_b.transport.writes == [[wire(b"x")]]
    assert a.push(b"four", wire(b"four"))  # the next turn: its first frame goes at once again
    assert ws_a.transport.writes[2:] == [[wire(b"four")]]


async def test_websockets_own_frames_and_queued_frames_come_after_corked_ones() -> None:
    cork = Cork()
    conn, ws = connection(cork)
    conn.push(b"first", wire(b"first"))
    conn.push(b"second", wire(b"second"))  # corked
    ws.protocol.pending = [b"<close frame>"]
    conn.uncork()  # what ReadingConnection.send_data does before websockets writes its own
    assert ws.transport.writes == [[wire(b"first")], [wire(b"second")]]
    assert ws.protocol.pending == [b"<close frame>"]  # left for websockets, after the corked frame
    ws.protocol.pending = []
    conn.push(b"third", wire(b"third"))  # corked: not the turn's first
    conn._write([wire(b"queued")])  # the writer task's path: the corked frame goes first
    assert ws.transport.writes[2:] == [[wire(b"third")], [wire(b"queued")]]
    await asyncio.sleep(0)
    assert len(ws.transport.writes) == 4  # nothing left for the end of the turn


async def test_corked_bytes_count_against_the_high_water_mark() -> None:
    """Past the high-water mark frames queue for the writer instead of being corked."""
    cork = Cork()
    conn, ws = connection(cork, high_water=10)
    conn.push(b"first", wire(b"first"))  # at once
    conn.push(b"0123456789", wire(b"0123456789"))  # corked: 12 bytes
    conn.push(b"next", wire(b"next"))
    assert list(conn.outbox.queue) == [wire(b"next")]
    await asyncio.sleep(0)
    assert ws.transport.writes == [[wire(b"first")], [wire(b"0123456789")]]


async def test_frames_offered_while_open_precede_a_close_begun_since() -> None:
    """A close begun in the same turn (websockets flushes the cork before its close frame)
    still sends what was offered while the socket was open; a closed transport gets nothing."""
    cork = Cork()
    conn, ws = connection(cork)
    conn.push(b"first", wire(b"first"))
    conn.push(b"before", wire(b"before"))  # corked
    ws.protocol.state = State.CLOSING
    conn.uncork()  # what ReadingConnection.send_data does before the close frame
    assert ws.transport.writes == [[wire(b"first")], [wire(b"before")]]
    conn.push(b"after", wire(b"after"))  # not open: queued for the writer, never corked
    assert list(conn.outbox.queue) == [wire(b"after")] and not conn.corked
    other, ws2 = connection(cork)
    other.push(b"early", wire(b"early"))
    other.push(b"late", wire(b"late"))  # corked
    ws2.transport.closing = True  # the connection was lost meanwhile
    await asyncio.sleep(0)
    assert ws2.transport.writes == [[wire(b"early")]]
