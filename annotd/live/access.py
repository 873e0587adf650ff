"""What a command may do with one room: the narrow protocol the command layer is typed against.

Why a protocol: a handler that holds the whole hub can reach into a room's history, log and
live document, and each such reach is a place where a big room gets rebuilt on the event
loop or a change skips the bookkeeping every change needs. Commands get a room as
:class:`RoomAccess` (``hub.room(id)``) and nothing deeper: reads of a past or present state
choose the loop or the state worker by the room's size behind this interface, and every
write goes through :meth:`RoomAccess.apply`, the room's one door. The export service sees
rooms the same way (:class:`annotd.services.renders.Rooms`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from pycrdt import Doc

from ..canvas.model import CanvasView
from ..core.history import Snapshot, Version

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

Change = Callable[[Doc], T] | bytes
"""A change to a room: a function run on its document in one transaction (a ``canvas.ops``
write), or a Yjs update built elsewhere (a bundle's steps, an import built in a worker)."""


@dataclass(frozen=True, slots=True)
class Applied(Generic[T_co]):
    """What a change did: the function's result (``None`` for an update), the seq the room is
    at afterwards (the change's own, or the unchanged head when nothing changed)."""

    value: T_co
    seq: int
    changed: bool


@dataclass(frozen=True, slots=True)
class StepsPage:
    """``history.events`` for steps ``from_seq..to_seq``: each step's summary."""

    from_seq: int
    to_seq: int
    oldest_seq: int
    head: int
    events: list[dict[str, Any]]


class RoomAbout(Protocol):
    """What listing a room answers (``rooms.list``/``rooms.get``), loaded or not: a
    :class:`RoomAccess`, or a room kept on disk only (:class:`annotd.live.loading.Shelved`)."""

    def info(self) -> dict[str, Any]:
        """The room's description (``roomInfo`` fields)."""

    def last_change(self) -> float:
        """When the document last changed (its creation time if never)."""


class RoomAccess(Protocol):
    """One live room as commands see it."""

    @property
    def id(self) -> str: ...

    @property
    def head(self) -> int: ...

    # -- seqs and states -----------------------------------------------------------------
    def resolve_seq(self, seq: int | None, tag: str | None) -> int:
        """The seq a request names: the tag's, else ``seq`` (checked: retained in memory, or
        on disk with a room store), else the head. Raises ``NotFound`` (tag),
        ``InvalidParams`` (both given, or in the future), ``Gone`` (below ``oldest_seq``)."""

    def head_view(self) -> CanvasView:
        """The materialized view at the head (cached per seq; what writes validate against)."""

    async def view_at(self, seq: int) -> CanvasView:
        """The view at retained ``seq`` (built in the state worker for a big room)."""

    async def read(self, seq: int, project: Callable[..., dict[str, Any]], *args: Any,
                   fragment: bool = True) -> Any:
        """``{"seq": seq, **project(view, *args)}`` at retained ``seq``: built on the loop for a
        small room, by the state worker for a big one (then an ``orjson.Fragment`` to send as
        is, or parsed back with ``fragment=False``). ``project``: a module-level function."""

    async def steps(self, from_seq: int, to_seq: int | None, max_steps: int) -> StepsPage:
        """Who changed what at each step ``from_seq..to_seq`` (see :mod:`annotd.canvas.changes`)."""

    # -- writes ----------------------------------------------------------------------------
    async def apply(self, user_id: str, change: Change[T]) -> Applied[T]:
        """Apply one change as one sequenced update (the room's one door)."""

    def notify(self, method: str, params: dict[str, Any], *, session: str | None = None) -> None:
        """A JSON-RPC notification to the room's annotd.v1 sessions (or ``session`` alone)."""

    async def rename(self, name: str, user_id: str) -> str:
        """Give the room ``name`` (empty: its id, as at creation), announced at once as
        ``rooms.renamed``; returns the name it now has, once a store (if any) holds it."""

    # -- snapshots and versions ------------------------------------------------------------
    async def snapshot(self) -> int:
        """Snapshot the head now; the seq it was taken at."""

    def snapshot_list(self) -> list[Snapshot]: ...

    @property
    def oldest_seq(self) -> int:
        """Every seq from here to the head is readable (memory's window, or the store's)."""

    def versions(self) -> list[Version]: ...

    async def add_version(self, tag: str, seq: int | None, user_id: str, *, name: str = "") -> Version:
        """Tag ``seq`` (default: the head) with a display ``name`` (empty: the tag), pinning
        its state (built off the loop if big)."""

    def version(self, tag: str) -> Version: ...

    # -- about the room --------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """The room's description (``roomInfo`` fields)."""

    def image_ref(self) -> dict[str, Any] | None:
        """The base image's reference, if the room has one."""

    def last_change(self) -> float:
        """When the document last changed (its creation time if never)."""
