"""Big document states, built off the event loop: snapshots, rebuilt versions, history reads.

Why a process and not a thread: pycrdt keeps the GIL for the whole of a Rust call, so an
encode run in a thread holds the loop thread for as long as the encode takes (measured in
BENCHMARKS.md, "Figures the design rests on"): a thread moves the work without freeing the loop. A
``Doc`` is also not safe to share between threads unless created with
``allow_multithreading`` (pycrdt ``Doc.__init__``), and the room's live document is written
on the loop at any time. So the loop only describes the state it needs
(:class:`~annotd.base.docstate.StateParts`: references to a snapshot's bytes and the logged
updates, taken at once) and one worker process (:mod:`annotd.base.procpool`, started on first
use, so a server without big rooms never starts it) builds it. Big byte strings go to
and from the worker through files (:mod:`annotd.base.spill`), not pickled through the pool's
pipe, whose copies hold the GIL.

The hub decides what is big (``RoomLimits.inline_encode_bytes``): small rooms keep doing
these things inline, where a process hop would cost more than the work.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from typing import Any

import orjson

from ..base import docstate, procpool, spill
from ..base.docstate import Encoded, StateParts

log = logging.getLogger("annotd.states")
NICE = 2
"""Niceness added to the state worker: below the relay loop, above export renders (+5)."""


def encode_state(parts: StateParts) -> Encoded:
    """In the worker: the full state ``parts`` describe (a snapshot's bytes, hash, vector)."""
    return docstate.encode(parts)


def project_view(parts: StateParts, project: Callable[..., dict[str, Any]],
                 args: tuple[Any, ...]) -> bytes | spill.Spilled:
    """In the worker: build the document and its view, and answer ``project(view, *args)``
    with ``seq`` as JSON bytes (a view of 10,000 annotations costs ~0.6 s to build and as
    much to pickle; the JSON is what the caller sends anyway; a big answer comes back
    through a file, see :mod:`annotd.base.spill`)."""
    from ..canvas.view import build_view

    logging.getLogger("annotd.canvas").disabled = True  # the daemon logs a room's repairs, not the worker
    view = build_view(docstate.build_doc(parts))
    return spill.spilled(orjson.dumps({"seq": parts.seq, **project(view, *args)}))


def view_at(parts: StateParts) -> Any:
    """In the worker: the view of the state ``parts`` describe (a revert's target)."""
    from ..canvas.view import build_view

    logging.getLogger("annotd.canvas").disabled = True
    return build_view(docstate.build_doc(parts))


def describe_steps(parts: StateParts, steps: tuple[Any, ...]) -> bytes | spill.Spilled:
    """In the worker: :func:`annotd.canvas.changes.describe` of ``steps`` (logged events)
    replayed on the state ``parts`` describe, as JSON bytes."""
    from ..canvas.changes import describe

    return spill.spilled(orjson.dumps(describe(docstate.build_doc(parts), steps)))


class StateWorker:
    """Owns the worker process (created on first use) and runs the functions above in it."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._closed = False

    async def encode(self, parts: StateParts) -> Encoded:
        result: Encoded = await self.run(encode_state, parts)
        return result

    async def project(self, parts: StateParts, project: Callable[..., dict[str, Any]], *args: Any) -> bytes:
        result: bytes = await self.run(project_view, parts, project, args)  # a Spilled answer arrives as bytes
        return result

    async def view(self, parts: StateParts) -> Any:
        return await self.run(view_at, parts)

    async def describe(self, parts: StateParts, steps: tuple[Any, ...]) -> list[dict[str, Any]]:
        data: bytes = await self.run(describe_steps, parts, steps)
        result: list[dict[str, Any]] = orjson.loads(data)
        return result

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in the worker process (a module-level function; big byte strings in
        ``args`` and the answer should cross through :mod:`annotd.base.spill`)."""
        if self._closed:
            raise RuntimeError("the server is shutting down")
        if self._pool is None:
            self._pool = procpool.new_process_pool(1, NICE, (__name__,))
        pool = self._pool
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)
        except BrokenExecutor:
            log.error("state worker process died; starting a new one")
            broken, self._pool = self._pool, None
            if broken is not None:
                broken.shutdown(wait=False, cancel_futures=True)
            raise RuntimeError("the state worker process died") from None
        finally:  # also when cancelled: the feeder thread would hold the job's state
            procpool.release_last_job(pool)

    @property
    def started(self) -> bool:
        return self._pool is not None

    async def close(self) -> None:
        """Stop the worker (waits for a running job; called by the daemon's shutdown)."""
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)

    def kill(self) -> None:
        """Terminate the worker now (forced exit)."""
        if self._pool is not None:
            procpool.terminate_processes(self._pool)
