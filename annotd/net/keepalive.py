"""Dead-peer detection for every socket from one timer, pinging only the silent ones.

Why: websockets' own keepalive runs a task per connection that sleeps ``ping_interval``,
pings and waits for the pong: with 10,000 idle clients that is 500 pings a second, each a
task step, a future, a timer and a timeout, and ~10 live objects per socket that are
re-made every interval — the idle CPU of many rooms and the young objects the collector
keeps walking (BENCHMARKS.md, "Many rooms: mass leave, idle CPU and the collector"). A
client that just sent something is alive anyway; pinging it proves nothing new.

How: sockets sit in one heap by when they are due (:class:`KeepAlive`), checked every
:data:`CHECK_S` by one timer, at most :data:`PER_CHECK` of them per check and
:data:`PER_TURN` per loop turn: sockets that joined together come due together (thousands
in a second after a burst of joins), and pinging hundreds in one turn would hold every
other room's relay for milliseconds each check. A socket that
sent anything (a frame, a pong) during the last ``server.ping_interval_s`` is due again one
interval after it last did, without a ping. A silent one is sent a ping; if it still sent
nothing ``server.ping_timeout_s`` later, it is closed with 1011 ("keepalive ping timeout"),
as websockets' keepalive did. So a dead peer is detected within interval + timeout (+ one
check), as before, and a live one is pinged only when it has been silent for an interval.
What counts as heard is stamped by the connection class (:mod:`annotd.net.handshakes`) on
every read. A closed socket leaves the heap when its entry comes due (by then an emptied
shell: the server breaks up a finished connection, see ``WsServer._unlink``).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import os
import time
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger("annotd.ws")

CHECK_S = 0.25
"""How often due sockets are looked at (the detection's extra delay, at most)."""
PER_CHECK = 512
"""Sockets looked at per check at most: a backlog (after a stall) is spread over checks."""
PER_TURN = 32
"""Sockets looked at per loop turn (a ping is tens of µs with its pong: a turn stays ~1 ms)."""


class Watched(Protocol):
    """A socket as the keepalive sees it (the connection class of :mod:`annotd.net.handshakes`)."""

    heard: float
    """When anything last arrived (``time.monotonic()``)."""

    @property
    def open(self) -> bool:
        """Whether the WebSocket is open (pings are sent only then)."""

    def send_ping(self, data: bytes) -> None:
        """Write a ping frame now."""

    def close_dead(self) -> None:
        """Close the socket: its peer did not answer a ping in time."""


class KeepAlive:
    """The sockets' keepalive: :meth:`add` each socket once it is open; :meth:`run` checks."""

    def __init__(self, interval_s: float, timeout_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.clock = clock
        self._heap: list[tuple[float, int, Watched, float]] = []
        """(due, tie-break, socket, when the outstanding ping was sent or 0.0)."""
        self._ids = itertools.count()
        self.pings = 0
        """Pings sent (tests and figures)."""
        self.dead = 0
        """Sockets closed for not answering."""

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, ws: Watched) -> None:
        """Watch ``ws`` from now on (it leaves by itself once closed)."""
        heapq.heappush(self._heap, (self.clock() + self.interval_s, next(self._ids), ws, 0.0))

    def check(self, limit: int = PER_TURN) -> bool:
        """Ping or close the due sockets, at most ``limit``; whether more are due now."""
        now = self.clock()
        heap = self._heap
        for _ in range(limit):
            if not heap or heap[0][0] > now:
                return False
            _, _, ws, pinged = heapq.heappop(heap)
            if not ws.open:
                continue  # closed: forgotten
            heard = ws.heard
            if pinged and heard < pinged:  # due at pinged + timeout: nothing came back
                self.dead += 1
                log.info("keepalive ping timeout: closing", extra={"silent_s": round(now - heard, 1)})
                ws.close_dead()
            elif now - heard < self.interval_s:  # it spoke (or answered) lately: nothing to prove
                heapq.heappush(heap, (heard + self.interval_s, next(self._ids), ws, 0.0))
            else:
                ws.send_ping(os.urandom(4))
                self.pings += 1
                heapq.heappush(heap, (now + self.timeout_s, next(self._ids), ws, now))
        return bool(heap) and heap[0][0] <= now

    async def sweep(self) -> None:
        """One check: the due sockets, :data:`PER_TURN` per loop turn, :data:`PER_CHECK` at most."""
        for _ in range(PER_CHECK // PER_TURN):
            if not self.check():
                return
            await asyncio.sleep(0)  # the next turn: other callbacks run in between

    async def run(self) -> None:
        """Check every :data:`CHECK_S` until cancelled."""
        while True:
            await asyncio.sleep(CHECK_S)
            await self.sweep()
