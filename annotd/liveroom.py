"""One live room: the sans-I/O :class:`~annotd.room.Room` plus everything the daemon keeps
for it while it exists, and the one door every change goes through.

Why one object: a room's live state used to be spread over maps keyed by room id (rooms,
their live canvases, the sockets in each, snapshot builds, flags written into the room by
other modules), and every ``await`` had to be followed by a check that the room was still
the one in the map. A :class:`LiveRoom` owns its :class:`~annotd.canvas.live.LiveCanvas`,
its peers (the connections of its sessions, typed by :class:`Peer` so this layer never
imports the socket adapter), its :class:`~annotd.snapshots.SnapshotSchedule` and its image
references; :attr:`LiveRoom.closed` says whether it was deleted, and :meth:`LiveRoom.close`
is all that deleting it takes.

The door: a client's frame enters by :meth:`LiveRoom.receive`, every other change (a
command, an import, a bundle's steps, the room's creation) by :meth:`LiveRoom.apply`, the
server's own upkeep by :meth:`LiveRoom.upkeep`. Each measures the document and retries when
the size limit's running figure is stale (:class:`~annotd.errors.MeasureFirst`), and each
ends in :meth:`LiveRoom._committed`, the one place that delivers a change, counts it and
asks the snapshot policy. Nothing is delivered when nobody is connected.

Reads (:mod:`annotd.access`) choose the loop or the state worker by the room's size
(``RoomLimits.inline_encode_bytes``), so no big state is rebuilt on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import orjson
from pycrdt import Doc

from . import yproto
from .access import Applied, Change, StepsPage
from .canvas import ops
from .canvas.changes import describe
from .canvas.live import LiveCanvas
from .canvas.model import CanvasView
from .canvas.reader import image_ref
from .durability import RoomLog, refusal, split_acks, wait_durable
from .errors import Gone, InvalidParams, MeasureFirst, RoomNotFound, StorageFull
from .history import Event, Snapshot, Version
from .images import ImageStore, StoredImage
from .metrics import Metrics
from .room import Message, Outbound, Room
from .snapshots import SnapshotSchedule
from .stateworker import StateWorker

log = logging.getLogger("annotd.rooms")
T = TypeVar("T")
SERVER_USER = "annotd"
"""The user id of the server's own changes (schema, detached comment threads)."""


class Peer(Protocol):
    """A session's connection, as the room and its delivery see it."""

    wire_frames: bool

    def push(self, message: Message, framed: Any) -> bool: ...

    def push_noisy(self, key: str, message: Message, framed: Any) -> None: ...

    def close_soon(self, code: int, reason: str) -> None: ...


class Delivery(Protocol):
    """Where a live room's outbound frames go (the WebSocket adapter installs itself)."""

    def deliver(self, live: LiveRoom, outbounds: Iterable[Outbound]) -> None: ...


class NoDelivery:
    """Before a WebSocket adapter is installed (unit tests, REST only) there are no peers."""

    def deliver(self, live: LiveRoom, outbounds: Iterable[Outbound]) -> None:
        return None


@dataclass
class Services:
    """What every live room shares with the hub."""

    clock: Callable[[], float]
    metrics: Metrics
    states: StateWorker
    images: ImageStore
    delivery: Delivery = field(default_factory=NoDelivery)
    wake: Callable[[LiveRoom], None] = lambda live: None
    """Told when a room that had nothing for the periodic tick to do has something again
    (the hub ticks only such rooms, see :meth:`LiveRoom.needs_tick`)."""


class LiveRoom:
    def __init__(self, room: Room, services: Services) -> None:
        self.room = room
        self.id = room.id
        self.canvas = LiveCanvas()
        self.services = services
        self.peers: dict[str, Peer] = {}
        self.closed = False
        self.log: RoomLog | None = None
        """The room's writes to the store (``rooms.data_dir``); ``None``: memory only."""
        self.ticking = False
        """In the hub's set of rooms the periodic tick visits (see :meth:`needs_tick`)."""
        self.snapshots = SnapshotSchedule(room, services.states, lambda: self.services.clock(), services.metrics,
                                          self._snapshot_created, lambda: self.closed)

    # -- sessions --------------------------------------------------------------------------
    def join(self, peer: Peer, session_id: str, user_id: str, *, v1: bool, last_seq: int | None,
             epoch: str | None) -> None:
        """Admit a session (raises ``LimitReached`` and nothing changes) and send it what it
        must receive first."""
        joined = self.room.join(session_id, user_id, v1=v1, last_seq=last_seq, epoch=epoch,
                                now=self.services.clock())
        self.peers[session_id] = peer
        if not self.ticking:
            self.services.wake(self)
        self.services.delivery.deliver(self, joined)

    def leave(self, session_id: str) -> None:
        """Forget a session; its presence is announced gone (nothing once the room is closed)."""
        self.peers.pop(session_id, None)
        if not self.closed:
            self._deliver(self.room.leave(session_id))

    def presence(self, session_id: str, msg: dict[str, Any]) -> None:
        """A session's JSON presence (raises ``InvalidParams`` for a bad one)."""
        self._deliver(self.room.receive_presence(session_id, msg, self.services.clock()))

    # -- the door ----------------------------------------------------------------------------
    async def receive(self, session_id: str, frame: bytes) -> Event | None:
        """One binary frame from a session: the change it makes, sequenced and relayed, or
        ``None``. Raises ``MalformedFrame`` or ``DocumentTooLarge`` with nothing changed."""
        started = time.perf_counter()
        room, log_ = self.room, self.log
        if log_ is not None and not log_.writable and frame[:1] == b"\x00" and not yproto.is_sync_step1(frame):
            self._refuse(session_id)
            return None
        try:
            event, out = room.receive(session_id, frame, self.services.clock())
        except MeasureFirst:
            await self.snapshots.measure()  # off the relay path; this socket waits alone
            if self.closed:
                return None
            event, out = room.receive(session_id, frame, self.services.clock(), measured=True)
        acks: list[Outbound] = []
        if log_ is not None:  # the sender hears "ack" only once its change is on disk
            out, acks = split_acks(out)
        if event is None:
            if out:
                self.services.delivery.deliver(self, out)
        else:
            self._committed(event, out, started)
        if acks:
            assert log_ is not None
            log_.when_durable(room.head if event is None else event.seq, lambda exc: self._settled(session_id, acks, exc))
        if event is None:
            return None
        if self.snapshots.scheduled:
            await asyncio.sleep(0)  # let the due snapshot be taken before this socket's next frame
        return event

    async def apply(self, user_id: str, change: Change[T]) -> Applied[T]:
        """Apply one change (see :data:`annotd.access.Change`) as one sequenced update.

        An API change is refused when the document is at its size limit (``DocumentTooLarge``;
        a stale size figure is measured first and the change retried once). A function
        validates fully before writing (see :mod:`annotd.canvas.ops`); an update that Yjs
        cannot decode raises ``MalformedFrame``; a room deleted meanwhile, ``RoomNotFound``.
        Nothing is written when these raise."""
        self._check_open()
        if self.log is not None and not self.log.writable:
            raise StorageFull("the disk refused writes: the change was not made")
        try:
            applied = self._commit(user_id, change, measured=False)
        except MeasureFirst:
            await self.snapshots.measure()
            self._check_open()
            applied = self._commit(user_id, change, measured=True)
        if self.snapshots.scheduled:
            await asyncio.sleep(0)
        await self.durable(applied.seq)
        return applied

    async def durable(self, seq: int | None = None) -> None:
        """Return once ``seq`` (default: the head) is on disk; raises what kept it off
        (``StorageFull``). At once without a store: nothing is promised beyond memory."""
        if self.log is not None:
            await wait_durable(self.log, self.room.head if seq is None else seq)

    def upkeep(self, change: Callable[[Doc], T]) -> Applied[T]:
        """The server's own change (creating the schema, detaching orphaned threads): never
        refused for size, so it needs no await and runs inside synchronous periodic work."""
        return self._commit(SERVER_USER, change, measured=True, check=False)

    def _commit(self, user_id: str, change: Change[T], *, measured: bool, check: bool = True) -> Applied[T]:
        started = time.perf_counter()
        room, now = self.room, self.services.clock()
        if isinstance(change, bytes):
            event, out = room.apply_update(change, user_id, now, measured=measured)
            value: Any = None
        else:
            value, event, out = room.apply_local(user_id, change, now, check=check, measured=measured)
        if event is None:
            return Applied(value, room.head, False)
        self._committed(event, out, started)
        return Applied(value, event.seq, True)

    def _check_open(self) -> None:
        """Commands hold a room across awaits: one deleted meanwhile takes no more writes."""
        if self.closed:
            raise RoomNotFound(self.id)

    def _committed(self, event: Event, out: list[Outbound], started: float) -> None:
        """After every sequenced change: log it, deliver, count, and ask the snapshot policy."""
        if self.log is not None:
            self.log.append(event)  # queued for the writer thread; relaying never waits for it
        if out:
            self.services.delivery.deliver(self, out)
        metrics = self.services.metrics
        metrics.updates_sequenced += 1
        metrics.relayed(started)
        if log.isEnabledFor(logging.DEBUG):  # off: one cached lookup, nothing formatted
            self._log_update(event, time.perf_counter() - started)
        self.snapshots.after_change()
        if not self.ticking:
            self.services.wake(self)

    def _log_update(self, event: Event, relay_s: float) -> None:
        """The per-update line: who changed which room, at which seq, how big the update was
        and how long it took inside the server (receipt to every recipient written or queued,
        the span ``annotd_relay_duration_seconds`` samples)."""
        log.debug("update", extra={"roomId": self.id, "seq": event.seq, "userId": event.user_id,
                                   "latency_ms": round(relay_s * 1000, 3), "bytes": len(event.update)})

    def _refuse(self, session_id: str) -> None:
        """A change refused while the disk refuses writes: an annotd.v1 sender gets an
        ``error`` frame (its client keeps the change and resends it); a stock client, which
        has no such frame, is closed with 1011 and resends it when it reconnects."""
        if self.room.sessions[session_id].v1:
            self._deliver([refusal(session_id, StorageFull("the disk refused writes: the change was not made"))])
        elif (peer := self.peers.get(session_id)) is not None:
            peer.close_soon(1011, "storage full: the change was not stored")

    def _settled(self, session_id: str, acks: list[Outbound], exc: BaseException | None) -> None:
        """The sender's change is on disk (its ack goes out) or is not (an ``error`` frame)."""
        if not self.closed:
            self._deliver(acks if exc is None else [refusal(session_id, exc)])

    def _deliver(self, out: list[Outbound]) -> None:
        if out:
            self.services.delivery.deliver(self, out)

    def notify(self, method: str, params: dict[str, Any], *, session: str | None = None) -> None:
        if not self.closed:
            self._deliver(self.room.notify(method, params, session=session))

    def _snapshot_created(self, seq: int) -> None:
        latest = self.room.history.latest
        if self.log is not None and latest.seq == seq:
            self.log.snapshot(latest)
        self.notify("snapshots.created", {"roomId": self.id, "seq": seq})

    # -- periodic work ---------------------------------------------------------------------
    def tick(self, now: float) -> None:
        """Orphaned comment threads, presence expiry and rebroadcast, the snapshot time rule."""
        self.detach_orphaned_threads()
        _, out = self.room.tick(now, snapshots=False)
        self._deliver(out)
        self.snapshots.tick(now)

    def needs_tick(self) -> bool:
        """Whether the periodic tick has anything to do here: presence to expire or resend
        (someone is connected), threads to check (the head moved since the last check), or
        changes not yet in a snapshot (the time rule). A room with none of these costs the
        tick nothing until a join or a change wakes it."""
        room = self.room
        return bool(self.peers) or self.canvas.checked_seq != room.head or room.head != room.history.snapshot_seq

    def detach_orphaned_threads(self) -> None:
        """Detach comment threads whose annotation a client deleted, where each pin last was
        (one server update), and anchor again those whose annotation came back (an undone
        delete); cheap when the head did not move."""
        room, canvas = self.room, self.canvas
        if canvas.checked_seq == room.head or canvas.checked_without_comments(room.doc, room.head):
            return
        # A big room's pins come from the last check rather than a replay, which would
        # rebuild its document on the loop.
        pins = canvas.orphan_pins(room.doc, room.history.replay_from if not room.is_big else _no_replay)
        if pins:
            self.upkeep(lambda doc: ops.detach_threads(doc, pins))
        back = canvas.returned(room.doc)
        if back:
            self.upkeep(lambda doc: ops.reattach_threads(doc, back))
        canvas.track(room.doc, room.head)

    # -- images ------------------------------------------------------------------------------
    def add_image(self, image: StoredImage) -> Future[None] | None:
        """Hold ``image`` for this room (shared by sha256 with other rooms); with a store,
        the future of its write."""
        self.services.images.put(self.id, image)
        return self.log.image(image) if self.log is not None else None

    def images(self) -> dict[str, StoredImage]:
        return self.services.images.room_images(self.id)

    def image_ref(self) -> dict[str, Any] | None:
        return image_ref(self.room.doc)

    # -- reads (annotd.access.RoomAccess) ----------------------------------------------------
    @property
    def head(self) -> int:
        return self.room.head

    @property
    def oldest_seq(self) -> int:
        return self.room.history.oldest_seq

    def info(self) -> dict[str, Any]:
        return self.room.info()

    def resolve_seq(self, seq: int | None, tag: str | None) -> int:
        history = self.room.history
        if tag is not None:
            if seq is not None:
                raise InvalidParams("tag", "give seq or tag, not both")
            seq = history.version(tag).seq
        if seq is None:
            return self.room.head
        history.check_seq(seq)
        return seq

    def head_view(self) -> CanvasView:
        return self.canvas.view(self.room.doc, self.room.head)

    def view_on_loop(self, seq: int) -> CanvasView:
        """The view at retained ``seq``, built here whatever the room's size (data exports,
        which serialise it on the loop anyway)."""
        if seq == self.room.head:
            return self.head_view()
        return LiveCanvas().view(self.room.history.doc_at(seq), seq)

    async def view_at(self, seq: int) -> CanvasView:
        if seq == self.room.head or not self.room.is_big:
            return self.view_on_loop(seq)
        view: CanvasView = await self.services.states.view(self.room.history.parts_at(seq))
        return view

    async def read(self, seq: int, project: Callable[..., dict[str, Any]], *args: Any,
                   fragment: bool = True) -> Any:
        if not self.room.is_big:
            return {"seq": seq, **project(self.view_on_loop(seq), *args)}
        data = await self.services.states.project(self.room.history.parts_at(seq), project, *args)
        return orjson.Fragment(data) if fragment else orjson.loads(data)

    async def steps(self, from_seq: int, to_seq: int | None, max_steps: int) -> StepsPage:
        history, head = self.room.history, self.room.head
        to_seq = head if to_seq is None else to_seq
        if to_seq > head:
            raise InvalidParams("toSeq", f"seq {to_seq} is beyond the head ({head})")
        if from_seq > to_seq:
            raise InvalidParams("fromSeq", f"must be <= toSeq ({to_seq})")
        if to_seq - from_seq + 1 > max_steps:
            raise InvalidParams("toSeq", f"at most {max_steps} steps per request (history.max_events_per_request)")
        oldest = history.oldest_seq
        if not history.log.covers_after(from_seq - 1):
            raise Gone(f"steps up to seq {oldest} were pruned; ask from seq {oldest + 1}",
                       data={"field": "fromSeq", "oldestSeq": oldest})
        steps = history.log.after(from_seq - 1, to_seq)
        if self.room.is_big:
            events = await self.services.states.describe(history.parts_at(from_seq - 1), tuple(steps))
        else:
            events = describe(history.doc_at(from_seq - 1), steps)
        return StepsPage(from_seq, to_seq, oldest, head, events)

    def last_change(self) -> float:
        room = self.room
        log_ = room.history.log
        if room.head > 0 and log_.covers_after(room.head - 1):
            return log_.after(room.head - 1)[0].ts
        at_head = [s.ts for s in room.history.snapshots if s.seq == room.head]
        return max(at_head) if at_head else room.created_at

    # -- snapshots and versions -------------------------------------------------------------
    async def snapshot(self) -> int:
        return await self.snapshots.take()

    def snapshot_list(self) -> list[Snapshot]:
        return self.room.history.snapshots

    async def snapshot_at(self, seq: int) -> Snapshot:
        """The state at retained ``seq`` as a snapshot (built off the loop for a big room)."""
        return await self.snapshots.at(seq)

    def versions(self) -> list[Version]:
        return self.room.history.versions

    def version(self, tag: str) -> Version:
        return self.room.history.version(tag)

    async def add_version(self, tag: str, seq: int | None, user_id: str, *, ts: float | None = None) -> Version:
        history = self.room.history
        seq = self.room.head if seq is None else seq
        history.check_new_version(tag, seq)
        state = await self.snapshots.at(seq)  # off the loop for a big room; checked again below
        self._check_open()
        version = history.add_version(tag, seq, self.services.clock() if ts is None else ts, user_id, state=state)
        if self.log is not None:
            self.log.version(version, next(s for s in history.snapshots if s.seq == seq))
        return version

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self, code: int, reason: str) -> int:
        """Delete the room: close its peers' sockets, stop its snapshot build, release its
        images; returns the bytes of document state it held."""
        self.closed = True
        for peer in self.peers.values():
            peer.close_soon(code, reason)
        self.snapshots.cancel()
        room = self.room
        freed = room.state_bytes + room.history.log.byte_size() + sum(len(s.blob) for s in room.history.snapshots)
        room.close()
        self.services.images.release_room(self.id)
        return freed


def describe_document(doc: Doc) -> dict[str, Any]:
    """What a live room's info says about its document (``Room.describe``): the base image,
    read by the canvas layer, so the room core never reads a canvas root by name."""
    return {"image": image_ref(doc)}


def _no_replay(seq: int) -> None:
    return None
