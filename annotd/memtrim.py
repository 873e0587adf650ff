"""Give freed heap memory back to the system after large frees (glibc ``malloc_trim``).

Why: a deleted room's document, snapshots and log are freed (tests check that nothing
keeps them alive), but glibc keeps freed chunks in its arenas for reuse. Large
allocations (a 900 KB update) are not ``mmap``-ed once glibc's dynamic threshold has risen
past them, so they come from the heap and, freed, stay in the process's RSS: measured,
deleting a room that had taken 1 GB left RSS at 970 MB. ``malloc_trim(0)`` returns every
free page of every arena. It costs milliseconds per hundred MB and takes the allocator's
lock, so it runs in a thread (ctypes releases the GIL), and only after large frees.

On a C library without ``malloc_trim`` (musl, macOS) :func:`trim` does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Callable

TRIM_AFTER_BYTES = 8 << 20
"""Freed document bytes (a deleted room's state, log and snapshots) worth a trim."""


def _load() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        fn = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


_malloc_trim = _load()


def available() -> bool:
    return _malloc_trim is not None


def trim() -> bool:
    """Return free heap memory to the system; True if something was released."""
    return bool(_malloc_trim(0)) if _malloc_trim is not None else False
