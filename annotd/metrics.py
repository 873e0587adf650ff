"""Process metrics for ``/metrics`` (JSON, or Prometheus text with ``?format=prometheus``)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from .looplag import LagWindow


@dataclass
class Metrics:
    """Counters bumped on the hot path (plain integer adds) and rates derived from them.

    Rates are not counted per event: the daemon's tick samples the totals about once a
    second, and ``per_second`` compares the current total with the sample ~10 s old.
    """

    connected_clients: int = 0
    updates_sequenced: int = 0
    frames_rejected: int = 0
    clients_too_slow: int = 0
    deliveries: int = 0
    window_s: float = 10.0
    loop_lag: LagWindow = field(default_factory=LagWindow)
    """Event-loop lag samples, filled by the daemon's :class:`annotd.looplag.LagMonitor`."""
    _samples: deque[tuple[float, int]] = field(default_factory=deque)

    def sample(self, now: float) -> None:
        if not self._samples or now - self._samples[-1][0] >= 1.0:
            self._samples.append((now, self.deliveries))
            while len(self._samples) > 1 and now - self._samples[1][0] >= self.window_s:
                self._samples.popleft()

    def deliveries_per_second(self, now: float) -> float:
        if not self._samples:
            return 0.0
        t0, n0 = self._samples[0]
        return (self.deliveries - n0) / (now - t0) if now > t0 else 0.0


def prometheus(values: dict[str, float | int]) -> str:
    """Render flat metrics in the Prometheus text exposition format."""
    lines = []
    for name, value in values.items():
        metric = f"annotd_{name}"
        lines.append(f"# TYPE {metric} gauge")
        lines.append(f"{metric} {value}")
    return "\n".join(lines) + "\n"
