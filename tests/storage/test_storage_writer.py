"""The writer's per-update economy: appends without a future report through the listeners,
runs of row writes are one executemany, and under load a commit waits for the end of its
interval so that the writes of that interval share it."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from annotd.base.config import Config, ConfigError, StorageConfig
from annotd.base.errors import StorageFull
from annotd.core.history import Event
from annotd.storage import StoreRefused
from annotd.storage.schema import connect
from annotd.storage.writer import Op, Writer

from ..storage.test_storage import T, empty, open_store, record


def table(tmp_path: Path) -> sqlite3.Connection:
    conn = connect(tmp_path / "w.db", "batch")
    conn.execute("CREATE TABLE t (x INTEGER)")
    return conn


def row_op(x: int, *, quiet: bool = False) -> Op:
    op = Op(None, sql="INSERT INTO t VALUES (?)", quiet=quiet)

    def prepare() -> None:
        op.row, op.result = (x,), x

    op.prepare = prepare
    return op


def test_writes_after_a_commit_wait_for_its_interval_and_share_the_next_commit(tmp_path: Path) -> None:
    conn = table(tmp_path)
    writer = Writer(conn, max_batch=1000, retry_s=1.0, interval_s=1.0, upkeep=lambda c, busy: None,
                    upkeep_every_s=60.0)
    assert writer.submit(row_op(0)).result(T) == 0  # the first write after a quiet spell: at once
    futs = [writer.submit(row_op(i)) for i in range(1, 51)]  # all within the interval after it
    assert [f.result(T) for f in futs] == list(range(1, 51))
    assert writer.commits == 2
    writer.close()
    assert [r[0] for r in conn.execute("SELECT x FROM t ORDER BY rowid")] == list(range(51))
    conn.close()


def test_row_writes_keep_their_order_between_other_writes(tmp_path: Path) -> None:
    conn = table(tmp_path)
    writer = Writer(conn, max_batch=1000, retry_s=1.0, upkeep=lambda c, busy: None, upkeep_every_s=60.0)
    ops = [row_op(1), row_op(2), Op(lambda c: c.execute("INSERT INTO t VALUES (3)") and 3), row_op(4)]
    futs = [writer.submit(op) for op in ops]
    assert [f.result(T) for f in futs] == [1, 2, 3, 4]
    writer.close()
    assert [r[0] for r in conn.execute("SELECT x FROM t ORDER BY rowid")] == [1, 2, 3, 4]
    conn.close()


def test_an_event_written_without_a_future_is_told_to_the_listeners(tmp_path: Path) -> None:
    durable: list[dict[str, int]] = []
    failed: list[tuple[str, int, type]] = []
    with open_store(tmp_path / "d") as store:
        store.listener = durable.append
        store.failures = lambda room, seq, exc: failed.append((room, seq, type(exc)))
        store.create_room(record(), empty()).result(T)
        for i in range(1, 6):
            store.write_event("r1", Event(i, 1.0, "u", b"x"))
        store.write_event("r1", Event(9, 1.0, "u", b"x"))  # not the next seq: refused
        store.append("r1", Event(6, 1.0, "u", b"y")).result(T)  # behind all of them
        assert max(d.get("r1", 0) for d in durable) == 6
        assert failed == [("r1", 9, StoreRefused)]
        assert [e.seq for e in store.events("r1", 0, 6)] == [1, 2, 3, 4, 5, 6]


def test_a_refused_event_without_a_future_is_told_once_and_written_when_the_disk_takes_it(tmp_path: Path) -> None:
    failed: list[tuple[int, type]] = []
    full = [True]

    with open_store(tmp_path / "d", retry_s=0.05) as store:
        heads = store._writer.before_commit
        assert heads is not None

        def disk(conn: sqlite3.Connection, batch: Sequence[Op]) -> None:
            if full[0]:
                exc = sqlite3.OperationalError("database or disk is full")
                exc.sqlite_errorname = "SQLITE_FULL"  # type: ignore[attr-defined]
                raise exc
            heads(conn, batch)

        store.create_room(record(), empty()).result(T)
        store.failures = lambda room, seq, exc: failed.append((seq, type(exc)))
        store._writer.before_commit = disk  # the disk refuses every commit for now
        store.write_event("r1", Event(1, 1.0, "u", b"x"))
        probe = store._writer.submit(Op(lambda c: None))
        with pytest.raises(StorageFull):
            probe.result(T)
        full[0] = False  # space is back: the held event is written by the retry
        store.append("r1", Event(2, 1.0, "u", b"x")).result(T)
        assert failed == [(1, StorageFull)]
        assert [e.seq for e in store.events("r1", 0, 2)] == [1, 2]


def test_the_commit_interval_is_a_checked_setting() -> None:
    assert Config().storage.commit_interval_ms == StorageConfig().commit_interval_ms == 2.0
    with pytest.raises(ConfigError, match="commit_interval_ms"):
        Config().replace("storage", commit_interval_ms=-1)
    assert Config().replace("storage", commit_interval_ms=0).storage.commit_interval_ms == 0
