"""The SQLite file: its tables, the pragmas each ``storage.sync`` level sets, and what
opening it checks.

Keys: events and snapshots are keyed by one integer, ``rid << SEQ_BITS | seq`` (``rid``
the room's row id). That integer is the table's rowid, so a room's log is one contiguous
range of the b-tree: appending is an append at the end of that range, reading a seq range
or pruning a prefix is one range scan, and there is no second index (a ``(room, seq)``
primary key would store every key twice, ~20 bytes per event).

Checks: each event row carries the crc32 of its update and each snapshot the sha256 of
its blob (the history's own hash), verified when a room is loaded, so damage inside one
room's rows fails that room alone. ``PRAGMA quick_check`` reads the whole file; it is
optional (``storage.quick_check``) because its cost grows with the store (BENCHMARKS.md).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA_VERSION = 4
"""1: the first store; 2: versions have a ``name`` (free text; empty: the tag is the name);
3: rooms carry what listing an unloaded room answers (``image_json``, ``last_change_at``) and
the save_dir bundles already imported are remembered; 4: ``meta`` (the clean-stop mark) and
``epochs`` (a room's earlier epochs, :mod:`~annotd.storage.recovery`)."""
SEQ_BITS = 40
"""seq < 2**40 per room and room row ids < 2**23 keep the key a positive 63-bit integer."""
MAX_SEQ = (1 << SEQ_BITS) - 1

TABLES = (
    """CREATE TABLE rooms (
        rid INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        created_at REAL NOT NULL,
        epoch TEXT NOT NULL,
        image_sha256 TEXT,
        head_seq INTEGER NOT NULL DEFAULT 0,
        snapshot_seq INTEGER NOT NULL DEFAULT 0,
        oldest_seq INTEGER NOT NULL DEFAULT 0,
        updated_at REAL NOT NULL,
        image_json TEXT,
        last_change_at REAL)""",
    """CREATE TABLE events (
        key INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        user_id TEXT NOT NULL,
        data BLOB NOT NULL,
        crc INTEGER NOT NULL)""",
    """CREATE TABLE snapshots (
        key INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        sha256 TEXT NOT NULL,
        state_vector BLOB NOT NULL,
        blob BLOB NOT NULL)""",
    """CREATE TABLE versions (
        rid INTEGER NOT NULL,
        tag TEXT NOT NULL,
        seq INTEGER NOT NULL,
        ts REAL NOT NULL,
        created_by TEXT NOT NULL,
        name TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (rid, tag)) WITHOUT ROWID""",
    """CREATE TABLE images (
        sha256 TEXT PRIMARY KEY,
        mime TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        size INTEGER NOT NULL) WITHOUT ROWID""",
    """CREATE TABLE room_images (
        rid INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        PRIMARY KEY (rid, sha256)) WITHOUT ROWID""",
    """CREATE TABLE imported_bundles (
        sha256 TEXT PRIMARY KEY,
        room_id TEXT NOT NULL,
        file TEXT NOT NULL,
        imported_at REAL NOT NULL) WITHOUT ROWID""",
)

RECOVERY_TABLES = (
    """CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value INTEGER NOT NULL) WITHOUT ROWID""",
    """CREATE TABLE epochs (
        rid INTEGER NOT NULL,
        epoch TEXT NOT NULL,
        upto INTEGER NOT NULL)""",
    "CREATE INDEX epochs_rid ON epochs (rid)",
)
"""Schema 4's tables (see :mod:`~annotd.storage.recovery`): ``epochs`` keeps, per room,
every epoch a crash ended and the last seq it shares with the room's log since (``upto``). A
file upgraded from an older schema has no clean-stop mark, so its first opening counts as
after a crash."""

UPGRADES: dict[int, tuple[str, ...]] = {
    2: ("ALTER TABLE versions ADD COLUMN name TEXT NOT NULL DEFAULT ''",),
    3: (
        # What listing a room that is not loaded answers for its image: the document's
        # ``meta.image`` as the door last wrote it. A folder of schema 1 had only the
        # sha256 of the room's current image; its row gives the same reference that
        # setting the image writes (corrected when the room is next loaded, if a client
        # changed it by hand).
        "ALTER TABLE rooms ADD COLUMN image_json TEXT",
        """UPDATE rooms SET image_json = (
            SELECT json_object('sha256', i.sha256, 'width', i.width, 'height', i.height, 'mime', i.mime)
            FROM images i WHERE i.sha256 = rooms.image_sha256)""",
        # The time of the event at the head, kept by the writer with the head: listing reads
        # it from the row instead of a lookup per room.
        "ALTER TABLE rooms ADD COLUMN last_change_at REAL",
        f"UPDATE rooms SET last_change_at = (SELECT e.ts FROM events e WHERE e.key = (rooms.rid << {SEQ_BITS}) + rooms.head_seq)",
        TABLES[-1],
    ),
    4: RECOVERY_TABLES,
}
"""Schema version → the statements that bring a file of the version before it up to it
(run in one transaction at open, so an older folder stays readable and is never half-upgraded)."""

SYNCHRONOUS = {"full": "FULL", "batch": "NORMAL", "off": "OFF"}
"""In WAL mode: FULL syncs the WAL at every commit; NORMAL only at checkpoints (a commit
is in the OS page cache: it survives the process, not the machine); OFF never syncs."""


def key(rid: int, seq: int) -> int:
    return rid << SEQ_BITS | seq


def seq_of(k: int) -> int:
    return k & MAX_SEQ


def connect(path: Path, sync: str, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, with the sync
    level's pragma; checkpoints are the writer's (never inside a commit)."""
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 5000")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS[sync]}")
        conn.execute("PRAGMA wal_autocheckpoint = 0")
    return conn


def migrate(conn: sqlite3.Connection) -> None:
    """Create the tables in a new file, upgrade an older one in one transaction; refuse a
    file of a newer schema."""
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(f"the store has schema {version}; this annotd reads {SCHEMA_VERSION}")
    conn.execute("BEGIN IMMEDIATE")
    try:
        if version == 0:
            for ddl in TABLES + RECOVERY_TABLES:
                conn.execute(ddl)
        else:
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for sql in UPGRADES[step]:
                    conn.execute(sql)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def quick_check(conn: sqlite3.Connection) -> list[str]:
    """Problems ``PRAGMA quick_check`` reports (empty when the file is sound)."""
    rows = [r[0] for r in conn.execute("PRAGMA quick_check(100)").fetchall()]
    return [] if rows == ["ok"] else rows


RETRYABLE = {"SQLITE_FULL", "SQLITE_BUSY", "SQLITE_LOCKED"}


def is_refused_write(exc: sqlite3.Error) -> bool:
    """The disk refused the write (full, a file-size limit, a failed write or sync): the
    transaction rolled back and the same writes may succeed later. Anything else (a
    corrupt file, a constraint) will not get better by retrying."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name in RETRYABLE or name.startswith("SQLITE_IOERR")
