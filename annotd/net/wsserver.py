"""The WebSocket adapter: moves frames between sockets and rooms, nothing more.

Fan-out never awaits a client: :meth:`WsServer.deliver` writes to an idle transport or
queues, by each connection's write policy (:mod:`annotd.net.outbox`: bounded queue, batch
window for presence and awareness, the too-slow verdict); one writer task per connection
drains its queue. A client whose queue overflows is closed with 4008 (it may come back
with ``lastSeq``); nobody else waits for it.

Connection lifecycle: handshake (at most ``limits.max_pending_handshakes`` at once, see
:mod:`annotd.net.handshakes`; path, Origin, subprotocol checked in ``process_request``) → joined
(room admitted the session) → live → closing → closed.

Reading is paced per socket (:mod:`annotd.net.readbudget`): past ``limits.inbound_burst_bytes``
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
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ..base import errors
from ..base.errors import AnnotdError, DocumentTooLarge, MalformedFrame
from ..base.hosts import HostPolicy
from ..base.identifiers import check_room_id, check_user_id
from ..base.logsetup import Throttled
from ..base.origins import is_own_origin, origin_allowed
from ..commands.base import Caller
from ..core import yproto
from ..core.outbound import Outbound
from ..live.hub import Hub
from ..live.liveroom import LiveRoom
from . import rpc
from .handshakes import HandshakeGate
from .keepalive import KeepAlive, Watched
from .readbudget import ReadBudget
from .wsconn import WRITE_LIMIT, Connection, Cork, Wire, wire
from .wsread import ReadingConnection, inbox_of

log = logging.getLogger("annotd.ws")
SUBPROTOCOL = "annotd.v1"
ROOM_PATH = re.compile(r"/v1/ws/rooms/([^/?]+)")
CONTROL_PATH = "/v1/ws"
_session_ids = itertools.count(1)
READ_QUEUE = 16
"""Incoming messages buffered per socket (by its :class:`~annotd.net.wsread.Inbox`, or
websockets) before it stops reading the TCP socket:
at most ``READ_QUEUE × limits.max_frame_bytes`` bytes held for a client not being read."""


def _select_subprotocol(conn: ServerConnection, offered: Any) -> Any:
    return SUBPROTOCOL if SUBPROTOCOL in offered else None


class WsServer:
    """Owns the websockets server and every live :class:`Connection`; is the hub's delivery."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.conns: dict[str, Connection] = {}
        """Every room socket's connection by session (each is also its live room's peer)."""
        self.server: Server | None = None
        self.hosts = HostPolicy(hub.config.server.host, hub.config.server.allowed_hosts)
        self._hosts_refused = Throttled(log)
        self.side_ports: tuple[int, ...] = ()
        """The HTTP side port(s): pages annotd serves there may open room sockets (set by the daemon)."""
        self._gate_refused = Throttled(log)
        self._malformed = Throttled(log)
        """Malformed frames: one warning per client address and reason per minute (all are counted)."""
        self.keepalive = KeepAlive(hub.config.server.ping_interval_s, hub.config.server.ping_timeout_s)
        """Pings silent sockets, closes dead ones (``server.ping_interval_s``; 0: off)."""
        self._keepalive_task: asyncio.Task[None] | None = None
        self.unlinked = 0
        """Finished sockets whose cycles were broken (:meth:`_unlink`): freed without the collector."""
        self.handshakes = HandshakeGate(hub.config.limits.max_pending_handshakes, self._handshake_refused)
        self.cork = Cork()
        """Frames for idle sockets, written once per socket at the end of each loop turn."""
        hub.delivery = self

    # -- delivery (called synchronously by live rooms) --------------------------------
    def deliver(self, live: LiveRoom, outbounds: Iterable[Outbound]) -> None:
        conns = cast("dict[str, Connection]", live.peers)
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
                        log.warning("client too slow, closing", extra={"roomId": live.id, "session": sid})
                        conn.close_soon(errors.CLOSE_TOO_SLOW, "too slow: send queue full; reconnect with lastSeq")
                    continue
                delivered += 1
        self.hub.metrics.deliveries += delivered

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
            ping_interval=None,  # annotd.net.keepalive pings, one timer for every socket
            max_queue=READ_QUEUE,
            write_limit=WRITE_LIMIT,
            create_connection=self.handshakes.connection_class(ReadingConnection),
            open_timeout=cfg.limits.handshake_timeout_s,
        )
        if cfg.server.ping_interval_s > 0:
            self._keepalive_task = asyncio.create_task(self.keepalive.run(), name="keepalive")
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
        body = errors.error_body(code, message)
        headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return Response(status.value, status.phrase, headers, body)

    async def _handler(self, ws: ServerConnection) -> None:
        task = asyncio.current_task()
        if task is not None:
            task.add_done_callback(lambda _: self._unlink(ws))
        if self._keepalive_task is not None:
            self.keepalive.add(cast("Watched", ws))
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
        cfg = hub.config
        v1 = ws.subprotocol == SUBPROTOCOL
        started = time.perf_counter()
        conn = Connection(ws, session, max_frames=cfg.limits.send_queue_frames,
                          window_s=cfg.rooms.batch_window_ms / 1000.0, high_water=WRITE_LIMIT,
                          on_close=hub.metrics.client_closed, cork=self.cork)
        if isinstance(ws, ReadingConnection):
            ws.before_send = conn.uncork
        conn.sync_started = started
        try:
            last_seq = _parse_last_seq(query.get("lastSeq"))
            check_room_id(room_id)
            live = await hub.room_for_join(room_id)
            live.join(conn, session, user_id, v1=v1, last_seq=last_seq, epoch=query.get("epoch"))
        except AnnotdError as exc:
            log.info("join refused", extra={"roomId": room_id, "userId": user_id, "error": exc.message})
            hub.metrics.client_closed(exc.close_code)
            await ws.close(exc.close_code, exc.message[:120])
            return
        self.conns[session] = conn
        hub.metrics.connected_clients += 1
        writer = conn.task = asyncio.create_task(conn.run(), name=f"writer-{session}")
        log.info("client joined", extra={"roomId": room_id, "userId": user_id, "session": session, "v1": v1})
        budget = ReadBudget(cfg.limits.max_inbound_bytes_per_s, cfg.limits.inbound_burst_bytes, time.monotonic())
        inbox = inbox_of(ws)
        try:
            caller = Caller(user_id, session, room_id)
            while True:
                message = await inbox.get()  # ConnectionClosed at the end
                if conn.outbox.closing or live.closed:
                    break
                if isinstance(message, bytes):
                    await self._binary(live, conn, user_id, message)
                elif not v1:
                    hub.metrics.frame_rejected("text_without_subprotocol")
                    conn.close_soon(errors.CLOSE_UNSUPPORTED, "text frames need the annotd.v1 subprotocol")
                else:
                    await self._text(live, conn, caller, message)
                if (pause := budget.spend(len(message), time.monotonic())) > 0:
                    await asyncio.sleep(pause)  # read backpressure: this client alone waits
        except ConnectionClosed:
            pass
        finally:
            self.conns.pop(session, None)
            hub.metrics.connected_clients -= 1
            _count_close(hub, ws, conn)
            live.leave(session)
            if conn.outbox.closing and not writer.done():
                await asyncio.wait([writer], timeout=cfg.server.shutdown_timeout_s)
            writer.cancel()
            conn.task = None  # the cancelled writer's exception refers back to conn through its frames
            log.info("client left", extra={"roomId": room_id, "userId": user_id, "session": session,
                                           "code": ws.close_code})

    async def _binary(self, live: LiveRoom, conn: Connection, user_id: str, data: bytes) -> None:
        """Hand one binary frame to the room's door; a refused one closes this socket."""
        try:
            await live.receive(conn.session, data)
        except MalformedFrame as exc:
            self.hub.metrics.frame_rejected("malformed")
            remote = conn.ws.remote_address[0] if conn.ws.remote_address else "?"
            self._malformed.warning(f"{remote}:{exc.message[:40]}", "malformed frame",
                                    roomId=live.id, userId=user_id, error=exc.message)
            conn.close_soon(exc.close_code, exc.message[:120])
            return
        except DocumentTooLarge as exc:
            self.hub.metrics.frame_rejected("document_too_large")
            log.warning("update refused: document too large", extra={"roomId": live.id, "userId": user_id,
                                                                      "size": live.room.state_bytes})
            if conn.ws.subprotocol == SUBPROTOCOL:
                conn.reply(orjson.dumps({"type": "error", "error": exc.to_json()}).decode())
            conn.close_soon(exc.close_code, "document too large: the change was refused")
            return
        if conn.sync_started is not None and yproto.is_sync_step1(data):  # the joiner is in sync now
            self.hub.metrics.join_seconds.observe(time.perf_counter() - conn.sync_started)
            conn.sync_started = None

    async def _text(self, live: LiveRoom, conn: Connection, caller: Caller, text: str) -> None:
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            reply = await rpc.handle(self.hub, text, caller)  # answers -32700
            if reply is not None:
                conn.reply(reply.decode())
            return
        if isinstance(msg, dict) and msg.get("type") == "presence":
            try:
                live.presence(conn.session, msg)
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
        inbox = inbox_of(ws)
        try:
            while True:
                message = await inbox.get()  # ConnectionClosed at the end
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

    def _unlink(self, ws: ServerConnection) -> None:
        """Break the reference cycles a finished socket leaves (websockets' connection and
        its protocol refer to each other, the protocol's parser generator to the protocol,
        stored exceptions to the frames that raised them), so reference counting frees it
        at once instead of a full collection later: thousands of sockets closing together
        must not leave their objects to one long pass, and the collector policy may have
        frozen them (:mod:`annotd.process.gcpolicy`). Runs once websockets' task for the
        socket is done: neither annotd nor websockets uses the connection any more."""
        vars(ws.protocol).clear()
        vars(ws).clear()
        self.unlinked += 1

    async def close(self) -> None:
        """Stop accepting and close every socket with 1001; waits for the handlers."""
        if self._keepalive_task is not None:
            self._keepalive_task.cancel()
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
