"""The WebSocket adapter: moves frames between sockets and rooms, nothing more.

Per connection there is exactly one writer task draining a bounded queue, so fan-out
never awaits a client: :meth:`Hub.deliver` only appends to queues. A client whose queue
overflows is closed with 4008 (it may come back with ``lastSeq``); nobody else waits for
it. Presence and awareness frames are "noisy": they are kept latest-per-sender and flushed
at most once per batch window, while document frames always go out at once and in order.

Connection lifecycle: handshake (path, Origin, subprotocol checked in
``process_request``) → joined (room admitted the session) → live → closing → closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import time
from collections import deque
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State

from . import errors, rpc
from .commands.base import Caller
from .errors import AnnotdError, MalformedFrame
from .hosts import HostPolicy
from .hub import ROOM_ID_RE, Hub
from .logsetup import Throttled
from .origins import is_own_origin, origin_allowed
from .room import Outbound, Room

log = logging.getLogger("annotd.ws")
SUBPROTOCOL = "annotd.v1"
ROOM_PATH = re.compile(r"/v1/ws/rooms/([^/?]+)")
CONTROL_PATH = "/v1/ws"
_session_ids = itertools.count(1)
WRITE_LIMIT = 64 * 1024
"""Transport buffer high-water mark per socket: above it frames queue and the writer waits."""


class Connection:
    """One socket's outbound side: a bounded queue, coalesced noisy frames, one writer.

    Fast path: when nothing is queued for this socket, no write is in progress and the
    transport's buffer is below the high-water mark, a frame is framed and handed to the
    transport at once, synchronously. ``transport.write`` never blocks, so fan-out still
    never waits for a client, and the common case costs no task switch. Otherwise frames
    wait in the bounded queue and the writer task drains them in batches (one
    ``writelines`` per batch), awaiting the transport's drain: that is where a slow client
    waits, alone. A queue that overflows means the client is too slow: it is closed (4008).
    """

    def __init__(self, ws: ServerConnection, session: str, *, max_frames: int, window_s: float,
                 high_water: int) -> None:
        self.ws = ws
        # Without a negotiated extension (no permessage-deflate) a server frame is the same
        # bytes for every recipient, so it is framed once per message and written as is.
        self.raw = not ws.protocol.extensions
        self.session = session
        self.max_frames = max_frames
        self.window_s = window_s
        self.high_water = high_water
        self.queue: deque[bytes | str] = deque()
        self.noisy: dict[str, bytes | str] = {}
        self.noisy_at = 0.0
        self.noisy_last = -1e9
        self.wake = asyncio.Event()
        self.busy = False
        self.kick: tuple[int, str] | None = None
        self.task: asyncio.Task[None] | None = None

    def _can_write_now(self) -> bool:
        transport = self.ws.transport
        return (
            not self.queue
            and not self.busy
            and self.kick is None
            and self.ws.protocol.state is State.OPEN
            and transport.get_write_buffer_size() < self.high_water
        )

    def _write(self, items: Iterable[bytes | str]) -> None:
        """Give ``items`` to the transport in one call (one syscall).

        In raw mode the items are complete WebSocket frames (see :func:`wire`); otherwise
        they are messages framed here by websockets (with the connection's extensions).
        """
        protocol = self.ws.protocol
        chunks: list[bytes]
        if self.raw:
            # anything websockets had pending goes first; raw items are always bytes
            chunks = [*protocol.data_to_send(), *(i for i in items if isinstance(i, bytes))]
        else:
            for item in items:
                if isinstance(item, str):
                    protocol.send_text(item.encode())
                else:
                    protocol.send_binary(item)
            chunks = protocol.data_to_send()
        if chunks:
            self.ws.transport.writelines(chunks)

    def push(self, message: bytes | str, framed: bytes) -> bool:
        """Send or queue a document frame; ``False`` when the client is too far behind."""
        item = framed if self.raw else message
        if self._can_write_now():
            self._write((item,))
            return True
        if len(self.queue) >= self.max_frames:
            return False
        self.queue.append(item)
        self.wake.set()
        return True

    def reply(self, message: bytes | str) -> bool:
        """Queue a message for this socket alone (JSON-RPC replies, errors)."""
        return self.push(message, wire(message) if self.raw else b"")

    def push_noisy(self, key: str, message: bytes | str, framed: bytes) -> None:
        """Presence/awareness: latest per key, at most one flush per batch window."""
        item = framed if self.raw else message
        now = time.monotonic()
        if not self.noisy and now >= self.noisy_last + self.window_s and self._can_write_now():
            self.noisy_last = now
            self._write((item,))
            return
        if not self.noisy:
            self.noisy_at = max(now, self.noisy_last + self.window_s)
        self.noisy[key] = item
        self.wake.set()

    def close_soon(self, code: int, reason: str) -> None:
        """Ask the writer to close the socket after what is already queued.

        A client that is too slow gets no more data: its queue is dropped and the writer,
        which is likely blocked waiting for the kernel buffer to drain, is interrupted so
        the close frame goes out now (behind what the kernel already holds).
        """
        if self.kick is None:
            self.kick = (code, reason)
            if code == errors.CLOSE_TOO_SLOW:
                self.queue.clear()
                self.noisy.clear()
                if self.task is not None:
                    self.task.cancel()
            self.wake.set()

    async def _flush(self, frames: list[bytes | str]) -> None:
        self.busy = True
        try:
            async with self.ws.send_context():  # state checks, then drain: a slow client waits here
                self._write(frames)
        finally:
            self.busy = False

    async def run(self) -> None:
        ws = self.ws
        try:
            while True:
                if not self.queue and self.kick is None:
                    self.wake.clear()
                    if not self.noisy:
                        await self.wake.wait()
                    else:
                        timeout = self.noisy_at - time.monotonic()
                        if timeout > 0:
                            try:
                                async with asyncio.timeout(timeout):
                                    await self.wake.wait()
                            except TimeoutError:
                                pass
                while self.queue:
                    batch = list(self.queue)
                    self.queue.clear()
                    await self._flush(batch)
                if self.noisy and time.monotonic() >= self.noisy_at:
                    frames = list(self.noisy.values())
                    self.noisy.clear()
                    self.noisy_last = time.monotonic()
                    await self._flush(frames)
                if self.kick is not None:
                    await ws.close(*self.kick)
                    return
        except ConnectionClosed:
            return
        except asyncio.CancelledError:
            if self.kick is None or self.kick[0] != errors.CLOSE_TOO_SLOW:
                raise
            with contextlib.suppress(ConnectionClosed):
                await ws.close(*self.kick)


def wire(message: bytes | str) -> bytes:
    """A complete unmasked server frame for ``message`` (text for ``str``, binary for ``bytes``)."""
    if isinstance(message, str):
        return Frame(Opcode.TEXT, message.encode()).serialize(mask=False)
    return Frame(Opcode.BINARY, message).serialize(mask=False)


def _select_subprotocol(conn: ServerConnection, offered: Any) -> Any:
    return SUBPROTOCOL if SUBPROTOCOL in offered else None


class WsServer:
    """Owns the websockets server and every live :class:`Connection`; is the hub's delivery."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.conns: dict[str, Connection] = {}
        self.by_room: dict[str, set[str]] = {}
        self.server: Server | None = None
        self.debug = log.isEnabledFor(logging.DEBUG)  # read once: per-update checks showed in profiles
        self.hosts = HostPolicy(hub.config.server.host, hub.config.server.allowed_hosts)
        self._hosts_refused = Throttled(log)
        self.side_ports: tuple[int, ...] = ()
        """The HTTP side port(s): pages annotd serves there may open room sockets (set by the daemon)."""
        hub.delivery = self

    # -- delivery (called synchronously by rooms via the hub) ---------------------------
    def deliver(self, room_id: str, outbounds: Iterable[Outbound]) -> None:
        conns = self.conns
        delivered = 0
        for o in outbounds:
            framed = b""
            for sid in o.to:
                if sid == o.exclude:
                    continue
                conn = conns.get(sid)
                if conn is None:
                    continue
                if not framed and conn.raw:
                    framed = wire(o.frame)  # once per message, whatever the number of recipients
                if o.noisy:
                    conn.push_noisy(o.key or "", o.frame, framed)
                elif not conn.push(o.frame, framed):
                    if conn.kick is None:
                        self.hub.metrics.clients_too_slow += 1
                        log.warning("client too slow, closing", extra={"roomId": room_id, "session": sid})
                        conn.close_soon(errors.CLOSE_TOO_SLOW, "too slow: send queue full; reconnect with lastSeq")
                    continue
                delivered += 1
        self.hub.metrics.deliveries += delivered

    def room_deleted(self, room_id: str) -> None:
        for sid in self.by_room.get(room_id, set()):
            conn = self.conns.get(sid)
            if conn is not None:
                conn.close_soon(errors.CLOSE_ROOM_DELETED, "room deleted")

    # -- server --------------------------------------------------------------------------
    async def start(self, host: str, port: int) -> Server:
        cfg = self.hub.config
        self.server = await serve(
            self._handler,
            host,
            port,
            process_request=self._process_request,
            select_subprotocol=_select_subprotocol,
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
            max_size=cfg.limits.max_frame_bytes,
            compression="deflate" if cfg.server.compression else None,
            ping_interval=cfg.server.ping_interval_s or None,
            max_queue=64,
            write_limit=WRITE_LIMIT,
        )
        return self.server

    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        host = request.headers.get("Host")
        if not self.hosts.allows(host):
            assert host is not None
            self._hosts_refused.warning(host, "host refused", host=host, path=path)
            return self._refuse(conn, HTTPStatus.FORBIDDEN, "forbidden", self.hosts.refusal(host))
        if path != CONTROL_PATH and not ROOM_PATH.fullmatch(path):
            return self._refuse(conn, HTTPStatus.NOT_FOUND, "not_found", f"no WebSocket endpoint at {path}")
        origin = request.headers.get("Origin")
        if not (origin_allowed(origin, self.hub.config.server.allowed_origins)
                or is_own_origin(origin, request.headers.get("Host"), self.side_ports)):
            log.warning("origin refused", extra={"origin": origin, "path": path})
            return self._refuse(conn, HTTPStatus.FORBIDDEN, "forbidden", f"origin {origin} is not allowed")
        if self.hub.metrics.connected_clients >= self.hub.config.limits.max_connections:
            log.warning("connection limit reached", extra={"path": path})
            return self._refuse(conn, HTTPStatus.SERVICE_UNAVAILABLE, "limit_reached", "too many connections")
        return None

    @staticmethod
    def _refuse(conn: ServerConnection, status: HTTPStatus, code: str, message: str) -> Response:
        body = orjson.dumps({"error": {"code": code, "message": message}})
        headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return Response(status.value, status.phrase, headers, body)

    async def _handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        url = urlsplit(ws.request.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        session = f"c{next(_session_ids)}"
        user_id = query.get("userId") or f"anon-{session}"
        if len(user_id) > 128:
            await ws.close(errors.CLOSE_BAD_REQUEST, "userId: at most 128 characters")
            return
        match = ROOM_PATH.fullmatch(url.path)
        if match is None:
            await self._control(ws, Caller(user_id, session))
            return
        await self._room(ws, match.group(1), session, user_id, query)

    async def _room(self, ws: ServerConnection, room_id: str, session: str, user_id: str, query: dict[str, str]) -> None:
        hub = self.hub
        v1 = ws.subprotocol == SUBPROTOCOL
        try:
            last_seq = _parse_last_seq(query.get("lastSeq"))
            if not ROOM_ID_RE.fullmatch(room_id):
                raise errors.InvalidParams("roomId", "must match [A-Za-z0-9_-]{1,64}")
            room = hub.room_for_join(room_id)
            joined = room.join(session, user_id, v1=v1, last_seq=last_seq, epoch=query.get("epoch"), now=hub.clock())
        except AnnotdError as exc:
            log.info("join refused", extra={"roomId": room_id, "userId": user_id, "error": exc.message})
            await ws.close(exc.close_code, exc.message[:120])
            return
        cfg = hub.config
        conn = Connection(ws, session, max_frames=cfg.limits.send_queue_frames,
                          window_s=cfg.rooms.batch_window_ms / 1000.0, high_water=WRITE_LIMIT)
        self.conns[session] = conn
        self.by_room.setdefault(room_id, set()).add(session)
        hub.metrics.connected_clients += 1
        writer = conn.task = asyncio.create_task(conn.run(), name=f"writer-{session}")
        log.info("client joined", extra={"roomId": room_id, "userId": user_id, "session": session, "v1": v1})
        try:
            self.deliver(room_id, joined)
            caller = Caller(user_id, session, room_id)
            async for message in ws:
                if conn.kick is not None:
                    break
                if isinstance(message, bytes):
                    self._binary(room, conn, user_id, message)
                elif not v1:
                    conn.close_soon(errors.CLOSE_UNSUPPORTED, "text frames need the annotd.v1 subprotocol")
                else:
                    await self._text(room, conn, caller, message)
        except ConnectionClosed:
            pass
        finally:
            self.conns.pop(session, None)
            members = self.by_room.get(room_id)
            if members is not None:
                members.discard(session)
                if not members:
                    del self.by_room[room_id]
            hub.metrics.connected_clients -= 1
            if hub.rooms.get(room_id) is room:
                self.deliver(room_id, room.leave(session))
            if conn.kick is not None and not writer.done():
                await asyncio.wait([writer], timeout=cfg.server.shutdown_timeout_s)
            writer.cancel()
            log.info("client left", extra={"roomId": room_id, "userId": user_id, "session": session,
                                           "code": ws.close_code})

    def _binary(self, room: Room, conn: Connection, user_id: str, data: bytes) -> None:
        start = time.perf_counter()
        try:
            event, out = room.receive(conn.session, data, self.hub.clock())
        except MalformedFrame as exc:
            self.hub.metrics.frames_rejected += 1
            log.warning("malformed frame", extra={"roomId": room.id, "userId": user_id, "error": exc.message})
            conn.close_soon(exc.close_code, exc.message[:120])
            return
        self.deliver(room.id, out)
        if event is not None:
            self.hub.metrics.updates_sequenced += 1
            if self.debug:
                log.debug("update", extra={"roomId": room.id, "seq": event.seq, "userId": user_id,
                                           "relay_ms": round((time.perf_counter() - start) * 1000, 3)})

    async def _text(self, room: Room, conn: Connection, caller: Caller, text: str) -> None:
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            reply = await rpc.handle(self.hub, text, caller)  # answers -32700
            if reply is not None:
                conn.reply(reply.decode())
            return
        if isinstance(msg, dict) and msg.get("type") == "presence":
            try:
                self.deliver(room.id, room.receive_presence(conn.session, msg, self.hub.clock()))
            except AnnotdError as exc:
                conn.reply(orjson.dumps({"type": "error", "error": exc.to_json()}).decode())
            return
        reply = await rpc.handle_parsed(self.hub, msg, caller)
        if reply is not None and not conn.reply(reply.decode()):
            conn.close_soon(errors.CLOSE_TOO_SLOW, "too slow: send queue full")

    async def _control(self, ws: ServerConnection, caller: Caller) -> None:
        """``/v1/ws``: JSON-RPC only, answered in order on the same socket."""
        self.hub.metrics.connected_clients += 1
        try:
            async for message in ws:
                if isinstance(message, bytes):
                    await ws.close(errors.CLOSE_UNSUPPORTED, "the control socket takes JSON-RPC text frames")
                    return
                reply = await rpc.handle(self.hub, message, caller)
                if reply is not None:
                    await ws.send(reply.decode())
        except ConnectionClosed:
            pass
        finally:
            self.hub.metrics.connected_clients -= 1

    async def close(self) -> None:
        """Stop accepting and close every socket with 1001; waits for the handlers."""
        if self.server is not None:
            self.server.close(close_connections=True)
            await self.server.wait_closed()


def _parse_last_seq(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise errors.InvalidParams("lastSeq", "must be a non-negative integer")
    return int(raw)
