"""The hub: every room, the image store and the metrics, plus where outbound frames go.

The hub is synchronous and owns no sockets. The WebSocket adapter installs a
:class:`Delivery` so that changes made by commands (JSON-RPC or REST) reach connected
clients the same way client updates do; without one (unit tests, REST-only use) frames
simply have nobody to go to.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

from pycrdt import Doc

from .canvas import mutations
from .canvas.live import LiveCanvas
from .canvas.model import CanvasView
from .config import Config
from .errors import Conflict, InvalidParams, LimitReached, RoomNotFound
from .history import Event
from .images import ImageStore, StoredImage
from .metrics import Metrics
from .room import Outbound, Room, RoomLimits

log = logging.getLogger("annotd.hub")
ROOM_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
T = TypeVar("T")


class Delivery(Protocol):
    def deliver(self, room_id: str, outbounds: Iterable[Outbound]) -> None: ...

    def room_deleted(self, room_id: str) -> None: ...


class _Nobody:
    def deliver(self, room_id: str, outbounds: Iterable[Outbound]) -> None:
        return None

    def room_deleted(self, room_id: str) -> None:
        return None


def check_room_id(room_id: str, field: str = "roomId") -> str:
    if not isinstance(room_id, str) or not ROOM_ID_RE.fullmatch(room_id):
        raise InvalidParams(field, "must match [A-Za-z0-9_-]{1,64}")
    return room_id


class Hub:
    def __init__(self, config: Config, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.rooms: dict[str, Room] = {}
        self.canvases: dict[str, LiveCanvas] = {}
        self.images = ImageStore()
        self.metrics = Metrics()
        self.delivery: Delivery = _Nobody()
        from .exports import ExportService  # late: exports imports the renderer, which is heavy

        self.exports = ExportService(self)
        lim, rc, hc = config.limits, config.rooms, config.history
        self.room_limits = RoomLimits(
            max_clients=lim.max_clients_per_room,
            presence_ttl_s=rc.presence_ttl_s,
            presence_min_interval_s=1.0 / lim.presence_max_hz if lim.presence_max_hz > 0 else 0.0,
            presence_rebroadcast_s=rc.presence_rebroadcast_s,
            snapshot_every_ops=hc.snapshot_every_ops,
            snapshot_every_s=hc.snapshot_every_s,
            snapshots_kept=hc.snapshots_kept,
            reconstruct_cache=hc.reconstruct_cache,
        )

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
            room.apply_local("annotd", mutations.ensure_schema, self.clock())
        log.info("room created", extra={"roomId": room_id})
        return room

    def room(self, room_id: str) -> Room:
        room = self.rooms.get(room_id)
        if room is None:
            raise RoomNotFound(room_id)
        return room

    def room_for_join(self, room_id: str) -> Room:
        """The room a socket asks for, created on the fly when ``rooms.auto_create`` is on."""
        room = self.rooms.get(room_id)
        if room is None and self.config.rooms.auto_create and ROOM_ID_RE.fullmatch(room_id):
            room = self.create_room(room_id)
        if room is None:
            raise RoomNotFound(room_id)
        return room

    def delete_room(self, room_id: str) -> None:
        room = self.room(room_id)
        self.delivery.room_deleted(room_id)
        del self.rooms[room_id]
        del self.canvases[room_id]
        room.close()
        self.images.release_room(room_id)
        log.info("room deleted", extra={"roomId": room_id})

    # -- changes -------------------------------------------------------------------------
    def mutate(self, room_id: str, user_id: str, fn: Callable[[Doc], T]) -> tuple[T, Event | None]:
        """Apply a server-side change as one sequenced update and deliver it."""
        room = self.room(room_id)
        result, event, out = room.apply_local(user_id, fn, self.clock())
        if event is not None:
            self.metrics.updates_sequenced += 1
            log.debug("update", extra={"roomId": room_id, "seq": event.seq, "userId": user_id})
        self.delivery.deliver(room_id, out)
        return result, event

    def notify(self, room_id: str, method: str, params: dict[str, Any]) -> None:
        room = self.rooms.get(room_id)
        if room is not None:
            self.delivery.deliver(room_id, room.notify({"method": method, "params": params}))

    def set_image(self, room_id: str, image: StoredImage, user_id: str) -> Event | None:
        self.images.put(room_id, image)
        _, event = self.mutate(room_id, user_id, lambda doc: mutations.set_image(doc, image.ref()))
        return event

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    # -- the materialized view ---------------------------------------------------------
    def view(self, room_id: str, seq: int | None = None, tag: str | None = None) -> tuple[int, CanvasView]:
        """The one materialized view, at the head (cached) or at a retained seq or tag."""
        room = self.room(room_id)
        if tag is not None:
            if seq is not None:
                raise InvalidParams("tag", "give seq or tag, not both")
            seq = room.history.version(tag).seq
        if seq is None or seq == room.head:
            return room.head, self.canvases[room_id].view(room.doc, room.head)
        room.history.check_seq(seq)
        return seq, LiveCanvas().view(room.history.doc_at(seq), seq)

    def maintain(self, room: Room) -> None:
        """Periodic canvas upkeep: detach comment threads whose annotation a client deleted."""
        canvas = self.canvases.get(room.id)
        if canvas is None or canvas.checked_seq == room.head:
            return
        orphans = canvas.orphaned(room.doc)
        if orphans:
            start = canvas.checked_seq
            if start >= 0 and room.history.is_retained(start) and room.history.log.covers_after(start):
                updates = [e.update for e in room.history.log.after(start)]
                pins = canvas.last_pins(orphans, room.history.doc_at(start), updates)
            else:  # nothing to replay from: the last tracked pins (or the anchors' own x, y)
                pins = {tid: (aid, fallback) for tid, (aid, _, _, fallback) in orphans.items()}
            self.mutate(room.id, "annotd", lambda doc: mutations.detach_threads(doc, pins))
        canvas.track(room.doc, room.head)

    def snapshot(self, room_id: str) -> int:
        room = self.room(room_id)
        snap = room.snapshot(self.clock())
        self.notify(room_id, "snapshots.created", {"roomId": room_id, "seq": snap.seq})
        return snap.seq

