"""What a live room sees of the room store: :class:`RoomLog` (the hub's side is
:class:`annotd.live.hub.Storage`): the writes its door makes, and the reads of history
older than memory keeps (:mod:`annotd.live.deephistory`).

The hub layer does not import :mod:`annotd.storage` (the layer table): the store is wired
in by the process (:mod:`annotd.process.persist`), and the door only needs these few calls. With no
``rooms.data_dir`` there is no store and a room's log is ``None``: nothing waits
for a disk.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol

import orjson
from pycrdt import Doc, Map

from ..base.docstate import StateParts
from ..base.errors import AnnotdError, StorageFull
from ..canvas.reader import image_ref
from ..canvas.schema import ROOT_META
from ..core.history import Event, Snapshot, Version
from ..core.images import StoredImage
from ..core.outbound import Outbound

UNCHANGED = "unchanged"
ImageChange = dict[str, Any] | None | str
"""A change's effect on the room's base image reference: the new reference, ``None``
(removed), or :data:`UNCHANGED`."""

Settled = Callable[[BaseException | None], None]
"""Told once, on the event loop, whether a seq became durable (``None``) or why not."""


class RoomLog(Protocol):
    """One live room's writes to the store, as its door makes them."""

    @property
    def writable(self) -> bool:
        """False while the disk refuses writes: the door refuses new changes meanwhile, so
        memory never runs far ahead of what the disk holds."""

    def append(self, event: Event, image: ImageChange = UNCHANGED) -> None:
        """Log a sequenced change (called from the door's post-commit step); ``image``: the
        base image reference the change made current, if it changed it."""

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

    def delete(self) -> Future[None]:
        """Remove the room from the store; resolves once that is durable."""

    def settled(self, head: int) -> bool:
        """Whether every write made so far, events up to ``head`` included, has committed (a room may be unloaded only then:
        loading it again reads the disk)."""

    # -- history deeper than memory's (reads block on the disk: call them in a thread) --
    @property
    def oldest_seq(self) -> int | None:
        """The oldest seq the disk can rebuild (it moves up as the store prunes by
        ``storage.keep_days``/``keep_events``), known without reading the disk."""

    def parts_at(self, seq: int) -> StateParts:
        """The state at ``seq`` from disk: its nearest snapshot at or before it and the
        events up to it. Raises ``Gone`` (with ``data.oldestSeq``) below the disk's reach."""

    def events(self, after: int, upto: int) -> list[Event]:
        """Events ``(after, upto]`` from disk; ``Gone`` (``data.oldestSeq``) below its reach."""


class ImageWatch:
    """The room's base image reference as last logged, and whether a change moved it.

    Listing a room that is not loaded answers its image from the store, so the door logs
    each change of ``meta.image`` with the event that made it (one transaction). Yjs tells
    this object when ``meta`` changed at all, so the many changes elsewhere in the
    document cost one flag test."""

    def __init__(self, doc: Doc) -> None:
        self.doc = doc
        self.seen: dict[str, Any] | None = image_ref(doc)
        self.touched = False
        self._meta = doc.get(ROOT_META, type=Map)
        self._sub = self._meta.observe(self._changed)

    def _changed(self, _event: Any) -> None:
        self.touched = True

    def change(self) -> ImageChange:
        """The new reference if the change just made moved it, else :data:`UNCHANGED`."""
        if not self.touched:
            return UNCHANGED
        self.touched = False
        ref = image_ref(self.doc)
        if ref == self.seen:
            return UNCHANGED
        self.seen = ref
        return ref

    def reset(self) -> dict[str, Any] | None:
        """Take the reference now as the one the store holds (a room just written whole,
        or rebuilt from the store); returns it."""
        self.touched = False
        self.seen = image_ref(self.doc)
        return self.seen

    def close(self) -> None:
        """Stop observing (the callback would keep the room alive through the document)."""
        self._meta.unobserve(self._sub)


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
