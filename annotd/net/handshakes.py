"""A cap on WebSocket handshakes in progress on the ws port (half-open connections).

Why: a TCP connection that never sends its HTTP upgrade request holds a descriptor and a
task until websockets' opening timeout (``limits.handshake_timeout_s``, 10 s by default;
its expiry cancels :meth:`handshake`, which gives the place back, then aborts the socket). Without a cap, anyone who can reach the port
can hold thousands. ``limits.max_connections`` counts sockets that finished their
handshake; this counts the ones that have not: beyond ``limits.max_pending_handshakes``
a new TCP connection is answered at once with ``503`` JSON (``limit_reached``) and closed,
without starting a handshake, and nothing else is affected.

How: websockets builds one :class:`ServerConnection` per accepted TCP connection
(``serve(create_connection=...)``); :meth:`HandshakeGate.connection_class` returns a
subclass that counts from ``connection_made`` until its handshake ends (done, refused,
failed or timed out). The refusal only writes and closes: it relies on no transport class,
because uvloop's transports (the default loop) are not :class:`asyncio.Transport` instances.
It also stamps every read for the keepalive (:mod:`annotd.net.keepalive`), and hands each
lost connection (with its end of stream) to
:attr:`HandshakeGate.teardowns`, which lets websockets learn of a few per loop turn, in
order (:mod:`annotd.net.pacing`): a socket's teardown objects exist only from its turn on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, cast

from websockets.asyncio.server import ServerConnection
from websockets.frames import CloseCode
from websockets.protocol import State

from ..base.errors import error_body
from .pacing import Pacer


def refusal_bytes(message: str) -> bytes:
    body = error_body("limit_reached", message)
    return (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)


class HandshakeGate:
    def __init__(self, limit: int, refused: Callable[[], None] = lambda: None) -> None:
        self.limit = limit
        self.pending = 0
        """TCP connections whose WebSocket handshake has not ended yet."""
        self.refused = refused
        """Told about each connection refused (logging, metrics)."""
        self.teardowns: Pacer[Any] = Pacer(lambda conn: conn.teardown())
        """Lost connections are handled a few per loop turn (:mod:`annotd.net.pacing`)."""
        self._closing: set[asyncio.Task[None]] = set()
        """Closes started by the keepalive (kept referenced until done)."""

    def connection_class(self, base: type[ServerConnection] = ServerConnection) -> type[ServerConnection]:
        """A subclass of ``base`` (websockets' server connection, or one of annotd's) that
        counts its handshake against the gate."""
        gate = self
        answer = refusal_bytes(f"too many WebSocket handshakes in progress (limits.max_pending_handshakes = "
                               f"{gate.limit}); retry shortly")

        class GatedConnection(base):  # type: ignore[valid-type,misc]
            _counted = False
            _refused = False
            _live = False
            """Set from connection_made to connection_lost (a cleared instance reads False)."""
            _eof = False
            """The peer's end of stream arrived (websockets hears of it with the loss)."""
            _lost_exc: Exception | None = None
            heard = 0.0
            """When anything last arrived (``time.monotonic()``): the keepalive's liveness."""

            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                if gate.pending >= gate.limit:
                    self._refused = True
                    # Every stream transport can write (asyncio's and uvloop's alike);
                    # only the static type says otherwise.
                    writer = cast(asyncio.WriteTransport, transport)
                    writer.write(answer)
                    writer.close()
                    gate.refused()
                    return
                gate.pending += 1
                self._counted = True
                self._live = True
                self.heard = time.monotonic()
                super().connection_made(transport)

            async def handshake(self, *args: Any, **kwargs: Any) -> None:
                try:
                    await super().handshake(*args, **kwargs)
                finally:
                    self._uncount()

            def _uncount(self) -> None:
                if self._counted:
                    self._counted = False
                    gate.pending -= 1

            def data_received(self, data: bytes) -> None:
                if not self._refused:
                    self.heard = time.monotonic()
                    super().data_received(data)

            def eof_received(self) -> None:
                # websockets never keeps a transport open after EOF: connection_lost follows,
                # and websockets learns of both in the socket's turn (_teardown).
                if not self._refused:
                    self._eof = True

            def connection_lost(self, exc: Exception | None) -> None:
                if self._refused:
                    return
                self._uncount()
                self._live = False
                self._lost_exc = exc
                gate.teardowns.defer(self)

            def teardown(self) -> None:
                """websockets learns of the end of stream and the loss (the socket's turn)."""
                if self._eof:
                    super().eof_received()
                super().connection_lost(self._lost_exc)

            # -- what the keepalive uses (annotd.net.keepalive.Watched) --
            @property
            def open(self) -> bool:
                return self._live and self.protocol.state is State.OPEN

            def send_ping(self, data: bytes) -> None:
                self.protocol.send_ping(data)  # the pong is not awaited: any data counts as heard
                self.send_data()

            def close_dead(self) -> None:
                task = asyncio.get_running_loop().create_task(
                    self.close(CloseCode.INTERNAL_ERROR, "keepalive ping timeout"))
                gate._closing.add(task)
                task.add_done_callback(gate._closing.discard)

        return GatedConnection
