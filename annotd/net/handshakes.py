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
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

from websockets.asyncio.server import ServerConnection

from ..base.errors import error_body


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

    def connection_class(self, base: type[ServerConnection] = ServerConnection) -> type[ServerConnection]:
        """A subclass of ``base`` (websockets' server connection, or one of annotd's) that
        counts its handshake against the gate."""
        gate = self
        answer = refusal_bytes(f"too many WebSocket handshakes in progress (limits.max_pending_handshakes = "
                               f"{gate.limit}); retry shortly")

        class GatedConnection(base):  # type: ignore[valid-type,misc]
            _counted = False
            _refused = False

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
                    super().data_received(data)

            def eof_received(self) -> None:
                if not self._refused:
                    super().eof_received()

            def connection_lost(self, exc: Exception | None) -> None:
                if self._refused:
                    return
                self._uncount()
                super().connection_lost(exc)

        return GatedConnection
