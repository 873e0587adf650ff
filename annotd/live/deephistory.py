"""A room's past at any seq it can reach: memory's window first, the room store's deeper
history (``rooms.data_dir``) below it.

Why one place: commands name a seq (``annotations.list``, exports, ``versions.create``,
``history.events``); whether its state is in memory or on disk is this module's concern
alone, behind :class:`annotd.live.access.RoomAccess`. Memory keeps what
:mod:`annotd.core.history` keeps (``history.snapshots_kept`` snapshots, the events after the
oldest of them, pinned versions); the store keeps every snapshot the room took and every
event until ``storage.keep_days``/``keep_events`` prune them. The seqs a read can reach are
one range, :attr:`annotd.core.room.Room.oldest_seq` (whichever of the two reaches further
back) to the head, plus every pinned version.

A state below memory's window is the disk's nearest snapshot at or before it plus the
events after it (:meth:`RoomLog.parts_at`): read in a thread (the store's reads block),
then built on the loop when those parts are small (``inline_encode_bytes``, the rule that
keeps big states off the loop everywhere else) and by the state worker otherwise. The disk
keeps every snapshot memory took, so a deep read costs one snapshot plus at most one
snapshot interval of events (``history.snapshot_every_ops``/``_bytes``), however deep.
Nothing of it is cached: a deep read is rare next to reads at the head, and memory stays
bounded by what the history keeps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson

from ..base import docstate
from ..base.docstate import StateParts
from ..base.errors import Gone, InvalidParams
from ..canvas.changes import describe
from ..canvas.live import LiveCanvas
from ..canvas.model import CanvasView
from ..core.history import Event, Snapshot, pruned
from ..core.room import Room
from ..services.states import StateWorker
from .access import StepsPage
from .durability import RoomLog, wait_durable
from .snapshots import SnapshotSchedule


class PastStates:
    """The reads of one live room at a past (or present) seq."""

    def __init__(self, room: Room, canvas: LiveCanvas, states: StateWorker, snapshots: SnapshotSchedule,
                 log: Callable[[], RoomLog | None], clock: Callable[[], float]) -> None:
        self.room = room
        self.canvas = canvas
        self.states = states
        self.snapshots = snapshots
        self.log = log
        self.clock = clock

    # -- which seqs ---------------------------------------------------------------------
    def in_memory(self, seq: int, field: str = "seq") -> bool:
        """Whether ``seq`` is in memory (``False``: on disk). Raises ``InvalidParams``
        outside ``0..head`` and ``Gone`` (``data.oldestSeq``) below every reach."""
        history = self.room.history
        history.check_range(seq, field)
        if history.is_retained(seq):
            return True
        log = self.log()
        stored = log.oldest_seq if log is not None else None
        if stored is not None and stored <= seq:
            return False
        raise pruned(seq, field, self.room.oldest_seq)

    def resolve_seq(self, seq: int | None, tag: str | None) -> int:
        history = self.room.history
        if tag is not None:
            if seq is not None:
                raise InvalidParams("tag", "give seq or tag, not both")
            return history.version(tag).seq  # pinned: always in memory
        if seq is None:
            return self.room.head
        self.in_memory(seq)
        return seq

    def small(self, parts: StateParts) -> bool:
        """Whether building ``parts`` on the loop is cheap enough (``inline_encode_bytes``)."""
        return parts.nbytes <= self.room.limits.inline_encode_bytes

    async def parts(self, seq: int, field: str = "seq") -> StateParts:
        """The state at reachable ``seq`` as data: taken from memory at once, or read from
        disk in a thread."""
        if self.in_memory(seq, field):
            return self.room.history.parts_at(seq)
        return await self._stored(seq, field, lambda log: log.parts_at(seq))

    async def _stored(self, seq: int, field: str, read: Callable[[RoomLog], Any]) -> Any:
        """``read(log)`` in a thread, once ``seq`` is durable; the store's ``Gone`` (it
        pruned meanwhile) becomes the same error as a seq below every reach."""
        log = self.log()
        assert log is not None, "a seq below memory's window is read only with a store"
        await wait_durable(log, seq)
        try:
            return await asyncio.to_thread(read, log)
        except Gone:
            raise pruned(seq, field, self.room.oldest_seq) from None

    # -- states ---------------------------------------------------------------------------
    def view_on_loop(self, seq: int) -> CanvasView:
        """The view at ``seq`` in memory, built here whatever the room's size."""
        room = self.room
        if seq == room.head:
            return self.canvas.view(room.doc, room.head)
        return LiveCanvas().view(room.history.doc_at(seq), seq)

    async def view_at(self, seq: int) -> CanvasView:
        room = self.room
        if self.in_memory(seq):
            if seq == room.head or not room.is_big:
                return self.view_on_loop(seq)
            parts = room.history.parts_at(seq)
        else:
            parts = await self.parts(seq)
            if self.small(parts):
                return LiveCanvas().view(docstate.build_doc(parts), seq)
        view: CanvasView = await self.states.view(parts)
        return view

    async def read(self, seq: int, project: Callable[..., dict[str, Any]], *args: Any, fragment: bool = True) -> Any:
        room = self.room
        if self.in_memory(seq):
            if not room.is_big:
                return {"seq": seq, **project(self.view_on_loop(seq), *args)}
            parts = room.history.parts_at(seq)
        else:
            parts = await self.parts(seq)
            if self.small(parts):
                return {"seq": seq, **project(LiveCanvas().view(docstate.build_doc(parts), seq), *args)}
        data = await self.states.project(parts, project, *args)
        return orjson.Fragment(data) if fragment else orjson.loads(data)

    async def snapshot(self, seq: int) -> Snapshot:
        """A snapshot of the state at reachable ``seq`` (an existing one, or built: off the
        loop when big), not yet recorded (``versions.create`` pins it)."""
        if self.in_memory(seq):
            return await self.snapshots.at(seq)
        parts = await self.parts(seq)
        encoded = docstate.encode(parts) if self.small(parts) else await self.states.encode(parts)
        return Snapshot.encoded(encoded, self.clock())

    # -- steps ----------------------------------------------------------------------------
    async def steps(self, from_seq: int, to_seq: int | None, max_steps: int) -> StepsPage:
        """Steps ``from_seq..to_seq`` described: from memory's log, and from the disk's for
        the steps older than memory holds (the same events either way)."""
        room = self.room
        history, head = room.history, room.head
        to_seq = head if to_seq is None else to_seq
        if to_seq > head:
            raise InvalidParams("toSeq", f"seq {to_seq} is beyond the head ({head})")
        if from_seq > to_seq:
            raise InvalidParams("fromSeq", f"must be <= toSeq ({to_seq})")
        if to_seq - from_seq + 1 > max_steps:
            raise InvalidParams("toSeq", f"at most {max_steps} steps per request (history.max_events_per_request)")
        base = from_seq - 1
        if history.log.covers_after(base):
            recent = history.log.after(base, to_seq)
            if room.is_big:
                events = await self.states.describe(history.parts_at(base), tuple(recent))
            else:
                events = describe(history.doc_at(base), recent)
            return StepsPage(from_seq, to_seq, room.oldest_seq, head, events)
        log = self.log()
        stored = log.oldest_seq if log is not None else None
        if stored is None or base < stored:
            raise self._steps_gone()
        first = history.log.first_seq  # memory's log holds first..head
        on_disk = min(to_seq, first - 1)
        try:
            parts, older = await self._stored(on_disk, "fromSeq", lambda log: (log.parts_at(base), log.events(base, on_disk)))
        except Gone:
            raise self._steps_gone() from None
        steps: list[Event] = list(older) + (history.log.after(first - 1, to_seq) if to_seq >= first else [])
        if self.small(parts) and sum(len(e.update) for e in steps) <= room.limits.inline_encode_bytes:
            events = describe(docstate.build_doc(parts), steps)
        else:
            events = await self.states.describe(parts, tuple(steps))
        return StepsPage(from_seq, to_seq, room.oldest_seq, room.head, events)

    def _steps_gone(self) -> Gone:
        oldest = self.room.oldest_seq
        return Gone(f"steps up to seq {oldest} were pruned; ask from seq {oldest + 1}",
                    data={"field": "fromSeq", "oldestSeq": oldest})
