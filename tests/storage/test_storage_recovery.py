"""What a store says about the stop before it: a clean close keeps every room's epoch; a
process that died (or a close that left writes unwritten) gives every room a new epoch at
the next open and keeps the old one with the last seq both share (the durable head), so
clients past that seq resync while the others are still replayed exactly."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from annotd.base.config import StorageConfig
from annotd.core.history import Event
from annotd.storage import SqliteStore, StoreRefused
from annotd.storage.recovery import EPOCHS_KEPT

from ..storage.test_storage import T, empty, open_store, record

ROOT = Path(__file__).resolve().parents[2]


def die_after(path: Path, appends: int) -> None:
    """A process that opens the store, appends ``appends`` events to room r1 (creating it
    first if needed), waits for their commits and dies without closing the store."""
    script = textwrap.dedent(f"""
        import os
        from pathlib import Path
        from annotd.base.config import StorageConfig
        from annotd.core.history import Event, Snapshot
        from annotd.storage import RoomRecord, SqliteStore
        from pycrdt import Doc
        store = SqliteStore(Path({str(path)!r}), StorageConfig())
        heads = {{r.id: r.head_seq for r in store.list_rooms()}}
        if "r1" not in heads:
            store.create_room(RoomRecord("r1", "Room r1", 100.0, "epoch0000001"),
                              Snapshot.of(0, 1.0, Doc().get_update())).result(30)
        head = heads.get("r1", 0)
        for f in [store.append("r1", Event(head + i, 1.0, "u", b"x%d" % i)) for i in range(1, {appends} + 1)]:
            f.result(30)
        os._exit(0)
    """)
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, timeout=T)


def epoch_of(store: SqliteStore, room_id: str = "r1") -> str:
    return next(r.epoch for r in store.list_rooms() if r.id == room_id)


def test_a_clean_close_keeps_every_epoch(tmp_path: Path) -> None:
    with open_store(tmp_path / "d") as store:
        store.create_room(record(), empty()).result(T)
        for i in range(1, 4):
            store.append("r1", Event(i, 1.0, "u", b"x")).result(T)
    with open_store(tmp_path / "d") as store:
        assert store.renewed_epochs == 0
        assert epoch_of(store) == "epoch0000001"
        assert store.load_room("r1", 1).earlier_epochs == ()


def test_a_process_that_died_leaves_each_room_a_new_epoch_sharing_its_durable_head(tmp_path: Path) -> None:
    data = tmp_path / "d"
    die_after(data, 5)
    with open_store(data) as store:
        assert store.renewed_epochs == 1
        second = epoch_of(store)
        assert second != "epoch0000001" and len(second) == 12
        stored = store.load_room("r1", 1)
        assert stored.record.head_seq == 5
        assert stored.earlier_epochs == (("epoch0000001", 5),)
        store.append("r1", Event(6, 1.0, "u", b"y")).result(T)
    with open_store(data) as store:  # a clean stop in between changes nothing
        assert store.renewed_epochs == 0 and epoch_of(store) == second
    die_after(data, 2)
    with open_store(data) as store:
        third = epoch_of(store)
        assert third not in (second, "epoch0000001")
        assert store.load_room("r1", 1).earlier_epochs == (("epoch0000001", 5), (second, 8))


def test_writes_left_unwritten_at_close_count_as_an_unclean_stop(tmp_path: Path) -> None:
    with open_store(tmp_path / "d") as store:
        store.create_room(record(), empty()).result(T)
        store.append("r1", Event(1, 1.0, "u", b"x")).result(T)
        with pytest.raises(StoreRefused):  # seq 2 never reached the disk: a client may have seen it
            store.append("r1", Event(3, 1.0, "u", b"x")).result(T)
    with open_store(tmp_path / "d") as store:
        assert store.renewed_epochs == 1
        assert store.load_room("r1", 1).earlier_epochs == (("epoch0000001", 1),)


def test_only_the_newest_earlier_epochs_are_kept_and_a_deleted_room_forgets_them(tmp_path: Path) -> None:
    data = tmp_path / "d"
    with open_store(data) as store:
        store.create_room(record(), empty()).result(T)
    db = data / "rooms.sqlite3"
    for _ in range(EPOCHS_KEPT + 3):
        with sqlite3.connect(db) as conn:  # as a crash leaves it: still marked open
            conn.execute("UPDATE meta SET value = 1 WHERE key = 'open'")
        store = open_store(data)
        store.close()
    with open_store(data) as store:
        earlier = store.load_room("r1", 1).earlier_epochs
        assert len(earlier) == EPOCHS_KEPT and len({e for e, _ in earlier}) == EPOCHS_KEPT
        store.delete_room("r1").result(T)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM epochs").fetchone() == (0,)


def test_a_store_of_an_older_schema_gets_the_new_tables_and_cannot_vouch_for_its_last_stop(tmp_path: Path) -> None:
    data = tmp_path / "d"
    with open_store(data) as store:
        store.create_room(record(), empty()).result(T)
    with sqlite3.connect(data / "rooms.sqlite3") as conn:
        conn.execute("DROP TABLE meta")
        conn.execute("DROP TABLE epochs")
        conn.execute("PRAGMA user_version = 3")  # the schema before the recovery tables
    with SqliteStore(data, StorageConfig()) as store:
        assert store.renewed_epochs == 1
        assert store.load_room("r1", 1).earlier_epochs == (("epoch0000001", 0),)
