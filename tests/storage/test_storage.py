"""The room store's promises, each tested on the store alone (no daemon): writes are
acknowledged after their commit and grouped, seqs are gap-free, rooms read back whole and
lazily, deeper history and retention, images as files, the folder's lock and modes."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from concurrent.futures import Future
from pathlib import Path

import pytest
from pycrdt import Doc, Map

from annotd.base import errors
from annotd.base.config import Config, ConfigError, StorageConfig
from annotd.base.docstate import build_doc
from annotd.base.errors import Gone, RoomNotFound, StorageFull
from annotd.core.history import Event, Snapshot, Version
from annotd.core.images import StoredImage
from annotd.storage import RoomRecord, SqliteStore, StoreError, StoreLocked, StoreRefused
from annotd.storage.schema import connect
from annotd.storage.writer import Op, Writer

T = 30.0


def empty() -> Snapshot:
    return Snapshot.of(0, 1.0, Doc().get_update())


def record(room_id: str = "r1") -> RoomRecord:
    return RoomRecord(room_id, f"Room {room_id}", 100.0, "epoch0000001")


def open_store(path: Path, **settings: object) -> SqliteStore:
    return SqliteStore(path, StorageConfig(**settings))  # type: ignore[arg-type]


def edits(n: int) -> list[bytes]:
    """``n`` real Yjs updates, each setting one key of the ``items`` map."""
    doc: Doc = Doc()
    items = doc.get("items", type=Map)
    out: list[bytes] = []
    doc.observe(lambda e: out.append(e.update))
    for i in range(n):
        items[f"k{i}"] = i
    return out


def test_appends_read_back_in_order_with_their_fields(tmp_path: Path) -> None:
    with open_store(tmp_path / "d") as store:
        store.create_room(record(), empty()).result(T)
        futs = [store.append("r1", Event(i, 1000.0 + i, f"u{i % 3}", bytes([i % 256]) * (i + 1))) for i in range(1, 301)]
        assert [f.result(T) for f in futs] == list(range(1, 301))
        events = store.events("r1", 0, 300)
    assert [e.seq for e in events] == list(range(1, 301))
    assert events[9] == Event(10, 1010.0, "u1", bytes([10]) * 11)


def test_an_append_is_acknowledged_only_after_its_commit_and_a_waiting_queue_commits_as_one(tmp_path: Path) -> None:
    """A commit held open (an operation that waits on a gate) keeps every later append
    unacknowledged; released, the ones that queued meanwhile commit in one transaction."""
    with open_store(tmp_path / "d", max_batch_ops=1000) as store:
        store.create_room(record(), empty()).result(T)
        entered, gate = threading.Event(), threading.Event()

        def held(_conn: sqlite3.Connection) -> None:
            entered.set()
            assert gate.wait(T)

        gate_fut = store._writer.submit(Op(held))
        assert entered.wait(T)
        before = store.commits
        futs = [store.append("r1", Event(i, 1.0, "u", b"x")) for i in range(1, 251)]
        assert not any(f.done() for f in futs)
        gate.set()
        gate_fut.result(T)
        assert [f.result(T) for f in futs] == list(range(1, 251))
        assert store.commits == before + 2  # the gate's batch, then all 250 at once


def test_max_batch_ops_bounds_one_transaction(tmp_path: Path) -> None:
    with open_store(tmp_path / "d", max_batch_ops=100) as store:
        store.create_room(record(), empty()).result(T)
        entered, gate = threading.Event(), threading.Event()
        store._writer.submit(Op(lambda _c: (entered.set(), gate.wait(T))))
        assert entered.wait(T)
        before = store.commits
        futs = [store.append("r1", Event(i, 1.0, "u", b"x")) for i in range(1, 251)]
        gate.set()
        futs[-1].result(T)
        assert store.commits == before + 1 + 3  # 100 + 100 + 50


def test_the_commit_listener_hears_the_newest_durable_seq_per_room(tmp_path: Path) -> None:
    heard: list[dict[str, int]] = []
    store = SqliteStore(tmp_path / "d", StorageConfig(), on_commit=heard.append)
    with store:
        for room in ("a", "b"):
            store.create_room(record(room), empty())
        entered, gate = threading.Event(), threading.Event()
        store._writer.submit(Op(lambda _c: (entered.set(), gate.wait(T))))
        assert entered.wait(T)
        futs = [store.append(room, Event(i, 1.0, "u", b"x")) for i in range(1, 6) for room in ("a", "b")]
        gate.set()
        futs[-1].result(T)
    assert heard == [{"a": 5, "b": 5}]


def test_a_seq_that_is_not_the_next_is_refused_alone(tmp_path: Path) -> None:
    with open_store(tmp_path / "d") as store:
        store.create_room(record(), empty()).result(T)
        ok1 = store.append("r1", Event(1, 1.0, "u", b"a"))
        gap = store.append("r1", Event(3, 1.0, "u", b"c"))
        dup = store.append("r1", Event(1, 1.0, "u", b"a"))
        unknown = store.append("nope", Event(1, 1.0, "u", b"a"))
        ok2 = store.append("r1", Event(2, 1.0, "u", b"b"))
        assert ok1.result(T) == 1 and ok2.result(T) == 2
        for f in (gap, dup, unknown):
            with pytest.raises(StoreRefused):
                f.result(T)
        assert [e.update for e in store.events("r1", 0, 2)] == [b"a", b"b"]
        with pytest.raises(StoreRefused):
            store.create_room(record(), empty()).result(T)


def test_rooms_survive_a_reopen_with_seq_epoch_versions_and_snapshots(tmp_path: Path) -> None:
    updates = edits(30)
    doc: Doc = Doc()
    with open_store(tmp_path / "d") as store:
        store.create_room(record(), empty())
        for i, u in enumerate(updates, 1):
            store.append("r1", Event(i, 1000.0 + i, "u", u))
            doc.apply_update(u)
            if i in (10, 20):
                store.put_snapshot("r1", Snapshot.of(i, 1000.0 + i, doc.get_update()))
        at5 = Doc()
        for u in updates[:5]:
            at5.apply_update(u)
        store.put_version("r1", Version("v1", 5, 1005.0, "alice"), Snapshot.of(5, 1005.0, at5.get_update()))
        store.rename_room("r1", "Renamed").result(T)
    with open_store(tmp_path / "d") as store:
        (rec,) = store.list_rooms()
        assert (rec.id, rec.name, rec.epoch, rec.head_seq, rec.snapshot_seq) == ("r1", "Renamed", "epoch0000001", 30, 20)
        loaded = store.load_room("r1", keep_snapshots=2)
    assert [s.seq for s in loaded.snapshots] == [5, 10, 20]  # the newest 2 and the pinned one
    assert [e.seq for e in loaded.events] == list(range(11, 31))  # after the oldest of the newest 2
    assert loaded.versions == (Version("v1", 5, 1005.0, "alice"),)
    rebuilt = build_doc(loaded.snapshots[-1].parts())  # checks the snapshot's sha256 first
    for ev in loaded.events[10:]:
        rebuilt.apply_update(ev.update)
    assert rebuilt.get("items", type=Map).to_py() == doc.get("items", type=Map).to_py()


def test_parts_at_any_kept_seq_rebuilds_that_state(tmp_path: Path) -> None:
    updates = edits(40)
    doc: Doc = Doc()
    with open_store(tmp_path / "d") as store:
        store.create_room(record(), empty())
        for i, u in enumerate(updates, 1):
            store.append("r1", Event(i, 1.0, "u", u))
            doc.apply_update(u)
            if i == 25:
                store.put_snapshot("r1", Snapshot.of(i, 1.0, doc.get_update()))
        store.put_snapshot("r1", Snapshot.of(40, 1.0, doc.get_update())).result(T)
        for seq in (0, 7, 25, 33, 40):
            built = build_doc(store.parts_at("r1", seq)).get("items", type=Map).to_py()
            assert built == {f"k{i}": float(i) for i in range(seq)}, seq
        with pytest.raises(RoomNotFound):
            store.parts_at("nope", 1)


def test_listing_reads_metadata_only(tmp_path: Path) -> None:
    with open_store(tmp_path / "d") as store:
        for i in range(50):
            store.create_room(RoomRecord(f"room{i:02}", f"n{i}", float(i), "e"), empty())
        store.append("room07", Event(1, 1.0, "u", b"x")).result(T)
        rooms = store.list_rooms()
    assert [r.id for r in rooms] == [f"room{i:02}" for i in range(50)]
    assert rooms[7].head_seq == 1 and rooms[8].head_seq == 0


def test_retention_keeps_the_newest_events_and_always_the_head(tmp_path: Path) -> None:
    with open_store(tmp_path / "d", keep_events=100) as store:
        store.create_room(record(), empty())
        for i in range(1, 301):
            store.append("r1", Event(i, 1.0, "u", b"e%d" % i))
            if i % 50 == 0:
                store.put_snapshot("r1", Snapshot(i, 1.0, b"s%d" % i, hashlib.sha256(b"s%d" % i).hexdigest(), b""))
        store.put_version("r1", Version("old", 50, 1.0, "u"), Snapshot(50, 1.0, b"s50", hashlib.sha256(b"s50").hexdigest(), b""))
        assert store.prune_now().result(T) == 200  # cut at the snapshot at 200: 300 - 100
        (rec,) = store.list_rooms()
        assert rec.oldest_seq == 200
        assert [e.seq for e in store.events("r1", 200, 300)] == list(range(201, 301))
        with pytest.raises(Gone):
            store.events("r1", 150, 300)
        with pytest.raises(Gone):
            store.parts_at("r1", 120)
        assert store.parts_at("r1", 50).base == b"s50"  # pinned by a version
        parts = store.parts_at("r1", 260)
        assert parts.base == b"s250" and parts.updates == tuple(b"e%d" % i for i in range(251, 261))
        assert [s.seq for s in store.load_room("r1", 5).snapshots] == [50, 200, 250, 300]


def test_retention_by_age_cuts_only_before_old_snapshots(tmp_path: Path) -> None:
    now = [10 * 86400.0]
    store = SqliteStore(tmp_path / "d", StorageConfig(keep_days=2.0), clock=lambda: now[0])
    with store:
        store.create_room(record(), empty())
        for i in range(1, 31):
            ts = i * 86400.0 / 4 if i <= 20 else 9 * 86400.0  # 1..20: days 0.25..5; 21..30: day 9
            store.append("r1", Event(i, ts, "u", b"e"))
            if i in (10, 20, 30):
                store.put_snapshot("r1", Snapshot(i, ts, b"s", hashlib.sha256(b"s").hexdigest(), b""))
        # now is day 10: the snapshot at 20 (day 5) is past keep_days, the one at 30 (day 9) is not
        assert store.prune_now().result(T) == 20
        assert store.list_rooms()[0].oldest_seq == 20


def test_no_retention_keeps_everything(tmp_path: Path) -> None:
    with open_store(tmp_path / "d") as store:
        store.create_room(record(), empty())
        for i in range(1, 101):
            store.append("r1", Event(i, 0.0, "u", b"e"))
        store.put_snapshot("r1", Snapshot(100, 0.0, b"s", hashlib.sha256(b"s").hexdigest(), b""))
        assert store.prune_now().result(T) == 0
        assert len(store.events("r1", 0, 100)) == 100


def image(data: bytes) -> StoredImage:
    return StoredImage(hashlib.sha256(data).hexdigest(), "image/png", 3, 2, data)


def test_images_are_content_addressed_files_shared_and_removed_with_their_last_room(tmp_path: Path) -> None:
    a, b = image(b"\x89PNG fake a" * 100), image(b"\x89PNG fake b" * 100)
    with open_store(tmp_path / "d") as store:
        for room in ("r1", "r2"):
            store.create_room(record(room), empty())
        store.put_image("r1", a).result(T)
        store.put_image("r2", a).result(T)
        store.put_image("r2", b).result(T)
        path_a = store.images.path(a.sha256)
        assert path_a.read_bytes() == a.data and path_a.stat().st_mode & 0o777 == 0o600
        assert store.image(a.sha256) == a
        assert {r.id: r.image_sha256 for r in store.list_rooms()} == {"r1": a.sha256, "r2": b.sha256}
        assert set(store.load_room("r2", 1).images) == {a.sha256, b.sha256}
        store.delete_room("r2").result(T)
        assert path_a.exists() and not store.images.path(b.sha256).exists()
        assert store.image(b.sha256) is None
        store.delete_room("r1").result(T)
        assert not path_a.exists() and store.list_rooms() == []


def test_a_second_open_of_the_folder_is_refused_naming_the_holder(tmp_path: Path) -> None:
    import os

    with open_store(tmp_path / "d"):
        with pytest.raises(StoreLocked) as info:
            open_store(tmp_path / "d")
        assert info.value.pid == os.getpid() and f"process {os.getpid()}" in str(info.value)
    open_store(tmp_path / "d").close()  # released on close


def test_folder_0700_and_every_file_0600(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir(mode=0o755)
    with open_store(folder) as store:
        store.create_room(record(), empty())
        store.put_image("r1", image(b"img")).result(T)
        store.append("r1", Event(1, 1.0, "u", b"x")).result(T)
        assert folder.stat().st_mode & 0o777 == 0o700
        files = [p for p in folder.rglob("*")]
        assert {p.name for p in files} >= {"rooms.sqlite3", "rooms.sqlite3-wal", "rooms.sqlite3-shm", "annotd.lock"}
        for p in files:
            assert p.stat().st_mode & 0o777 == (0o700 if p.is_dir() else 0o600), p


def test_close_writes_everything_submitted_and_refuses_later_writes(tmp_path: Path) -> None:
    store = open_store(tmp_path / "d")
    store.create_room(record(), empty())
    futs = [store.append("r1", Event(i, 1.0, "u", b"x")) for i in range(1, 501)]
    store.close()
    assert all(f.done() and f.result() == i for i, f in enumerate(futs, 1))
    late: Future[int] = store.append("r1", Event(501, 1.0, "u", b"x"))
    with pytest.raises(Exception, match="closed"):
        late.result(T)
    with open_store(tmp_path / "d") as again:
        assert again.list_rooms()[0].head_seq == 500


@pytest.mark.parametrize(("level", "pragma"), [("full", 2), ("batch", 1), ("off", 0)])
def test_each_sync_level_sets_its_pragma(tmp_path: Path, level: str, pragma: int) -> None:
    with open_store(tmp_path / "d", sync=level) as store:
        assert store._writer.conn.execute("PRAGMA synchronous").fetchone()[0] == pragma
        assert store._writer.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_storage_config_keys_are_checked() -> None:
    cfg = Config().replace("storage", sync="batch", keep_days=7.0, keep_events=1000)
    assert (cfg.storage.sync, cfg.storage.keep_days, cfg.storage.keep_events) == ("batch", 7.0, 1000)
    assert Config().storage.sync == "full" and Config().rooms.data_dir == ""
    for bad in ({"sync": "sometimes"}, {"max_batch_ops": 0}, {"retry_s": 0}, {"prune_interval_s": 0},
                {"keep_events": -1}):
        with pytest.raises(ConfigError):
            Config().replace("storage", **bad)


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    open_store(tmp_path / "d").close()
    conn = connect(tmp_path / "d" / "rooms.sqlite3", "full")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(sqlite3.DatabaseError, match="schema 99"):
        open_store(tmp_path / "d")


def test_writer_alone_commits_in_submission_order(tmp_path: Path) -> None:
    conn = connect(tmp_path / "w.db", "batch")
    conn.execute("CREATE TABLE t (x INTEGER)")
    writer = Writer(conn, max_batch=7, retry_s=1.0, upkeep=lambda c, busy: None, upkeep_every_s=60.0)
    futs = [writer.submit(Op(lambda c, i=i: c.execute("INSERT INTO t VALUES (?)", (i,)) and i)) for i in range(100)]
    assert [f.result(T) for f in futs] == list(range(100))
    writer.close()
    assert [r[0] for r in conn.execute("SELECT x FROM t ORDER BY rowid")] == list(range(100))
    conn.close()


def test_the_writer_prunes_by_itself_every_prune_interval(tmp_path: Path) -> None:
    mono = [0.0]
    settings = StorageConfig(keep_events=10, prune_interval_s=60.0)
    with SqliteStore(tmp_path / "d", settings, monotonic=lambda: mono[0]) as store:
        store.create_room(record(), empty())
        for i in range(1, 101):
            store.append("r1", Event(i, 1.0, "u", b"e"))
            if i % 20 == 0:
                store.put_snapshot("r1", Snapshot(i, 1.0, b"s", hashlib.sha256(b"s").hexdigest(), b""))
        store.append("r1", Event(101, 1.0, "u", b"e")).result(T)
        assert store.list_rooms()[0].oldest_seq == 0  # the interval has not passed
        mono[0] = 61.0
        store.append("r1", Event(102, 1.0, "u", b"e")).result(T)
        # upkeep runs between batches on the one writer thread: done once the next batch commits
        store.append("r1", Event(103, 1.0, "u", b"e")).result(T)
        assert store.list_rooms()[0].oldest_seq == 80


def test_an_append_that_fails_for_good_fails_alone_and_stops_its_room_only(tmp_path: Path) -> None:
    """A write SQLite refuses for a reason retrying cannot fix (here a row already there):
    the rest of its batch commits, and that room's later appends are refused, not written
    past a gap."""
    with open_store(tmp_path / "d") as store:
        for room in ("r1", "r2"):
            store.create_room(record(room), empty())
        store.append("r1", Event(1, 1.0, "u", b"a")).result(T)
        other = connect(store.db_path, "full")
        other.execute("INSERT INTO events (key, ts, user_id, data, crc) VALUES (?, 1, 'x', x'00', 0)",
                      ((1 << 40) | 2,))  # room r1 (rid 1), seq 2, behind the store's back
        other.close()
        entered, gate = threading.Event(), threading.Event()
        store._writer.submit(Op(lambda _c: (entered.set(), gate.wait(T))))
        assert entered.wait(T)
        clash = store.append("r1", Event(2, 1.0, "u", b"b"))
        fine = store.append("r2", Event(1, 1.0, "u", b"c"))
        after = store.append("r1", Event(3, 1.0, "u", b"d"))
        gate.set()
        assert fine.result(T) == 1
        with pytest.raises(StoreError, match="could not write"):
            clash.result(T)
        with pytest.raises(StoreRefused):
            after.result(T)
        with pytest.raises(StoreRefused, match="earlier append failed"):
            store.append("r1", Event(3, 1.0, "u", b"d")).result(T)
        assert store.append("r2", Event(2, 1.0, "u", b"e")).result(T) == 2


def test_storage_full_is_507_with_its_row_in_protocol_md() -> None:
    err = StorageFull("the disk refused the write", data={"reason": "SQLITE_FULL"})
    assert (err.code, err.http_status, err.rpc_code, err.close_code) == ("storage_full", 507, -32007, 1011)
    assert errors.CLOSE_CODES[err.close_code].final is False  # the client reconnects and resends
    text = (Path(__file__).resolve().parents[2] / "protocol.md").read_text()
    assert "| `storage_full` | 507 | -32007 |" in text


def test_a_bug_in_one_write_fails_that_write_and_the_writer_goes_on(tmp_path: Path) -> None:
    conn = connect(tmp_path / "w.db", "batch")
    conn.execute("CREATE TABLE t (x INTEGER)")
    writer = Writer(conn, max_batch=100, retry_s=1.0, upkeep=lambda c, busy: None, upkeep_every_s=60.0)

    def bug(_c: sqlite3.Connection) -> None:
        raise KeyError("a bug")

    bad = writer.submit(Op(bug))
    good = writer.submit(Op(lambda c: c.execute("INSERT INTO t VALUES (1)") and 1))
    assert good.result(T) == 1
    with pytest.raises(StoreError, match="KeyError"):
        bad.result(T)
    assert writer.submit(Op(lambda c: 2)).result(T) == 2
    writer.close()
    conn.close()
