"""The hub: every room, the image store, the metrics and the export service, plus where
outbound frames go.

The hub is synchronous and owns no sockets. The WebSocket adapter installs a
:class:`Delivery` so that changes made by commands (JSON-RPC or REST) reach connected
clients the same way client updates do; without one (unit tests, REST-only use) frames
simply have nobody to go to (:class:`NoDelivery`). The export service sees the hub only as
:class:`annotd.exports.Rooms`.

Big rooms (``RoomLimits.inline_encode_bytes``) are never encoded or rebuilt whole on the
loop: their snapshots are taken by :mod:`annotd.snapshots`, history reads are answered by
the state worker (:meth:`Hub.read_view`), exports get the state as parts.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar

import orjson
from pycrdt import Doc

from .canvas import ops
from .canvas.live import LiveCanvas
from .canvas.model import CanvasView
from .config import Config
from .docstate import StateParts
from .errors import Conflict, InvalidParams, LimitReached, MeasureFirst, RoomNotFound
from .exports import ExportService
from .history import Event, Snapshot
from .identifiers import check_room_id, is_id
from .images import ImageStore, StoredImage
from .metrics import Metrics
from .room import Outbound, Room, RoomLimits
from .snapshots import Snapshots
from .stateworker import StateWorker

log = logging.getLogger("annotd.hub")
T = TypeVar("T")
_MEASURED: ContextVar[bool] = ContextVar("annotd_measured", default=False)
"""True while :meth:`Hub.run_measured` retries a change after measuring its room."""


class Delivery(Protocol):
    def deliver(self, room_id: str, outbounds: Iterable[Outbound]) -> None: ...

    def room_deleted(self, room_id: str) -> None: ...


class NoDelivery:
    """Where frames go before a WebSocket adapter is installed: nowhere."""

    def deliver(self, room_id: str, outbounds: Iterable[Outbound]) -> None:
        return None

    def room_deleted(self, room_id: str) -> None:
        return None


class Hub:
    def __init__(self, config: Config, *, clock: Callable[[], float] = time.time,
                 metrics: Metrics | None = None) -> None:
        self.config = config
        self.clock = clock
        self.rooms: dict[str, Room] = {}
        self.canvases: dict[str, LiveCanvas] = {}
        self.images = ImageStore()
        self.metrics = metrics if metrics is not None else Metrics()
        self.delivery: Delivery = NoDelivery()
        self.exports = ExportService(self, config.export, metrics=self.metrics)
        self.metrics.watch(rooms=lambda: len(self.rooms), rooms_active=self.rooms_active,
                           export_queue_depth=lambda: self.exports.pending,
                           export_bytes_held=lambda: self.exports.held_bytes,
                           image_bytes=lambda: self.images.total_bytes)
        lim, rc, hc = config.limits, config.rooms, config.history
        self.room_limits = RoomLimits(
            max_clients=lim.max_clients_per_room,
            presence_ttl_s=rc.presence_ttl_s,
            presence_min_interval_s=1.0 / lim.presence_max_hz if lim.presence_max_hz > 0 else 0.0,
            presence_rebroadcast_s=rc.presence_rebroadcast_s,
            snapshot_every_ops=hc.snapshot_every_ops,
            snapshot_every_s=hc.snapshot_every_s,
            snapshots_kept=hc.snapshots_kept,
            snapshot_every_bytes=hc.snapshot_every_bytes,
            reconstruct_cache=hc.reconstruct_cache,
            max_document_bytes=lim.max_document_bytes,
        )
        self.states = StateWorker()
        self.snapshots = Snapshots(self.states, self.clock, self.metrics, self._snapshot_created,
                                   alive=lambda room: self.rooms.get(room.id) is room)
        self.freed_bytes = 0
        """Bytes of document state dropped by deleted rooms since the daemon last gave
        memory back to the system (see :mod:`annotd.memtrim`)."""

    # -- rooms ---------------------------------------------------------------------------
    def create_room(self, room_id: str | None = None, name: str | None = None, *,
                    created_at: float | None = None, initialise: bool = True) -> Room:
        """A new, empty room; ``initialise=False`` leaves the document untouched (a loaded
        bundle brings its own schema version) and ``created_at`` keeps a saved creation time."""
        if room_id is None:
            room_id = secrets.token_urlsafe(9)
        check_room_id(room_id, "id")
        if room_id in self.rooms:
            raise Conflict(f"room {room_id!r} already exists", data={"field": "id"})
        if len(self.rooms) >= self.config.limits.max_rooms:
            raise LimitReached(f"the server already has {self.config.limits.max_rooms} rooms")
        room = Room(room_id, name or room_id, self.clock() if created_at is None else created_at, self.room_limits)
        self.rooms[room_id] = room
        self.canvases[room_id] = LiveCanvas()
        if initialise:
            room.apply_local("annotd", ops.ensure_schema, self.clock(), check=False)
        log.info("room created", extra={"roomId": room_id})
        return room

    def room(self, room_id: str) -> Room:
        room = self.rooms.get(room_id)
        if room is None:
            raise RoomNotFound(room_id)
        return room

    def rooms_active(self) -> int:
        """Rooms with at least one connected client."""
        return sum(1 for r in self.rooms.values() if r.sessions)

    def room_for_join(self, room_id: str) -> Room:
        """The room a socket asks for, created on the fly when ``rooms.auto_create`` is on."""
        room = self.rooms.get(room_id)
        if room is None and self.config.rooms.auto_create and is_id(room_id):
            room = self.create_room(room_id)
        if room is None:
            raise RoomNotFound(room_id)
        return room

    def delete_room(self, room_id: str) -> None:
        room = self.room(room_id)
        self.delivery.room_deleted(room_id)
        del self.rooms[room_id]
        del self.canvases[room_id]
        self.snapshots.forget(room)
        self.freed_bytes += room.state_bytes + room.history.log.byte_size() + sum(
            len(s.blob) for s in room.history.snapshots)
        room.close()
        self.images.release_room(room_id)
        log.info("room deleted", extra={"roomId": room_id})

    # -- changes -------------------------------------------------------------------------
    def mutate(self, room_id: str, user_id: str, fn: Callable[[Doc], T], *, check: bool = True,
               measured: bool = False) -> tuple[T, Event | None]:
        """Apply a server-side change as one sequenced update and deliver it. ``check``: an
        API change, refused when the document is at its size limit (``DocumentTooLarge``,
        or ``MeasureFirst``: see :func:`annotd.commands.base.invoke`)."""
        room = self.room(room_id)
        result, event, out = room.apply_local(user_id, fn, self.clock(), check=check,
                                              measured=measured or _MEASURED.get())
        if event is not None:
            self.metrics.updates_sequenced += 1
            log.debug("update", extra={"roomId": room_id, "seq": event.seq, "userId": user_id})
        self.delivery.deliver(room_id, out)
        if event is not None:
            self.snapshots.after_change(room)
        return result, event

    def change(self, room_id: str, user_id: str, fn: Callable[[Doc], T], *, measured: bool = False) -> tuple[T, int]:
        """:meth:`mutate`, answering the seq the room is at afterwards: the change's own, or
        the unchanged head when ``fn`` wrote nothing (what every command returns)."""
        result, event = self.mutate(room_id, user_id, fn, measured=measured)
        return result, event.seq if event is not None else self.room(room_id).head

    async def run_measured(self, call: Callable[[], Awaitable[T]]) -> T:
        """``await call()``; if a change in it found its room's size figure stale
        (``MeasureFirst``: nothing was written), measure the room and call once more,
        this time deciding on the measured figure."""
        try:
            return await call()
        except MeasureFirst as exc:
            await self.measure(exc.room_id)
        token = _MEASURED.set(True)
        try:
            return await call()
        finally:
            _MEASURED.reset(token)

    async def measure(self, room_id: str) -> None:
        """Make the room's size figure exact (a snapshot, off the relay path; see
        :class:`annotd.errors.MeasureFirst`)."""
        room = self.rooms.get(room_id)
        if room is not None:
            await self.snapshots.measure(room)

    def notify(self, room_id: str, method: str, params: dict[str, Any], *, session: str | None = None) -> None:
        """A JSON-RPC notification to the room's annotd.v1 sessions (or to ``session`` alone);
        nothing if the room is gone."""
        room = self.rooms.get(room_id)
        if room is not None:
            self.delivery.deliver(room_id, room.notify(method, params, session=session))

    def set_image(self, room_id: str, image: StoredImage, user_id: str) -> int:
        """Store ``image`` and make it the room's base image; returns the seq."""
        self.images.put(room_id, image)
        _, seq = self.change(room_id, user_id, lambda doc: ops.set_image(doc, image.ref()))
        return seq

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    # -- the materialized view ---------------------------------------------------------
    def resolve_seq(self, room_id: str, seq: int | None, tag: str | None) -> int:
        """The seq a request names: the tag's, else ``seq`` (checked: retained), else the head.

        Raises ``RoomNotFound``, ``NotFound`` (tag), ``InvalidParams`` (both given, or a seq
        in the future), ``Gone`` (a pruned seq)."""
        room = self.room(room_id)
        if tag is not None:
            if seq is not None:
                raise InvalidParams("tag", "give seq or tag, not both")
            seq = room.history.version(tag).seq
        if seq is None:
            return room.head
        room.history.check_seq(seq)
        return seq

    def view(self, room_id: str, seq: int | None = None, tag: str | None = None) -> tuple[int, CanvasView]:
        """The one materialized view, at the head (cached) or at a retained seq or tag.

        Built on the loop: for a big room use :meth:`read_view`."""
        seq = self.resolve_seq(room_id, seq, tag)
        room = self.room(room_id)
        if seq == room.head:
            return seq, self.canvases[room_id].view(room.doc, seq)
        return seq, LiveCanvas().view(room.history.doc_at(seq), seq)

    async def read_view(self, room_id: str, seq: int, project: Callable[..., dict[str, Any]], *args: Any,
                        fragment: bool = True) -> Any:
        """``{"seq": seq, **project(view, *args)}`` for the view at retained ``seq``: built
        here for a small room; for a big one, built and serialised by the state worker and
        answered as an ``orjson.Fragment`` to send as is (``fragment=False``: parsed back,
        for small answers the caller reads). ``project`` must be a module-level function."""
        room = self.room(room_id)
        if not room.is_big:
            _, view = self.view(room_id, seq)
            return {"seq": seq, **project(view, *args)}
        data = await self.states.project(room.history.parts_at(seq), project, *args)
        return orjson.Fragment(data) if fragment else orjson.loads(data)

    async def snapshot_at(self, room_id: str, seq: int) -> Snapshot:
        """The state at retained ``seq`` as a snapshot (built off the loop for a big room)."""
        return await self.snapshots.at(self.room(room_id), seq)

    # -- what the export service reads (annotd.exports.Rooms) ---------------------------
    def state_parts(self, room_id: str, seq: int) -> StateParts:
        return self.room(room_id).history.parts_at(seq)

    def current_image(self, room_id: str) -> str | None:
        ref = self.room(room_id).image_ref()
        sha = ref.get("sha256") if ref else None
        return sha if isinstance(sha, str) else None

    def image_bytes(self, sha256: str) -> bytes | None:
        stored = self.images.get(sha256)
        return stored.data if stored is not None else None

    # -- periodic work -------------------------------------------------------------------
    def tick(self) -> None:
        """Every room's periodic work (the daemon calls this every ``TICK_S``): orphaned
        comment threads, presence expiry and rebroadcast, the snapshot policy."""
        now = self.clock()
        for room in list(self.rooms.values()):
            self.detach_orphaned_threads(room)
            t0 = time.perf_counter()
            snap, out = room.tick(now, offload=True)
            if snap is not None:  # the tick's other work (presence) is microseconds
                self.metrics.snapshot_seconds.observe(time.perf_counter() - t0)
            if out:
                self.delivery.deliver(room.id, out)
            if snap is not None:
                self._snapshot_created(room, snap.seq)
            self.snapshots.tick(room, now)

    def detach_orphaned_threads(self, room: Room) -> None:
        """Detach comment threads whose annotation a client deleted, where each pin last was
        (one server update), and anchor again those whose annotation came back; cheap when
        the head did not move. Called by the tick."""
        canvas = self.canvases.get(room.id)
        if canvas is None or canvas.checked_seq == room.head:
            return
        # A big room's pins come from the last check (50 ms old) rather than a replay,
        # which would rebuild its document on the loop.
        pins = canvas.orphan_pins(room.doc, room.history.replay_from if not room.is_big else _no_replay)
        if pins:
            self.mutate(room.id, "annotd", lambda doc: ops.detach_threads(doc, pins), check=False)
        back = canvas.returned(room.doc)
        if back:
            self.mutate(room.id, "annotd", lambda doc: ops.reattach_threads(doc, back), check=False)
        canvas.track(room.doc, room.head)

    async def snapshot(self, room_id: str) -> int:
        """``snapshots.create``: snapshot the head now (off the loop for a big room)."""
        return await self.snapshots.take(self.room(room_id))

    def _snapshot_created(self, room: Room, seq: int) -> None:
        self.notify(room.id, "snapshots.created", {"roomId": room.id, "seq": seq})



def _no_replay(seq: int) -> None:
    return None
