"""When and where a live room's snapshots are taken: the one home of the snapshot policy.

Why here and not in the room: the room (sans-I/O) knows *that* a snapshot is due
(:meth:`annotd.core.history.History.snapshot_due`) and can encode a small document itself;
taking it at the right moment without doing it inside a relayed update, and building a big
one in a worker process, needs the event loop. Each :class:`~annotd.live.liveroom.LiveRoom` holds
one :class:`SnapshotSchedule`; nothing else decides when a live room is snapshotted.

Policy (``history.*``): a snapshot falls due after ``snapshot_every_ops`` sequenced changes
(amortized for a big document: :meth:`annotd.core.history.History.snapshot_due`)
or ``snapshot_every_bytes`` logged bytes (checked after every change, :meth:`after_change`)
or ``snapshot_every_s`` seconds (:meth:`tick`). Then:

* a small room (``RoomLimits.inline_encode_bytes``) is snapshotted from a ``call_soon``
  callback: after the change that made it due has been relayed, before anything else. The
  room's door yields once while :attr:`SnapshotSchedule.scheduled` is set, so a burst of
  frames already read cannot run past the count: the snapshot lands at most one frame per
  other connected socket (and one JSON-RPC batch) after it;
* a big room's head is captured at once as :class:`~annotd.base.docstate.StateParts` (exact seq)
  and built by the state worker; the room keeps serving from its previous snapshot
  meanwhile, and one build per room runs at a time (a room that fell due again meanwhile is
  snapshotted when it ends).

:meth:`SnapshotSchedule.measure` is the same operation asked for by the size limit: it makes
the room's size figure exact (see :class:`~annotd.base.errors.MeasureFirst`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from ..base import docstate
from ..base.docstate import StateParts
from ..base.metrics import Metrics
from ..core.history import Snapshot
from ..core.room import Room
from ..services.states import StateWorker

log = logging.getLogger("annotd.snapshots")


class SnapshotSchedule:
    """One live room's snapshots: the policy's decisions and the build in flight."""

    def __init__(self, room: Room, states: StateWorker, clock: Callable[[], float], metrics: Metrics,
                 created: Callable[[int], None], closed: Callable[[], bool]) -> None:
        self.room = room
        self.states = states
        self.clock = clock
        self.metrics = metrics
        self.created = created
        """Told the seq of every snapshot the room records (its clients are notified)."""
        self.closed = closed
        """Whether the room was deleted meanwhile (its snapshot is then dropped)."""
        self.scheduled = False
        """Between a small room's snapshot falling due and being taken."""
        self._build: asyncio.Task[Snapshot | None] | None = None

    @property
    def building(self) -> bool:
        return self._build is not None and not self._build.done()

    # -- the policy ----------------------------------------------------------------------
    def after_change(self) -> None:
        """Called after every sequenced change: cheap unless the count or bytes are reached."""
        if self.scheduled or self.building or not self.room.history.snapshot_due():
            return
        self.soon()

    def tick(self, now: float) -> None:
        """The time rule (``snapshot_every_s``), checked by the periodic tick."""
        if not self.scheduled and not self.building and self.room.history.snapshot_due(now):
            if self.room.is_big:
                self._start()
            else:
                self.inline()

    def soon(self) -> None:
        """Take a snapshot at the next loop iteration (small room) or start building one now."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (sans-I/O use): take it now
            self.inline()
            return
        if self.room.is_big:
            self._start()
        else:
            self.scheduled = True
            loop.call_soon(self._scheduled)

    def _scheduled(self) -> None:
        if self.scheduled and not self.closed():
            self.inline()
        self.scheduled = False

    def inline(self) -> Snapshot:
        """Encode the head's snapshot here (small rooms)."""
        t0 = time.perf_counter()
        self.scheduled = False
        snap = self.room.snapshot(self.clock())
        self.metrics.snapshot_seconds.observe(time.perf_counter() - t0)
        self.created(snap.seq)
        return snap

    def _start(self) -> asyncio.Task[Snapshot | None]:
        """Start building the head's snapshot in the worker (one at a time)."""
        if self._build is not None and not self._build.done():
            return self._build
        parts = self.room.snapshot_parts()
        self._build = asyncio.get_running_loop().create_task(self._built(parts), name=f"snapshot-{self.room.id}")
        return self._build

    async def _built(self, parts: StateParts) -> Snapshot | None:
        t0 = time.perf_counter()
        try:
            encoded = await self.states.encode(parts)
        except RuntimeError as exc:  # the worker died or the server is closing
            log.warning("snapshot not taken", extra={"roomId": self.room.id, "seq": parts.seq, "error": str(exc)})
            return None
        finally:
            self._build = None
        if self.closed():
            return None
        snap = self.room.history.add(Snapshot.encoded(encoded, self.clock()))
        self.metrics.snapshot_seconds.observe(time.perf_counter() - t0)
        self.created(snap.seq)
        if self.room.history.snapshot_due():  # more fell due while this one was built
            self.soon()
        return snap

    # -- on request ----------------------------------------------------------------------
    async def take(self) -> int:
        """``snapshots.create``: snapshot the head now; the seq it was taken at."""
        room = self.room
        if not room.is_big:
            return self.inline().seq
        running = self._build
        if running is not None and not running.done() and running is not asyncio.current_task():
            await asyncio.shield(running)
        if room.history.snapshot_seq == room.head:
            return room.head
        snap = await asyncio.shield(self._start())
        if snap is None:
            raise RuntimeError("the snapshot could not be built")
        return snap.seq

    async def measure(self) -> None:
        """Make ``room.state_bytes`` exact: a snapshot of the head (unless one is there),
        and pending updates re-counted."""
        room = self.room
        running = self._build
        if running is not None and not running.done():
            await asyncio.shield(running)
        if self.closed():
            return
        if room.history.tail_bytes > 0:
            if room.is_big:
                await asyncio.shield(self._start())
            else:
                self.inline()
        room.settle_pending()

    async def at(self, seq: int) -> Snapshot:
        """A snapshot of the state at retained ``seq`` (an existing one, or built: in the
        worker for a big room), not yet recorded (``versions.create`` pins it)."""
        room = self.room
        existing = room.history.snapshot(seq)
        if existing is not None:
            return existing
        if not room.is_big:
            if seq == room.head:  # encoding the live document beats rebuilding it
                return Snapshot.encoded(docstate.encode_doc(room.doc, seq), self.clock())
            return Snapshot.of(seq, self.clock(), room.history.state_at(seq))
        encoded = await self.states.encode(room.history.parts_at(seq))
        return Snapshot.encoded(encoded, self.clock())

    # -- lifecycle -----------------------------------------------------------------------
    def cancel(self) -> None:
        """The room is gone: stop building its snapshot."""
        self.scheduled = False
        if self._build is not None:
            self._build.cancel()

    async def close(self) -> None:
        """Cancel the build in flight and wait for it to end (daemon shutdown)."""
        task = self._build
        self.cancel()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task
