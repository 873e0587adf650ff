"""Rooms kept on disk but not in memory (``rooms.data_dir``): listed from their metadata,
loaded on first use, put back on the shelf when idle (``rooms.unload_idle_s``).

Why: a daemon with thousands of stored rooms must listen at once and hold in memory only
the rooms people use. Start-up reads each room's metadata row (:class:`Shelved`: what
listing it answers, kept by the door as exact as the events on disk), never a document.
The first join, command or export of a room loads it: the store is read in a thread and the
document built off the loop for a big room (:mod:`annotd.process.persist` does both, as
:class:`RoomSource`); everything that asks for the room meanwhile awaits the same load
(:meth:`Shelf.open`), so a room is never loaded twice. A room that fails its checks on disk
is answered with ``room_damaged`` naming why, and stays listed; no other room is touched.

Unloading: a room nobody is connected to, with no command, export or import using it,
every write committed and nothing left for the periodic tick, idle for
``rooms.unload_idle_s``, is closed (its memory released) and shelved again, with the
epoch, head, snapshots and versions the disk holds, so a client reconnecting with its
``lastSeq`` is replayed as if it had never left. :class:`IdleRooms` keeps the rooms in the
order they were last used, so finding the ones due costs nothing while none is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..base.errors import AnnotdError, RoomDamaged

if TYPE_CHECKING:
    from .liveroom import LiveRoom

log = logging.getLogger("annotd.loading")


@dataclass(frozen=True, slots=True)
class Shelved:
    """A stored room that is not in memory, as listing it answers (``RoomAbout``): the same
    fields, by the same rules, as the room would answer loaded."""

    id: str
    name: str
    created_at: float
    head: int
    snapshot_seq: int
    oldest_seq: int
    epoch: str
    image: dict[str, Any] | None
    last_change_at: float

    def info(self) -> dict[str, Any]:
        """As :meth:`annotd.core.room.Room.info`: nobody is connected to a shelved room."""
        return {"roomId": self.id, "name": self.name, "createdAt": self.created_at, "seq": self.head,
                "headSeq": self.head, "snapshotSeq": self.snapshot_seq, "oldestSeq": self.oldest_seq,
                "epoch": self.epoch, "users": [], "clients": 0, "image": self.image}

    def last_change(self) -> float:
        return self.last_change_at


class RoomSource(Protocol):
    """Where shelved rooms come from and go back to (the store, wired by the process)."""

    async def load(self, room_id: str) -> LiveRoom:
        """Read the room and build it, not yet reachable; ``RoomDamaged`` if it fails its checks."""

    def shelve(self, live: LiveRoom) -> Shelved:
        """What listing ``live`` answers once it is unloaded (its writes are all committed)."""


class Shelf:
    """The shelved rooms, the loads under way and the rooms found damaged."""

    def __init__(self, source: RoomSource, rooms: dict[str, Shelved], installed: Callable[[LiveRoom], None]) -> None:
        self.source = source
        self.rooms = rooms
        self.installed = installed
        """Called on the loop with a room just loaded, before anyone waiting for it resumes."""
        self.loading: dict[str, asyncio.Future[LiveRoom]] = {}
        self.damaged: dict[str, str] = {}
        """Room id → why it could not be loaded (asked again, it is refused at once)."""
        self.loads = 0
        """Rooms loaded since start-up (tests and the log)."""

    def __contains__(self, room_id: str) -> bool:
        return room_id in self.rooms

    def __len__(self) -> int:
        return len(self.rooms)

    async def open(self, room_id: str) -> LiveRoom:
        """Load a shelved room, or join the load under way. Raises ``RoomDamaged``."""
        if room_id in self.damaged:
            raise RoomDamaged(room_id, self.damaged[room_id])
        pending = self.loading.get(room_id)
        if pending is None:
            pending = self.loading[room_id] = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().create_task(self._load(room_id, pending), name=f"load-{room_id}")
        # shielded: a caller that goes away (a socket closed mid-load) does not cancel the
        # load the others wait for
        return await asyncio.shield(pending)

    async def settle(self, room_id: str) -> None:
        """Wait for a load of ``room_id`` under way, if any, whatever its outcome."""
        pending = self.loading.get(room_id)
        if pending is not None:
            await asyncio.wait([pending])

    async def _load(self, room_id: str, done: asyncio.Future[LiveRoom]) -> None:
        started = time.perf_counter()
        try:
            live = await self.source.load(room_id)
        except RoomDamaged as exc:
            self.damaged[room_id] = exc.reason
            log.error("room not loaded: %s", exc.message, extra={"roomId": room_id})
            self._end(room_id, done, exc)
            return
        except (AnnotdError, OSError) as exc:
            log.error("room not loaded: %s", exc, extra={"roomId": room_id})
            self._end(room_id, done, exc)
            return
        except BaseException as exc:  # a bug, or the loop shutting down: the waiters hear it, the task ends
            self._end(room_id, done, exc)
            if not isinstance(exc, Exception):
                raise
            log.exception("room not loaded", extra={"roomId": room_id})
            return
        self.rooms.pop(room_id, None)
        self.loads += 1
        self.installed(live)
        log.info("room loaded", extra={"roomId": room_id, "seq": live.head,
                                       "ms": round((time.perf_counter() - started) * 1e3, 1)})
        del self.loading[room_id]
        done.set_result(live)

    def _end(self, room_id: str, done: asyncio.Future[LiveRoom], exc: BaseException) -> None:
        del self.loading[room_id]
        done.set_exception(exc)
        done.exception()  # retrieved: a load nobody awaits any more is not an "unhandled" error


class IdleRooms:
    """Rooms nobody is connected to, least recently used first (:meth:`touch` moves one to
    the end), so the rooms idle for long enough are a prefix."""

    def __init__(self) -> None:
        self._since: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._since)

    def touch(self, room_id: str, now: float) -> None:
        self._since.pop(room_id, None)
        self._since[room_id] = now

    def forget(self, room_id: str) -> None:
        self._since.pop(room_id, None)

    def due(self, now: float, idle_s: float) -> list[str]:
        """The rooms last used at least ``idle_s`` ago, oldest first (they stay listed: the
        caller forgets or touches each)."""
        out: list[str] = []
        for room_id, since in self._since.items():
            if now - since < idle_s:
                break
            out.append(room_id)
        return out
