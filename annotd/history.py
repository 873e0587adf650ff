"""A room's history: the sequenced event log, snapshots, named versions and reconstruction.

Theory of operation
-------------------
Every accepted document change is an :class:`Event` with a ``seq`` one higher than the
previous (seq 0 is the empty document). The log is append-only; it is only ever trimmed at
the *front*, and only up to the oldest retained snapshot, so that any seq from that
snapshot to the head can be rebuilt as "snapshot + replay of the tail".

Snapshots are taken by policy (every N ops or M seconds, only when something changed),
manually, or to pin a named version. The newest K are kept plus every pinned one. A
snapshot carries a sha256 of its blob, checked before each use: a corrupted snapshot is
never silently used to rebuild a version.

Nothing here knows about sockets or clocks: ``now`` is always passed in.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc

from .errors import Conflict, Gone, InvalidParams, NotFound
from .identifiers import check_tag


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    ts: float
    user_id: str
    update: bytes


@dataclass(frozen=True, slots=True)
class Snapshot:
    seq: int
    ts: float
    blob: bytes
    sha256: str

    @classmethod
    def of(cls, seq: int, ts: float, blob: bytes) -> Snapshot:
        return cls(seq, ts, blob, hashlib.sha256(blob).hexdigest())

    def verified_blob(self) -> bytes:
        if hashlib.sha256(self.blob).hexdigest() != self.sha256:
            raise RuntimeError(f"snapshot at seq {self.seq} failed its checksum")
        return self.blob


@dataclass(frozen=True, slots=True)
class Version:
    tag: str
    seq: int
    ts: float
    created_by: str


class EventLog:
    """Contiguous events ``first_seq..head``; indexing is arithmetic, trimming is at the front."""

    def __init__(self) -> None:
        self._events: list[Event] = []
        self._first = 1  # seq of self._events[0]
        self.head = 0

    @property
    def first_seq(self) -> int:
        """The oldest seq still in the log (``head + 1`` when the log is empty)."""
        return self._first

    def __len__(self) -> int:
        return len(self._events)

    def append(self, ts: float, user_id: str, update: bytes) -> Event:
        self.head += 1
        event = Event(self.head, ts, user_id, update)
        self._events.append(event)
        return event

    def covers_after(self, seq: int) -> bool:
        """True when every event after ``seq`` up to the head is still in the log."""
        return self._first - 1 <= seq <= self.head

    def after(self, seq: int, upto: int | None = None) -> list[Event]:
        """Events ``(seq, upto]`` (default: to the head); the caller checked :meth:`covers_after`."""
        end = self.head if upto is None else upto
        return self._events[seq + 1 - self._first : end + 1 - self._first]

    def trim_through(self, seq: int) -> int:
        """Drop events with seq <= ``seq``; return how many were dropped."""
        drop = min(max(0, seq + 1 - self._first), len(self._events))
        if drop:
            del self._events[:drop]
            self._first += drop
        return drop

    def byte_size(self) -> int:
        return sum(len(e.update) for e in self._events)


class History:
    """Log + snapshots + versions of one room, and rebuilding the document at any retained seq."""

    def __init__(self, *, every_ops: int, every_s: float, keep: int, cache_size: int, now: float) -> None:
        self.log = EventLog()
        self.every_ops = every_ops
        self.every_s = every_s
        self.keep = keep
        self._snapshots: list[Snapshot] = [Snapshot.of(0, now, Doc().get_update())]
        self._versions: dict[str, Version] = {}
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._cache_size = cache_size
        self._last_snapshot_ts = now
        self._window_start = 0

    # -- snapshots ---------------------------------------------------------------------
    @property
    def snapshots(self) -> list[Snapshot]:
        return list(self._snapshots)

    @property
    def snapshot_seq(self) -> int:
        return self._snapshots[-1].seq

    @property
    def oldest_seq(self) -> int:
        """Every seq from here to the head can be rebuilt (plus each pinned version's seq)."""
        return self._window_start

    def is_retained(self, seq: int) -> bool:
        return self._window_start <= seq <= self.log.head or any(s.seq == seq for s in self._snapshots)

    def snapshot_due(self, now: float) -> bool:
        """Policy: N ops or M seconds since the last snapshot, whichever first, only if changed."""
        pending = self.log.head - self.snapshot_seq
        if pending <= 0:
            return False
        return pending >= self.every_ops or now - self._last_snapshot_ts >= self.every_s

    def add_snapshot(self, seq: int, ts: float, blob: bytes) -> Snapshot:
        """Record a snapshot of the state at ``seq`` and apply retention and log trimming."""
        snap = Snapshot.of(seq, ts, blob)
        seqs = [s.seq for s in self._snapshots]
        i = bisect_right(seqs, seq)
        if i and seqs[i - 1] == seq:
            self._snapshots[i - 1] = snap
        else:
            self._snapshots.insert(i, snap)
        if seq >= self.snapshot_seq:
            self._last_snapshot_ts = ts
        self._retain()
        return snap

    def _retain(self) -> None:
        pinned = {v.seq for v in self._versions.values()}
        newest = {s.seq for s in self._snapshots[-self.keep :]}
        self._snapshots = [s for s in self._snapshots if s.seq in newest or s.seq in pinned]
        # The replay window starts at the oldest of the newest K snapshots. A pinned
        # snapshot older than that is used whole (its exact seq only), so the log never
        # has to keep the events behind an old tag and a busy room stays bounded.
        self._window_start = min(newest)
        self.log.trim_through(self._window_start)
        for seq in [s for s in self._cache if s < self._window_start and s not in pinned]:
            del self._cache[seq]

    # -- reconstruction ----------------------------------------------------------------
    def check_seq(self, seq: int, field: str = "seq") -> None:
        if seq < 0 or seq > self.log.head:
            raise InvalidParams(field, f"seq {seq} is outside 0..{self.log.head} (the head)")
        if not self.is_retained(seq):
            raise Gone(f"seq {seq} was pruned; the oldest retained seq is {self.oldest_seq}",
                       data={"field": field, "oldestSeq": self.oldest_seq})

    def state_at(self, seq: int) -> bytes:
        """The full document update at ``seq`` (nearest snapshot + replay), cached."""
        self.check_seq(seq)
        cached = self._cache.get(seq)
        if cached is not None:
            self._cache.move_to_end(seq)
            return cached
        seqs = [s.seq for s in self._snapshots]
        snap = self._snapshots[bisect_right(seqs, seq) - 1]
        if snap.seq == seq:
            blob = snap.verified_blob()
        else:
            doc: Doc[Any] = Doc()
            doc.apply_update(snap.verified_blob())
            for event in self.log.after(snap.seq, seq):
                doc.apply_update(event.update)
            blob = doc.get_update()
        self._cache[seq] = blob
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return blob

    def doc_at(self, seq: int) -> Doc:
        doc: Doc[Any] = Doc()
        doc.apply_update(self.state_at(seq))
        return doc

    def replay_from(self, seq: int) -> tuple[Doc, list[bytes]] | None:
        """The document at ``seq`` and every update since, or ``None`` if that is no longer
        retained (for callers that must see each intermediate state, not only the head)."""
        if seq < 0 or not self.is_retained(seq) or not self.log.covers_after(seq):
            return None
        return self.doc_at(seq), [e.update for e in self.log.after(seq)]

    # -- versions ------------------------------------------------------------------------
    @property
    def versions(self) -> list[Version]:
        return sorted(self._versions.values(), key=lambda v: (v.seq, v.tag))

    def version(self, tag: str) -> Version:
        try:
            return self._versions[tag]
        except KeyError:
            raise NotFound(f"version {tag!r} does not exist", data={"field": "tag"}) from None

    def add_version(self, tag: str, seq: int, ts: float, user_id: str) -> Version:
        """Tag ``seq`` and pin a snapshot there so pruning can never lose it."""
        check_tag(tag)
        if tag in self._versions:
            raise Conflict(f"version {tag!r} already exists", data={"field": "tag"})
        self.check_seq(seq)
        blob = self.state_at(seq)
        version = Version(tag, seq, ts, user_id)
        self._versions[tag] = version
        self.add_snapshot(seq, ts, blob)
        return version
