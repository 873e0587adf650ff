"""Pruning the disk's history by ``storage.keep_days`` / ``storage.keep_events``.

The rule: an event is pruned when it is older than ``keep_days`` (if set) and not among
its room's newest ``keep_events`` (if set); with both at 0 nothing is pruned. Pruning only
ever cuts at a snapshot on disk, so the newest state is always "a snapshot + the events
after it": the cut is the newest snapshot ``S`` whose seq leaves the newest
``keep_events`` events and whose time is older than ``keep_days``; events up to ``S`` and
snapshots before ``S`` go, except snapshots a named version pins. Events before a
snapshot are no younger than it (the clock moves forward), so the age test on ``S`` is
the age test on every event it cuts. It runs on the writer thread, one room per
transaction, and stops as soon as new writes are waiting.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from .schema import key, seq_of

DAY_S = 86400.0


def enabled(keep_days: float, keep_events: int) -> bool:
    return keep_days > 0 or keep_events > 0


def prune_room(conn: sqlite3.Connection, rid: int, head: int, now: float, keep_days: float,
               keep_events: int) -> tuple[int, int | None]:
    """Apply the rule to one room whose newest seq is ``head`` (inside the caller's
    transaction); return how many events went and the room's new oldest seq (``None``:
    unchanged)."""
    row = conn.execute("SELECT oldest_seq FROM rooms WHERE rid = ?", (rid,)).fetchone()
    if row is None:
        return 0, None
    (oldest,) = row
    upto = head - keep_events if keep_events > 0 else head
    before = now - keep_days * DAY_S if keep_days > 0 else float("inf")
    if upto <= oldest:
        return 0, None
    found = conn.execute("SELECT key FROM snapshots WHERE key > ? AND key <= ? AND ts < ? ORDER BY key DESC LIMIT 1",
                         (key(rid, oldest), key(rid, upto), before)).fetchone()
    if found is None:
        return 0, None
    cut = seq_of(found[0])
    pinned = [s for (s,) in conn.execute("SELECT seq FROM versions WHERE rid = ?", (rid,))]
    gone = conn.execute("DELETE FROM events WHERE key > ? AND key <= ?", (key(rid, 0), key(rid, cut))).rowcount
    conn.execute(f"DELETE FROM snapshots WHERE key >= ? AND key < ? AND key NOT IN ({','.join('?' * len(pinned))})",
                 (key(rid, 0), key(rid, cut), *(key(rid, s) for s in pinned)))
    conn.execute("UPDATE rooms SET oldest_seq = ? WHERE rid = ?", (cut, rid))
    return gone, cut


def prune(conn: sqlite3.Connection, rooms: dict[str, int], heads: dict[str, int], dirty: set[str], now: float,
          keep_days: float, keep_events: int, busy: Callable[[], bool], *, own_transactions: bool,
          oldest: dict[str, int] | None = None) -> int:
    """Prune each room in ``dirty`` (taken out of it as done) until ``busy()``; with
    ``own_transactions`` each room in its own (new writes wait for one room at most).
    ``oldest`` (room id → oldest seq on disk) is moved once a room's pruning committed
    (inside the caller's transaction: at once, so a reader may be told a seq is gone a
    moment early, never that a gone seq is there)."""
    total = 0
    while dirty and not busy():
        room_id = dirty.pop()
        rid = rooms.get(room_id)
        if rid is None:
            continue
        if not own_transactions:
            gone, cut = prune_room(conn, rid, heads[room_id], now, keep_days, keep_events)
        else:
            conn.execute("BEGIN IMMEDIATE")
            try:
                gone, cut = prune_room(conn, rid, heads[room_id], now, keep_days, keep_events)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                dirty.add(room_id)
                raise
        total += gone
        if cut is not None and oldest is not None and room_id in rooms:
            oldest[room_id] = cut
    return total
