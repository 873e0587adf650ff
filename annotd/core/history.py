"""A room's history: the sequenced event log, snapshots, named versions and reconstruction.

Theory of operation
-------------------
Every accepted document change is an :class:`Event` with a ``seq`` one higher than the
previous (seq 0 is the empty document). The log is append-only; it is only ever trimmed at
the *front*, and only up to the oldest retained snapshot, so that any seq from that
snapshot to the head can be rebuilt as "snapshot + replay of the tail".

Snapshots are taken by policy (every N ops, every B logged bytes or M seconds, only when
something changed), manually, or to pin a named version. A snapshot encodes the whole
document, so for a document past :data:`AMORTIZE_FROM` the ops rule also waits until the
bytes logged since the last snapshot reach the excess over it divided by ``tail_ratio``: the cost
of snapshots then stays proportional to the changes, not to the document's size times
their number, and a read at any seq still replays at most that fraction of the document
in updates after loading its snapshot. The newest K are kept plus every
pinned one. A snapshot carries a sha256 of its blob, checked before each rebuild from it
(:mod:`annotd.base.docstate`): a corrupted snapshot is never silently used to rebuild a
version. It also records its state vector, so a joiner that already has everything up to
a snapshot can be answered with the few events after it.

Sizes are tracked without encoding anything: the newest snapshot's exact size plus the
bytes logged after it (:attr:`History.state_bytes`) bound the document's encoded size from
above (an overwrite counts in full although the state does not grow); a snapshot makes it
exact again. The room's size limit is checked against it.

Nothing here knows about sockets or clocks: ``now`` is always passed in. Big states are
never built here on the caller's thread unless asked to (:meth:`History.state_at`); the
hub hands :meth:`History.parts_at` to a worker process instead.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc, get_state

from ..base import docstate
from ..base.docstate import StateParts
from ..base.errors import Conflict, Gone, InvalidParams, NotFound
from ..base.identifiers import check_tag

AMORTIZE_FROM = 64 * 1024
"""Snapshots of a document up to this size are cheap enough for the ops rule alone (encoding
64 KiB takes well under a millisecond)."""


def pruned(seq: int, field: str, oldest: int) -> Gone:
    """The error for a seq no longer retained (``oldest``: the oldest seq that is)."""
    return Gone(f"seq {seq} was pruned; the oldest retained seq is {oldest}",
                data={"field": field, "oldestSeq": oldest})


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
    state_vector: bytes
    """The state vector of ``blob``: what a client must have to need only the events after."""

    @classmethod
    def of(cls, seq: int, ts: float, blob: bytes) -> Snapshot:
        """A snapshot of ``blob`` (hashed and parsed here: O(size); workers build big ones)."""
        return cls(seq, ts, blob, docstate.sha256(blob), get_state(blob))

    @classmethod
    def encoded(cls, enc: docstate.Encoded, ts: float) -> Snapshot:
        return cls(enc.seq, ts, enc.blob, enc.sha256, enc.state_vector)

    def parts(self) -> StateParts:
        return StateParts(self.seq, self.blob, self.sha256)


@dataclass(frozen=True, slots=True)
class Version:
    tag: str
    seq: int
    ts: float
    created_by: str
    name: str = ""
    """The free-text name people gave it ("Review 1"); empty: the tag is its name."""

    @property
    def display_name(self) -> str:
        return self.name or self.tag


class EventLog:
    """Contiguous events ``first_seq..head``; indexing is arithmetic, trimming is at the front."""

    def __init__(self) -> None:
        self._events: list[Event] = []
        self._first = 1  # seq of self._events[0]
        self._bytes = 0
        self.head = 0

    @classmethod
    def restored(cls, head: int, events: list[Event]) -> EventLog:
        """A log holding ``events`` (contiguous, ending at ``head``; empty: none after head)."""
        log = cls()
        log._events = list(events)
        log._first = events[0].seq if events else head + 1
        log._bytes = sum(len(e.update) for e in events)
        log.head = head
        return log

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
        self._bytes += len(update)
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
            self._bytes -= sum(len(e.update) for e in self._events[:drop])
            del self._events[:drop]
            self._first += drop
        return drop

    def byte_size(self) -> int:
        """Bytes of every update in the log."""
        return self._bytes

    def bytes_after(self, seq: int) -> int:
        """Bytes of the updates after ``seq`` (the caller checked :meth:`covers_after`)."""
        return sum(len(e.update) for e in self.after(seq))


def _seq_of(snap: Snapshot) -> int:
    return snap.seq


class History:
    """Log + snapshots + versions of one room, and rebuilding the document at any retained seq."""

    def __init__(self, *, every_ops: int, every_s: float, every_bytes: int, keep: int, cache_size: int,
                 cache_bytes: int, now: float, tail_ratio: int = 0) -> None:
        self.log = EventLog()
        self.every_ops = every_ops
        self.every_s = every_s
        self.every_bytes = every_bytes
        self.tail_ratio = tail_ratio
        """See :meth:`snapshot_due` (0: the ops rule alone, whatever the document's size)."""
        self.keep = keep
        self._snapshots: list[Snapshot] = [Snapshot.of(0, now, Doc().get_update())]
        self._versions: dict[str, Version] = {}
        self._pinned: set[int] = set()
        """The versions' seqs: their snapshots are kept whatever their age."""
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._cache_size = cache_size
        self._cache_bytes = cache_bytes
        self._last_snapshot_ts = now
        self._window_start = 0
        self.tail_bytes = 0
        """Bytes logged after the newest snapshot."""

    def restore(self, head: int, snapshots: list[Snapshot], events: list[Event], versions: list[Version]) -> None:
        """Take back a history read from the room store: its snapshots (oldest first),
        the contiguous events after the oldest of them up to ``head``, its versions."""
        self._snapshots = list(snapshots)
        self._versions = {v.tag: v for v in versions}
        self._pinned = {v.seq for v in versions}
        self.log = EventLog.restored(head, events)
        latest = snapshots[-1]
        self._last_snapshot_ts = latest.ts
        self.tail_bytes = self.log.bytes_after(latest.seq) if self.log.covers_after(latest.seq) else 0
        self._retain()

    def append(self, ts: float, user_id: str, update: bytes) -> Event:
        """Log a change (the only way events enter the log)."""
        self.tail_bytes += len(update)
        return self.log.append(ts, user_id, update)

    # -- snapshots ---------------------------------------------------------------------
    @property
    def snapshots(self) -> list[Snapshot]:
        return list(self._snapshots)

    @property
    def latest(self) -> Snapshot:
        """The newest snapshot: the log always holds every event after it."""
        return self._snapshots[-1]

    @property
    def snapshot_seq(self) -> int:
        return self._snapshots[-1].seq

    @property
    def state_bytes(self) -> int:
        """An upper bound of the document's encoded size: the newest snapshot plus the bytes
        logged since (exact right after a snapshot at the head)."""
        return len(self._snapshots[-1].blob) + self.tail_bytes

    @property
    def oldest_seq(self) -> int:
        """Every seq from here to the head can be rebuilt (plus each pinned version's seq)."""
        return self._window_start

    def is_retained(self, seq: int) -> bool:
        return self._window_start <= seq <= self.log.head or self.snapshot(seq) is not None

    def snapshot(self, seq: int) -> Snapshot | None:
        """The snapshot kept at exactly ``seq``, if any (by bisection: a room may pin
        thousands, one per version)."""
        i = bisect_right(self._snapshots, seq, key=_seq_of)
        return self._snapshots[i - 1] if i and self._snapshots[i - 1].seq == seq else None

    def snapshot_due(self, now: float | None = None) -> bool:
        """Policy: N ops, B bytes or (when ``now`` is given) M seconds since the last
        snapshot, whichever first, only if something changed. The ops and bytes rules are
        checked after every change, the time rule by the periodic tick.

        The ops rule is amortized for a document past :data:`AMORTIZE_FROM`: it also needs
        ``tail_ratio`` times the bytes logged since the last snapshot to reach that
        snapshot's excess over :data:`AMORTIZE_FROM` (a 600 KB document moved by updates of
        ~60 bytes is snapshotted every ~570 changes rather than every 200)."""
        latest = self._snapshots[-1]
        pending = self.log.head - latest.seq
        if pending <= 0:
            return False
        tail = self.tail_bytes
        if tail >= self.every_bytes or (now is not None and now - self._last_snapshot_ts >= self.every_s):
            return True
        return pending >= self.every_ops and (
            not self.tail_ratio or tail * self.tail_ratio >= len(latest.blob) - AMORTIZE_FROM)

    def time_rule_at(self) -> float | None:
        """When the time rule makes a snapshot due (``None``: nothing changed since the last)."""
        if self.log.head - self.snapshot_seq <= 0:
            return None
        return self._last_snapshot_ts + self.every_s

    def add(self, snap: Snapshot) -> Snapshot:
        """Record ``snap`` and apply retention and log trimming. Costs no pass over the
        snapshots (a room may pin thousands): only the one added and the one it pushes out
        of the newest ``keep`` can be unpinned and old."""
        snapshots = self._snapshots
        i = bisect_right(snapshots, snap.seq, key=_seq_of)
        if i and snapshots[i - 1].seq == snap.seq:
            snapshots[i - 1] = snap
            i -= 1
        else:
            snapshots.insert(i, snap)
        if snap.seq >= self.snapshot_seq:
            self._last_snapshot_ts = snap.ts
            self.tail_bytes = self.log.bytes_after(snap.seq)
        cut = len(snapshots) - self.keep  # below this index: older than the newest ``keep``
        for k in sorted({i, cut - 1}, reverse=True):
            if 0 <= k < cut and snapshots[k].seq not in self._pinned:
                del snapshots[k]
        self._trim()
        return snap

    def _retain(self) -> None:
        """Keep the newest ``keep`` snapshots and the pinned ones (a whole pass, after a
        restore; :meth:`add` keeps this true without one), then :meth:`_trim`."""
        cut = len(self._snapshots) - self.keep
        self._snapshots = [s for k, s in enumerate(self._snapshots) if k >= cut or s.seq in self._pinned]
        self._trim()

    def _trim(self) -> None:
        # The replay window starts at the oldest of the newest K snapshots. A pinned
        # snapshot older than that is used whole (its exact seq only), so the log never
        # has to keep the events behind an old tag and a busy room stays bounded.
        snapshots = self._snapshots
        self._window_start = snapshots[max(0, len(snapshots) - self.keep)].seq
        self.log.trim_through(self._window_start)
        for seq in [s for s in self._cache if s < self._window_start and s not in self._pinned]:
            del self._cache[seq]

    # -- reconstruction ----------------------------------------------------------------
    def check_seq(self, seq: int, field: str = "seq") -> None:
        self.check_range(seq, field)
        if not self.is_retained(seq):
            raise pruned(seq, field, self.oldest_seq)

    def check_range(self, seq: int, field: str = "seq") -> None:
        """Raise ``InvalidParams`` unless ``0 <= seq <= head``."""
        if seq < 0 or seq > self.log.head:
            raise InvalidParams(field, f"seq {seq} is outside 0..{self.log.head} (the head)")

    def parts_at(self, seq: int) -> StateParts:
        """The state at ``seq`` as data: the nearest snapshot at or before it and the logged
        updates up to it (no encoding; cheap to take, built by whoever needs it)."""
        self.check_seq(seq)
        seqs = [s.seq for s in self._snapshots]
        snap = self._snapshots[bisect_right(seqs, seq) - 1]
        if snap.seq == seq:
            return snap.parts()
        return StateParts(seq, snap.blob, snap.sha256, tuple(e.update for e in self.log.after(snap.seq, seq)))

    def cached_state(self, seq: int) -> bytes | None:
        """A state built before (or a snapshot's blob), without building anything."""
        cached = self._cache.get(seq)
        if cached is not None:
            self._cache.move_to_end(seq)
        return cached

    def remember_state(self, seq: int, blob: bytes) -> None:
        """Keep a built state for repeated reads (bounded by count and by bytes)."""
        if len(blob) > self._cache_bytes:
            return
        self._cache[seq] = blob
        self._cache.move_to_end(seq)
        total = sum(len(b) for b in self._cache.values())
        while len(self._cache) > self._cache_size or total > self._cache_bytes:
            _, dropped = self._cache.popitem(last=False)
            total -= len(dropped)

    def state_at(self, seq: int) -> bytes:
        """The full document update at ``seq`` (nearest snapshot + replay), built here and
        cached: for small documents; the hub builds big ones in a worker process."""
        self.check_seq(seq)
        cached = self.cached_state(seq)
        if cached is not None:
            return cached
        blob = docstate.encode(self.parts_at(seq)).blob
        self.remember_state(seq, blob)
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

    def check_new_version(self, tag: str, seq: int) -> None:
        """Raise as :meth:`add_version` would, before anything is built."""
        self.check_new_tag(tag)
        self.check_seq(seq)

    def check_new_tag(self, tag: str) -> None:
        check_tag(tag)
        if tag in self._versions:
            raise Conflict(f"version {tag!r} already exists", data={"field": "tag"})

    def add_version(self, tag: str, seq: int, ts: float, user_id: str,
                    state: Snapshot | None = None, name: str = "") -> Version:
        """Tag ``seq`` and pin a snapshot there so pruning can never lose it (``state``: the
        snapshot at ``seq`` when the caller built it already: off the loop, or from a room
        store's deeper history for a seq older than this window, which it then pins here)."""
        if state is None:
            self.check_new_version(tag, seq)
            state = Snapshot.of(seq, ts, self.state_at(seq))
        else:
            self.check_new_tag(tag)
            self.check_range(seq)
            if state.seq != seq:
                raise ValueError(f"the state for version {tag!r} is at seq {state.seq}, not {seq}")
        version = Version(tag, seq, ts, user_id, name)
        self._versions[tag] = version
        self._pinned.add(seq)
        existing = self.snapshot(seq)
        self.add(existing if existing is not None else state)
        return version
