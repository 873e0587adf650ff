"""When and where rooms' snapshots are taken: off the relay path, and off the loop for big rooms.

Why here and not in the room: the room (sans-I/O) knows *that* a snapshot is due and can
encode a small document itself; taking it at the right moment without doing it inside a
relayed update, and building a big one in a worker process, needs the event loop.

Policy (``history.*``): a snapshot falls due after ``snapshot_every_ops`` sequenced changes
or ``snapshot_every_bytes`` logged bytes (checked after every change, :meth:`after_change`)
or ``snapshot_every_s`` seconds (the periodic tick). Then:

* a small room (``RoomLimits.inline_encode_bytes``) is snapshotted from a ``call_soon``
  callback: after the change that made it due has been relayed, before anything else. The
  socket handlers yield once when they see ``room.snapshot_scheduled``, so a burst of
  frames already read cannot run past the count: the snapshot lands at most one frame per
  other connected socket (and one JSON-RPC batch) after it;
* a big room's head is captured at once as :class:`~annotd.docstate.StateParts` (exact seq)
  and built by the state worker; the room keeps serving from its previous snapshot
  meanwhile, and one build per room runs at a time (a room that fell due again meanwhile is
  snapshotted when it ends).

:meth:`Snapshots.measure` is the same operation asked for by the size limit: it makes the
room's size figure exact (see :class:`~annotd.errors.MeasureFirst`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from . import docstate
from .docstate import StateParts
from .history import Snapshot
from .metrics import Metrics
from .room import Room
from .stateworker import StateWorker

log = logging.getLogger("annotd.snapshots")


class Snapshots:
    def __init__(self, states: StateWorker, clock: Callable[[], float], metrics: Metrics,
                 created: Callable[[Room, int], None], alive: Callable[[Room], bool]) -> None:
        self.states = states
        self.clock = clock
        self.metrics = metrics
        self.created = created
        """Told after every snapshot a room records (the hub notifies the room's clients)."""
        self.alive = alive
        """Whether a room is still the hub's (a deleted room's snapshot is dropped)."""
        self._builds: dict[str, asyncio.Task[Snapshot | None]] = {}

    # -- the policy ----------------------------------------------------------------------
    def after_change(self, room: Room) -> None:
        """Called after every sequenced change: cheap unless the count or bytes are reached."""
        if room.snapshot_scheduled or room.snapshot_busy or not room.history.snapshot_due():
            return
        self.soon(room)

    def tick(self, room: Room, now: float) -> None:
        """The time rule for big rooms (small ones take it in :meth:`Room.tick`)."""
        if room.is_big and not room.snapshot_busy and not room.snapshot_scheduled and room.history.snapshot_due(now):
            self.soon(room)

    def soon(self, room: Room) -> None:
        """Take a snapshot at the next loop iteration (small room) or start building one now."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (sans-I/O use): take it now
            self.inline(room)
            return
        if room.is_big:
            self._build(room)
        else:
            room.snapshot_scheduled = True
            loop.call_soon(self._scheduled, room)

    def _scheduled(self, room: Room) -> None:
        if room.snapshot_scheduled and self.alive(room):
            self.inline(room)
        room.snapshot_scheduled = False

    def inline(self, room: Room) -> Snapshot:
        t0 = time.perf_counter()
        snap = room.snapshot(self.clock())
        self.metrics.snapshot_seconds.observe(time.perf_counter() - t0)
        self.created(room, snap.seq)
        return snap

    def _build(self, room: Room) -> asyncio.Task[Snapshot | None]:
        """Start building the head's snapshot in the worker (one per room at a time)."""
        running = self._builds.get(room.id)
        if running is not None and not running.done():
            return running
        parts = room.snapshot_parts()
        room.snapshot_busy = True
        task = asyncio.get_running_loop().create_task(self._built(room, parts), name=f"snapshot-{room.id}")
        self._builds[room.id] = task
        return task

    async def _built(self, room: Room, parts: StateParts) -> Snapshot | None:
        t0 = time.perf_counter()
        try:
            encoded = await self.states.encode(parts)
        except RuntimeError as exc:  # the worker died or the server is closing
            log.warning("snapshot not taken", extra={"roomId": room.id, "seq": parts.seq, "error": str(exc)})
            return None
        finally:
            room.snapshot_busy = False
            self._builds.pop(room.id, None)
        if not self.alive(room):
            return None
        snap = room.history.add(Snapshot.encoded(encoded, self.clock()))
        self.metrics.snapshot_seconds.observe(time.perf_counter() - t0)
        self.created(room, snap.seq)
        if room.history.snapshot_due():  # more fell due while this one was built
            self.soon(room)
        return snap

    # -- on request ----------------------------------------------------------------------
    async def take(self, room: Room) -> int:
        """``snapshots.create``: snapshot the head now; the seq it was taken at."""
        if not room.is_big:
            return self.inline(room).seq
        running = self._builds.get(room.id)
        if running is not None and not running.done() and running is not asyncio.current_task():
            await asyncio.shield(running)
        if room.history.snapshot_seq == room.head:
            return room.head
        snap = await asyncio.shield(self._build(room))
        if snap is None:
            raise RuntimeError("the snapshot could not be built")
        return snap.seq

    async def measure(self, room: Room) -> None:
        """Make ``room.state_bytes`` exact: a snapshot of the head (unless one is there),
        and pending updates re-counted."""
        running = self._builds.get(room.id)
        if running is not None and not running.done():
            await asyncio.shield(running)
        if not self.alive(room):
            return
        if room.history.tail_bytes > 0:
            if room.is_big:
                await asyncio.shield(self._build(room))
            else:
                self.inline(room)
        room.settle_pending()

    async def at(self, room: Room, seq: int) -> Snapshot:
        """A snapshot of the state at retained ``seq`` (an existing one, or built: in the
        worker for a big room), not yet recorded (``versions.create`` pins it)."""
        existing = next((s for s in room.history.snapshots if s.seq == seq), None)
        if existing is not None:
            return existing
        if not room.is_big:
            if seq == room.head:  # encoding the live document beats rebuilding it
                return Snapshot.encoded(docstate.encode_doc(room.doc, seq), self.clock())
            return Snapshot.of(seq, self.clock(), room.history.state_at(seq))
        encoded = await self.states.encode(room.history.parts_at(seq))
        return Snapshot.encoded(encoded, self.clock())

    # -- lifecycle -----------------------------------------------------------------------
    def forget(self, room: Room) -> None:
        """A room was deleted: stop building its snapshot."""
        task = self._builds.pop(room.id, None)
        if task is not None:
            task.cancel()

    async def close(self) -> None:
        for task in list(self._builds.values()):
            task.cancel()
        for task in list(self._builds.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._builds.clear()
        await self.states.close()
