"""The hub: every live room, the image store, the metrics and the export service.

The hub is synchronous and owns no sockets. It creates, finds and deletes
:class:`~annotd.live.liveroom.LiveRoom` objects; everything a live room needs while it exists
(its canvas, peers, snapshot schedule, image references) is held by the room itself, and
every change to a room goes through the room's door (:meth:`LiveRoom.apply`,
:meth:`LiveRoom.receive`). The WebSocket adapter installs itself as the rooms' delivery
(:attr:`Hub.delivery`); without one (unit tests, REST-only use) frames simply have nobody
to go to. The export service sees the hub only as :class:`annotd.services.renders.Rooms`, commands
see a room only as :class:`annotd.live.access.RoomAccess`.

Big rooms (``RoomLimits.inline_encode_bytes``) are never encoded or rebuilt whole on the
loop: their snapshots are taken by :mod:`annotd.live.snapshots`, history reads are answered by
the state worker, exports get the state as parts.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import heapq
import itertools
import logging
import secrets
import time
import weakref
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from typing import Any, Protocol

from ..base import memtrim
from ..base.config import Config
from ..base.docstate import StateParts
from ..base.errors import CLOSE_ROOM_DELETED, Conflict, LimitReached, RoomNotFound
from ..base.identifiers import check_room_id, is_id
from ..base.metrics import Metrics
from ..canvas import ops
from ..core.images import ImageStore, StoredImage
from ..core.limits import RoomLimits
from ..core.room import Room
from ..services.renders import ExportService
from ..services.states import StateWorker
from .access import RoomAbout, RoomAccess
from .durability import RoomLog
from .liveroom import Delivery, LiveRoom, Services, describe_document
from .loading import IdleRooms, Shelf

log = logging.getLogger("annotd.hub")


class Storage(Protocol):
    """The room store as the hub sees it (``rooms.data_dir``; :mod:`annotd.process.persist`)."""

    def created(self, live: LiveRoom) -> RoomLog:
        """Write a new room (its state now as its first snapshot, its images and versions)
        and return its log; its head is durable once that write commits."""

    def delete(self, room_id: str) -> Future[None]:
        """Remove a room that is not loaded from the store; resolves once that is durable."""


class Hub:
    def __init__(self, config: Config, *, clock: Callable[[], float] = time.time,
                 metrics: Metrics | None = None) -> None:
        self.config = config
        self.rooms: dict[str, LiveRoom] = {}
        self.images = ImageStore()
        self.metrics = metrics if metrics is not None else Metrics()
        self.states = StateWorker()
        self.services = Services(clock, self.metrics, self.states, self.images, wake=self._wake, left=self.left)
        self.awake: dict[str, LiveRoom] = {}
        self._timers: list[tuple[float, int, weakref.ref[LiveRoom]]] = []
        """Sleeping rooms by when they are due again (:meth:`LiveRoom.due_at`); weakly, so a
        deleted room's memory is not held until then."""
        self._timer_ids = itertools.count()
        """The rooms the periodic tick visits: those with something to do (:meth:`LiveRoom.needs_tick`)."""
        self.exports = ExportService(self, config.export, metrics=self.metrics)
        self.metrics.watch(rooms=self.room_count, rooms_active=self.rooms_active,
                           export_queue_depth=lambda: self.exports.pending,
                           export_bytes_held=lambda: self.exports.held_bytes,
                           image_bytes=lambda: self.images.total_bytes)
        self.room_limits = RoomLimits.of(config)
        self.storage: Storage | None = None
        """The room store (``rooms.data_dir``), installed by the daemon before it listens."""
        self.shelf: Shelf | None = None
        """The stored rooms not in memory (with ``rooms.data_dir``; see :mod:`annotd.live.loading`)."""
        self.idle = IdleRooms()
        """Loaded rooms nobody is connected to, by last use (what unloading looks at)."""
        self.uses: dict[str, int] = {}
        """Room id → commands, uploads and imports using it now (such a room is not unloaded)."""
        self._ids: list[str] | None = None
        """The room ids in order, for listing a page (``None``: rebuilt at the next listing)."""
        self.rooms_closed = 0
        """Loaded rooms closed so far (deleted or unloaded): the collector policy's churn."""
        self.freed_bytes = 0
        """Bytes of document state dropped by deleted rooms since the daemon last gave
        memory back to the system (see :mod:`annotd.base.memtrim`)."""

    @property
    def durable(self) -> bool:
        """Whether every acknowledged change is on disk (a room store is installed and every
        room writes through it): what the page is told about keeping rooms."""
        return self.storage is not None

    @property
    def clock(self) -> Callable[[], float]:
        """The time source of the hub and every live room (tests replace it)."""
        return self.services.clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        self.services.clock = clock

    @property
    def delivery(self) -> Delivery:
        return self.services.delivery

    @delivery.setter
    def delivery(self, delivery: Delivery) -> None:
        self.services.delivery = delivery

    # -- rooms ---------------------------------------------------------------------------
    def new_room(self, room_id: str | None = None, name: str | None = None, *,
                 created_at: float | None = None) -> LiveRoom:
        """A new, empty live room not yet in :attr:`rooms` (nobody can join it until
        :meth:`add_room`): a loaded bundle is built in it first. Raises as :meth:`add_room`."""
        if room_id is None:
            room_id = secrets.token_urlsafe(9)
        check_room_id(room_id, "id")
        self._check_free(room_id)
        return self.blank_room(room_id, name or room_id, self.clock() if created_at is None else created_at)

    def blank_room(self, room_id: str, name: str, created_at: float) -> LiveRoom:
        """An empty live room, unchecked (one being loaded from the store is still listed)."""
        return LiveRoom(Room(room_id, name, created_at, self.room_limits, describe=describe_document), self.services)

    def _check_free(self, room_id: str) -> None:
        if self.exists(room_id):
            raise Conflict(f"room {room_id!r} already exists", data={"field": "id"})
        if self.room_count() >= self.config.limits.max_rooms:
            raise LimitReached(f"the server already has {self.config.limits.max_rooms} rooms")

    def add_room(self, live: LiveRoom) -> LiveRoom:
        """Make a room from :meth:`new_room` reachable. Raises ``Conflict`` if its id was
        taken meanwhile and ``LimitReached`` past ``limits.max_rooms``."""
        self._check_free(live.id)
        if self.storage is not None and live.log is None:
            live.log = self.storage.created(live)
        self.rooms[live.id] = live
        self.idle.touch(live.id, self.clock())
        self._ids = None
        log.info("room created", extra={"roomId": live.id})
        return live

    def create_room(self, room_id: str | None = None, name: str | None = None) -> LiveRoom:
        """A new room with the document schema written (the server's first change to it)."""
        live = self.new_room(room_id, name)
        live.upkeep(ops.ensure_schema)
        return self.add_room(live)

    def live(self, room_id: str) -> LiveRoom:
        """A loaded room (see :meth:`open` for one that may be on the shelf)."""
        live = self.rooms.get(room_id)
        if live is None:
            raise RoomNotFound(room_id)
        return live

    def room(self, room_id: str) -> RoomAccess:
        """A loaded room as commands see it (the command's dispatch loaded it); raises
        ``RoomNotFound``."""
        return self.live(room_id)

    async def open(self, room_id: str) -> LiveRoom:
        """The room, loaded from the store first if it is on the shelf (one load however
        many ask at once; held in memory until the caller resumes). Raises
        ``RoomNotFound``, or ``RoomDamaged`` for a room that fails its checks on disk."""
        live = self.rooms.get(room_id)
        if live is not None:
            return live
        if self.shelf is not None and (room_id in self.shelf or room_id in self.shelf.loading):
            self._hold(room_id)
            try:
                return await self.shelf.open(room_id)
            finally:
                self._release(room_id)
        raise RoomNotFound(room_id)

    def exists(self, room_id: str) -> bool:
        """Whether the room exists, loaded or not."""
        return room_id in self.rooms or (self.shelf is not None and room_id in self.shelf)

    def room_count(self) -> int:
        """Every room, loaded or not (what ``limits.max_rooms`` counts)."""
        return len(self.rooms) + (len(self.shelf) if self.shelf is not None else 0)

    def about(self, room_id: str) -> RoomAbout:
        """What listing the room answers, without loading it; raises ``RoomNotFound``."""
        live = self.rooms.get(room_id)
        if live is not None:
            return live
        shelved = self.shelf.rooms.get(room_id) if self.shelf is not None else None
        if shelved is None:
            raise RoomNotFound(room_id)
        return shelved

    def listing(self) -> list[RoomAbout]:
        """Every room, loaded or not, by id."""
        about: dict[str, RoomAbout] = dict(self.rooms)
        if self.shelf is not None:
            about.update(self.shelf.rooms)
        return [about[k] for k in sorted(about)]

    @contextlib.asynccontextmanager
    async def using(self, room_id: str) -> AsyncIterator[None]:
        """Hold ``room_id`` in memory while a command, upload or import uses it (loading it
        first if it is on the shelf)."""
        self._hold(room_id)
        try:
            if room_id not in self.rooms and self.shelf is not None:
                await self.open(room_id)
            yield
        finally:
            self._release(room_id)

    def _hold(self, room_id: str) -> None:
        self.uses[room_id] = self.uses.get(room_id, 0) + 1

    def _release(self, room_id: str) -> None:
        left = self.uses[room_id] - 1
        if left:
            self.uses[room_id] = left
            return
        del self.uses[room_id]
        if room_id in self.rooms:  # its idle time starts now (a join meanwhile puts it aside)
            self.idle.touch(room_id, self.clock())

    def room_ids(self, *, after: str | None = None, limit: int) -> list[str]:
        """Up to ``limit`` room ids, loaded or not, in order, those after ``after`` (a page of
        ``rooms.list``: the order is kept between listings, so walking every page costs a
        sort once)."""
        if self._ids is None or len(self._ids) != self.room_count():
            ids = set(self.rooms)
            if self.shelf is not None:
                ids.update(self.shelf.rooms)
            self._ids = sorted(ids)
        start = 0 if after is None else bisect.bisect_right(self._ids, after)
        return self._ids[start:start + limit]

    def rooms_active(self) -> int:
        """Rooms with at least one connected client."""
        return sum(1 for r in self.rooms.values() if r.peers)

    async def room_for_join(self, room_id: str) -> LiveRoom:
        """The room a socket asks for (loaded if it is on the shelf), created on the fly
        when ``rooms.auto_create`` is on."""
        if not self.exists(room_id) and self.config.rooms.auto_create and is_id(room_id):
            return self.create_room(room_id)
        return await self.open(room_id)

    def left(self, live: LiveRoom) -> None:
        """A session left ``live``: once nobody is connected, its idle time starts."""
        if not live.peers and self.rooms.get(live.id) is live:
            self.idle.touch(live.id, self.clock())

    async def delete_room(self, room_id: str) -> None:
        """Delete a room, loaded or not; with a store, return once the deletion is durable."""
        if self.shelf is not None:
            await self.shelf.settle(room_id)
        live = self.rooms.get(room_id)
        if live is None:
            if self.shelf is None or self.storage is None or room_id not in self.shelf:
                raise RoomNotFound(room_id)
            del self.shelf.rooms[room_id]
            self.shelf.damaged.pop(room_id, None)
            self._ids = None
            log.info("room deleted", extra={"roomId": room_id})
            await asyncio.wrap_future(self.storage.delete(room_id))
            return
        del self.rooms[room_id]
        self.idle.forget(room_id)
        self._ids = None
        deleted = live.log.delete() if live.log is not None else None
        if self.awake.get(room_id) is live:
            del self.awake[room_id]
        self.freed_bytes += memtrim.ROOM_OVERHEAD_BYTES + live.close(CLOSE_ROOM_DELETED, "room deleted")
        self._drop_timer()
        self.rooms_closed += 1
        log.info("room deleted", extra={"roomId": room_id})
        if deleted is not None:
            await asyncio.wrap_future(deleted)

    # -- loading and unloading (rooms.data_dir) ------------------------------------------
    def installed(self, live: LiveRoom) -> None:
        """A room just loaded from the store becomes reachable (the shelf calls this)."""
        self.rooms[live.id] = live
        self.idle.touch(live.id, self.clock())

    def unload_idle(self, now: float) -> int:
        """Put back on the shelf every room idle for ``rooms.unload_idle_s`` that can go
        (see :mod:`annotd.live.loading`); returns how many went."""
        idle_s = self.config.rooms.unload_idle_s
        if self.shelf is None or idle_s <= 0:
            return 0
        unloaded = 0
        for room_id in self.idle.due(now, idle_s):
            live = self.rooms.get(room_id)
            if live is None or live.peers or room_id in self.uses:
                self.idle.forget(room_id)  # gone, or its last session's leave or use's end touches it again
            elif live.ticking or live.snapshots.building or not live.settled() or self.exports.busy(room_id):
                self.idle.touch(room_id, now)  # not yet: looked at again after another idle period
            else:
                self._unload(live)
                unloaded += 1
        return unloaded

    def _unload(self, live: LiveRoom) -> None:
        assert self.shelf is not None
        shelved = self.shelf.source.shelve(live)
        del self.rooms[live.id]
        self.idle.forget(live.id)
        self.shelf.rooms[live.id] = shelved
        self.freed_bytes += memtrim.ROOM_OVERHEAD_BYTES + live.close(CLOSE_ROOM_DELETED, "room unloaded")
        self._drop_timer()
        self.rooms_closed += 1
        log.info("room unloaded", extra={"roomId": live.id, "seq": shelved.head})

    def notify(self, room_id: str, method: str, params: dict[str, Any], *, session: str | None = None) -> None:
        """A JSON-RPC notification to the room's annotd.v1 sessions (or to ``session`` alone);
        nothing if the room is gone."""
        live = self.rooms.get(room_id)
        if live is not None:
            live.notify(method, params, session=session)

    async def set_image(self, room_id: str, image: StoredImage, user_id: str) -> int:
        """Store ``image`` and make it the room's base image; returns the seq."""
        live = self.live(room_id)
        saved = live.add_image(image)
        if saved is not None:  # the change that shows it is made once the image is on disk
            await asyncio.wrap_future(saved)
        return (await live.apply(user_id, lambda doc: ops.set_image(doc, image.ref()))).seq

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    # -- what the export service reads (annotd.services.renders.Rooms) ---------------------------
    def resolve_seq(self, room_id: str, seq: int | None, tag: str | None) -> int:
        return self.live(room_id).resolve_seq(seq, tag)

    async def state_parts(self, room_id: str, seq: int) -> StateParts:
        """The state at reachable ``seq`` as data: at once from memory (no await, so the
        head's parts are taken with the head), or read from the room store's deeper history."""
        return await self.live(room_id).past.parts(seq)

    def current_image(self, room_id: str) -> str | None:
        ref = self.live(room_id).image_ref()
        sha = ref.get("sha256") if ref else None
        return sha if isinstance(sha, str) else None

    def image_bytes(self, sha256: str) -> bytes | None:
        stored = self.images.get(sha256)
        return stored.data if stored is not None else None

    # -- periodic work -------------------------------------------------------------------
    def _wake(self, live: LiveRoom) -> None:
        if not live.closed:
            live.ticking = True
            self.awake[live.id] = live

    def tick(self) -> None:
        """The periodic work of every room that has some (the daemon calls this every
        ``TICK_S``): idle rooms are not visited, so they cost nothing however many there are
        (those idle for ``rooms.unload_idle_s`` are unloaded)."""
        now = self.clock()
        if self.shelf is not None and len(self.idle):
            self.unload_idle(now)
        timers = self._timers
        while timers and timers[0][0] <= now:
            _, _, ref = heapq.heappop(timers)
            if (due := ref()) is not None and not due.ticking and self.rooms.get(due.id) is due:
                self._wake(due)
        for room_id, live in list(self.awake.items()):
            if not live.closed:
                live.tick(now)
            if live.closed or not live.needs_tick():
                live.ticking = False
                if self.awake.get(room_id) is live:
                    del self.awake[room_id]
                if not live.closed and (at := live.due_at()) is not None:
                    heapq.heappush(timers, (at, next(self._timer_ids), weakref.ref(live)))

    def _drop_timer(self) -> None:
        """A room was closed: once the timers outnumber twice the rooms, keep each live
        room's earliest entry only (a later one of the same room is re-made when that one
        fires). A closed room's entries (a tuple, a weak reference, a time) would otherwise
        stay until they came due, and a few thousand of them, allocated among the deleted
        rooms' objects, keep the interpreter's memory arenas those objects used from being
        returned (BENCHMARKS.md, "Round two, continued")."""
        if len(self._timers) <= 2 * len(self.rooms):
            return
        earliest: dict[str, tuple[float, int, weakref.ref[LiveRoom]]] = {}
        for entry in self._timers:
            live = entry[2]()
            if live is None or live.closed:
                continue
            kept = earliest.get(live.id)
            if kept is None or entry < kept:
                earliest[live.id] = entry
        self._timers = list(earliest.values())
        heapq.heapify(self._timers)

    async def close(self) -> None:
        """Stop every room's snapshot build and the state worker (daemon shutdown)."""
        for live in list(self.rooms.values()):
            await live.snapshots.close()
        await self.states.close()
