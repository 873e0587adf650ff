"""How fast one socket may be read: a byte budget that refills at a fixed rate.

Why a budget and not a cap: a client sending faster than ``limits.max_inbound_bytes_per_s``
is not refused and loses nothing. The socket adapter asks :meth:`ReadBudget.spend` after
each message and, when the budget is overdrawn, stops reading that socket for the time the
budget needs to refill (:func:`asyncio.sleep` in its handler). Meanwhile websockets keeps
at most a few frames buffered and then stops reading the TCP socket, so the kernel's
buffers fill and the client's own sends block: backpressure all the way to the sender,
while every other socket is served as usual.

``burst`` bytes may arrive at once (at least one largest frame: a client's sync step 2
after a reconnect can be that big); beyond it, ``rate`` bytes per second. No I/O, no clock
of its own: testable with made-up times.
"""

from __future__ import annotations


class ReadBudget:
    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self._at = now

    def spend(self, nbytes: int, now: float) -> float:
        """Charge ``nbytes`` just read; the seconds to stop reading before the next message
        (0 while within budget)."""
        tokens = self.tokens + (now - self._at) * self.rate
        if tokens > self.burst:
            tokens = self.burst
        tokens -= nbytes
        self.tokens = tokens
        self._at = now
        return 0.0 if tokens >= 0 else -tokens / self.rate
