"""Event-loop lag: how late the loop runs a timer that was due. The one measure of a stall.

Why: annotd is one event loop. Anything that holds it (encoding a big document, a slow
callback, the garbage collector) delays every room, every socket and ``/healthz`` at once,
and none of the per-request timings shows it: they only time their own work. A timer that
should fire every :data:`PERIOD_S` and fires late measures exactly what everybody waited.

How: :class:`LagMonitor` keeps a timer due every :data:`PERIOD_S` and records ``woke - due``
(never negative) when it fires. The timer is a plain callback that schedules the next one,
not a task that sleeps: a sleep costs a future and a task step per wake-up, which the loop
would pay 100 times a second on top of the relay (``BENCHMARKS.md``, "The relay's cost").
A stall of *S* seconds shows as a sample between ``S - period`` and ``S``: the resolution is
the period, and values under about a millisecond are timer granularity (uvloop's timers
count whole milliseconds), not lag. :class:`LagWindow` (no I/O, no loop: testable with
made-up clocks) keeps the samples of the last :data:`WINDOW_S` and answers their max and
p99, which ``/metrics`` reports as ``event_loop_lag_ms``; each sample also goes to an
optional ``observe`` callback (the Prometheus histogram).

Only while busy: the 10 ms timer runs only while the owner's ``busy()`` says something may
happen (the daemon: a socket is open or a room has periodic work). An idle daemon would
otherwise wake 100 times a second to measure nothing. While idle, the owner's own periodic
timer (the daemon's tick, every 50 ms) hands its lateness to :meth:`LagMonitor.tick`, which
records it as the sample (the same measure at the tick's resolution, for a stall with no
socket open, such as a REST call) and starts the 10 ms timer again as soon as ``busy()``
is true; the first sample that finds ``busy()`` false stops it. So under load the
resolution is the 10 ms period, idle costs nothing beyond the tick, and a daemon that turns
busy is sampled every 10 ms from the next tick on.
"""

from __future__ import annotations

import asyncio
import math
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass

PERIOD_S = 0.01
"""How often the monitor wakes: the resolution of the measure (a stall hides up to this)."""
WINDOW_S = 10.0
"""The interval ``event_loop_lag_ms`` summarises (the same 10 s as ``ops_broadcast_per_sec``)."""
MAX_SAMPLES = 2 * int(WINDOW_S / PERIOD_S)
"""Bound on kept samples (a window normally holds ``WINDOW_S / PERIOD_S``)."""


def lateness(due: float, woke: float) -> float:
    """Seconds the loop was late: ``woke - due``, 0 when the timer fired early or on time."""
    return woke - due if woke > due else 0.0


@dataclass(frozen=True)
class LagStats:
    """The lag over the last window, in milliseconds (``None`` with no sample yet)."""

    max_ms: float | None
    p99_ms: float | None
    samples: int

    def to_json(self) -> dict[str, float | None]:
        return {"max": self.max_ms, "p99": self.p99_ms}


class LagWindow:
    """Lag samples of the last ``window_s`` seconds; max and p99 over them.

    Times are :func:`time.perf_counter` seconds (what :class:`LagMonitor` stamps with).
    The samples sit in two preallocated arrays of doubles used as a ring, not in a deque of
    tuples: a sample that lives for the window's ten seconds, as an object, lands in
    whichever interpreter memory pool has room, and a steady stream of them keeps pools
    (and the 1 MB arenas around them) alive that deleted rooms' objects had filled (measured
    in BENCHMARKS.md, "Round two, continued")."""

    def __init__(self, window_s: float = WINDOW_S, max_samples: int = MAX_SAMPLES) -> None:
        self.window_s = window_s
        self._times = array("d", bytes(8 * max_samples))
        self._lags = array("d", bytes(8 * max_samples))
        self._first = 0
        """Index of the oldest sample kept."""
        self._count = 0

    def add(self, now: float, lag_s: float) -> None:
        size = len(self._times)
        if self._count == size:  # full: the oldest goes
            self._first = (self._first + 1) % size
            self._count -= 1
        i = (self._first + self._count) % size
        self._times[i] = now
        self._lags[i] = lag_s
        self._count += 1
        self._expire(now)

    def _expire(self, now: float) -> None:
        size = len(self._times)
        while self._count and now - self._times[self._first] > self.window_s:
            self._first = (self._first + 1) % size
            self._count -= 1

    def current(self) -> LagStats:
        """:meth:`stats` now (sample times are :func:`time.perf_counter` seconds)."""
        return self.stats(time.perf_counter())

    def stats(self, now: float) -> LagStats:
        """Max and p99 (nearest rank) of the samples taken in the last ``window_s``."""
        self._expire(now)
        size, first = len(self._lags), self._first
        lags = sorted(self._lags[(first + k) % size] for k in range(self._count))
        if not lags:
            return LagStats(None, None, 0)
        p99 = lags[max(0, math.ceil(0.99 * len(lags)) - 1)]
        return LagStats(round(lags[-1] * 1000, 3), round(p99 * 1000, 3), len(lags))


class LagMonitor:
    """Samples the lag into ``window`` (and ``observe``): every ``period_s`` while ``busy()``,
    else at the owner's :meth:`tick`. Runs while :meth:`run` runs."""

    def __init__(self, window: LagWindow, *, period_s: float = PERIOD_S,
                 observe: Callable[[float], None] | None = None,
                 clock: Callable[[], float] = time.perf_counter,
                 busy: Callable[[], bool] = lambda: True) -> None:
        self.window = window
        self.period_s = period_s
        self.observe = observe
        self.clock = clock
        self.busy = busy
        self.sampled = asyncio.Event()
        """Set after every sample (tests await it instead of sleeping); cleared by them."""
        self._due = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def sampling(self) -> bool:
        """Whether the ``period_s`` timer is running (else samples come from :meth:`tick`)."""
        return self._timer is not None

    async def run(self) -> None:
        """Sample until cancelled (the daemon owns this as a task): the timer callbacks and
        :meth:`tick` do the work."""
        self._loop = asyncio.get_running_loop()
        if self.busy():
            self._arm()
        try:
            await self._loop.create_future()  # never resolved
        finally:
            self._loop = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def tick(self, due: float) -> None:
        """The owner's periodic timer, due at ``due`` (:attr:`clock` seconds), has fired.
        While idle its lateness is the sample, and the timer starts if ``busy()`` now."""
        if self._timer is not None or self._loop is None:
            return  # sampling every period already (or not running)
        woke = self.clock()
        self._record(woke, lateness(due, woke))
        if self.busy():
            self._arm()

    def _arm(self) -> None:
        assert self._loop is not None
        self._due = self.clock() + self.period_s
        self._timer = self._loop.call_later(self.period_s, self._sample)

    def _sample(self) -> None:
        self._timer = None
        woke = self.clock()
        self._record(woke, lateness(self._due, woke))
        if self.busy() and self._loop is not None:
            self._arm()

    def _record(self, woke: float, lag: float) -> None:
        self.window.add(woke, lag)
        if self.observe is not None:
            self.observe(lag)
        self.sampled.set()
