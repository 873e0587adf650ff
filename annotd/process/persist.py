"""The room store wired to the hub: every live room writes through it, and every stored
room is listed at start-up and loaded on first use (``rooms.data_dir``).

Why here, in the process layer: the hub and its rooms must not import the storage package
(the layer table), so they see the store only as :class:`annotd.live.durability.Storage` and
:class:`~annotd.live.durability.RoomLog`; this module is the one place that knows both.

Acknowledgements: each room keeps the seqs its door is waiting on (a sender's ack, a
command's answer) in seq order. The store's commit listener runs on the writer thread once
per committed batch ("room R is durable up to seq N"); it hands that to the loop with one
``call_soon_threadsafe``, where the waiting seqs up to N are released. A failed append (the
disk refused it) releases the waiting seqs up to it with the error instead of the ack.
Events are written with ``write_event`` (no future per update: both outcomes come through
the store's two listeners), which is most of what write-through costs per update.

Loading: start-up lists every stored room from its metadata (:meth:`Persist.shelf`); a
room is read and rebuilt on its first use (:meth:`Persist.load`, called by
:class:`annotd.live.loading.Shelf`), with its id, epoch, head seq, snapshots, versions and
images, so a client reconnecting with ``lastSeq``/``epoch`` is replayed exactly what it
missed; an idle room goes back on the shelf (:meth:`Persist.shelve`).
After an unclean stop the store has given each room a new epoch and kept the old one with
its durable head (``earlier_epochs``): a client whose ``lastSeq`` is past that head had seen
updates the crash lost, and resyncs.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from concurrent.futures import Future
from typing import Any

import orjson

from ..base import errors
from ..base.docstate import StateParts
from ..core.history import Event, Snapshot, Version
from ..core.images import StoredImage
from ..live.durability import UNCHANGED, ImageChange, RoomLog, Settled
from ..live.hub import Hub
from ..live.liveroom import LiveRoom
from ..live.loading import Shelf, Shelved
from ..storage import RoomDamaged, RoomRecord, RoomSummary, SqliteStore, StoredRoom

log = logging.getLogger("annotd.persist")


class StoredLog:
    """One room's writes and the seqs its door waits on (:class:`RoomLog`)."""

    def __init__(self, persist: Persist, room_id: str, durable: int) -> None:
        self.persist = persist
        self.room_id = room_id
        self.durable = durable
        """Every seq up to this one is on disk (-1: not even the room's creation yet)."""
        self.ready = durable >= 0
        """The room's creation has committed. Until then the commit listener's word about
        this id is ignored: it can only be about a deleted room of the same id, whose
        last commits the loop may hear after the new room was made."""
        self.waiting: deque[tuple[int, Settled]] = deque()
        self.writes = 0
        """Snapshots, versions and images submitted and not yet committed."""

    @property
    def writable(self) -> bool:
        return self.persist.store.writable

    def append(self, event: Event, image: ImageChange = UNCHANGED) -> None:
        # outcome: Persist._on_commit / _on_failure (no future per update)
        self.persist.store.write_event(self.room_id, event, UNCHANGED if isinstance(image, str) else _json(image))

    def when_durable(self, seq: int, settled: Settled) -> None:
        if seq <= self.durable:
            settled(None)
        else:
            self.waiting.append((seq, settled))

    def snapshot(self, snap: Snapshot) -> None:
        self._watch(self.persist.store.put_snapshot(self.room_id, snap), "snapshot")

    def version(self, version: Version, snap: Snapshot) -> None:
        self._watch(self.persist.store.put_version(self.room_id, version, snap), "version")

    def image(self, image: StoredImage) -> Future[None]:
        fut = self.persist.store.put_image(self.room_id, image)
        self._watch(fut, "image")
        return fut

    def rename(self, name: str) -> Future[None]:
        fut = self.persist.store.rename_room(self.room_id, name)
        self._count(fut)
        return fut

    def delete(self) -> Future[None]:
        self.persist.logs.pop(self.room_id, None)
        return self.persist.store.delete_room(self.room_id)

    def settled(self, head: int) -> bool:
        return self.ready and self.durable >= head and not self.writes and not self.waiting

    def _count(self, fut: Future[Any]) -> None:
        """Count a write until it is committed (or failed: a failed snapshot is not waited for)."""
        self.writes += 1
        fut.add_done_callback(lambda f: self.persist.to_loop(self._written))

    def _written(self) -> None:
        self.writes -= 1

    @property
    def oldest_seq(self) -> int | None:
        return self.persist.store.oldest_seq(self.room_id)

    def parts_at(self, seq: int) -> StateParts:
        return self.persist.store.parts_at(self.room_id, seq)

    def events(self, after: int, upto: int) -> list[Event]:
        return self.persist.store.events(self.room_id, after, upto)

    # -- on the loop ---------------------------------------------------------------------
    def opened(self, seq: int) -> None:
        """The room's creation committed, with every seq up to ``seq``."""
        self.ready = True
        self.advance(seq)

    def advance(self, seq: int) -> None:
        """Every seq up to ``seq`` is durable: release what waited for them."""
        if not self.ready:
            return
        if seq > self.durable:
            self.durable = seq
        waiting = self.waiting
        while waiting and waiting[0][0] <= seq:
            waiting.popleft()[1](None)

    def fail(self, seq: int, exc: BaseException) -> None:
        """``seq`` did not reach the disk: what waited for it (and before it) hears why."""
        waiting = self.waiting
        while waiting and waiting[0][0] <= seq:
            waiting.popleft()[1](exc)

    # -- on the writer thread ------------------------------------------------------------
    def _watch(self, fut: Future[Any], what: str) -> None:
        """Snapshots, versions and images make loading fast and history deep; the events
        alone make changes durable, so a failure here is logged, not answered."""
        self._count(fut)
        def done(f: Future[Any]) -> None:
            exc = f.exception()
            if exc is not None:
                log.warning("room store: %s not written", what, extra={"roomId": self.room_id, "error": str(exc)})

        fut.add_done_callback(done)


class Persist:
    """The store as the hub sees it (:class:`annotd.live.durability.Storage`)."""

    def __init__(self, store: SqliteStore, hub: Hub, loop: asyncio.AbstractEventLoop) -> None:
        self.store = store
        self.hub = hub
        self.loop = loop
        self.logs: dict[str, StoredLog] = {}
        store.listener = self._on_commit
        store.failures = self._on_failure

    def to_loop(self, fn: Any, *args: Any) -> None:
        """Run ``fn`` on the loop; dropped once the loop is closed (the daemon is gone and
        nobody is left to acknowledge)."""
        try:
            self.loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:
            pass

    def _on_commit(self, durable: dict[str, int]) -> None:
        self.to_loop(self._advance, durable)

    def _on_failure(self, room_id: str, seq: int, exc: BaseException) -> None:
        self.to_loop(self._fail, room_id, seq, exc)

    def _fail(self, room_id: str, seq: int, exc: BaseException) -> None:
        stored = self.logs.get(room_id)
        if stored is not None:
            stored.fail(seq, exc)

    def _advance(self, durable: dict[str, int]) -> None:
        for room_id, seq in durable.items():
            stored = self.logs.get(room_id)
            if stored is not None:
                stored.advance(seq)

    def _log(self, room_id: str, durable: int) -> StoredLog:
        stored = self.logs[room_id] = StoredLog(self, room_id, durable)
        return stored

    def created(self, live: LiveRoom) -> RoomLog:
        """Write a room that just became reachable: its oldest snapshot the log still
        replays from, the events after it (a new room's schema, a loaded bundle's steps),
        its other snapshots, versions and images, so the disk holds exactly what memory
        does. Its head is durable once the last of these commits."""
        room, history = live.room, live.room.history
        log_ = history.log
        first = next(s for s in history.snapshots if log_.covers_after(s.seq))
        image = live.image_ref()
        sha = image.get("sha256") if image else None
        record = RoomRecord(room.id, room.name, room.created_at, room.epoch,
                            image_sha256=sha if isinstance(sha, str) else None,
                            head_seq=first.seq, snapshot_seq=first.seq, oldest_seq=first.seq,
                            image_json=_json(live.image_watch.reset()))
        stored = self._log(room.id, -1)
        fut = self.store.create_room(record, first)

        def done(f: Future[None]) -> None:
            exc = f.exception()
            if exc is None:
                self.to_loop(stored.opened, first.seq)
            else:
                self.to_loop(stored.fail, room.head, exc)

        fut.add_done_callback(done)
        for event in log_.after(first.seq):
            stored.append(event)
        for snap in history.snapshots:
            if snap.seq > first.seq:
                stored.snapshot(snap)
        for version in history.versions:
            at = next((s for s in history.snapshots if s.seq == version.seq), None)
            if at is not None:
                stored.version(version, at)
        for img in live.images().values():
            stored.image(img)
        return stored

    def imported_bundle(self, sha256: str) -> str | None:
        return self.store.imported_bundle(sha256)

    def mark_imported(self, sha256: str, room_id: str, file: str) -> Future[None]:
        return self.store.mark_imported(sha256, room_id, file)

    def delete(self, room_id: str) -> Future[None]:
        """Remove a room that is not loaded (see :meth:`StoredLog.delete` for a loaded one)."""
        return self.store.delete_room(room_id)

    # -- the shelf: rooms listed at start-up, loaded on first use ------------------------
    def shelf(self) -> Shelf:
        """Every stored room, listed from its metadata (no document is read: start-up)."""
        keep = self.hub.room_limits.snapshots_kept
        rooms = {s.record.id: _shelved(s, self.store.oldest_seq(s.record.id)) for s in self.store.summaries(keep)}
        return Shelf(self, rooms, self.hub.installed)

    async def load(self, room_id: str) -> LiveRoom:
        """Read one room in a thread and rebuild it: same id, epoch, head, snapshots,
        versions and images. Its document is built from its newest snapshot and the events
        after it, by the state worker when that is big (the loop applies one update)."""
        keep = self.hub.room_limits.snapshots_kept
        try:
            stored, images = await asyncio.to_thread(self._read, room_id, keep)
        except RoomDamaged as exc:
            raise errors.RoomDamaged(room_id, exc.reason) from None
        record = stored.record
        snapshots = list(stored.snapshots)
        latest = snapshots[-1]
        tail = tuple(e.update for e in stored.events if e.seq > latest.seq)
        state = latest.blob
        if tail and len(latest.blob) + sum(map(len, tail)) > self.hub.room_limits.inline_encode_bytes:
            state = (await self.hub.states.encode(StateParts(record.head_seq, latest.blob, latest.sha256, tail))).blob
            tail = ()
        live = self.hub.blank_room(record.id, record.name, record.created_at)
        room = live.room
        room.epoch = record.epoch
        room.earlier_epochs = dict(stored.earlier_epochs)
        room.history.restore(record.head_seq, snapshots, list(stored.events), list(stored.versions))
        room.doc.apply_update(state)
        for update in tail:
            room.doc.apply_update(update)
        for image in images:
            self.hub.images.put(room.id, image)
        live.log = self._log(room.id, record.head_seq)
        image_now = live.image_watch.reset()
        if image_now != _image_of(record.image_json):  # an upgraded folder, or an image changed by hand
            self.store.describe_room(room.id, _json(image_now))
        return live

    def _read(self, room_id: str, keep: int) -> tuple[StoredRoom, list[StoredImage]]:
        stored = self.store.load_room(room_id, keep)
        images = [img for img in (self.store.image(sha) for sha in stored.images) if img is not None]
        return stored, images

    def shelve(self, live: LiveRoom) -> Shelved:
        """``live`` goes back on the shelf: what it lists as now (every write committed)."""
        self.logs.pop(live.id, None)
        info = live.info()
        return Shelved(live.id, info["name"], info["createdAt"], info["headSeq"], info["snapshotSeq"],
                       info["oldestSeq"], info["epoch"], info["image"], live.last_change())


def _shelved(summary: RoomSummary, on_disk: int | None) -> Shelved:
    """What a stored room lists as: ``oldestSeq`` is the older of what memory will hold once
    it is loaded (``window_seq``) and what the disk can rebuild, as for a loaded room."""
    record = summary.record
    oldest = summary.window_seq if on_disk is None else min(summary.window_seq, on_disk)
    return Shelved(record.id, record.name, record.created_at, record.head_seq, record.snapshot_seq,
                   oldest, record.epoch, _image_of(record.image_json), summary.last_change_at)


def _image_of(image_json: str | None) -> dict[str, Any] | None:
    value = orjson.loads(image_json) if image_json else None
    return value if isinstance(value, dict) else None


def _json(image: dict[str, Any] | None) -> str | None:
    return orjson.dumps(image).decode() if image is not None else None
