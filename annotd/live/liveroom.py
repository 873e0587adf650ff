"""One live room: the sans-I/O :class:`~annotd.core.room.Room` plus everything the daemon keeps
for it while it exists, and the one door every change goes through.

Why one object: a room's live state used to be spread over maps keyed by room id (rooms,
their live canvases, the sockets in each, snapshot builds, flags written into the room by
other modules), and every ``await`` had to be followed by a check that the room was still
the one in the map. A :class:`LiveRoom` owns its :class:`~annotd.canvas.live.LiveCanvas`,
its peers (the connections of its sessions, typed by :class:`Peer` so this layer never
imports the socket adapter), its :class:`~annotd.live.snapshots.SnapshotSchedule` and its image
references; :attr:`LiveRoom.closed` says whether it was deleted, and :meth:`LiveRoom.close`
is all that deleting it takes.

The door: a client's frame enters by :meth:`LiveRoom.receive`, every other change (a
command, an import, a bundle's steps, the room's creation) by :meth:`LiveRoom.apply`, the
server's own upkeep by :meth:`LiveRoom.upkeep`. Each measures the document and retries when
the size limit's running figure is stale (:class:`~annotd.base.errors.MeasureFirst`), and each
ends in :meth:`LiveRoom._committed`, the one place that delivers a change, counts it and
asks the snapshot policy. Nothing is delivered when nobody is connected.

Reads (:mod:`annotd.live.access`) choose the loop or the state worker by the room's size
(``RoomLimits.inline_encode_bytes``), so no big state is rebuilt on the event loop; reads at
a past seq, in memory or on disk, are :mod:`annotd.live.deephistory`'s.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from pycrdt import Doc

from ..base.errors import MeasureFirst, RoomNotFound, StorageFull
from ..base.metrics import Metrics
from ..canvas import ops
from ..canvas.live import LiveCanvas
from ..canvas.model import CanvasView
from ..canvas.reader import image_ref
from ..core import yproto
from ..core.history import Event, Snapshot, Version
from ..core.images import ImageStore, StoredImage
from ..core.outbound import Message, Outbound
from ..core.room import Room
from ..services.states import StateWorker
from .access import Applied, Change, StepsPage
from .deephistory import PastStates
from .durability import ImageWatch, RoomLog, refusal, split_acks, wait_durable
from .snapshots import SnapshotSchedule

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
    left: Callable[[LiveRoom], None] = lambda live: None
    """Told when a session left a room (its idle time may start: :mod:`annotd.live.loading`)."""


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
        self.image_watch = ImageWatch(room.doc)
        """What listing the room says of its image once unloaded, kept with its events."""
        self.past = PastStates(room, self.canvas, services.states, self.snapshots, lambda: self.log,
                               lambda: self.services.clock())
        """Reads at a past seq: memory's window, then the store's deeper history."""
        room.stored_oldest = lambda: self.log.oldest_seq if self.log is not None else None

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
            self.services.left(self)

    def presence(self, session_id: str, msg: dict[str, Any]) -> None:
        """A session's JSON presence (raises ``InvalidParams`` for a bad one); the room is
        ticked while it holds presence (expiry, held-back and periodic resends)."""
        self._deliver(self.room.receive_presence(session_id, msg, self.services.clock()))
        if not self.ticking:
            self.services.wake(self)

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
        """Apply one change (see :data:`annotd.live.access.Change`) as one sequenced update.

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
        if self.log is not None:  # queued for the writer thread; relaying never waits for it
            self.log.append(event, self.image_watch.change())
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

    def settled(self) -> bool:
        """Every write of this room is on disk (always, without a store)."""
        return self.log is None or self.log.settled(self.room.head)

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
        """Whether the periodic tick has anything to do here now: presence to expire or
        resend (a session sent some), or threads to check (the head moved since the last
        check). A room with neither costs the tick nothing until presence, a join or a change
        wakes it, or the time of :meth:`due_at` comes: a room whose clients sit connected
        and silent is not visited."""
        room = self.room
        return bool(room.presence.entries) or self.canvas.checked_seq != room.head or self.canvas.backlog

    def due_at(self) -> float | None:
        """When a sleeping room must be ticked again: its snapshot time rule (changes not yet
        in a snapshot), or ``None``."""
        return self.room.history.time_rule_at()

    def detach_orphaned_threads(self) -> None:
        """Detach comment threads whose annotation a client deleted, where each pin last was
        (one server update), and anchor again those whose annotation came back (an undone
        delete). Costs what changed since the last check, not the number of threads."""
        room, canvas = self.room, self.canvas
        if canvas.checked_seq == room.head and not canvas.backlog:
            return
        if canvas.checked_without_comments(room.doc, room.head):
            return
        # A big room's pins come from the last check rather than a replay, which would
        # rebuild its document on the loop.
        pins, back = canvas.check(room.doc, room.history.replay_from if not room.is_big else _no_replay)
        if pins:
            self.upkeep(lambda doc: ops.detach_threads(doc, pins))
        if back:
            self.upkeep(lambda doc: ops.reattach_threads(doc, back))
        canvas.track(room.doc, room.head)

    # -- metadata ----------------------------------------------------------------------------
    async def rename(self, name: str, user_id: str) -> str:
        """Give the room ``name`` (empty: its id, as at creation) and tell its annotd.v1
        sessions (``rooms.renamed``). The name is the room's metadata, not part of its
        document: it takes no seq, and the last rename wins. Like a relayed update, the
        others hear it at once; the answer waits for a store (if any) to hold it. A disk that
        refuses writes refuses the rename first (``StorageFull``), so memory and disk keep
        the same name."""
        self._check_open()
        if self.log is not None and not self.log.writable:
            raise StorageFull("the disk refused writes: the room was not renamed")
        self.room.name = name or self.room.id
        log.info("room renamed", extra={"roomId": self.id})
        self.notify("rooms.renamed", {"roomId": self.id, "name": self.room.name, "renamedBy": user_id})
        if self.log is not None:
            await asyncio.wrap_future(self.log.rename(self.room.name))
        return self.room.name

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

    # -- reads (annotd.live.access.RoomAccess) ----------------------------------------------------
    @property
    def head(self) -> int:
        return self.room.head

    @property
    def oldest_seq(self) -> int:
        return self.room.oldest_seq

    def info(self) -> dict[str, Any]:
        return self.room.info()

    def resolve_seq(self, seq: int | None, tag: str | None) -> int:
        return self.past.resolve_seq(seq, tag)

    def head_view(self) -> CanvasView:
        return self.canvas.view(self.room.doc, self.room.head)

    async def view_at(self, seq: int) -> CanvasView:
        return await self.past.view_at(seq)

    async def read(self, seq: int, project: Callable[..., dict[str, Any]], *args: Any,
                   fragment: bool = True) -> Any:
        return await self.past.read(seq, project, *args, fragment=fragment)

    async def steps(self, from_seq: int, to_seq: int | None, max_steps: int) -> StepsPage:
        return await self.past.steps(from_seq, to_seq, max_steps)

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
        """The state at reachable ``seq`` as a snapshot (built off the loop for a big room)."""
        return await self.past.snapshot(seq)

    def versions(self) -> list[Version]:
        return self.room.history.versions

    def version(self, tag: str) -> Version:
        return self.room.history.version(tag)

    async def add_version(self, tag: str, seq: int | None, user_id: str, *, ts: float | None = None,
                          name: str = "") -> Version:
        history = self.room.history
        seq = self.room.head if seq is None else seq
        history.check_new_tag(tag)
        state = await self.past.snapshot(seq)  # off the loop for a big room; the tag checked again below
        self._check_open()
        version = history.add_version(tag, seq, self.services.clock() if ts is None else ts, user_id, state=state,
                                      name=name)
        if self.log is not None:
            pinned = history.snapshot(seq)
            assert pinned is not None  # add_version has just pinned it
            self.log.version(version, pinned)
        return version

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self, code: int, reason: str) -> int:
        """Delete the room: close its peers' sockets, stop its snapshot build, release its
        images; returns the bytes of document state it held."""
        self.closed = True
        for peer in self.peers.values():
            peer.close_soon(code, reason)
        self.snapshots.cancel()
        self.canvas.close()
        room = self.room
        freed = room.state_bytes + room.history.log.byte_size() + sum(len(s.blob) for s in room.history.snapshots)
        self.image_watch.close()
        room.close()
        self.services.images.release_room(self.id)
        return freed


def describe_document(doc: Doc) -> dict[str, Any]:
    """What a live room's info says about its document (``Room.describe``): the base image,
    read by the canvas layer, so the room core never reads a canvas root by name."""
    return {"image": image_ref(doc)}


def _no_replay(seq: int) -> None:
    return None
