"""The store's folder: private, and held by one process for its whole life.

Why a lock file with ``flock`` and not a pid file alone: the kernel releases a ``flock``
when its holder dies in any way (``kill -9`` included), so a crash never leaves a stale
lock that blocks the restart, while two live daemons on one folder (two writers on one
SQLite file and its image files) are refused. The holder's pid is written into the file
only to name it in the refusal.

Why 0700/0600: the folder holds every room's content; nothing in it is for other users.
Files are created with their mode (no window where they are readable), and SQLite gives
its ``-wal``/``-shm`` files the database file's mode.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from .records import StoreLocked

LOCK_NAME = "annotd.lock"
DIR_MODE = 0o700
FILE_MODE = 0o600


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) or tighten it to 0700."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o777 != DIR_MODE:
        os.chmod(path, DIR_MODE)


def create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists; tighten it if it does."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        if path.stat().st_mode & 0o777 != FILE_MODE:
            os.chmod(path, FILE_MODE)
        return
    os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable (the directory entry is data too)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FolderLock:
    """An exclusive ``flock`` on ``<folder>/annotd.lock``, held until :meth:`release` or
    the process ends."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_NAME
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise StoreLocked(folder, holder) from None
        except OSError:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the last descriptor drops the flock
            self._fd = None


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
