"""Socket teardowns spread over event-loop turns, a few per turn, in order.

Why: when thousands of clients drop at once (a network or a proxy goes), the loop learns of
every loss in one poll, and each loss starts a chain of work in the following turns: the
websockets connection fails its reader and pings, the handler task wakes, leaves its room,
counts and logs the close, cancels its writer, and websockets' own handler closes the
connection. Run for every socket in the same turns, that is a stall of a second or more
for everybody else (``/healthz``, the relay of other rooms): a turn only ends when all the
callbacks ready at its start have run.

How: :class:`Pacer` queues the sockets whose loss starts that chain (the connection's
``eof_received`` and ``connection_lost``, see :mod:`annotd.net.handshakes`) and runs at most
:data:`PER_TURN` of them per loop turn, in arrival order; the chain each starts runs in the
turns after, so every turn carries about :data:`PER_TURN` sockets' teardowns and other work
(a request, a relayed update) is served between them. A lone disconnect is handled in the
next turn, as before. Until its turn comes a lost socket still looks open to websockets:
what is written to it meanwhile is dropped by the transport, as it would be a moment later.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger("annotd.ws")

PER_TURN = 32
"""Deferred calls run per loop turn: with the teardown each starts (~0.1 ms of work per
socket: BENCHMARKS.md, "Many rooms: mass leave, idle CPU and the collector"), a turn
stays at a few milliseconds."""


T = TypeVar("T")


class Pacer(Generic[T]):
    """Calls ``run(item)`` for each deferred item on the running loop, at most ``per_turn``
    per turn, in order. Items are queued as they are (no wrapper object per item: a burst of
    thousands must not leave thousands of young objects for the collector to walk)."""

    def __init__(self, run: Callable[[T], None], per_turn: int = PER_TURN) -> None:
        self.run = run
        self.per_turn = per_turn
        self._queue: deque[T] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.turns = 0
        """Turns that ran deferred calls (tests look at how a burst was spread)."""

    def __len__(self) -> int:
        """Calls waiting for their turn."""
        return len(self._queue)

    def defer(self, item: T) -> None:
        """Run ``item`` in a coming loop turn (the next one unless others are waiting)."""
        self._queue.append(item)
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._loop.call_soon(self._run)

    def _run(self) -> None:
        queue, run = self._queue, self.run
        self.turns += 1
        for _ in range(min(self.per_turn, len(queue))):
            try:
                run(queue.popleft())
            except Exception:  # one socket's failure must not strand the others' teardowns
                log.exception("socket teardown failed")
        if queue:
            assert self._loop is not None
            self._loop.call_soon(self._run)
        else:
            self._loop = None
