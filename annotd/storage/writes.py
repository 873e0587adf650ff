"""Every write the store makes, as writer operations, and the ledger they keep.

The ledger is what the writer has *accepted* (room row ids, each room's newest accepted
seq): it lives on the writer thread and is changed only by ``prepare`` steps, which run
once per operation in submission order. Checking a seq against it before any SQL is what
makes the on-disk log gap-free and duplicate-free: an append must carry exactly the next
seq of its room, or it is refused (a caller bug) without touching the file.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..core.history import Event, Snapshot, Version
from . import recovery
from .records import RoomRecord, StoreRefused
from .schema import MAX_SEQ, key
from .writer import Op


@dataclass
class Ledger:
    rids: dict[str, int] = field(default_factory=dict)
    heads: dict[str, int] = field(default_factory=dict)
    oldest: dict[str, int] = field(default_factory=dict)
    """Each room's oldest seq the disk can rebuild (``rooms.oldest_seq``), moved by pruning
    once its transaction commits: read from other threads (one dict lookup) to say how deep
    a room's history reaches."""
    next_rid: int = 1
    dirty: set[str] = field(default_factory=set)
    """Rooms appended to since the last pruning pass."""
    head_ts: dict[str, float] = field(default_factory=dict)
    """Each room's newest accepted event's time (what its row's ``last_change_at`` becomes)."""
    broken: set[str] = field(default_factory=set)
    """Rooms whose append failed for good (not a full disk): a later seq would leave a gap
    on disk, so their appends are refused until the store is reopened."""

    @classmethod
    def read(cls, conn: sqlite3.Connection) -> Ledger:
        ledger = cls()
        for rid, room_id, head, oldest in conn.execute("SELECT rid, id, head_seq, oldest_seq FROM rooms"):
            ledger.rids[room_id] = rid
            ledger.heads[room_id] = head
            ledger.oldest[room_id] = oldest
            ledger.dirty.add(room_id)
            ledger.next_rid = max(ledger.next_rid, rid + 1)
        return ledger

    def rid(self, room_id: str) -> int:
        try:
            return self.rids[room_id]
        except KeyError:
            raise StoreRefused(f"room {room_id!r} is not in the store") from None


def create_room(ledger: Ledger, record: RoomRecord, initial: Snapshot) -> Op:
    """The room's row and its first snapshot (a room on disk can always be rebuilt)."""
    rid = 0

    def prepare() -> None:
        nonlocal rid
        if record.id in ledger.rids:
            raise StoreRefused(f"room {record.id!r} is already in the store")
        if initial.seq != record.head_seq:
            raise StoreRefused(f"room {record.id!r}: its first snapshot must be at its head ({record.head_seq})")
        rid = ledger.next_rid
        ledger.next_rid += 1
        ledger.rids[record.id] = rid
        ledger.heads[record.id] = record.head_seq
        ledger.oldest[record.id] = record.oldest_seq

    def write(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO rooms (rid, id, name, created_at, epoch, image_sha256, head_seq, snapshot_seq, oldest_seq,"
            " updated_at, image_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (rid, record.id, record.name, record.created_at, record.epoch, record.image_sha256, record.head_seq,
             initial.seq, record.oldest_seq, record.updated_at or record.created_at, record.image_json))
        _write_snapshot(conn, rid, initial)

    return Op(write, prepare=prepare, room=record.id, nbytes=len(initial.blob))


UNCHANGED = "unchanged"
"""``append``'s ``image_json`` when the event did not change the document's base image."""

INSERT_EVENT = "INSERT INTO events (key, ts, user_id, data, crc) VALUES (?, ?, ?, ?, ?)"


def append(ledger: Ledger, room_id: str, event: Event, image_json: str | None = UNCHANGED, *,
           quiet: bool = False) -> Op:
    """An event as a row of ``INSERT_EVENT`` (a batch's appends are one ``executemany``);
    ``image_json``: the base image reference it made current, written in the same
    transaction (so the listing of a room never lags the events on disk; such an append is
    written on its own, in order); ``quiet``: no future (the door hears of it through the
    commit and failure listeners)."""
    op = Op(None, room=room_id, seq=event.seq, nbytes=len(event.update), sql=INSERT_EVENT, quiet=quiet,
            failed=lambda: ledger.broken.add(room_id))
    changed: list[tuple[tuple[object, ...], int]] = []

    def prepare() -> None:
        rid = ledger.rid(room_id)
        if room_id in ledger.broken:
            raise StoreRefused(f"room {room_id!r}: an earlier append failed; its log on disk ends before it")
        expected = ledger.heads[room_id] + 1
        seq = event.seq
        if seq != expected or seq > MAX_SEQ:
            raise StoreRefused(f"room {room_id!r}: event seq {seq} is not the next one ({expected})")
        ledger.heads[room_id] = seq
        ledger.head_ts[room_id] = event.ts
        ledger.dirty.add(room_id)
        row = (key(rid, seq), event.ts, event.user_id, event.update, zlib.crc32(event.update))
        if image_json == UNCHANGED:
            op.row = row
        else:
            changed.append((row, rid))
        op.result = seq

    def write(conn: sqlite3.Connection) -> int:
        ((row, rid),) = changed
        conn.execute(INSERT_EVENT, row)
        conn.execute("UPDATE rooms SET image_json = ? WHERE rid = ?", (image_json, rid))
        return event.seq

    op.prepare = prepare
    if image_json != UNCHANGED:
        op.write = write
    return op


def newest_seqs(batch: Sequence[Op]) -> dict[str, int]:
    """Room → the newest seq the batch appends to it (what the commit listener is told)."""
    newest: dict[str, int] = {}
    for op in batch:  # a room's appends are in seq order: the last one is its newest
        if op.seq is not None and op.room is not None:
            newest[op.room] = op.seq
    return newest


def touch_heads(conn: sqlite3.Connection, batch: Sequence[Op], ledger: Ledger, now: float) -> None:
    """One metadata update per room appended to in the batch, not one per event."""
    rids = ledger.rids
    conn.executemany("UPDATE rooms SET head_seq = max(head_seq, ?), updated_at = ?, last_change_at = ? WHERE rid = ?",
                     [(seq, now, ledger.head_ts.get(room_id), rids[room_id])
                      for room_id, seq in newest_seqs(batch).items() if room_id in rids])


def put_snapshot(ledger: Ledger, room_id: str, snap: Snapshot) -> Op:
    rid = 0

    def prepare() -> None:
        nonlocal rid
        rid = ledger.rid(room_id)
        if snap.seq > ledger.heads[room_id]:
            raise StoreRefused(f"room {room_id!r}: a snapshot at seq {snap.seq} is past the head")

    def write(conn: sqlite3.Connection) -> None:
        _write_snapshot(conn, rid, snap)
        conn.execute("UPDATE rooms SET snapshot_seq = max(snapshot_seq, ?) WHERE rid = ?", (snap.seq, rid))

    return Op(write, prepare=prepare, room=room_id, nbytes=len(snap.blob))


def _write_snapshot(conn: sqlite3.Connection, rid: int, snap: Snapshot) -> None:
    conn.execute("INSERT OR REPLACE INTO snapshots (key, ts, sha256, state_vector, blob) VALUES (?, ?, ?, ?, ?)",
                 (key(rid, snap.seq), snap.ts, snap.sha256, snap.state_vector, snap.blob))


def put_version(ledger: Ledger, room_id: str, version: Version, snap: Snapshot) -> Op:
    """A named version and the snapshot it pins, in one transaction (a version on disk
    always has its state)."""
    rid = 0

    def prepare() -> None:
        nonlocal rid
        rid = ledger.rid(room_id)
        if snap.seq != version.seq or version.seq > ledger.heads[room_id]:
            raise StoreRefused(f"room {room_id!r}: version {version.tag!r} at {version.seq} has no matching state")

    def write(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO versions (rid, tag, seq, ts, created_by, name) VALUES (?, ?, ?, ?, ?, ?)",
                     (rid, version.tag, version.seq, version.ts, version.created_by, version.name))
        _write_snapshot(conn, rid, snap)

    return Op(write, prepare=prepare, room=room_id, nbytes=len(snap.blob))


def describe_room(ledger: Ledger, room_id: str, image_json: str | None) -> Op:
    """Correct what the listing says of a room's image (a folder upgraded from schema 1, or
    a document whose image a client changed there)."""
    rid = 0

    def prepare() -> None:
        nonlocal rid
        rid = ledger.rid(room_id)

    def write(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE rooms SET image_json = ? WHERE rid = ?", (image_json, rid))

    return Op(write, prepare=prepare, room=room_id)


def mark_imported(sha256: str, room_id: str, file: str, now: float) -> Op:
    """Remember that a ``save_dir`` bundle was imported, so it is never imported twice (a
    room deleted since does not come back at the next start)."""

    def write(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT OR REPLACE INTO imported_bundles (sha256, room_id, file, imported_at) VALUES (?, ?, ?, ?)",
                     (sha256, room_id, file, now))

    return Op(write)


def rename_room(ledger: Ledger, room_id: str, name: str) -> Op:
    rid = 0

    def prepare() -> None:
        nonlocal rid
        rid = ledger.rid(room_id)

    def write(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE rooms SET name = ? WHERE rid = ?", (name, rid))

    return Op(write, prepare=prepare, room=room_id)


@dataclass(frozen=True, slots=True)
class ImageRow:
    sha256: str
    mime: str
    width: int
    height: int
    size: int


def put_image(ledger: Ledger, room_id: str, image: ImageRow, *, current: bool) -> Op:
    """Record that ``room_id`` has ``image`` (its file is already written); ``current``:
    it is the room's base image now."""
    rid = 0

    def prepare() -> None:
        nonlocal rid
        rid = ledger.rid(room_id)

    def write(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT OR IGNORE INTO images (sha256, mime, width, height, size) VALUES (?, ?, ?, ?, ?)",
                     (image.sha256, image.mime, image.width, image.height, image.size))
        conn.execute("INSERT OR IGNORE INTO room_images (rid, sha256) VALUES (?, ?)", (rid, image.sha256))
        if current:
            conn.execute("UPDATE rooms SET image_sha256 = ? WHERE rid = ?", (image.sha256, rid))

    return Op(write, prepare=prepare, room=room_id)


def delete_room(ledger: Ledger, room_id: str) -> Op:
    """Remove a room and everything of it; the result is the images no room uses any more
    (their files are removed after the commit)."""
    rid = 0

    def prepare() -> None:
        nonlocal rid
        rid = ledger.rid(room_id)
        del ledger.rids[room_id], ledger.heads[room_id]
        ledger.head_ts.pop(room_id, None)
        ledger.oldest.pop(room_id, None)
        ledger.dirty.discard(room_id)

    def write(conn: sqlite3.Connection) -> list[str]:
        lo, hi = key(rid, 0), key(rid, MAX_SEQ)
        conn.execute("DELETE FROM events WHERE key BETWEEN ? AND ?", (lo, hi))
        conn.execute("DELETE FROM snapshots WHERE key BETWEEN ? AND ?", (lo, hi))
        conn.execute("DELETE FROM versions WHERE rid = ?", (rid,))
        conn.execute("DELETE FROM room_images WHERE rid = ?", (rid,))
        recovery.forget(conn, rid)
        conn.execute("DELETE FROM rooms WHERE rid = ?", (rid,))
        orphans = [r[0] for r in conn.execute(
            "SELECT sha256 FROM images WHERE sha256 NOT IN (SELECT sha256 FROM room_images)")]
        conn.executemany("DELETE FROM images WHERE sha256 = ?", [(s,) for s in orphans])
        return orphans

    return Op(write, prepare=prepare, room=room_id)
