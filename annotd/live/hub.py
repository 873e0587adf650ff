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
import heapq
import itertools
import logging
import secrets
import time
import weakref
from collections.abc import Callable
from typing import Any, Protocol

from ..base import memtrim
from ..base.config import Config
from ..base.docstate import StateParts
from ..base.errors import CLOSE_ROOM_DELETED, Conflict, LimitReached, RoomNotFound
from ..base.identifiers import check_room_id, is_id
from ..base.metrics import Metrics
from ..canvas import ops
from ..core.images import ImageStore, StoredImage
from ..core.room import Room, RoomLimits
from ..services.renders import ExportService
from ..services.states import StateWorker
from .access import RoomAccess
from .durability import RoomLog
from .liveroom import Delivery, LiveRoom, Services, describe_document

log = logging.getLogger("annotd.hub")


class Storage(Protocol):
    """The room store as the hub sees it (``rooms.data_dir``; :mod:`annotd.process.persist`)."""

    def created(self, live: LiveRoom) -> RoomLog:
        """Write a new room (its state now as its first snapshot, its images and versions)
        and return its log; its head is durable once that write commits."""


class Hub:
    def __init__(self, config: Config, *, clock: Callable[[], float] = time.time,
                 metrics: Metrics | None = None) -> None:
        self.config = config
        self.rooms: dict[str, LiveRoom] = {}
        self.images = ImageStore()
        self.metrics = metrics if metrics is not None else Metrics()
        self.states = StateWorker()
        self.services = Services(clock, self.metrics, self.states, self.images, wake=self._wake)
        self.awake: dict[str, LiveRoom] = {}
        self._timers: list[tuple[float, int, weakref.ref[LiveRoom]]] = []
        """Sleeping rooms by when they are due again (:meth:`LiveRoom.due_at`); weakly, so a
        deleted room's memory is not held until then."""
        self._timer_ids = itertools.count()
        """The rooms the periodic tick visits: those with something to do (:meth:`LiveRoom.needs_tick`)."""
        self.exports = ExportService(self, config.export, metrics=self.metrics)
        self.metrics.watch(rooms=lambda: len(self.rooms), rooms_active=self.rooms_active,
                           export_queue_depth=lambda: self.exports.pending,
                           export_bytes_held=lambda: self.exports.held_bytes,
                           image_bytes=lambda: self.images.total_bytes)
        self.room_limits = RoomLimits.of(config)
        self.storage: Storage | None = None
        """The room store (``rooms.data_dir``), installed by the daemon before it listens."""
        self._ids: list[str] | None = None
        """The room ids in order, for listing a page (``None``: rebuilt at the next listing)."""
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
        room = Room(room_id, name or room_id, self.clock() if created_at is None else created_at, self.room_limits,
                    describe=describe_document)
        return LiveRoom(room, self.services)

    def _check_free(self, room_id: str) -> None:
        if room_id in self.rooms:
            raise Conflict(f"room {room_id!r} already exists", data={"field": "id"})
        if len(self.rooms) >= self.config.limits.max_rooms:
            raise LimitReached(f"the server already has {self.config.limits.max_rooms} rooms")

    def add_room(self, live: LiveRoom) -> LiveRoom:
        """Make a room from :meth:`new_room` reachable. Raises ``Conflict`` if its id was
        taken meanwhile and ``LimitReached`` past ``limits.max_rooms``."""
        self._check_free(live.id)
        if self.storage is not None and live.log is None:
            live.log = self.storage.created(live)
        self.rooms[live.id] = live
        self._ids = None
        log.info("room created", extra={"roomId": live.id})
        return live

    def create_room(self, room_id: str | None = None, name: str | None = None) -> LiveRoom:
        """A new room with the document schema written (the server's first change to it)."""
        live = self.new_room(room_id, name)
        live.upkeep(ops.ensure_schema)
        return self.add_room(live)

    def live(self, room_id: str) -> LiveRoom:
        live = self.rooms.get(room_id)
        if live is None:
            raise RoomNotFound(room_id)
        return live

    def room(self, room_id: str) -> RoomAccess:
        """A room as commands see it; raises ``RoomNotFound``."""
        return self.live(room_id)

    def room_ids(self, *, after: str | None = None, limit: int) -> list[str]:
        """Up to ``limit`` room ids in order, those after ``after`` (a page of ``rooms.list``:
        the order is kept between listings, so walking every page costs a sort once)."""
        if self._ids is None:
            self._ids = sorted(self.rooms)
        start = 0 if after is None else bisect.bisect_right(self._ids, after)
        return self._ids[start:start + limit]

    def rooms_active(self) -> int:
        """Rooms with at least one connected client."""
        return sum(1 for r in self.rooms.values() if r.peers)

    def room_for_join(self, room_id: str) -> LiveRoom:
        """The room a socket asks for, created on the fly when ``rooms.auto_create`` is on."""
        live = self.rooms.get(room_id)
        if live is None and self.config.rooms.auto_create and is_id(room_id):
            live = self.create_room(room_id)
        if live is None:
            raise RoomNotFound(room_id)
        return live

    def delete_room(self, room_id: str) -> None:
        live = self.live(room_id)
        del self.rooms[room_id]
        self._ids = None
        if live.log is not None:
            live.log.delete()
        if self.awake.get(room_id) is live:
            del self.awake[room_id]
        self.freed_bytes += memtrim.ROOM_OVERHEAD_BYTES + live.close(CLOSE_ROOM_DELETED, "room deleted")
        log.info("room deleted", extra={"roomId": room_id})

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

    def state_parts(self, room_id: str, seq: int) -> StateParts:
        return self.live(room_id).room.history.parts_at(seq)

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
        ``TICK_S``): idle rooms are not visited, so they cost nothing however many there are.
        A room that goes to sleep with work due later (the snapshot time rule) waits in a
        heap by that time, and is woken when it comes."""
        now = self.clock()
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

    async def close(self) -> None:
        """Stop every room's snapshot build and the state worker (daemon shutdown)."""
        for live in list(self.rooms.values()):
            await live.snapshots.close()
        await self.states.close()
