"""After a crash: which seqs the restarted rooms still share with what clients saw.

Relaying never waits for the disk, so when the process dies some clients may hold updates
whose seqs never reached the disk. The restarted room's head is below those seqs, and its
next changes take them again for other events: a client's ``lastSeq`` past the durable head
names an event that no longer exists, even once the head has grown past it, and replaying
from it would skip the event that now has that seq.

So a store knows whether the daemon before it stopped cleanly: opening it commits
``meta.open = 1`` before any other write, a clean :meth:`SqliteStore.close` (every submitted
write committed) commits ``open = 0``. Opening a store that is still marked open (or that
cannot say: a file upgraded from a schema before 4) ends every room's epoch in one transaction: the old epoch
goes into ``epochs`` with ``upto`` = the room's durable head, and the room gets a new random
epoch. A client that comes back with the old epoch and ``lastSeq <= upto`` is replayed
exactly (those events are on disk, unchanged, and numbered the same in the new epoch); one
with a ``lastSeq`` past ``upto`` resyncs (the rule itself is :meth:`annotd.core.room.Room.join`'s).

Why not ask which rooms had writes in flight: knowing that would need a disk write before
every relay, which is what relaying must never wait for. Ending every room's epoch costs a
client nothing it should keep: within ``upto`` it is still replayed, and past ``upto`` it
must resync anyway. A clean stop keeps every epoch: a restart stays a reconnect.
"""

from __future__ import annotations

import sqlite3

EPOCHS_KEPT = 16
"""Earlier epochs kept per room (one per crash): a client away across more crashes than
this resyncs, which is always correct."""


def stopped_cleanly(conn: sqlite3.Connection) -> bool:
    """The last daemon on this file closed it cleanly (a new file counts as clean only if
    it has no rooms, which is what a new file has)."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'open'").fetchone()
    if row is None:
        return conn.execute("SELECT 1 FROM rooms LIMIT 1").fetchone() is None
    return bool(row[0] == 0)


def open_store(conn: sqlite3.Connection) -> int:
    """Mark the store open; after an unclean stop, first give every room a new epoch (the
    old one kept with its durable head). Returns how many rooms got a new epoch."""
    clean = stopped_cleanly(conn)
    conn.execute("BEGIN IMMEDIATE")
    try:
        renewed = 0
        if not clean:
            conn.execute("INSERT INTO epochs (rid, epoch, upto) SELECT rid, epoch, head_seq FROM rooms")
            renewed = conn.execute("UPDATE rooms SET epoch = lower(hex(randomblob(6)))").rowcount
            conn.execute(
                "DELETE FROM epochs WHERE rowid IN (SELECT rowid FROM (SELECT rowid, row_number() OVER"
                " (PARTITION BY rid ORDER BY rowid DESC) AS n FROM epochs) WHERE n > ?)", (EPOCHS_KEPT,))
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('open', 1)")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return renewed


def close_cleanly(conn: sqlite3.Connection) -> None:
    """Every write submitted to the store is committed: the next open keeps every epoch."""
    conn.execute("UPDATE meta SET value = 0 WHERE key = 'open'")


def earlier_epochs(conn: sqlite3.Connection, rid: int) -> tuple[tuple[str, int], ...]:
    """A room's earlier epochs, oldest first, each with the last seq it shares with now."""
    return tuple((e, upto) for e, upto in conn.execute(
        "SELECT epoch, upto FROM epochs WHERE rid = ? ORDER BY rowid", (rid,)))


def forget(conn: sqlite3.Connection, rid: int) -> None:
    """A deleted room's earlier epochs (inside its deletion's transaction)."""
    conn.execute("DELETE FROM epochs WHERE rid = ?", (rid,))
