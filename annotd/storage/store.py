"""The interface the room's one door calls: :class:`RoomStore`.

Writes return at once with a :class:`~concurrent.futures.Future` resolved on the writer
thread after the commit that made them durable (to the promise of ``storage.sync``), or
failed with :class:`~annotd.base.errors.StorageFull` (the disk refused it; the store holds it
and writes it once space is back) or :class:`~annotd.storage.records.StoreRefused` (a
caller bug: not the next seq, an unknown room). On the event loop:
``asyncio.wrap_future(fut)`` to await one, or ``on_commit`` (one call per committed batch)
to acknowledge many with one ``call_soon_threadsafe``. Writes to one room are committed in
the order they were submitted.

Reads block on the disk: call them off the loop (``asyncio.to_thread``) except at
start-up. They see every write whose future has resolved.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Protocol

from ..base.docstate import StateParts
from ..core.history import Event, Snapshot, Version
from ..core.images import StoredImage
from .records import RoomRecord, RoomSummary, StoredRoom

CommitListener = Callable[[dict[str, int]], None]
"""Told, on the writer thread, after each commit that logged events: room id → the
newest seq now durable in that room (every seq up to it is durable too)."""
FailureListener = Callable[[str, int, BaseException], None]
"""Told, on the writer thread, when an event written with ``write_event`` failed: room id,
its seq, the error (``StorageFull``: held and retried; otherwise it will not be written)."""


class RoomStore(Protocol):
    @property
    def writable(self) -> bool:
        """False while the disk refuses writes: refuse new changes (``StorageFull``)
        before applying them, so memory never runs ahead of what the disk can hold."""

    # -- writes (any thread; never block) -------------------------------------------------
    def create_room(self, record: RoomRecord, initial: Snapshot) -> Future[None]:
        """A new room, with its first snapshot (seq ``record.head_seq``, usually 0)."""

    def write_event(self, room_id: str, event: Event, image_json: str | None = "unchanged") -> None:
        """``append`` for a caller that waits on the commit listener, not on this one
        update: no future; a failure is told to ``failures`` (a :data:`FailureListener`)."""

    def append(self, room_id: str, event: Event, image_json: str | None = "unchanged") -> Future[int]:
        """Log ``event`` (its seq must be the room's next); resolves to its seq once durable.
        ``image_json``: the base image reference the event made current (JSON, or ``None``
        when it removed it), kept for listing the room while it is not loaded."""

    def describe_room(self, room_id: str, image_json: str | None) -> Future[None]:
        """Correct the listing's base image reference of a room (found different on loading)."""

    def mark_imported(self, sha256: str, room_id: str, file: str) -> Future[None]:
        """Remember that the ``save_dir`` bundle of this sha256 was imported as ``room_id``."""

    def put_snapshot(self, room_id: str, snapshot: Snapshot) -> Future[None]:
        """Keep a snapshot the history took (deeper history and faster loading)."""

    def put_version(self, room_id: str, version: Version, snapshot: Snapshot) -> Future[None]:
        """A named version with the snapshot it pins."""

    def put_image(self, room_id: str, image: StoredImage, *, current: bool = True) -> Future[None]:
        """An image of the room (file first, then its row); ``current``: the base image now."""

    def rename_room(self, room_id: str, name: str) -> Future[None]: ...

    def delete_room(self, room_id: str) -> Future[None]:
        """Remove the room, its history and the images no other room uses."""

    # -- reads (block: off the loop) -------------------------------------------------------
    def list_rooms(self) -> list[RoomRecord]:
        """Every room's metadata, cheaply (start-up lists rooms without loading any)."""

    def summaries(self, keep_snapshots: int) -> list[RoomSummary]:
        """Every room's row and what listing it needs while not loaded (no document read)."""

    def imported_bundle(self, sha256: str) -> str | None:
        """The room id the ``save_dir`` bundle of this sha256 was imported as, if ever."""

    def load_room(self, room_id: str, keep_snapshots: int) -> StoredRoom:
        """One room for its first join; ``RoomDamaged`` if it fails a check."""

    def oldest_seq(self, room_id: str) -> int | None:
        """The oldest seq the disk can rebuild for ``room_id`` (pinned versions aside),
        known without reading the disk: any thread, even the loop. ``None``: no such room."""

    def events(self, room_id: str, after: int, upto: int) -> list[Event]:
        """Events ``(after, upto]``, as deep as retention kept (``Gone`` below that)."""

    def parts_at(self, room_id: str, seq: int) -> StateParts:
        """The state at ``seq`` as a snapshot plus events, as deep as retention kept."""

    def image(self, sha256: str) -> StoredImage | None: ...

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        """Write everything submitted, checkpoint, release the folder."""
