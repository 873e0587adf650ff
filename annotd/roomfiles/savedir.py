"""``rooms.save_dir``: every room written to a bundle on graceful shutdown, loaded at start.

This is the user's folder of files, not a database (protocol.md, "Save on shutdown", says
what is kept). The rules, and why:

* **With** ``rooms.data_dir`` **the folder is an import source, read at start only.** Each
  bundle whose sha256 was never imported before and whose room id the store does not hold
  is imported into the store (then it is an ordinary stored room); one imported before is
  skipped (a room deleted since does not come back), and so is one whose room id the store
  holds (never overwritten). Each import and skip is logged. Nothing is written back at
  shutdown: the store holds every room.
* **Start-up loads every** ``*.annotd`` **file** (names starting with ``.`` are temporary
  files and are ignored). A file that is unreadable, corrupt, truncated, of another format
  or version, too large, or names a room already loaded is reported with one warning and
  skipped: start-up never fails because of one file, and the other rooms still load.
* **A skipped file is never overwritten.** It may be the only copy of someone's work that a
  newer annotd can read; the room that would have gone there is saved as
  ``<roomId>.<n>.annotd`` instead.
* **Shutdown writes each room to the file it was loaded from** (``<roomId>.annotd`` for a new
  room), atomically: a temporary file in the same folder, fsync, rename, fsync of the
  folder. A crash mid-save leaves the old file whole. A room deleted while running has its
  file removed, so it does not come back.
* Saving happens after every socket is closed (no edit can slip in between) and is not cut
  short by ``server.shutdown_timeout_s``; a second signal still exits at once.
* **A room that could not be saved is not a clean exit.** :meth:`SaveDir.save_all` names
  the rooms it could not write (:attr:`SaveDir.unsaved`) and the process exits with
  ``EXIT_UNSAVED``, so a supervisor sees it. Beside the file it left stale it leaves an
  empty marker, ``.<file>.unsaved`` (an empty file needs no data block: it can usually be
  made on a full disk), and the next start-up warns when it loads a file older than its
  marker: those rooms come back as they were at their last good save. A later good save
  removes the marker.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..base.errors import AnnotdError
from ..formats.bundle import SUFFIX
from . import bundles

if TYPE_CHECKING:
    from ..live.hub import Hub

log = logging.getLogger("annotd.savedir")
EXIT_UNSAVED = 4
"""Exit status of ``annotd serve`` when a graceful shutdown could not save every room."""
UNSAVED_SUFFIX = ".unsaved"
LOADER = "annotd"
"""The user id stamped on the events that rebuild a loaded room."""


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a reader sees the old file or the new one, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ImportLedger(Protocol):
    """Which ``save_dir`` bundles were imported into ``rooms.data_dir`` (the room store)."""

    def imported_bundle(self, sha256: str) -> str | None:
        """The room id the bundle of this sha256 was imported as, if ever (blocks: a thread)."""

    def mark_imported(self, sha256: str, room_id: str, file: str) -> Future[None]:
        """Remember an import; resolves once that is durable."""


class SaveDir:
    def __init__(self, hub: Hub, path: Path) -> None:
        self.hub = hub
        self.path = path
        self.loaded: dict[str, Path] = {}
        """Room id → the file it was loaded from (saved back there)."""
        self.skipped: set[Path] = set()
        """Files that could not be loaded: never written to."""
        self.unsaved: list[str] = []
        """Rooms the last :meth:`save_all` could not write."""

    def open(self) -> None:
        """Create the folder if needed and make sure we can write there, before serving:
        finding out at shutdown would lose every room."""
        self.path.mkdir(parents=True, exist_ok=True)
        if not os.access(self.path, os.W_OK | os.X_OK):
            raise PermissionError(f"rooms.save_dir {self.path} is not writable")

    async def load_all(self, ledger: ImportLedger | None = None) -> list[str]:
        """Load every bundle in the folder; return the room ids loaded. With ``ledger`` (the
        room store of ``rooms.data_dir``) this is an import into the store: a bundle
        imported before (by its sha256) is skipped, so a room deleted since does not come
        back, and so is one whose room id the store already holds (never overwritten)."""
        limit = self.hub.config.limits.max_bundle_bytes
        imported: list[str] = []
        for file in sorted(self.path.glob(f"*{SUFFIX}")):
            if file.name.startswith(".") or not file.is_file():
                continue
            try:
                size = file.stat().st_size
                if size > limit:
                    raise OSError(f"{size} bytes is over limits.max_bundle_bytes ({limit})")
                data = await asyncio.to_thread(file.read_bytes)
                digest = hashlib.sha256(data).hexdigest()
                if ledger is not None and (before := await asyncio.to_thread(ledger.imported_bundle, digest)):
                    log.info("saved room not imported: %s was imported into data_dir before, as room %r",
                             file.name, before, extra={"file": str(file), "roomId": before})
                    continue
                room, prepared = await bundles.load(self.hub, data, None, LOADER)
                if ledger is not None:
                    await asyncio.wrap_future(ledger.mark_imported(digest, room.id, file.name))
                    imported.append(room.id)
                    log.info("saved room imported into data_dir: %s", file.name,
                             extra={"file": str(file), "roomId": room.id})
            except (AnnotdError, OSError) as exc:
                reason = exc.message if isinstance(exc, AnnotdError) else str(exc)
                log.warning("saved room skipped: %s: %s", file.name, reason, extra={"file": str(file)})
                self.skipped.add(file)
                continue
            for w in prepared.warnings:
                log.warning("saved room incomplete: %s: %s", file.name, w, extra={"roomId": room.id})
            self._warn_if_stale(file, room.id)
            self.loaded[room.id] = file
        log.info("rooms loaded from save_dir", extra={"rooms": len(self.loaded), "skipped": len(self.skipped),
                                                       "dir": str(self.path), "imported": imported})
        return list(self.loaded)

    @staticmethod
    def _marker(file: Path) -> Path:
        return file.with_name(f".{file.name}{UNSAVED_SUFFIX}")

    def _warn_if_stale(self, file: Path, room_id: str) -> None:
        """Warn when a save of ``file`` failed after it was written (its marker is newer)."""
        try:
            failed_at = self._marker(file).stat().st_mtime
            saved_at = file.stat().st_mtime
        except OSError:
            return
        if failed_at >= saved_at:
            log.warning("saved room is older than a failed save: %s was written %s; saving it failed %s, so the "
                        "changes in between were lost", file.name, _when(saved_at), _when(failed_at),
                        extra={"roomId": room_id, "file": str(file)})

    def _mark_unsaved(self, file: Path) -> None:
        try:
            self._marker(file).touch()
        except OSError as exc:
            log.error("cannot mark %s as stale: %s", file.name, exc, extra={"file": str(file)})

    def _target(self, room_id: str) -> Path:
        path = self.loaded.get(room_id) or self.path / f"{room_id}{SUFFIX}"
        n = 1
        while path in self.skipped:
            path = self.path / f"{room_id}.{n}{SUFFIX}"
            n += 1
        return path

    async def save_all(self) -> int:
        """Write every room; remove the files of loaded rooms deleted since. Returns rooms
        saved; the rooms that could not be are in :attr:`unsaved`."""
        saved = 0
        self.unsaved = []
        for room_id in list(self.hub.rooms):
            target = self._target(room_id)
            try:
                data, warnings = await bundles.save(self.hub, room_id)
                await asyncio.to_thread(write_atomically, target, data)
            except (AnnotdError, OSError) as exc:
                log.error("room not saved: %s: %s", room_id, exc, extra={"roomId": room_id, "file": str(target)})
                self.unsaved.append(room_id)
                if target.is_file():
                    self._mark_unsaved(target)
                continue
            self._marker(target).unlink(missing_ok=True)
            for w in warnings:
                log.warning("room saved incomplete: %s: %s", room_id, w, extra={"roomId": room_id})
            saved += 1
        for room_id, file in self.loaded.items():
            if room_id not in self.hub.rooms:
                try:
                    file.unlink(missing_ok=True)
                    log.info("deleted room's saved file removed", extra={"roomId": room_id, "file": str(file)})
                except OSError as exc:
                    log.error("cannot remove %s: %s", file, exc)
        if self.unsaved:
            log.error("rooms saved to save_dir: %d; NOT saved: %s", saved, ", ".join(self.unsaved),
                      extra={"rooms": saved, "unsaved": self.unsaved, "dir": str(self.path)})
        else:
            log.info("rooms saved to save_dir", extra={"rooms": saved, "dir": str(self.path)})
        return saved


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
