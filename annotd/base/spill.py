"""Big byte strings handed to and from worker processes through a file, not the pool's pipe.

Why: a :class:`~concurrent.futures.ProcessPoolExecutor` pickles a job's arguments in its
feeder thread and unpickles the result in its manager thread, and pickling copies a
``bytes`` object while holding the GIL: a big document sent to the state worker held the GIL
in the feeder thread for as long as the copy took (BENCHMARKS.md, "Figures the design rests
on"), and the event loop, which needs the GIL, stalled for every room. Here a big string travels as a file
written with ``os.write`` and read with ``FileIO.readall``, which copy in the kernel with
the GIL released; only the file's path goes through the pipe.

How: :func:`register` tells multiprocessing's pickler (and only it: copies and other
pickles are untouched) to reduce a type through :func:`spilled` for its big fields. The
reader unlinks the file as it loads it. Files are created in ``/dev/shm`` where it exists
(memory, like the pipe; the temp directory when it is full) with mode 0600; a process removes what it wrote and nobody read
(a job cancelled before it ran) with :func:`remove_unread`, at exit of the process that
imported this module first (worker processes leave with ``os._exit``, so their exit does not
remove results their parent has yet to read). A killed daemon can leave files behind.
"""

from __future__ import annotations

import atexit
import os
import tempfile
import threading
from collections.abc import Callable
from multiprocessing.reduction import ForkingPickler
from typing import Any, TypeVar

SPILL_BYTES = 1 << 20
"""Byte strings at least this long go through a file (smaller ones are cheaper to pickle)."""

_SHM = "/dev/shm"
_written: set[str] = set()
_written_lock = threading.Lock()
"""Two pools' feeder threads may spill at once (the state worker's and the exports')."""

T = TypeVar("T")


def _directories() -> list[str]:
    """Where to write, in order: memory first; the temp directory when /dev/shm is missing
    or full (containers often give it 64 MB)."""
    shm = [_SHM] if os.path.isdir(_SHM) and os.access(_SHM, os.W_OK) else []
    return [*shm, tempfile.gettempdir()]


def _write(directory: str, data: bytes) -> str:
    fd, path = tempfile.mkstemp(prefix="annotd-", suffix=".bytes", dir=directory)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except OSError:
        os.unlink(path)
        raise
    finally:
        os.close(fd)
    return path


class Spilled:
    """``data`` written to a file now; pickles as "load that file" (see :func:`load`)."""

    __slots__ = ("path",)

    def __init__(self, data: bytes) -> None:
        _forget_read()
        *first, last = _directories()
        for directory in first:
            try:
                self.path = _write(directory, data)
                break
            except OSError:
                continue
        else:
            self.path = _write(last, data)  # its error, if any, fails the job that is being sent
        with _written_lock:
            _written.add(self.path)

    def __reduce__(self) -> tuple[Callable[[str], bytes], tuple[str]]:
        return load, (self.path,)


def spilled(data: bytes) -> bytes | Spilled:
    """``data`` itself when small; otherwise a :class:`Spilled` that unpickles to it."""
    return Spilled(data) if len(data) >= SPILL_BYTES else data


def load(path: str) -> bytes:
    """The bytes in ``path``, which is removed (runs where the pickle is loaded)."""
    with open(path, "rb", buffering=0) as f:
        data = f.readall()
    os.unlink(path)
    return data


def register(cls: type[T], fields: Callable[[T], tuple[Any, ...]]) -> None:
    """Pickle ``cls`` for worker processes as ``cls(*fields(obj))``, where ``fields`` passes
    its big byte strings through :func:`spilled`."""
    ForkingPickler.register(cls, lambda obj: (cls, fields(obj)))


def remove_unread() -> int:
    """Remove files this process spilled that no process loaded; how many there were."""
    removed = 0
    with _written_lock:
        paths = list(_written)
        _written.clear()
    for path in paths:
        try:
            os.unlink(path)
            removed += 1
        except FileNotFoundError:
            pass
    return removed


def _forget_read() -> None:
    """Drop paths already loaded (and removed) by their reader, so the set stays small."""
    with _written_lock:
        _written.difference_update([p for p in _written if not os.path.exists(p)])


atexit.register(remove_unread)
