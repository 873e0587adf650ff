"""``rooms.save_dir``: every room written to a bundle on graceful shutdown, loaded at start.

This is the user's folder of files, not a database (protocol.md, "Save on shutdown", says
what is kept). The rules, and why:

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
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

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

    async def load_all(self) -> list[str]:
        """Load every bundle in the folder; return the room ids loaded."""
        limit = self.hub.config.limits.max_bundle_bytes
        for file in sorted(self.path.glob(f"*{SUFFIX}")):
            if file.name.startswith(".") or not file.is_file():
                continue
            try:
                size = file.stat().st_size
                if size > limit:
                    raise OSError(f"{size} bytes is over limits.max_bundle_bytes ({limit})")
                data = await asyncio.to_thread(file.read_bytes)
                room, prepared = await bundles.load(self.hub, data, None, LOADER)
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
                                                       "dir": str(self.path)})
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
