""":class:`SqliteStore`: the :class:`~annotd.storage.store.RoomStore` on SQLite (WAL) in
``rooms.data_dir``.

The folder holds ``annotd.lock`` (see :mod:`~annotd.storage.folder`), ``rooms.sqlite3``
(and its ``-wal``/``-shm``) and ``images/`` (see :mod:`~annotd.storage.blobs`). Opening it:
the lock first (a second daemon is refused before it reads anything), the schema, an
optional ``PRAGMA quick_check``, the open mark (after an unclean stop every room gets a new
epoch first: :mod:`~annotd.storage.recovery`), the ledger (one row per room), then the
writer thread.
A clean close marks the store closed again.
Nothing of a room but its metadata row is read until the room is loaded.

Reads use one read-only connection per calling thread (WAL: they never block the writer
and see every committed write).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..base.config import StorageConfig
from ..base.docstate import StateParts
from ..core.history import Event, Snapshot, Version
from ..core.images import StoredImage
from . import reads, recovery, retention, schema, writes
from .blobs import ImageFiles
from .folder import FolderLock, create_private_file, make_private_dir
from .records import RoomDamaged, RoomRecord, RoomSummary, StoredRoom
from .store import CommitListener, FailureListener, RoomStore
from .writer import Op, Writer

log = logging.getLogger("annotd.storage")

DB_NAME = "rooms.sqlite3"
CHECKPOINT_IDLE_BYTES = 4 << 20
"""When idle, checkpoint once this much has been committed since the last one: the WAL
stays small (reads stay fast) and the checkpoint's own sync never delays a commit."""
CHECKPOINT_BUSY_BYTES = 64 << 20
"""Checkpoint even while writes keep coming once this much is in the WAL."""


class SqliteStore:
    def __init__(self, path: Path, settings: StorageConfig, *, on_commit: CommitListener | None = None,
                 clock: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic) -> None:
        """Open (or create) the store in folder ``path``; raise ``StoreLocked`` if another
        process has it, ``sqlite3.DatabaseError`` if the file is not a store. ``clock``
        dates events for retention; ``monotonic`` times ``prune_interval_s``."""
        self.path = path
        self.settings = settings
        self.clock = clock
        self.monotonic = monotonic
        self.listener = on_commit
        self.failures: FailureListener | None = None
        """Told (writer thread) when a ``write_event`` failed: room, seq, the error."""
        make_private_dir(path)
        self._lock = FolderLock(path)
        try:
            self.db_path = path / DB_NAME
            create_private_file(self.db_path)
            conn = schema.connect(self.db_path, settings.sync)
            try:
                schema.migrate(conn)
                self.problems = schema.quick_check(conn) if settings.quick_check else []
                """What ``PRAGMA quick_check`` reported at open (damaged rooms are found
                when loaded, by their checksums)."""
                self.renewed_epochs = recovery.open_store(conn)
                """Rooms given a new epoch at open because the last stop was not clean."""
                self._ledger = writes.Ledger.read(conn)
            except BaseException:
                conn.close()
                raise
        except BaseException:
            self._lock.release()
            raise
        if self.renewed_epochs:
            log.warning("the store was not closed cleanly (a crash, kill -9 or power loss): every room starts "
                        "a new epoch; clients are replayed up to each room's durable head and resync past it",
                        extra={"rooms": self.renewed_epochs, "dir": str(path)})
        if self.problems:
            log.error("the store file is damaged; rooms that fail their checks will be skipped",
                      extra={"problems": self.problems[:10], "dir": str(path)})
        self.images = ImageFiles(path / "images", durable=settings.sync != "off")
        self._files = ThreadPoolExecutor(1, thread_name_prefix="annotd-store-files")
        self._readers = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._checkpointed = 0
        self._last_prune = monotonic()
        self._closed = False
        self._writer = Writer(conn, max_batch=settings.max_batch_ops, retry_s=settings.retry_s,
                              interval_s=settings.commit_interval_ms / 1000,
                              upkeep=self._upkeep, upkeep_every_s=min(settings.prune_interval_s, 60.0),
                              before_commit=self._before_commit, on_commit=self._committed,
                              on_failure=self._failed)

    # -- state -----------------------------------------------------------------------------
    @property
    def writable(self) -> bool:
        return self._writer.writable

    @property
    def held(self) -> int:
        """Writes the disk refused, held to be written once it takes them."""
        return self._writer.held

    @property
    def commits(self) -> int:
        return self._writer.commits

    # -- writes ----------------------------------------------------------------------------
    def create_room(self, record: RoomRecord, initial: Snapshot) -> Future[None]:
        return self._writer.submit(writes.create_room(self._ledger, record, initial))

    def append(self, room_id: str, event: Event, image_json: str | None = writes.UNCHANGED) -> Future[int]:
        return self._writer.submit(writes.append(self._ledger, room_id, event, image_json))

    def describe_room(self, room_id: str, image_json: str | None) -> Future[None]:
        return self._writer.submit(writes.describe_room(self._ledger, room_id, image_json))

    def mark_imported(self, sha256: str, room_id: str, file: str) -> Future[None]:
        return self._writer.submit(writes.mark_imported(sha256, room_id, file, self.clock()))

    def write_event(self, room_id: str, event: Event, image_json: str | None = writes.UNCHANGED) -> None:
        """``append`` without a future: the commit listener says when it is durable,
        ``failures`` if it is not (the door's path: one object less per update)."""
        self._writer.send(writes.append(self._ledger, room_id, event, image_json, quiet=True))

    def put_snapshot(self, room_id: str, snapshot: Snapshot) -> Future[None]:
        return self._writer.submit(writes.put_snapshot(self._ledger, room_id, snapshot))

    def put_version(self, room_id: str, version: Version, snapshot: Snapshot) -> Future[None]:
        return self._writer.submit(writes.put_version(self._ledger, room_id, version, snapshot))

    def rename_room(self, room_id: str, name: str) -> Future[None]:
        return self._writer.submit(writes.rename_room(self._ledger, room_id, name))

    def put_image(self, room_id: str, image: StoredImage, *, current: bool = True) -> Future[None]:
        """The file is written (and synced) on the files thread, then the row goes to the
        writer: an image never holds up a group commit."""
        done: Future[None] = Future()
        row = writes.ImageRow(image.sha256, image.mime, image.width, image.height, len(image.data))

        def file_written(f: Future[None]) -> None:
            exc = f.exception()
            if exc is not None:
                done.set_exception(exc)
                return
            _chain(self._writer.submit(writes.put_image(self._ledger, room_id, row, current=current)), done)

        self._files.submit(self.images.write, image.sha256, image.data).add_done_callback(file_written)
        return done

    def delete_room(self, room_id: str) -> Future[None]:
        done: Future[None] = Future()

        def deleted(f: Future[list[str]]) -> None:
            exc = f.exception()
            if exc is not None:
                done.set_exception(exc)
                return
            for sha in f.result():
                self.images.remove(sha)
            done.set_result(None)

        self._writer.submit(writes.delete_room(self._ledger, room_id)).add_done_callback(deleted)
        return done

    # -- reads -----------------------------------------------------------------------------
    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._readers, "conn", None)
        if conn is None:
            conn = schema.connect(self.db_path, self.settings.sync, readonly=True)
            self._readers.conn = conn
            with self._readers_lock:
                self._reader_conns.append(conn)
        return conn

    def list_rooms(self) -> list[RoomRecord]:
        return reads.list_rooms(self._reader())

    def summaries(self, keep_snapshots: int) -> list[RoomSummary]:
        return reads.summaries(self._reader(), keep_snapshots)

    def imported_bundle(self, sha256: str) -> str | None:
        return reads.imported_bundle(self._reader(), sha256)

    def load_room(self, room_id: str, keep_snapshots: int) -> StoredRoom:
        return reads.load_room(self._reader(), room_id, keep_snapshots)

    def oldest_seq(self, room_id: str) -> int | None:
        """The oldest seq of ``room_id`` the disk can rebuild, without reading the disk
        (pruning moves it up; ``None``: not in the store)."""
        return self._ledger.oldest.get(room_id)

    def events(self, room_id: str, after: int, upto: int) -> list[Event]:
        return reads.events(self._reader(), room_id, after, upto)

    def parts_at(self, room_id: str, seq: int) -> StateParts:
        return reads.parts_at(self._reader(), room_id, seq)

    def image(self, sha256: str) -> StoredImage | None:
        row = reads.image_row(self._reader(), sha256)
        if row is None:
            return None
        mime, width, height = row
        return StoredImage(sha256, mime, width, height, self.images.read(sha256))

    def check_rooms(self) -> dict[str, str]:
        """Load every room once and return the damaged ones (room id → reason): a full
        check, for an operator (it reads everything; start-up does not)."""
        damaged: dict[str, str] = {}
        for record in self.list_rooms():
            try:
                self.load_room(record.id, 1)
            except RoomDamaged as exc:
                damaged[record.id] = exc.reason
        return damaged

    # -- the writer's hooks (writer thread) ------------------------------------------------
    def _before_commit(self, conn: sqlite3.Connection, batch: Sequence[Op]) -> None:
        writes.touch_heads(conn, batch, self._ledger, self.clock())

    def _committed(self, batch: Sequence[Op]) -> None:
        if self.listener is None:
            return
        newest = writes.newest_seqs(batch)
        if newest:
            self.listener(newest)

    def _failed(self, op: Op, exc: BaseException) -> None:
        if self.failures is not None and op.room is not None and op.seq is not None:
            self.failures(op.room, op.seq, exc)

    def _upkeep(self, conn: sqlite3.Connection, busy: Callable[[], bool]) -> None:
        pending = self._writer.written_bytes - self._checkpointed
        if pending >= CHECKPOINT_BUSY_BYTES or (pending >= CHECKPOINT_IDLE_BYTES and not busy()):
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)" if busy() else "PRAGMA wal_checkpoint(RESTART)")
            self._checkpointed = self._writer.written_bytes
        s = self.settings
        if retention.enabled(s.keep_days, s.keep_events) and self.monotonic() - self._last_prune >= s.prune_interval_s:
            self._last_prune = self.monotonic()
            retention.prune(conn, self._ledger.rids, self._ledger.heads, self._ledger.dirty, self.clock(), s.keep_days, s.keep_events,
                            busy, own_transactions=True, oldest=self._ledger.oldest)

    def prune_now(self) -> Future[int]:
        """A pruning pass of every room written since the last one, as one write in order
        with the writes before it (the writer's upkeep does the same every
        ``prune_interval_s``, a room per transaction)."""
        s = self.settings

        def write(conn: sqlite3.Connection) -> int:
            if not retention.enabled(s.keep_days, s.keep_events):
                return 0
            return retention.prune(conn, self._ledger.rids, self._ledger.heads, self._ledger.dirty, self.clock(), s.keep_days,
                                   s.keep_events, lambda: False, own_transactions=False, oldest=self._ledger.oldest)

        return self._writer.submit(Op(write))

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._files.shutdown(wait=True)
        self._writer.close()
        if self._writer.lost == 0:
            try:
                recovery.close_cleanly(self._writer.conn)
            except sqlite3.Error as exc:
                log.warning("could not mark the store closed cleanly; the next start renews every epoch",
                            extra={"error": str(exc)})
        else:
            log.warning("writes were lost before the store closed; the next start renews every epoch",
                        extra={"lost": self._writer.lost})
        try:
            self._writer.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            log.warning("final checkpoint failed", extra={"error": str(exc)})
        self._writer.conn.close()
        with self._readers_lock:
            for conn in self._reader_conns:
                conn.close()
            self._reader_conns.clear()
        self._lock.release()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _chain(source: Future[Any], target: Future[None]) -> None:
    def copy(f: Future[Any]) -> None:
        exc = f.exception()
        if exc is not None:
            target.set_exception(exc)
        else:
            target.set_result(None)

    source.add_done_callback(copy)


def _is_a_room_store(store: SqliteStore) -> RoomStore:
    """mypy checks here that :class:`SqliteStore` has every method of the interface."""
    return store
