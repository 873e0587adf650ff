"""The one thread that writes: group commit, refused writes held for retry, upkeep when idle.

Why one thread: SQLite has one writer at a time anyway, and a thread that owns the write
connection needs no lock around it; callers (the event loop, worker threads) only put
operations on a queue and get a :class:`~concurrent.futures.Future` back at once, so
nothing waits for the disk on their side.

Group commit: the thread takes every operation waiting in the queue (at most
``max_batch`` at a time), writes them in one transaction and commits once; each future is
resolved after that commit. Operations that arrive while a commit (and its fsync) runs
wait in the queue and form the next batch, so under load one fsync serves hundreds of
updates and the commit rate, not the update rate, is bounded by the disk. A commit costs
far more CPU than an update in it (the WAL frames of every page it touched, their
checksums, the sync), and on a fast disk "whatever arrived during the last commit" is one
or two updates; so a commit also starts no sooner than ``interval_s`` after the previous
one ended (``storage.commit_interval_ms``): under load the commit rate is at most
1/``interval_s``, while an update after a quiet spell is still committed at once.

Refused writes (disk full, a file-size limit, an I/O error): the transaction rolls back,
the batch's futures fail with :class:`~annotd.base.errors.StorageFull`, and the operations are
*kept*, in order, at the head of the queue: every later commit writes them first. So the
log on disk is always a prefix of what callers submitted (never a gap), and once space is
back they are written with the next batch, or by the retry every ``retry_s``.

An operation is ``prepare`` (runs once, before its first transaction: checks and
bookkeeping that must not be repeated on a retry; raising
:class:`~annotd.storage.records.StoreRefused` fails that operation alone) and ``write``
(the SQL; may run again after a rollback), or, for the one write made per update, a
``row`` for a shared ``sql`` statement: consecutive such operations are written with one
``executemany``. Per-update cost matters here (it is paid for every change of every room):
an operation the door does not wait on individually (``Writer.send``) has no
:class:`~concurrent.futures.Future` at all, and its failure goes to ``on_failure``.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

from ..base.errors import StorageFull
from .records import StoreClosed, StoreError, StoreRefused
from .schema import is_refused_write

log = logging.getLogger("annotd.storage")


class Op:
    """One write: ``prepare`` once, ``write`` in a transaction (or ``row`` for ``sql``),
    ``future`` resolved with what ``write`` returned (``result`` for a row), after the
    commit; an operation without a future (``quiet``) tells ``Writer.on_failure`` instead."""

    __slots__ = ("prepare", "write", "future", "room", "seq", "nbytes", "prepared", "failed", "sql", "row",
                 "result", "told")

    def __init__(self, write: Callable[[sqlite3.Connection], Any] | None, *,
                 prepare: Callable[[], None] | None = None, room: str | None = None, seq: int | None = None,
                 nbytes: int = 0, failed: Callable[[], None] | None = None, sql: str | None = None,
                 quiet: bool = False) -> None:
        self.write = write
        self.nbytes = nbytes
        self.failed = failed
        """Called (writer thread) when the operation failed for good, not merely refused
        by a full disk: what ``prepare`` accepted did not happen."""
        self.prepare = prepare
        self.future: Future[Any] | None = None if quiet else Future()
        self.room = room
        self.seq = seq
        """Set for an event append: what the commit listener is told."""
        self.prepared = False
        self.sql = sql
        """With ``row`` (set by ``prepare``): the operation is this statement with that row,
        written with the neighbouring operations of the same statement in one ``executemany``."""
        self.row: tuple[Any, ...] | None = None
        self.result: Any = None
        """What a row operation's future resolves with."""
        self.told = False
        """A quiet operation's failure was reported (once, even if it is retried)."""


_STOP = object()


class Writer:
    def __init__(self, conn: sqlite3.Connection, *, max_batch: int, retry_s: float, interval_s: float = 0.0,
                 upkeep: Callable[[sqlite3.Connection, Callable[[], bool]], None],
                 upkeep_every_s: float,
                 before_commit: Callable[[sqlite3.Connection, Sequence[Op]], None] | None = None,
                 on_commit: Callable[[Sequence[Op]], None] | None = None,
                 on_failure: Callable[[Op, BaseException], None] | None = None) -> None:
        self.conn = conn
        self.max_batch = max_batch
        self.retry_s = retry_s
        self.interval_s = interval_s
        """A commit starts at least this long after the previous one ended: under load the
        writes of that interval share one commit (its CPU and fsync); an operation that
        arrives after a quiet spell is committed at once."""
        self._last_commit = 0.0
        self.upkeep = upkeep
        """Called when the queue is empty after a commit, and at least every
        ``upkeep_every_s``; given a ``busy()`` function so it can stop early for new work."""
        self.upkeep_every_s = upkeep_every_s
        self.before_commit = before_commit
        """Called inside each batch's transaction after its operations (per-batch bookkeeping)."""
        self.on_commit = on_commit
        """Told every committed batch, on the writer thread (the door's one call per batch)."""
        self.on_failure = on_failure
        """Told (writer thread) the first failure of each quiet operation."""
        self.written_bytes = 0
        """Payload bytes committed so far (the store checkpoints by it)."""
        self.writable = True
        """False from a refused commit until a commit succeeds: callers refuse new
        changes meanwhile (they could not be made durable)."""
        self.commits = 0
        self.lost = 0
        """Operations that will never be written: refused by ``prepare``, failed for good,
        submitted after the stop, or still held when the store closed. A store closes
        cleanly only when none was (see :mod:`~annotd.storage.recovery`)."""
        self._queue: queue.SimpleQueue[Op | object] = queue.SimpleQueue()
        self._held: list[Op] = []
        self._stopping = False
        self._closing = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="annotd-store-writer", daemon=True)
        self._thread.start()

    @property
    def held(self) -> int:
        """Operations refused by the disk and waiting to be written."""
        return len(self._held)

    def submit(self, op: Op) -> Future[Any]:
        assert op.future is not None, "a quiet operation is sent, not submitted"
        self.send(op)
        return op.future

    def send(self, op: Op) -> None:
        """Queue ``op``; its outcome reaches its future, or, for a quiet one, the commit
        listener (written) or ``on_failure`` (not written)."""
        with self._closing:  # never behind the stop marker, where nothing would resolve it
            if self._stopping:
                self.lost += 1
                self._reject(op, StoreClosed("the store is closed"))
            else:
                self._queue.put(op)

    def _reject(self, op: Op, exc: BaseException) -> None:
        """Tell the operation's caller it failed (once)."""
        fut = op.future
        if fut is None:
            if not op.told:
                op.told = True
                if self.on_failure is not None:
                    try:
                        self.on_failure(op, exc)
                    except Exception:  # the listener's bug must not stop the only writer
                        log.exception("store failure listener failed")
        elif not fut.done():
            fut.set_exception(exc)

    def close(self) -> None:
        """Write everything submitted so far, then stop (held writes get one more try)."""
        with self._closing:
            if self._stopping:
                return
            self._stopping = True
            self._queue.put(_STOP)
        self._thread.join()

    # -- the thread ----------------------------------------------------------------------
    def _run(self) -> None:
        next_upkeep = time.monotonic() + self.upkeep_every_s
        stop = False
        while not stop:
            timeout = self.retry_s if self._held else max(0.0, next_upkeep - time.monotonic())
            batch, stop = self._take(timeout)
            if batch:
                self._commit(batch)
            if stop or (self._queue.empty() and not self._held) or time.monotonic() >= next_upkeep:
                if not self._held:
                    self._upkeep()
                    next_upkeep = time.monotonic() + self.upkeep_every_s
        self.lost += len(self._held)
        for op in self._held:
            self._reject(op, StoreClosed("the store closed before the disk took this write"))
        if self._held:
            log.error("store closed with writes the disk refused", extra={"unwritten": len(self._held)})

    def _take(self, timeout: float) -> tuple[list[Op], bool]:
        """Held operations first, then whatever is queued (blocking until something is or
        ``timeout`` passes)."""
        batch = self._held
        self._held = []
        stop = False
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return batch, False
        rest = self._last_commit + self.interval_s - time.monotonic()
        if rest > 0:  # busy: let this interval's writes join the commit
            time.sleep(rest)
        while True:
            if item is _STOP:
                stop = True
                break
            assert isinstance(item, Op)
            if self._prepared(item):
                batch.append(item)
            if len(batch) >= self.max_batch:
                break
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
        return batch, stop

    def _prepared(self, op: Op) -> bool:
        if op.prepared:
            return True
        op.prepared = True
        if op.prepare is not None:
            try:
                op.prepare()
            except StoreRefused as exc:
                self.lost += 1
                self._reject(op, exc)
                return False
        return True

    def _commit(self, batch: list[Op]) -> bool:
        """Write and commit ``batch``; False when an operation failed for good."""
        try:
            results = self._transaction(batch)
        except Exception as exc:  # SQLite's errors, and a bug in one operation: the only writer must go on
            if isinstance(exc, sqlite3.Error) and is_refused_write(exc):
                self._refused(batch, exc)
                return True
            if len(batch) > 1:
                self._one_by_one(batch)
                return True
            op = batch[0]
            log.error("store write failed", extra={"error": repr(exc), "room": op.room})
            self.lost += 1
            if op.failed is not None:
                op.failed()
            self._reject(op, StoreError(f"the store could not write: {exc!r}"))
            return False
        self._last_commit = time.monotonic()
        self.writable = True
        self.commits += 1
        self.written_bytes += sum(op.nbytes for op in batch)
        for op, result in zip(batch, results, strict=True):
            fut = op.future
            if fut is not None and not fut.done():  # a retried op's future already told its caller "refused"
                fut.set_result(result)
        if self.on_commit is not None:
            try:
                self.on_commit(batch)
            except Exception:  # the listener's bug must not stop the only writer
                log.exception("store commit listener failed")
        return True

    def _one_by_one(self, batch: list[Op]) -> None:
        """A batch failed for a reason retrying will not fix: commit its operations one
        at a time so only the culprit fails; a room's later appends fail with it (written,
        they would leave a gap in its log)."""
        broken: set[str] = set()
        for op in batch:
            if op.room in broken and op.seq is not None:
                self.lost += 1
                if op.failed is not None:
                    op.failed()
                self._reject(op, StoreRefused(f"room {op.room!r}: an earlier append failed"))
                continue
            if not self._commit([op]) and op.room is not None:
                broken.add(op.room)

    def _transaction(self, batch: list[Op]) -> list[Any]:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            results = _write_all(conn, batch)
            if self.before_commit is not None:
                self.before_commit(conn, batch)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return results

    def _refused(self, batch: list[Op], exc: Exception) -> None:
        if self.writable:
            log.error("the disk refused a write; holding it and refusing new changes until it succeeds",
                      extra={"error": str(exc), "ops": len(batch)})
        self.writable = False
        reason = getattr(exc, "sqlite_errorname", "") or "SQLITE_ERROR"
        error = StorageFull(f"the disk refused the write ({exc}); it is retried every few seconds "
                            "and succeeds once space is back", data={"reason": reason})
        for op in batch:
            self._reject(op, error)
        self._held = batch + self._held

    def _upkeep(self) -> None:
        try:
            self.upkeep(self.conn, lambda: not self._queue.empty())
        except Exception as exc:  # checkpoint and pruning are retried next time; writes go on
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            log.warning("store upkeep failed", extra={"error": repr(exc)})


def _write_all(conn: sqlite3.Connection, batch: Sequence[Op]) -> list[Any]:
    """Write every operation in order; a run of row operations of one statement is one
    ``executemany`` (what a batch of appends mostly is)."""
    results: list[Any] = []
    rows: list[tuple[Any, ...]] = []
    sql: str | None = None
    for op in batch:
        if op.row is not None:
            if op.sql != sql and rows:
                conn.executemany(sql, rows)  # type: ignore[arg-type]
                rows = []
            sql = op.sql
            rows.append(op.row)
            results.append(op.result)
            continue
        if rows:
            conn.executemany(sql, rows)  # type: ignore[arg-type]
            rows, sql = [], None
        assert op.write is not None
        results.append(op.write(conn))
    if rows:
        conn.executemany(sql, rows)  # type: ignore[arg-type]
    return results
