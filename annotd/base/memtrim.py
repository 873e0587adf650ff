"""Give freed heap memory back to the system after large frees (glibc ``malloc_trim``).

Why: a deleted room's document, snapshots and log are freed (tests check that nothing
keeps them alive), but glibc keeps freed chunks in its arenas for reuse. Large
allocations (a 900 KB update) are not ``mmap``-ed once glibc's dynamic threshold has risen
past them, so they come from the heap and, freed, stay in the process's RSS: measured,
deleting a room that had taken 1 GB left RSS at 970 MB. ``malloc_trim(0)`` returns every
free page of every arena. It costs milliseconds per hundred MB and takes the allocator's
lock, so it runs in a thread (ctypes releases the GIL), and only after large frees.

Big buffers are kept out of the heap altogether (:func:`configure`): glibc raises its
``mmap`` threshold each time a big ``mmap``-ed chunk is freed, up to 32 MB, after which a
900 KB update lives in the heap between small long-lived allocations of other rooms, and
the heap can no longer shrink around them (measured: 35 MB still held after a flooded
room was deleted and trimmed, while another room was busy). Fixing the threshold at
256 KiB (``mallopt(M_MMAP_THRESHOLD)``, which also turns the dynamic rise off) makes every
big buffer its own mapping, returned to the system when freed.

On a C library without ``malloc_trim``/``mallopt`` (musl, macOS) these do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from collections.abc import Callable
from typing import Any

TRIM_AFTER_BYTES = 8 << 20
"""Freed document bytes (a deleted room's state, log and snapshots) worth a trim."""
ROOM_OVERHEAD_BYTES = 12 << 10
"""What an empty room holds besides its document (its objects, the pycrdt ``Doc``, the
first snapshot): measured ~11 KB each over 2,000 rooms. Counted as freed with every
deleted room, so that deleting many small rooms adds up to a trim as one big room does
(without it, deleting 2,000 rooms freed "447 KB" and the 20 MB they had taken stayed)."""
MMAP_THRESHOLD = 256 << 10
"""Allocations at least this big get their own mapping (see the module docstring)."""
M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameter number (malloc.h)."""


def _load(name: str, argtypes: list[Any]) -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        fn = getattr(libc, name)
    except (OSError, AttributeError):
        return None
    fn.argtypes = argtypes
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


_malloc_trim = _load("malloc_trim", [ctypes.c_size_t])
_mallopt = _load("mallopt", [ctypes.c_int, ctypes.c_int])


def configure() -> bool:
    """Give big allocations their own mappings from now on (the daemon calls this at start)."""
    return bool(_mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) if _mallopt is not None else False


def available() -> bool:
    return _malloc_trim is not None


def trim() -> bool:
    """Return free heap memory to the system; True if something was released."""
    return bool(_malloc_trim(0)) if _malloc_trim is not None else False


def rss_bytes() -> int:
    """This process's resident set size (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0
