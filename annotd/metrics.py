"""Process metrics for ``/metrics`` (JSON, or Prometheus text with ``?format=prometheus``).

Rates are computed over a sliding window of one-second buckets so that a scrape never
has to remember the previous scrape.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Rate:
    """Events per second over the last ``window`` whole seconds."""

    window: int = 10
    clock: Callable[[], float] = time.monotonic
    _buckets: deque[tuple[int, int]] = field(default_factory=deque)

    def add(self, n: int = 1) -> None:
        sec = int(self.clock())
        if self._buckets and self._buckets[-1][0] == sec:
            self._buckets[-1] = (sec, self._buckets[-1][1] + n)
        else:
            self._buckets.append((sec, n))
            while len(self._buckets) > self.window + 1:
                self._buckets.popleft()

    def per_second(self) -> float:
        now = int(self.clock())
        total = sum(n for sec, n in self._buckets if now - self.window <= sec < now)
        return total / self.window


@dataclass
class Metrics:
    connected_clients: int = 0
    updates_sequenced: int = 0
    frames_rejected: int = 0
    clients_too_slow: int = 0
    deliveries: int = 0
    broadcast: Rate = field(default_factory=Rate)

    def delivered(self, n: int) -> None:
        self.deliveries += n
        self.broadcast.add(n)


def prometheus(values: dict[str, float | int]) -> str:
    """Render flat metrics in the Prometheus text exposition format."""
    lines = []
    for name, value in values.items():
        metric = f"annotd_{name}"
        lines.append(f"# TYPE {metric} gauge")
        lines.append(f"{metric} {value}")
    return "\n".join(lines) + "\n"
