"""Reading rooms back: the listing, one room for its first join, deeper history.

Every read of a room's rows runs in one read transaction (a consistent view in WAL mode,
never blocking the writer) and checks what it returns: each event's crc32, each snapshot's
sha256, and that the seqs are contiguous. A failed check, or SQLite itself reporting a bad
page while reading the room, raises :class:`~annotd.storage.records.RoomDamaged` for that
room only: the listing and every other room still read.
"""

from __future__ import annotations

import contextlib
import sqlite3
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from ..base import docstate
from ..base.docstate import StateParts
from ..base.errors import Gone, InvalidParams, RoomNotFound
from ..core.history import Event, Snapshot, Version
from . import recovery
from .records import RoomDamaged, RoomRecord, RoomSummary, StoredRoom
from .schema import MAX_SEQ, SEQ_BITS, key, seq_of

_RECORD = "id, name, created_at, epoch, image_sha256, head_seq, snapshot_seq, oldest_seq, updated_at, image_json"


def _record(row: tuple[object, ...]) -> RoomRecord:
    return RoomRecord(*row)  # type: ignore[arg-type]


def list_rooms(conn: sqlite3.Connection) -> list[RoomRecord]:
    """Every room's metadata row (nothing else is read)."""
    return [_record(r) for r in conn.execute(f"SELECT {_RECORD} FROM rooms ORDER BY id")]


def summaries(conn: sqlite3.Connection, keep: int) -> list[RoomSummary]:
    """Every room's row with what listing it needs while it is not loaded: the replay
    window :func:`load_room` would give it (the oldest of its newest ``keep`` snapshots
    from ``oldest_seq`` on) and when it last changed (the event at its head when that
    event is inside the window, else the snapshot at its head, else its creation; the
    writer keeps the head event's time in the row). Two short scans and one lookup of
    snapshot keys per room; no document or event is read."""
    base = f"(r.rid << {SEQ_BITS})"
    snapshots_from_oldest = f"FROM snapshots s WHERE s.key BETWEEN {base} + r.oldest_seq AND {base} + {MAX_SEQ}"
    rows = conn.execute(
        f"SELECT {', '.join('r.' + c for c in _RECORD.split(', '))}, r.last_change_at,"
        f" (SELECT s.key {snapshots_from_oldest} ORDER BY s.key DESC LIMIT 1 OFFSET ?),"
        f" (SELECT s.key {snapshots_from_oldest} ORDER BY s.key LIMIT 1),"
        f" (SELECT s.ts FROM snapshots s WHERE s.key = {base} + r.head_seq)"
        " FROM rooms r ORDER BY r.id", (max(1, keep) - 1,))
    out: list[RoomSummary] = []
    width = len(_RECORD.split(", "))
    for row in rows:
        record = _record(row[:width])
        head_ts, kth, first, head_snapshot_ts = row[width:]
        found = kth if kth is not None else first
        window = seq_of(found) if found is not None else record.oldest_seq
        if record.head_seq > window and head_ts is not None:
            last = float(head_ts)
        else:
            last = float(head_snapshot_ts) if head_snapshot_ts is not None else record.created_at
        out.append(RoomSummary(record, window, last))
    return out


@contextmanager
def reading(conn: sqlite3.Connection, room_id: str) -> Iterator[None]:
    """One read transaction; SQLite's own corruption errors become ``RoomDamaged``."""
    conn.execute("BEGIN")
    try:
        yield
    except sqlite3.DatabaseError as exc:
        _end(conn)
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            raise
        raise RoomDamaged(room_id, f"SQLite: {exc}") from None
    except BaseException:
        _end(conn)
        raise
    conn.execute("COMMIT")


def _end(conn: sqlite3.Connection) -> None:
    """End a failed read transaction (a read has nothing to roll back; an error ending it
    on a damaged file changes nothing)."""
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


def _find(conn: sqlite3.Connection, room_id: str) -> tuple[int, RoomRecord]:
    row = conn.execute(f"SELECT rid, {_RECORD} FROM rooms WHERE id = ?", (room_id,)).fetchone()
    if row is None:
        raise RoomNotFound(room_id)
    return row[0], _record(row[1:])


def _snapshot(conn: sqlite3.Connection, room_id: str, rid: int, seq: int) -> Snapshot:
    row = conn.execute("SELECT ts, sha256, state_vector, blob FROM snapshots WHERE key = ?", (key(rid, seq),)).fetchone()
    if row is None:
        raise RoomDamaged(room_id, f"the snapshot at seq {seq} is missing")
    ts, digest, state_vector, blob = row
    if docstate.sha256(blob) != digest:
        raise RoomDamaged(room_id, f"the snapshot at seq {seq} does not match its sha256")
    return Snapshot(seq, ts, blob, digest, state_vector)


def _events(conn: sqlite3.Connection, room_id: str, rid: int, after: int, upto: int) -> list[Event]:
    """Events ``(after, upto]``, all of them, each checked."""
    out: list[Event] = []
    expected = after + 1
    for k, ts, user_id, data, crc in conn.execute(
            "SELECT key, ts, user_id, data, crc FROM events WHERE key > ? AND key <= ? ORDER BY key",
            (key(rid, after), key(rid, upto))):
        seq = seq_of(k)
        if seq != expected:
            raise RoomDamaged(room_id, f"event {expected} is missing")
        if zlib.crc32(data) != crc:
            raise RoomDamaged(room_id, f"event {seq} does not match its crc32")
        out.append(Event(seq, ts, user_id, data))
        expected += 1
    if expected != upto + 1:
        raise RoomDamaged(room_id, f"events {expected}..{upto} are missing")
    return out


def _snapshot_seqs(conn: sqlite3.Connection, rid: int, upto: int = MAX_SEQ) -> list[int]:
    return [seq_of(k) for (k,) in conn.execute(
        "SELECT key FROM snapshots WHERE key BETWEEN ? AND ? ORDER BY key", (key(rid, 0), key(rid, upto)))]


def _versions(conn: sqlite3.Connection, rid: int) -> list[Version]:
    return [Version(*r) for r in conn.execute(
        "SELECT tag, seq, ts, created_by, name FROM versions WHERE rid = ? ORDER BY seq, tag", (rid,))]


def load_room(conn: sqlite3.Connection, room_id: str, keep: int) -> StoredRoom:
    """The room as its first join needs it: the newest ``keep`` snapshots, every pinned
    one, the events after the oldest of the newest ``keep``, the versions and images."""
    with reading(conn, room_id):
        rid, record = _find(conn, room_id)
        # snapshots before oldest_seq are kept only for a version (its exact seq, no events)
        seqs = [s for s in _snapshot_seqs(conn, rid) if s >= record.oldest_seq]
        if not seqs:
            raise RoomDamaged(room_id, "it has no snapshot")
        versions = _versions(conn, rid)
        newest = seqs[-max(1, keep):]
        wanted = sorted(set(newest) | {v.seq for v in versions})
        snapshots = tuple(_snapshot(conn, room_id, rid, s) for s in wanted)
        events = tuple(_events(conn, room_id, rid, newest[0], record.head_seq))
        images = tuple(r[0] for r in conn.execute("SELECT sha256 FROM room_images WHERE rid = ?", (rid,)))
        earlier = recovery.earlier_epochs(conn, rid)
    return StoredRoom(record, snapshots, events, tuple(versions), images, earlier)


def events(conn: sqlite3.Connection, room_id: str, after: int, upto: int) -> list[Event]:
    """Events ``(after, upto]`` from disk; ``Gone`` when pruning took some of them."""
    with reading(conn, room_id):
        rid, record = _find(conn, room_id)
        if upto > record.head_seq or after < 0 or after > upto:
            raise InvalidParams("seq", f"{after}..{upto} is not within 0..{record.head_seq} (the head)")
        if after < record.oldest_seq:
            raise Gone(f"events after {after} were pruned; the oldest kept is after {record.oldest_seq}",
                       data={"oldestSeq": record.oldest_seq})
        return _events(conn, room_id, rid, after, upto)


def parts_at(conn: sqlite3.Connection, room_id: str, seq: int) -> StateParts:
    """The state at ``seq`` from disk: the nearest snapshot at or before it and the events
    up to it (built by whoever needs it, as :meth:`History.parts_at`)."""
    with reading(conn, room_id):
        rid, record = _find(conn, room_id)
        if not 0 <= seq <= record.head_seq:
            raise InvalidParams("seq", f"seq {seq} is outside 0..{record.head_seq} (the head)")
        seqs = _snapshot_seqs(conn, rid, seq)
        if not seqs or (seqs[-1] != seq and seq < record.oldest_seq):
            raise Gone(f"seq {seq} was pruned; the oldest kept is {record.oldest_seq}",
                       data={"field": "seq", "oldestSeq": record.oldest_seq})
        snap = _snapshot(conn, room_id, rid, seqs[-1])
        updates = tuple(e.update for e in _events(conn, room_id, rid, snap.seq, seq))
    return StateParts(seq, snap.blob, snap.sha256, updates)


def imported_bundle(conn: sqlite3.Connection, sha256: str) -> str | None:
    """The room id a bundle of this sha256 was imported as, if it ever was."""
    row = conn.execute("SELECT room_id FROM imported_bundles WHERE sha256 = ?", (sha256,)).fetchone()
    return None if row is None else str(row[0])


def image_row(conn: sqlite3.Connection, sha256: str) -> tuple[str, int, int] | None:
    row = conn.execute("SELECT mime, width, height FROM images WHERE sha256 = ?", (sha256,)).fetchone()
    return None if row is None else (row[0], row[1], row[2])
