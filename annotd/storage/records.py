"""What the store hands back, as frozen records, and the store's own exceptions.

Events, snapshots and versions are the room core's own types (:mod:`annotd.core.history`): the
store keeps exactly what memory keeps, so loading a room is handing these back, not
translating them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.history import Event, Snapshot, Version


@dataclass(frozen=True, slots=True)
class RoomRecord:
    """A room's metadata row: what listing every room reads, and nothing big."""

    id: str
    name: str
    created_at: float
    epoch: str
    image_sha256: str | None = None
    head_seq: int = 0
    """The newest durable seq (0: no event yet)."""
    snapshot_seq: int = 0
    """The newest snapshot on disk."""
    oldest_seq: int = 0
    """The oldest seq the disk can rebuild (pruning moves it; pinned versions aside)."""
    updated_at: float = 0.0
    image_json: str | None = None
    """The document's base image reference (``meta.image``) as JSON, as of the head: what
    listing the room answers while it is not loaded (``None``: no image)."""


@dataclass(frozen=True, slots=True)
class RoomSummary:
    """What listing a room that is not loaded needs beyond its row, read from its history
    by the rule loading it follows, so a room lists the same loaded or not."""

    record: RoomRecord
    window_seq: int
    """The oldest seq loading the room would rebuild: the oldest of its newest ``keep``
    snapshots (the history's replay window)."""
    last_change_at: float
    """When the document last changed, as a loaded room tells it."""


@dataclass(frozen=True, slots=True)
class StoredRoom:
    """One room as read back for its first join: enough to rebuild its in-memory history."""

    record: RoomRecord
    snapshots: tuple[Snapshot, ...]
    """Oldest first: the newest ``keep`` snapshots plus every one a version pins (each
    checked against its sha256)."""
    events: tuple[Event, ...]
    """Every event after the oldest of the newest ``keep`` snapshots, up to the head (each
    checked against its crc32)."""
    versions: tuple[Version, ...]
    images: tuple[str, ...]
    """sha256 of every image the room has had (read each with ``RoomStore.image``)."""
    earlier_epochs: tuple[tuple[str, int], ...] = ()
    """Epochs a crash ended, oldest first, each with the last seq it shares with the room's
    log since (see :mod:`~annotd.storage.recovery`)."""


class StoreError(Exception):
    """A store failure that is not a client's mistake (the daemon decides what to say)."""


class StoreLocked(StoreError):
    """Another process holds the data folder: two writers would corrupt it."""

    def __init__(self, path: Path, pid: int | None) -> None:
        holder = f"process {pid}" if pid else "another process"
        super().__init__(f"data_dir {path} is in use by {holder} (another annotd?); "
                         "stop it or choose another folder")
        self.path = path
        self.pid = pid


class RoomDamaged(StoreError):
    """A room's stored data failed a check (a checksum, or SQLite found a bad page while
    reading it): that room is skipped, the others are unaffected."""

    def __init__(self, room_id: str, reason: str) -> None:
        super().__init__(f"room {room_id!r} is damaged on disk: {reason}")
        self.room_id = room_id
        self.reason = reason


class StoreRefused(StoreError):
    """A write the store will not do because the caller broke its contract (a seq that is
    not the next one, an unknown room): a bug in the caller, refused before any SQL."""


class StoreClosed(StoreError):
    """A write submitted after (or left unwritten by) :meth:`RoomStore.close`."""
