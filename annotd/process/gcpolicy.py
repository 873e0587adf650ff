"""The garbage collector's pauses kept short with thousands of live rooms, without leaking.

Why: CPython's full collection walks every tracked object. A loaded room is ~60–100 of
them (its ``Doc``s, presence, history, canvas) and a socket ~65, scattered in memory, so
with 10,000 idle rooms each full pass stops the event loop for hundreds of milliseconds,
and a mass disconnect, which allocates a lot, triggers several (BENCHMARKS.md, "Many rooms:
mass leave, idle CPU and the collector"). Those objects are long-lived: walking them again and again
finds nothing.

How (``server.gc_freeze``, on by default): whenever the rooms loaded plus sockets open grew
by :data:`FREEZE_STEP` since the last freeze, the daemon's tick runs a full collection —
which walks only what is not frozen yet, about that growth — and freezes its survivors, all
reachable at that moment (:func:`gc.freeze`). Later passes, CPython's own included, skip
them, so a pass costs what was allocated since, not the whole heap. Reference counting
still frees a frozen object the moment nothing refers to it; what freezing withholds is the
freeing of *cycles* among frozen objects, which a closed socket and a closed room do leave
(websockets' protocol objects, a room's components and its ``Doc`` observers refer to each
other). So the frozen objects are handed back to the collector (:func:`gc.unfreeze` and one
full collection, as long as a pass without freezing, after which everything is frozen
again) — a *refresh* — when one of these holds:

* *churn*: the rooms and sockets closed since the last refresh are at least
  :data:`CHURN_SHARE` of those open plus closed (CPython's own rule: a full pass waits
  until a quarter of the heap is new), and none closed for :data:`QUIET_S` — the refresh
  follows a burst of leaves instead of landing in it — or :data:`CHURN_WAIT_S` passed since
  the share was reached (a steady trickle of closes is refreshed too);
* *age*: a room was deleted or unloaded :data:`REFRESH_AFTER_S` ago (its memory comes back
  within that time however few rooms closed);
* *trim*: the trimmer is about to give deleted rooms' memory back (:meth:`GcPolicy.before_trim`).

Until the policy first freezes growth (a server that never grew by :data:`FREEZE_STEP` and
never had a long pass), only the start-up objects (modules, fonts, configuration) are
frozen, and no room or socket is among them: a refresh is then a plain full collection,
which skips them, instead of walking them again (~15–20 ms for the start-up objects alone).

A full pass of CPython's own that took :data:`LONG_PASS_S` or more freezes its survivors too
(the heap grew without new rooms or sockets: snapshots, history).

So the garbage held back is bounded (closed sockets: about a quarter of the live ones;
closed rooms: :data:`REFRESH_AFTER_S`), and a pause as long as a full pass without
freezing happens once per such churn, instead of every few minutes at idle and several
times during a mass leave. What else a freeze catches in flight (a request being served)
and later dies in a cycle waits for the next refresh; freezes happen only with growth (of
the rooms and sockets, or of what a pass has to walk), so that share stays small.

Every collection's duration is measured (:data:`gc.callbacks`) into a :class:`LagWindow`
(``gc_pause_ms`` in ``/metrics``: max and p99 over the last 10 s) and a histogram.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from typing import Any

from ..base.looplag import LagWindow

log = logging.getLogger("annotd.gc")

FREEZE_STEP = 200
"""Growth of rooms loaded plus sockets open that makes the tick freeze: a pass over ~200
rooms' or sockets' objects, ~10 ms; CPython's own full passes meanwhile walk at most that."""
LONG_PASS_S = 0.01
"""A full pass of CPython's own that took this long walked many unfrozen survivors (objects
that grew without new rooms or sockets, such as snapshots): they are frozen at once."""
CHURN_SHARE = 0.25
"""Closed rooms and sockets, as a share of open plus closed, that make a refresh due."""
QUIET_S = 2.0
"""A churn refresh waits until no room or socket closed for this long..."""
CHURN_WAIT_S = 30.0
"""...or at most this long after the share was reached."""
REFRESH_AFTER_S = 60.0
"""Longest a deleted or unloaded room's frozen cycles wait for a refresh."""


class GcPolicy:
    """Times every collection; with ``freeze``, freezes and refreshes by the rules of the
    module docstring. ``units()`` counts rooms loaded plus sockets open; ``rooms_closed()``
    and ``sockets_closed()`` count closes so far (monotonic)."""

    def __init__(self, window: LagWindow, *, freeze: bool, units: Callable[[], int],
                 rooms_closed: Callable[[], int], sockets_closed: Callable[[], int],
                 observe: Callable[[float], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self.freeze = freeze
        self.units = units
        self.rooms_closed = rooms_closed
        self.sockets_closed = sockets_closed
        self.observe = observe
        self.clock = clock
        self.refreshes: dict[str, int] = {}
        """Refreshes done, by reason (tests and logs)."""
        self.freezes = 0
        """Freezing passes done for growth."""
        self._started = 0.0
        self._installed = False
        self._freezing = False
        """Set while a pass of this policy runs: its survivors are frozen."""
        self._grown = False
        """Whether anything but the start-up objects was frozen (a refresh must unfreeze)."""
        self._units_at_freeze = 0
        """Units at the last freeze, lowered as they fall (growth is counted from the low point)."""
        self._closed_at_refresh = 0
        self._rooms_at_refresh = 0
        self._last_closed = 0
        self._last_close_at = 0.0
        """When :meth:`due` last saw a close."""
        self._share_at: float | None = None
        """When :meth:`due` first saw the churn share reached since the last refresh."""
        self._room_closed_at: float | None = None
        """When :meth:`due` first saw a room closed since the last refresh."""

    def _closed(self) -> int:
        return self.rooms_closed() + self.sockets_closed()

    def install(self) -> None:
        """Start timing (and freezing: a refresh freezes what exists now)."""
        if self._installed:
            return
        self._installed = True
        gc.callbacks.append(self._callback)
        if self.freeze:  # the start-up objects: everything that exists now lives as long as the process
            self._full_pass()
            self._grown = False
            self._units_at_freeze = self.units()

    def uninstall(self) -> None:
        """Stop; the frozen objects go back to the collector (nothing stays withheld)."""
        if not self._installed:
            return
        self._installed = False
        gc.callbacks.remove(self._callback)
        if self.freeze:
            gc.unfreeze()

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        now = time.perf_counter()
        pause = now - self._started
        self.window.add(now, pause)
        if self.observe is not None:
            self.observe(pause)
        if info.get("generation") == 2 and (self._freezing or (self.freeze and pause >= LONG_PASS_S)):
            gc.freeze()  # every survivor of a full pass is reachable now
            self._grown = True
            if not self._freezing:
                self.freezes += 1

    def _full_pass(self) -> int:
        self._freezing = True
        try:
            return gc.collect()
        finally:
            self._freezing = False

    def due(self, now: float) -> str | None:
        """What this tick should do (``"freeze"`` or a refresh's reason), or ``None``."""
        if not (self.freeze and self._installed):
            return None
        units = self.units()
        closed = self._closed()
        if closed != self._last_closed:
            self._last_closed = closed
            self._last_close_at = now
            if self._room_closed_at is None and self.rooms_closed() != self._rooms_at_refresh:
                self._room_closed_at = now
        churn = closed - self._closed_at_refresh
        if churn >= CHURN_SHARE * (units + churn) and churn > 0:
            if self._share_at is None:
                self._share_at = now
            if now - self._last_close_at >= QUIET_S or now - self._share_at >= CHURN_WAIT_S:
                return "churn"
        if self._room_closed_at is not None and now - self._room_closed_at >= REFRESH_AFTER_S:
            return "age"
        self._units_at_freeze = min(self._units_at_freeze, units)
        if units >= self._units_at_freeze + FREEZE_STEP:
            return "freeze"
        return None

    def tick(self) -> None:
        """The daemon's periodic call: a freeze or a refresh when due."""
        what = self.due(self.clock())
        if what == "freeze":
            t0 = time.perf_counter()
            self._full_pass()
            self.freezes += 1
            self._units_at_freeze = self.units()
            log.debug("collector froze the heap's growth", extra={"units": self._units_at_freeze,
                                                                   "ms": round((time.perf_counter() - t0) * 1000, 1)})
        elif what is not None:
            self.refresh(what)

    def before_trim(self, first: bool) -> None:
        """The trimmer is about to give freed memory back. Its ``first`` pass after rooms
        were deleted refreshes (their cycles may be frozen); the passes after it, which only
        wait for sockets to finish closing, collect without unfreezing: a finished socket's
        cycles are broken when it ends (``WsServer._unlink``), and a refresh walks every
        frozen object again (~20 ms for the start-up objects alone)."""
        if first:
            self.refresh("trim")
        else:
            gc.collect()

    def refresh(self, reason: str) -> None:
        """Hand every frozen object back to the collector for one full collection, whose
        survivors are frozen again; a plain full collection without freezing, when not
        installed, or while only the start-up objects are frozen."""
        if not (self.freeze and self._installed):
            gc.collect()
            return
        t0 = time.perf_counter()
        if self._grown:
            gc.unfreeze()
            found = self._full_pass()
        else:
            found = gc.collect()  # only the start-up objects are frozen: nothing of theirs to free
        self.refreshes[reason] = self.refreshes.get(reason, 0) + 1
        self._closed_at_refresh = self._last_closed = self._closed()
        self._rooms_at_refresh = self.rooms_closed()
        self._share_at = self._room_closed_at = None
        self._units_at_freeze = self.units()
        log.debug("collector refreshed", extra={"reason": reason, "collected": found,
                                                "ms": round((time.perf_counter() - t0) * 1000, 1)})
