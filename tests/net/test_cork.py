"""Corked writes (annotd.net.wsconn.Cork): the frames one socket gets in one loop turn are
written once, at the end of the turn, in order, before anything websockets writes itself."""

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


async def test_frames_of_one_turn_are_one_write_in_order() -> None:
    cork = Cork()
    a, ws_a = connection(cork)
    b, ws_b = connection(cork)
    frames = [b"one", "two", b"three"]
    for f in frames:
        assert a.push(f, wire(f))
    assert b.push(b"x", wire(b"x"))
    assert ws_a.transport.writes == [] and ws_b.transport.writes == []  # nothing before the turn ends
    await asyncio.sleep(0)
    assert ws_a.transport.writes == [[wire(f) for f in frames]]
    assert ws_b.transport.writes == [[wire(b"x")]]
    assert a.push(b"four", wire(b"four"))  # the next turn: a new write
    await asyncio.sleep(0)
    assert ws_a.transport.writes[1:] == [[wire(b"four")]]


async def test_websockets_own_frames_and_queued_frames_come_after_corked_ones() -> None:
    cork = Cork()
    conn, ws = connection(cork)
    conn.push(b"first", wire(b"first"))
    ws.protocol.pending = [b"<close frame>"]
    conn.uncork()  # what ReadingConnection.send_data does before websockets writes its own
    assert ws.transport.writes == [[wire(b"first")]]
    assert ws.protocol.pending == [b"<close frame>"]  # left for websockets, after the corked frame
    ws.protocol.pending = []
    conn.push(b"second", wire(b"second"))
    conn._write([wire(b"queued")])  # the writer task's path: the corked frame goes first
    assert ws.transport.writes[1:] == [[wire(b"second")], [wire(b"queued")]]
    await asyncio.sleep(0)
    assert len(ws.transport.writes) == 3  # nothing left for the end of the turn


async def test_corked_bytes_count_against_the_high_water_mark() -> None:
    """Past the high-water mark frames queue for the writer instead of being corked."""
    cork = Cork()
    conn, ws = connection(cork, high_water=10)
    conn.push(b"0123456789", wire(b"0123456789"))
    conn.push(b"next", wire(b"next"))
    assert list(conn.outbox.queue) == [wire(b"next")]
    await asyncio.sleep(0)
    assert ws.transport.writes == [[wire(b"0123456789")]]


async def test_frames_offered_while_open_precede_a_close_begun_since() -> None:
    """A close begun in the same turn (websockets flushes the cork before its close frame)
    still sends what was offered while the socket was open; a closed transport gets nothing."""
    cork = Cork()
    conn, ws = connection(cork)
    conn.push(b"before", wire(b"before"))
    ws.protocol.state = State.CLOSING
    conn.uncork()  # what ReadingConnection.send_data does before the close frame
    assert ws.transport.writes == [[wire(b"before")]]
    conn.push(b"after", wire(b"after"))  # not open: queued for the writer, never corked
    assert list(conn.outbox.queue) == [wire(b"after")] and not conn.corked
    other, ws2 = connection(cork)
    ws2.protocol.state = State.OPEN
    other.push(b"late", wire(b"late"))
    ws2.transport.closing = True  # the connection was lost meanwhile
    await asyncio.sleep(0)
    assert ws2.transport.writes == [] and ws.transport.writes == [[wire(b"before")]]
