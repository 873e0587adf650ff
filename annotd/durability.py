"""What a live room sees of the room store: :class:`RoomLog` (the hub's side is
:class:`annotd.hub.Storage`).

The hub layer does not import :mod:`annotd.storage` (the layer table): the store is wired
in by the process (:mod:`annotd.persist`), and the door only needs these few calls. With no
``rooms.data_dir`` there is no store and a room's log is ``None``: nothing waits
for a disk.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future
from typing import Protocol

import orjson

from .errors import AnnotdError, StorageFull
from .history import Event, Snapshot, Version
from .images import StoredImage
from .room import Outbound

Settled = Callable[[BaseException | None], None]
"""Told once, on the event loop, whether a seq became durable (``None``) or why not."""


class RoomLog(Protocol):
    """One live room's writes to the store, as its door makes them."""

    @property
    def writable(self) -> bool:
        """False while the disk refuses writes: the door refuses new changes meanwhile, so
        memory never runs far ahead of what the disk holds."""

    def append(self, event: Event) -> None:
        """Log a sequenced change (called from the door's post-commit step)."""

    def when_durable(self, seq: int, settled: Settled) -> None:
        """Call ``settled`` once every seq up to ``seq`` is on disk (at once if it is), or
        with the error that kept it off the disk. Calls are made in seq order."""

    def snapshot(self, snap: Snapshot) -> None: ...

    def version(self, version: Version, snap: Snapshot) -> None: ...

    def image(self, image: StoredImage) -> Future[None]:
        """Store an image of the room; resolves once its file and row are on disk (a change
        that refers to it is made only then, so no durable change points at a lost image)."""

    def rename(self, name: str) -> Future[None]:
        """Store the room's new name; resolves once it is on disk."""

    def delete(self) -> None: ...


def split_acks(out: list[Outbound]) -> tuple[list[Outbound], list[Outbound]]:
    """The frames to send now (relay, replies) and the sender's acks, held for the disk."""
    if not any(o.ack for o in out):
        return out, []
    return [o for o in out if not o.ack], [o for o in out if o.ack]


def refusal(session_id: str, exc: BaseException) -> Outbound:
    """The ``error`` frame a sender gets instead of its ack when the change is not durable
    (``storage_full``: the client keeps the change and sends it again after reconnecting)."""
    error = exc if isinstance(exc, AnnotdError) else StorageFull(f"the change was not stored: {exc}")
    return Outbound((session_id,), orjson.dumps({"type": "error", "error": error.to_json()}).decode())


async def wait_durable(log: RoomLog, seq: int) -> None:
    """Return once ``seq`` is durable in ``log``; raise what kept it off the disk."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def settled(exc: BaseException | None) -> None:
        if done.done():
            return
        if exc is None:
            done.set_result(None)
        else:
            done.set_exception(exc)

    log.when_durable(seq, settled)
    await done
