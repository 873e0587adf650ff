"""An asyncio client for annotd rooms, for scripts, bots, tests and benchmarks.

It speaks the annotd.v1 subprotocol: keeps a pycrdt ``Doc`` in sync, tracks ``lastSeq``
and the room ``epoch`` so a reconnect replays exactly what was missed (or resyncs), sends
local document changes as they happen, calls JSON-RPC methods, and sends presence::

    async with RoomClient("ws://127.0.0.1:8765", "demo", user_id="bot") as c:
        c.doc.get("annotations", type=Map)["a1"] = Map({...})   # sent automatically
        await c.call("versions.create", tag="v1")
        await c.wait_for_seq(c.last_seq)

With ``auto_reconnect=True`` the client comes back by itself after any close it did not ask
for, except the final ones (``errors.FINAL_CLOSE_CODES``: unknown or deleted room, protocol
errors, an edit refused as too large); it rejoins with ``lastSeq`` and ``epoch``, so it
replays exactly what it missed. The wait before each attempt is :func:`backoff_delay`, the
web client's rule: exponential with jitter up to ``max_backoff_s``, the first retry after a
4008 (too slow) at once. The count of attempts resets only once a connection has stayed up
for ``max_backoff_s``: a server that closes every join at once (a client that keeps falling
behind) sees the waits grow, not a reconnect every few milliseconds. Local edits made while disconnected are kept in the ``Doc`` and
reach the server through the sync handshake on the next join.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import weakref
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import orjson
from pycrdt import Decoder, Doc, TransactionEvent, handle_sync_message
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.protocol import State

from ..base.errors import CLOSE_TOO_SLOW, FINAL_CLOSE_CODES
from ..core import yproto

log = logging.getLogger("annotd.client")
PERMANENT_CLOSE_CODES = FINAL_CLOSE_CODES
"""Close codes after which reconnecting cannot help (``errors.CLOSE_CODES``, protocol.md)."""


BACKOFF_BASE_S = 0.25
"""The first wait before reconnecting (doubled per failed or short-lived attempt)."""


def backoff_delay(attempts: int, max_s: float, *, immediate: bool, jitter: float) -> float:
    """Seconds to wait before reconnect attempt ``attempts`` (0 = the first since a healthy
    connection): ``0`` for the first after a too-slow close (``immediate``), otherwise
    ``BACKOFF_BASE_S * 2**attempts`` capped at ``max_s``, scaled by ``0.5 + jitter / 2``
    (``jitter`` in [0, 1)) so that clients dropped together do not come back together."""
    if immediate and attempts == 0:
        return 0.0
    return min(max_s, BACKOFF_BASE_S * 2 ** min(attempts, 32)) * (0.5 + jitter / 2)


class RpcError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.error = error
        self.code = error.get("code")
        self.data = error.get("data") or {}


class RoomClient:
    def __init__(self, base_url: str, room_id: str, *, user_id: str = "client", doc: Doc | None = None,
                 open_timeout: float = 10.0, auto_reconnect: bool = False, max_backoff_s: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.room_id = room_id
        self.user_id = user_id
        self.doc = doc if doc is not None else Doc()
        self.open_timeout = open_timeout
        self.last_seq: int | None = None
        self.epoch: str | None = None
        self.room_info: dict[str, Any] = {}
        self.presence: dict[str, dict[str, Any]] = {}
        self.notifications: list[dict[str, Any]] = []
        self.on_seq: Callable[[int, str], None] | None = None
        """Called with (seq, why): why is "event" (a relayed update), "sync" (a step-2 reply) or "ack"."""
        self.on_event: Callable[[int, bytes], None] | None = None
        """Called with (seq, message) for every relayed or replayed event, after it was
        applied: ``message`` is the event's y-sync update message, the same bytes every
        annotd.v1 client gets for that seq (a log, an audit, a check of what a seq names)."""
        self.ws: ClientConnection | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._changed = asyncio.Condition()
        self._joined = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._remote = False
        # pycrdt keeps an observed Doc and its callback alive from Rust, where the collector
        # cannot see the cycle: observe through a weak reference and unobserve when this
        # client is collected, or every dropped client would keep itself and its document.
        ref = weakref.ref(self)

        def on_change(event: TransactionEvent) -> None:
            client = ref()
            if client is not None:
                client._on_local_change(event)

        self._sub = self.doc.observe(on_change)
        weakref.finalize(self, self.doc.unobserve, self._sub)
        self._sent_updates = 0
        self._acked_updates = 0
        self.close_code: int | None = None
        self.close_reason: str = ""
        self.auto_reconnect = auto_reconnect
        self.max_backoff_s = max_backoff_s
        self.connects = 0
        """How many times this client joined (the first connect and every reconnect)."""
        self._closing = False
        self._keeper: asyncio.Task[None] | None = None
        self._attempts = 0
        """Reconnect attempts since the last connection that stayed up ``max_backoff_s``."""
        self._joined_at = 0.0
        """Loop time of the last successful join."""

    # -- lifecycle -----------------------------------------------------------------------
    @property
    def url(self) -> str:
        query: dict[str, Any] = {"userId": self.user_id}
        if self.last_seq is not None and self.epoch is not None:
            query.update(lastSeq=self.last_seq, epoch=self.epoch)
        return f"{self.base_url}/v1/ws/rooms/{self.room_id}?{urlencode(query)}"

    async def connect(self) -> dict[str, Any]:
        """Open the socket and wait for ``roomInfo``; replay or resync follows on its own."""
        self._joined.clear()
        self._closing = False
        self._sent_updates = self._acked_updates = 0
        self.ws = await connect(self.url, subprotocols=["annotd.v1"], open_timeout=self.open_timeout,  # type: ignore[list-item]
                                max_size=None, compression=None)
        self._reader = asyncio.create_task(self._read(self.ws), name=f"client-{self.user_id}")
        await self.ws.send(yproto.sync_step1(self.doc.get_state()))
        waiter = asyncio.ensure_future(self._joined.wait())
        done, _ = await asyncio.wait([waiter, self._reader], return_when=asyncio.FIRST_COMPLETED)
        if waiter not in done:
            waiter.cancel()
            raise ConnectionError(f"closed before roomInfo: {self.close_code} {self.close_reason}")
        self.connects += 1
        self._joined_at = asyncio.get_running_loop().time()
        self._reader.add_done_callback(self._reader_done)
        return self.room_info

    def _reader_done(self, task: asyncio.Task[None]) -> None:
        """With ``auto_reconnect``, come back (with replay) after a close we did not ask for."""
        if self._closing or not self.auto_reconnect or self.close_code in PERMANENT_CLOSE_CODES:
            return
        loop = asyncio.get_running_loop()
        if loop.time() - self._joined_at >= self.max_backoff_s:
            self._attempts = 0  # that connection was healthy: start the backoff afresh
        if self._keeper is None or self._keeper.done():
            self._keeper = loop.create_task(self._reconnect_loop(immediate=self.close_code == CLOSE_TOO_SLOW))

    async def _reconnect_loop(self, *, immediate: bool) -> None:
        while not self._closing:
            delay = backoff_delay(self._attempts, self.max_backoff_s, immediate=immediate, jitter=random.random())
            self._attempts += 1
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                await self.connect()
                return
            except (OSError, ConnectionError, InvalidHandshake, TimeoutError) as exc:
                if self.close_code in PERMANENT_CLOSE_CODES:
                    log.warning("not reconnecting: %s", exc)
                    return
                log.info("reconnect failed, retrying: %s", exc)

    async def close(self) -> None:
        self._closing = True
        if self._keeper is not None and self._keeper is not asyncio.current_task():
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(ConnectionError("connection closed"))
        self._pending.clear()

    async def reconnect(self) -> dict[str, Any]:
        await self.close()
        return await self.connect()

    async def __aenter__(self) -> RoomClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- sending -------------------------------------------------------------------------
    def _on_local_change(self, event: TransactionEvent) -> None:
        ws = self.ws
        if self._remote or ws is None:
            return
        update = event.update
        if update == yproto.EMPTY_UPDATE:
            return
        if ws.state is not State.OPEN or not self._joined.is_set():
            return  # not connected (or still joining): it goes up with our next sync step 2
        self._sent_updates += 1
        task = asyncio.ensure_future(self._send_quietly(ws, yproto.sync_update(update)))
        task.add_done_callback(lambda t: t.exception())

    async def _send_quietly(self, ws: ClientConnection, frame: bytes | str) -> None:
        with contextlib.suppress(ConnectionClosed):  # then it goes up with the next sync step 2
            await ws.send(frame)

    async def flush(self) -> int:
        """Wait until the server acknowledged every update sent on this connection; return the
        seq. ``ConnectionError`` if the connection closes first (unacknowledged changes are
        still in the document: the next connect sends them)."""
        ws = self.ws
        await self.wait_until(lambda: self._acked_updates >= self._sent_updates or ws is None or ws.state is State.CLOSED)
        if self._acked_updates < self._sent_updates:
            raise ConnectionError(f"connection closed ({self.close_code}) before every update was acknowledged")
        return self.last_seq or 0

    async def call(self, method: str, **params: Any) -> Any:
        """Call a JSON-RPC method on this socket; raise :class:`RpcError` on an error reply."""
        assert self.ws is not None
        id_ = next(self._ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[id_] = fut
        try:
            await self.ws.send(orjson.dumps({"jsonrpc": "2.0", "id": id_, "method": method, "params": params}).decode())
        except BaseException:
            self._pending.pop(id_, None)
            fut.cancel()
            raise
        return await fut

    async def send_presence(self, **state: Any) -> None:
        assert self.ws is not None
        await self.ws.send(orjson.dumps({"type": "presence", **state}).decode())

    async def wait_for_seq(self, seq: int) -> None:
        await self.wait_until(lambda: self.last_seq is not None and self.last_seq >= seq)

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` holds; it is re-checked after every incoming message."""
        async with self._changed:
            await self._changed.wait_for(predicate)

    async def wait_notification(self, method: str, predicate: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
        """Wait for a server notification ``method`` (matching ``predicate``) and return it."""

        def find() -> dict[str, Any] | None:
            return next((n for n in self.notifications
                         if n.get("method") == method and (predicate is None or predicate(n))), None)

        await self.wait_until(lambda: find() is not None)
        found = find()
        assert found is not None
        return found

    async def wait_closed(self) -> int | None:
        """Wait until the server closed this connection; return its close code."""
        if self._reader is not None:
            await asyncio.shield(self._reader)
        return self.close_code

    # -- receiving -----------------------------------------------------------------------
    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for message in ws:
                if isinstance(message, bytes):
                    await self._binary(ws, message)
                else:
                    await self._text(message)
                async with self._changed:
                    self._changed.notify_all()
        except ConnectionClosed:
            pass
        finally:
            self.close_code = ws.close_code
            self.close_reason = ws.close_reason or ""
            for fut in self._pending.values():  # their replies died with this connection
                if not fut.done():
                    fut.set_exception(ConnectionError(f"connection closed ({self.close_code}) before the reply"))
            self._pending.clear()
            async with self._changed:
                self._changed.notify_all()

    async def _binary(self, ws: ClientConnection, data: bytes) -> None:
        seq = None
        if data[0] == yproto.MSG_SEQ:
            decoder = Decoder(data[1:])
            seq = decoder.read_var_uint()
            data = data[1 + decoder.i0 :]
        if data[0] == 0:
            self._remote = True
            try:
                reply = handle_sync_message(data[1:], self.doc)
            finally:
                self._remote = False
            if reply is not None:  # our step-2 answer to the server's step 1: acked like an update
                self._sent_updates += 1
                await ws.send(reply)
        if seq is not None:
            event = data[:2] == b"\x00\x02"
            if event and self.on_event is not None:
                self.on_event(seq, data)
            await self._set_seq(seq, "event" if event else "sync")

    async def _set_seq(self, seq: int, why: str) -> None:
        if self.last_seq is None or seq > self.last_seq:
            self.last_seq = seq
        if self.on_seq is not None:
            self.on_seq(seq, why)

    async def _text(self, text: str) -> None:
        msg = orjson.loads(text)
        if isinstance(msg, list):
            for item in msg:
                self._rpc_reply(item)
            return
        kind = msg.get("type")
        if kind == "roomInfo":
            self.room_info = msg
            if msg["sync"] != "replay":  # the step-2 answer brings us to a seq
                self.last_seq = None
            self.epoch = msg["epoch"]
            self._joined.set()
        elif kind == "ack":
            self._acked_updates += 1
            await self._set_seq(msg["seq"], "ack")
        elif kind == "presence":
            self.presence[msg["session"]] = msg
        elif kind == "presenceLeft":
            self.presence.pop(msg["session"], None)
        elif kind == "presenceSnapshot":
            self.presence = {m["session"]: m for m in msg["sessions"]}
        elif "jsonrpc" in msg:
            if "method" in msg:
                self.notifications.append(msg)
                params = msg.get("params")
                if msg["method"] == "rooms.renamed" and isinstance(params, dict) and isinstance(params.get("name"), str):
                    self.room_info = {**self.room_info, "name": params["name"]}  # the name is announced, not in the doc
            else:
                self._rpc_reply(msg)

    def _rpc_reply(self, msg: dict[str, Any]) -> None:
        fut = self._pending.pop(msg.get("id"), None)  # type: ignore[arg-type]
        if fut is None or fut.done():
            return
        if "error" in msg:
            fut.set_exception(RpcError(msg["error"]))
        else:
            fut.set_result(msg.get("result"))
