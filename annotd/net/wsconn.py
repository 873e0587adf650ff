"""One socket's outbound side: the write policy's adapter and the frames it writes.

Why a module of its own: :class:`Connection` is the only place that touches a transport's
write side (the fast path that hands a frame to an idle transport at once, the writer task
that drains the queue when the client is slow) and :func:`wire` is the one place frames are
built for it; :mod:`annotd.net.wsserver` decides what goes to whom, this decides how it is
written. The policy itself (queue bound, batch window, coalescing, too-slow verdict) has no
I/O and lives in :mod:`annotd.net.outbox`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import Opcode
from websockets.protocol import State

from ..core.outbound import Message
from .outbox import Offer, Outbox

Wire = bytes | tuple[bytes, ...]
"""A server frame ready for the transport: its bytes, or a big one's header and parts."""
Item = bytes | str | tuple[bytes, ...]
"""What a connection's outbox holds: wire frames, or messages websockets frames itself."""
WRITE_LIMIT = 64 * 1024
"""Transport buffer high-water mark per socket: above it frames queue and the writer waits."""


class Cork:
    """A socket's first frame in a turn of the event loop is written at once; the frames it
    gets after that in the same turn wait for the turn's end and go out in one write (one
    ``writev``).

    Why: under load one turn runs many handlers (every socket that had data), and each
    relays to the same recipients; a write per frame was the largest single cost at
    saturation (the send syscall). Writing the first frame at once keeps the common case
    (one frame per socket per turn) exactly as fast as before; corking them all cost
    rooms50 latency (a frame waited for every handler after it in the turn). The first
    frame of a turn schedules :meth:`flush` with ``call_soon``, which runs after every
    handler already scheduled in this turn and before the next poll for new data. Whatever
    websockets writes itself (pongs, pings, close frames) flushes the socket's corked frames
    first (:meth:`annotd.net.wsread.ReadingConnection.send_data`), so frames keep their
    order on the wire."""

    def __init__(self) -> None:
        self.conns: list[Connection] = []

    def add(self, conn: Connection) -> None:
        """``conn`` wrote its first frame of this turn."""
        if not self.conns:
            asyncio.get_running_loop().call_soon(self.flush)
        self.conns.append(conn)

    def flush(self) -> None:
        conns, self.conns = self.conns, []
        for conn in conns:
            conn.wrote_this_turn = False
            conn.uncork()


class Connection:
    """One socket's outbound side: the adapter between an :class:`Outbox` (the policy) and
    the websockets connection, with one writer task.

    Fast path: when the outbox says :data:`Offer.WRITE`, the frame is handed to the
    transport at once, synchronously (``transport.write`` never blocks, so fan-out still
    never waits for a client, and the common case costs no task switch). Otherwise the
    writer task drains the outbox in batches (one ``writelines`` per batch), awaiting the
    transport's drain: that is where a slow client waits, alone.
    """

    def __init__(self, ws: ServerConnection, session: str, *, max_frames: int, window_s: float,
                 high_water: int, on_close: Callable[[int], None] | None = None, cork: Cork | None = None) -> None:
        self.ws = ws
        self.cork = cork
        """Where frames for an idle transport wait for the end of the turn (``None``: written at once)."""
        self.corked: list[bytes] = []
        self.corked_bytes = 0
        self.wrote_this_turn = False
        """A frame went out at once in this turn: the next ones are corked (see :class:`Cork`)."""
        self.on_close = on_close
        """Told the code once, when annotd decides to close this socket (metrics)."""
        # Without a negotiated extension (no permessage-deflate) a server frame is the same
        # bytes for every recipient, so it is framed once per message and written as is.
        self.wire_frames = not ws.protocol.extensions
        self.session = session
        self.high_water = high_water
        self.outbox: Outbox[Item] = Outbox(max_frames=max_frames, window_s=window_s)
        self.wake = asyncio.Event()
        self.writing = False
        """The writer task is in a write (awaiting the transport's drain)."""
        self.task: asyncio.Task[None] | None = None
        self.sync_started: float | None = None
        """``perf_counter()`` when the join began, until its first sync step 1 is answered."""

    def _ready(self) -> bool:
        """The transport can take a write now."""
        return (not self.writing and self.ws.protocol.state is State.OPEN
                and self.ws.transport.get_write_buffer_size() + self.corked_bytes < self.high_water)

    def _put(self, item: Item) -> None:
        """Write one frame the policy let through: at once if it is this turn's first (or
        there is no :class:`Cork`, or websockets frames it), else corked until the turn ends."""
        cork = self.cork
        if cork is None or not self.wire_frames:
            self._write((item,))
            return
        if not self.wrote_this_turn:
            self.wrote_this_turn = True
            cork.add(self)
            self._write((item,))
            return
        if isinstance(item, bytes):
            self.corked.append(item)
            self.corked_bytes += len(item)
        elif isinstance(item, tuple):
            self.corked.extend(item)
            self.corked_bytes += sum(len(part) for part in item)

    def uncork(self) -> None:
        """Write the frames corked in this turn, in one call. They were offered while the socket
        was open, so they go out even if a close began since: websockets calls this before it
        writes its close frame, which then follows them, as it would have without the cork.
        Nothing is written to a transport already closing (the connection is gone)."""
        chunks = self.corked
        if not chunks:
            return
        self.corked, self.corked_bytes = [], 0
        transport = self.ws.transport
        if not transport.is_closing():
            transport.writelines(chunks)  # before anything websockets is about to write

    def _write(self, items: Iterable[Item]) -> None:
        """Give ``items`` to the transport in one call (one syscall).

        With :attr:`wire_frames` the items are complete WebSocket frames (see :func:`wire`);
        otherwise they are messages framed here by websockets (with the connection's extensions).
        """
        self.uncork()  # what the fast path corked this turn goes first
        protocol = self.ws.protocol
        chunks: list[bytes]
        if self.wire_frames:
            # anything websockets had pending goes first; wire frames are bytes or (header, payload)
            chunks = protocol.data_to_send()
            for i in items:
                if isinstance(i, bytes):
                    chunks.append(i)
                elif isinstance(i, tuple):
                    chunks.extend(i)
        else:
            for item in items:
                if isinstance(item, str):
                    protocol.send_text(item.encode())
                else:
                    protocol.send_binary(item if isinstance(item, bytes) else b"".join(item))
            chunks = protocol.data_to_send()
        if chunks:
            self.ws.transport.writelines(chunks)

    def push(self, message: Message, framed: Wire) -> bool:
        """Send or queue a document frame; ``False`` when the client is too far behind."""
        item = framed if self.wire_frames else message
        offer = self.outbox.offer(item, self._ready())
        if offer is Offer.WRITE:
            self._put(item)
        elif offer is Offer.QUEUED:
            self.wake.set()
        return offer is not Offer.TOO_SLOW

    def reply(self, message: Message) -> bool:
        """Send or queue a message for this socket alone (JSON-RPC replies, errors)."""
        return self.push(message, wire(message) if self.wire_frames else b"")

    def push_noisy(self, key: str, message: Message, framed: Wire) -> None:
        """Presence/awareness: latest per key, at most one flush per batch window."""
        item = framed if self.wire_frames else message
        if self.outbox.offer_noisy(key, item, time.monotonic(), self._ready()):
            self._put(item)
        else:
            self.wake.set()

    def close_soon(self, code: int, reason: str) -> None:
        """Ask the writer to close the socket after what is already queued.

        A client that is too slow gets no more data (the outbox drops its queue), and the
        writer, if it is blocked in a write waiting for the kernel buffer to drain, is
        interrupted so the close frame goes out now (behind what the kernel already holds).
        Only a writer in a write is cancelled: one that has not started yet (a join whose
        replay overflows the queue) would never run, and the close it owes would be lost
        (the handler would end the socket with a plain 1000); waking it is enough.
        """
        if self.outbox.request_close(code, reason):
            if self.on_close is not None:
                self.on_close(code)
            if self.outbox.aborted and self.writing and self.task is not None:
                self.task.cancel()
            self.wake.set()

    async def _flush(self, frames: list[Item]) -> None:
        self.writing = True
        try:
            async with self.ws.send_context():  # state checks, then drain: a slow client waits here
                self._write(frames)
        finally:
            self.writing = False

    async def run(self) -> None:
        ws, outbox = self.ws, self.outbox
        try:
            while True:
                timeout = outbox.wait_time(time.monotonic())
                if timeout is None:
                    self.wake.clear()
                    await self.wake.wait()
                elif timeout > 0:
                    self.wake.clear()
                    try:
                        async with asyncio.timeout(timeout):
                            await self.wake.wait()
                    except TimeoutError:
                        pass
                while batch := outbox.take_batch():
                    await self._flush(batch)
                if noisy := outbox.take_noisy(time.monotonic()):
                    await self._flush(noisy)
                if outbox.close_request is not None:
                    await ws.close(*outbox.close_request)
                    return
        except ConnectionClosed:
            return
        except asyncio.CancelledError:
            request = outbox.close_request
            if request is None or not outbox.aborted:
                raise
            with contextlib.suppress(ConnectionClosed):
                await ws.close(*request)


BIG_FRAME = 256 * 1024
"""Binary messages at least this big are framed as (header, message): never copied."""


_TEXT = 0x80 | Opcode.TEXT.value
_BINARY = 0x80 | Opcode.BINARY.value
"""First header byte of a final, unfragmented text / binary frame (no extension bits)."""


def wire(message: Message) -> Wire:
    """A complete unmasked server frame for ``message`` (text for ``str``, binary for
    ``bytes`` and parts); a big binary message as its header and its parts, written as
    separate chunks (a big join would otherwise be copied once more per joiner).

    The header is built here rather than by websockets' ``Frame.serialize``: this runs for
    every relayed message, and a frame without extensions needs none of its checks or
    generality (``BENCHMARKS.md``, "The relay's cost")."""
    if isinstance(message, str):
        data = message.encode()
        return _header(_TEXT, len(data)) + data
    if isinstance(message, tuple):
        return (_header(_BINARY, sum(len(p) for p in message)), *message)
    if len(message) >= BIG_FRAME:
        return (_header(_BINARY, len(message)), message)
    return _header(_BINARY, len(message)) + message


def _header(first: int, length: int) -> bytes:
    """RFC 6455 header of an unmasked frame of ``length`` bytes; ``first`` is FIN and the opcode."""
    if length < 126:
        return bytes((first, length))
    if length < 1 << 16:
        return bytes((first, 126)) + length.to_bytes(2, "big")
    return bytes((first, 127)) + length.to_bytes(8, "big")
