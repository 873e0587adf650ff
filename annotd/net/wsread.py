"""One socket's inbound side: a client's frames read without websockets' per-frame machinery.

Why: websockets parses every frame through generators (a ``StreamReader``, ``Frame.parse``,
a ``Frame`` object and an opcode enum per frame) and hands every message to the handler
through its ``Assembler``, ``recv()`` and a future: at the relay's rates that was a sixth
of the server's busy time (py-spy at saturation, ``BENCHMARKS.md``, "The relay's cost").
Nearly every frame a room client sends is the same simple shape: a final, unfragmented,
masked binary or text frame without extension bits, no bigger than ``max_frame_bytes``.
:class:`Inbox` parses those itself, in ``data_received``, and queues their messages for the
handler; websockets keeps everything else:

* a control frame (ping, pong) is handed to websockets whole, so it answers and keeps
  its keepalive as before; websockets' parser only ever sees whole frames, so it stays at
  a frame boundary;
* a close frame, a fragment, extension bits, an unmasked or oversized frame, or text
  that is not UTF-8: from that frame on, the byte stream is websockets' for good, and it
  closes or assembles exactly as it would have (1002, 1007, 1009 ...). The handler reads
  what the inbox already queued, then reads from websockets (:meth:`Inbox.get`), so
  messages keep their order.

The inbox takes the stream at its first byte after the handshake
(:meth:`ReadingConnection.open_inbox`, before the handler even starts), and only without a
negotiated extension; a client that sent frames before the handshake's answer is left to
websockets.
Flow control is websockets': past ``high`` queued messages the transport stops reading
until the handler has taken the queue down to a quarter of that.
"""

from __future__ import annotations

import asyncio
import sys
from collections import deque
from collections.abc import Callable
from typing import cast

from websockets.asyncio.server import ServerConnection
from websockets.protocol import State

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - websockets without its C extension
    from websockets.utils import apply_mask

_FIN_TEXT = 0x81
_FIN_BINARY = 0x82
_PING = 0x89
_PONG = 0x8A
"""First header bytes (FIN, no extension bits, the opcode) of the frames parsed here."""


class ReadingConnection(ServerConnection):
    """websockets' server connection, with its incoming bytes routed to an :class:`Inbox`
    from the first byte after the handshake (see :meth:`Inbox.take`)."""

    inbox: Inbox | None = None
    before_send: Callable[[], None] | None = None
    """Called before websockets writes anything itself (the socket's corked frames go first)."""

    def send_data(self) -> None:
        if self.before_send is not None:
            self.before_send()
        super().send_data()

    def open_inbox(self) -> Inbox:
        """This socket's inbox, made (and taking the stream, if it can) once the handshake is done."""
        inbox = self.inbox
        if inbox is None:
            high = self.recv_messages.high
            inbox = self.inbox = Inbox(self, max_size=self.protocol.max_message_size or sys.maxsize,
                                       high=sys.maxsize if high is None else high)
            inbox.take()
        return inbox

    def data_received(self, data: bytes) -> None:
        inbox = self.inbox
        if inbox is None and self.protocol.state is State.OPEN:  # the first data after the handshake
            inbox = self.open_inbox()
        if inbox is not None and inbox.taken:
            inbox.feed(data)
        else:
            super().data_received(data)

    def to_websockets(self, data: bytes) -> None:
        """Bytes websockets parses itself (always whole frames, or the rest of the stream)."""
        super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.inbox is not None:
            self.inbox.hand_back()


def inbox_of(ws: ServerConnection) -> Inbox:
    """The messages of ``ws`` from now on: its :class:`Inbox` (websockets reads for it when
    the connection is not a :class:`ReadingConnection` or could not be taken)."""
    if isinstance(ws, ReadingConnection):
        return ws.open_inbox()
    return Inbox(ws, max_size=ws.protocol.max_message_size or sys.maxsize, high=sys.maxsize)


class Inbox:
    """The messages of one socket, in order, parsed in ``data_received`` (see the module)."""

    def __init__(self, ws: ServerConnection, *, max_size: int, high: int) -> None:
        self.ws = ws
        self.max_size = max_size
        self.high = high
        self.low = high // 4
        self.taken = False
        """The inbox parses the byte stream (else websockets does)."""
        self.messages: deque[bytes | str] = deque()
        self._partial: list[bytes] = []
        """The start of a frame not yet complete, as received (joined once it is)."""
        self._have = 0
        self._need = 0
        """Bytes the incomplete frame takes in all, once its header is known (else 0)."""
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False

    def take(self) -> bool:
        """Take the byte stream from websockets if no extension was negotiated and websockets
        holds nothing of it: called before any byte after the handshake was read (a client
        that sent frames before the handshake's answer is left to websockets)."""
        ws = self.ws
        if not isinstance(ws, ReadingConnection) or ws.inbox is not self:
            return False
        protocol = ws.protocol
        if (protocol.state is not State.OPEN or protocol.extensions or protocol.reader.buffer
                or len(ws.recv_messages.frames)):
            return False
        self.taken = True
        return True

    async def get(self) -> bytes | str:
        """The next message; raises websockets' ``ConnectionClosed`` at the end, as ``recv``."""
        while True:
            messages = self.messages
            if messages:
                message = messages.popleft()
                if self._paused and len(messages) <= self.low:
                    self._paused = False
                    self.ws.transport.resume_reading()
                return message
            if not self.taken:
                return await self.ws.recv()
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None

    def feed(self, data: bytes) -> None:
        """Parse what arrived: whole simple data frames become messages; see the module for
        what is handed to websockets."""
        if self._partial:
            self._partial.append(data)
            self._have += len(data)
            if self._have < self._need:  # a big frame arriving in pieces: joined once, when whole
                return
            buf = b"".join(self._partial)
            self._partial, self._have, self._need = [], 0, 0
        else:
            buf = data
        end = len(buf)
        i = 0
        messages = self.messages
        ws = cast(ReadingConnection, self.ws)
        while end - i >= 2:
            first, second = buf[i], buf[i + 1]
            length = second & 0x7F
            head = i + 2
            if length == 126:
                if end - head < 2:
                    break
                length = int.from_bytes(buf[head:head + 2], "big")
                head += 2
            elif length == 127:
                if end - head < 8:
                    break
                length = int.from_bytes(buf[head:head + 8], "big")
                head += 8
            control = first == _PING or first == _PONG
            if not second & 0x80 or length > self.max_size or (
                    first != _FIN_BINARY and first != _FIN_TEXT and (not control or length > 125)):
                self._hand_over(buf[i:])  # websockets closes or assembles it, as before
                return
            stop = head + 4 + length
            if stop > end:
                self._need = stop - i
                break
            if control:
                ws.to_websockets(buf[i:stop])  # a whole ping or pong
                i = stop
                continue
            payload = apply_mask(buf[head + 4:stop], buf[head:head + 4])
            if first == _FIN_TEXT:
                try:
                    messages.append(payload.decode())
                except UnicodeDecodeError:
                    self._hand_over(buf[i:])  # websockets closes with 1007
                    return
            else:
                messages.append(payload)
            i = stop
        if i < end:
            rest = buf[i:]
            self._partial, self._have = [rest], len(rest)
        self._wake()
        if not self._paused and len(messages) > self.high and self.taken:
            self._paused = True
            ws.transport.pause_reading()

    def _hand_over(self, rest: bytes) -> None:
        """From here on websockets parses the stream (``rest`` starts at a frame boundary)."""
        self._partial, self._have, self._need = [], 0, 0
        self.hand_back()
        if rest:
            cast(ReadingConnection, self.ws).to_websockets(rest)

    def hand_back(self) -> None:
        """Stop parsing (the connection ended, or a frame websockets must see came); the
        handler drains the queue, then reads from websockets."""
        self.taken = False
        if self._paused:
            self._paused = False
            self.ws.transport.resume_reading()
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done() and (self.messages or not self.taken):
            waiter.set_result(None)
