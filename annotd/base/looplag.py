"""Event-loop lag: how late the loop runs a timer that was due. The one measure of a stall.

Why: annotd is one event loop. Anything that holds it (encoding a big document, a slow
callback, the garbage collector) delays every room, every socket and ``/healthz`` at once,
and none of the per-request timings shows it: they only time their own work. A timer that
should fire every :data:`PERIOD_S` and fires late measures exactly what everybody waited.

How: :class:`LagMonitor` is one task (owned and cancelled by the daemon) that keeps a
timer due every :data:`PERIOD_S` and records ``woke - due`` (never negative) when it fires.
The timer is a plain callback that schedules the next one, not a task that sleeps: a
sleep costs a future and a task step per wake-up, which the loop pays 100 times a second
on top of the relay (``BENCHMARKS.md``, "The relay's cost"). A stall of *S* seconds shows
as a sample between ``S - PERIOD_S`` and ``S``: the resolution is the period, and values
under about a millisecond are timer granularity (uvloop's timers count whole
milliseconds), not lag. :class:`LagWindow` (no I/O, no loop: testable with made-up clocks)
keeps the samples of the last :data:`WINDOW_S` and answers their max and p99, which
``/metrics`` reports as ``event_loop_lag_ms``; each sample also goes to an optional
``observe`` callback (the Prometheus histogram). Cost: one timer callback per period
(100 per second).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
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

    Times are :func:`time.perf_counter` seconds (what :class:`LagMonitor` stamps with)."""

    def __init__(self, window_s: float = WINDOW_S, max_samples: int = MAX_SAMPLES) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[float, float]] = deque(maxlen=max_samples)

    def add(self, now: float, lag_s: float) -> None:
        self._samples.append((now, lag_s))
        self._expire(now)

    def _expire(self, now: float) -> None:
        samples = self._samples
        while samples and now - samples[0][0] > self.window_s:
            samples.popleft()

    def current(self) -> LagStats:
        """:meth:`stats` now (sample times are :func:`time.perf_counter` seconds)."""
        return self.stats(time.perf_counter())

    def stats(self, now: float) -> LagStats:
        """Max and p99 (nearest rank) of the samples taken in the last ``window_s``."""
        self._expire(now)
        lags = sorted(lag for _, lag in self._samples)
        if not lags:
            return LagStats(None, None, 0)
        p99 = lags[max(0, math.ceil(0.99 * len(lags)) - 1)]
        return LagStats(round(lags[-1] * 1000, 3), round(p99 * 1000, 3), len(lags))


class LagMonitor:
    """Samples the lag every ``period_s`` into ``window`` (and ``observe``) while :meth:`run`
    runs."""

    def __init__(self, window: LagWindow, *, period_s: float = PERIOD_S,
                 observe: Callable[[float], None] | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.window = window
        self.period_s = period_s
        self.observe = observe
        self.clock = clock
        self.sampled = asyncio.Event()
        """Set after every sample (tests await it instead of sleeping); cleared by them."""
        self._due = 0.0
        self._timer: asyncio.TimerHandle | None = None

    async def run(self) -> None:
        """Keep the sampling timer going until cancelled (the daemon owns this as a task)."""
        loop = asyncio.get_running_loop()
        self._arm(loop)
        try:
            await loop.create_future()  # never resolved: the timer callbacks do the work
        finally:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        self._due = self.clock() + self.period_s
        self._timer = loop.call_later(self.period_s, self._sample, loop)

    def _sample(self, loop: asyncio.AbstractEventLoop) -> None:
        woke = self.clock()
        lag = lateness(self._due, woke)
        self.window.add(woke, lag)
        if self.observe is not None:
            self.observe(lag)
        self.sampled.set()
        self._arm(loop)
