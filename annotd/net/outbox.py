"""One socket's write policy, without I/O: what to write now, what to queue, what to merge,
when to flush, and when a client is too slow to keep.

Why separate from the socket: the policy is where fan-out's guarantees live (nobody waits
for the slowest client; document frames keep their order; presence is merged and rate
limited; a client that falls too far behind is dropped and may resume by ``lastSeq``),
and it can be tested with plain calls and made-up clocks. The adapter
(:class:`annotd.net.wsconn.Connection`) only reports what the transport can take now and
moves the frames the policy hands it, the way websockets keeps its ``Protocol`` apart
from its asyncio connection.

Frames are opaque here (``bytes`` or ``str``). Two kinds:

* document frames (sync updates, acks, replies) go out in order, never merged or dropped;
  at most ``max_frames`` wait, beyond that the client is too slow (:data:`Offer.TOO_SLOW`);
* noisy frames (presence, awareness) are kept latest-per-key and flushed at most once per
  ``window_s``.

The fast path: when nothing waits and the transport is ready, a frame is written at once
(:data:`Offer.WRITE`), with no queue and no task switch.
"""

from __future__ import annotations

from collections import deque
from enum import Enum
from typing import Generic, TypeVar

from ..base.errors import CLOSE_TOO_SLOW

F = TypeVar("F")


class Offer(Enum):
    WRITE = "write"
    """Write this frame now (nothing is waiting ahead of it)."""
    QUEUED = "queued"
    """Kept for the writer; wake it."""
    TOO_SLOW = "too slow"
    """The queue is full: the client is too slow; close it (:data:`CLOSE_TOO_SLOW`)."""


class Outbox(Generic[F]):
    def __init__(self, *, max_frames: int, window_s: float) -> None:
        self.max_frames = max_frames
        self.window_s = window_s
        self.queue: deque[F] = deque()
        self.noisy: dict[str, F] = {}
        self.noisy_due = 0.0
        """When the pending noisy frames may be flushed."""
        self.noisy_flushed_at = -1e9
        self.close_request: tuple[int, str] | None = None
        """``(code, reason)`` once the socket is to be closed after what is queued."""

    @property
    def closing(self) -> bool:
        return self.close_request is not None

    @property
    def aborted(self) -> bool:
        """Closing because the client was too slow: nothing more is sent, not even what waits."""
        return self.close_request is not None and self.close_request[0] == CLOSE_TOO_SLOW

    def offer(self, frame: F, ready: bool) -> Offer:
        """A document frame; ``ready``: the transport can take a write now."""
        if ready and not self.queue and self.close_request is None:
            return Offer.WRITE
        if len(self.queue) >= self.max_frames:
            return Offer.TOO_SLOW
        self.queue.append(frame)
        return Offer.QUEUED

    def offer_noisy(self, key: str, frame: F, now: float, ready: bool) -> bool:
        """A presence/awareness frame from sender ``key``; True: write it now, else it
        replaces that sender's pending frame and the writer flushes at :attr:`noisy_due`."""
        if not self.noisy and now >= self.noisy_flushed_at + self.window_s and ready \
                and not self.queue and self.close_request is None:
            self.noisy_flushed_at = now
            return True
        if not self.noisy:
            self.noisy_due = max(now, self.noisy_flushed_at + self.window_s)
        self.noisy[key] = frame
        return False

    def request_close(self, code: int, reason: str) -> bool:
        """Close after what is queued; for :data:`CLOSE_TOO_SLOW`, drop what is queued too
        (see :attr:`aborted`). False if a close was already requested."""
        if self.close_request is not None:
            return False
        self.close_request = (code, reason)
        if code == CLOSE_TOO_SLOW:
            self.queue.clear()
            self.noisy.clear()
        return True

    def wait_time(self, now: float) -> float | None:
        """How long the writer may sleep before it has work: 0 now, ``None`` until woken."""
        if self.queue or self.close_request is not None:
            return 0.0
        if not self.noisy:
            return None
        return max(0.0, self.noisy_due - now)

    def take_batch(self) -> list[F]:
        """Every queued document frame, in order (one write)."""
        batch = list(self.queue)
        self.queue.clear()
        return batch

    def take_noisy(self, now: float) -> list[F]:
        """The pending noisy frames if their window has come, else nothing."""
        if not self.noisy or now < self.noisy_due:
            return []
        frames = list(self.noisy.values())
        self.noisy.clear()
        self.noisy_flushed_at = now
        return frames
