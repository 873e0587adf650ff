"""The WebSocket adapter: moves frames between sockets and rooms, nothing more.

Fan-out never awaits a client: :meth:`WsServer.deliver` writes to an idle transport or
queues, by each connection's write policy (:mod:`annotd.outbox`: bounded queue, batch
window for presence and awareness, the too-slow verdict); one writer task per connection
drains its queue. A client whose queue overflows is closed with 4008 (it may come back
with ``lastSeq``); nobody else waits for it.

Connection lifecycle: handshake (at most ``limits.max_pending_handshakes`` at once, see
:mod:`annotd.handshakes`; path, Origin, subprotocol checked in ``process_request``) → joined
(room admitted the session) → live → closing → closed.

Reading is paced per socket (:mod:`annotd.readbudget`): past ``limits.inbound_burst_bytes``
a socket is read at ``limits.max_inbound_bytes_per_s``; its handler sleeps instead of
reading, which is backpressure to that one client and nothing for anyone else. A change
that would grow a room's document past its limit closes the socket with 4413 and changes
nothing (annotd.v1 sockets get an ``error`` frame first).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import time
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from . import errors, rpc, yproto
from .commands.base import Caller
from .errors import AnnotdError, DocumentTooLarge, MalformedFrame, MeasureFirst
from .handshakes import HandshakeGate
from .hosts import HostPolicy
from .hub import Hub
from .identifiers import check_room_id, check_user_id
from .logsetup import Throttled
from .origins import is_own_origin, origin_allowed
from .readbudget import ReadBudget
from .room import Outbound, Room
from .wsconn import WRITE_LIMIT, Connection, Wire, wire

log = logging.getLogger("annotd.ws")
SUBPROTOCOL = "annotd.v1"
ROOM_PATH = re.compile(r"/v1/ws/rooms/([^/?]+)")
CONTROL_PATH = "/v1/ws"
_session_ids = itertools.count(1)
READ_QUEUE = 16
"""Incoming frames websockets buffers per socket before it stops reading the TCP socket:
at most ``READ_QUEUE × limits.max_frame_bytes`` bytes held for a client not being read."""


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
        self._gate_refused = Throttled(log)
        self._malformed = Throttled(log)
        """Malformed frames: one warning per client address and reason per minute (all are counted)."""
        self.handshakes = HandshakeGate(hub.config.limits.max_pending_handshakes, self._handshake_refused)
        hub.delivery = self

    # -- delivery (called synchronously by rooms via the hub) ---------------------------
    def deliver(self, room_id: str, outbounds: Iterable[Outbound]) -> None:
        conns = self.conns
        delivered = 0
        for o in outbounds:
            framed: Wire = b""
            for sid in o.to:
                if sid == o.exclude:
                    continue
                conn = conns.get(sid)
                if conn is None:
                    continue
                if not framed and conn.wire_frames:
                    framed = wire(o.frame)  # once per message, whatever the number of recipients
                if o.noisy:
                    conn.push_noisy(o.key or "", o.frame, framed)
                elif not conn.push(o.frame, framed):
                    if not conn.outbox.closing:
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
            max_queue=READ_QUEUE,
            write_limit=WRITE_LIMIT,
            create_connection=self.handshakes.connection_class(),
        )
        return self.server

    def _handshake_refused(self) -> None:
        self._gate_refused.warning("handshakes", "too many handshakes in progress; connection refused",
                                   limit=self.handshakes.limit)

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
        try:
            check_user_id(user_id)
        except AnnotdError as exc:
            self.hub.metrics.client_closed(exc.close_code)
            await ws.close(exc.close_code, exc.message[:120])
            return
        match = ROOM_PATH.fullmatch(url.path)
        if match is None:
            await self._control(ws, Caller(user_id, session))
            return
        await self._room(ws, match.group(1), session, user_id, query)

    async def _room(self, ws: ServerConnection, room_id: str, session: str, user_id: str, query: dict[str, str]) -> None:
        hub = self.hub
        v1 = ws.subprotocol == SUBPROTOCOL
        started = time.perf_counter()
        try:
            last_seq = _parse_last_seq(query.get("lastSeq"))
            check_room_id(room_id)
            room = hub.room_for_join(room_id)
            joined = room.join(session, user_id, v1=v1, last_seq=last_seq, epoch=query.get("epoch"), now=hub.clock())
        except AnnotdError as exc:
            log.info("join refused", extra={"roomId": room_id, "userId": user_id, "error": exc.message})
            hub.metrics.client_closed(exc.close_code)
            await ws.close(exc.close_code, exc.message[:120])
            return
        cfg = hub.config
        conn = Connection(ws, session, max_frames=cfg.limits.send_queue_frames,
                          window_s=cfg.rooms.batch_window_ms / 1000.0, high_water=WRITE_LIMIT,
                          on_close=hub.metrics.client_closed)
        conn.sync_started = started
        self.conns[session] = conn
        self.by_room.setdefault(room_id, set()).add(session)
        hub.metrics.connected_clients += 1
        writer = conn.task = asyncio.create_task(conn.run(), name=f"writer-{session}")
        log.info("client joined", extra={"roomId": room_id, "userId": user_id, "session": session, "v1": v1})
        budget = ReadBudget(cfg.limits.max_inbound_bytes_per_s, cfg.limits.inbound_burst_bytes, time.monotonic())
        try:
            self.deliver(room_id, joined)
            caller = Caller(user_id, session, room_id)
            async for message in ws:
                if conn.outbox.closing:
                    break
                if isinstance(message, bytes):
                    if not self._binary(room, conn, user_id, message):
                        await hub.measure(room.id)  # off the relay path; this socket waits alone
                        if hub.rooms.get(room_id) is room:
                            self._binary(room, conn, user_id, message, measured=True)
                elif not v1:
                    hub.metrics.frame_rejected("text_without_subprotocol")
                    conn.close_soon(errors.CLOSE_UNSUPPORTED, "text frames need the annotd.v1 subprotocol")
                else:
                    await self._text(room, conn, caller, message)
                if room.snapshot_scheduled:
                    await asyncio.sleep(0)  # let the due snapshot be taken before this socket's next frame
                if (pause := budget.spend(len(message), time.monotonic())) > 0:
                    await asyncio.sleep(pause)  # read backpressure: this client alone waits
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
            _count_close(hub, ws, conn)
            if hub.rooms.get(room_id) is room:
                self.deliver(room_id, room.leave(session))
            if conn.outbox.closing and not writer.done():
                await asyncio.wait([writer], timeout=cfg.server.shutdown_timeout_s)
            writer.cancel()
            log.info("client left", extra={"roomId": room_id, "userId": user_id, "session": session,
                                           "code": ws.close_code})

    def _binary(self, room: Room, conn: Connection, user_id: str, data: bytes, *, measured: bool = False) -> bool:
        """Handle one binary frame; ``False``: the room must be measured first, then call
        again with ``measured=True`` (nothing was applied)."""
        start = time.perf_counter()
        try:
            event, out = room.receive(conn.session, data, self.hub.clock(), measured=measured)
        except MeasureFirst:
            return False
        except MalformedFrame as exc:
            self.hub.metrics.frame_rejected("malformed")
            remote = conn.ws.remote_address[0] if conn.ws.remote_address else "?"
            self._malformed.warning(f"{remote}:{exc.message[:40]}", "malformed frame",
                                    roomId=room.id, userId=user_id, error=exc.message)
            conn.close_soon(exc.close_code, exc.message[:120])
            return True
        except DocumentTooLarge as exc:
            self.hub.metrics.frame_rejected("document_too_large")
            log.warning("update refused: document too large", extra={"roomId": room.id, "userId": user_id,
                                                                      "size": room.state_bytes})
            if conn.ws.subprotocol == SUBPROTOCOL:
                conn.reply(orjson.dumps({"type": "error", "error": exc.to_json()}).decode())
            conn.close_soon(exc.close_code, "document too large: the change was refused")
            return True
        self.deliver(room.id, out)
        if conn.sync_started is not None and yproto.is_sync_step1(data):  # the joiner is in sync now
            self.hub.metrics.join_seconds.observe(time.perf_counter() - conn.sync_started)
            conn.sync_started = None
        if event is not None:
            metrics = self.hub.metrics
            metrics.updates_sequenced += 1
            metrics.relayed(start)
            self.hub.snapshots.after_change(room)
            if self.debug:
                log.debug("update", extra={"roomId": room.id, "seq": event.seq, "userId": user_id,
                                           "relay_ms": round((time.perf_counter() - start) * 1000, 3)})
        return True

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
        limits = self.hub.config.limits
        budget = ReadBudget(limits.max_inbound_bytes_per_s, limits.inbound_burst_bytes, time.monotonic())
        try:
            async for message in ws:
                if (pause := budget.spend(len(message), time.monotonic())) > 0:
                    await asyncio.sleep(pause)
                if isinstance(message, bytes):
                    self.hub.metrics.frame_rejected("binary_on_control")
                    await ws.close(errors.CLOSE_UNSUPPORTED, "the control socket takes JSON-RPC text frames")
                    return
                reply = await rpc.handle(self.hub, message, caller)
                if reply is not None:
                    await ws.send(reply.decode())
        except ConnectionClosed:
            pass
        finally:
            self.hub.metrics.connected_clients -= 1
            _count_close(self.hub, ws, None)

    async def close(self) -> None:
        """Stop accepting and close every socket with 1001; waits for the handlers."""
        if self.server is not None:
            self.server.close(close_connections=True)
            await self.server.wait_closed()


def _count_close(hub: Hub, ws: ServerConnection, conn: Connection | None) -> None:
    """Count a socket's end by the code it ended with, unless annotd decided the close (then it
    was counted at once, by :meth:`Connection.close_soon`): the code websockets sent first (a
    frame over ``limits.max_frame_bytes`` is 1009, a rejected frame; shutdown is 1001), else
    the client's (1006 without a close frame)."""
    if conn is not None and conn.outbox.close_request is not None:
        return
    protocol = ws.protocol
    if protocol.close_sent is not None and not protocol.close_rcvd_then_sent:
        code: int | None = protocol.close_sent.code
        if code == errors.CLOSE_TOO_BIG:
            hub.metrics.frame_rejected("too_large")
    else:
        code = ws.close_code
    hub.metrics.client_closed(code)


def _parse_last_seq(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise errors.InvalidParams("lastSeq", "must be a non-negative integer")
    return int(raw)
