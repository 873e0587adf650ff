"""History commands: what changed at each retained step (for history scrubbers).

``annotations.list`` (with ``seq``) shows the canvas at a step; ``history.events`` says who
made each step and which annotations, threads or image it touched. Read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from ..base.identifiers import ID_PATTERN
from .base import Caller, command
from .params import rule

if TYPE_CHECKING:
    from ..live.hub import Hub


@dataclass(frozen=True)
class ListEvents:
    roomId: str = rule(pattern=ID_PATTERN)
    fromSeq: int = rule(minimum=1, doc="the first step to describe (> oldestSeq)")
    toSeq: int | None = rule(default=None, minimum=1, doc="the last step (default: the head)")


class AnnotationChanges(TypedDict):
    created: list[str]
    updated: list[str]
    deleted: list[str]


class HistoryEvent(TypedDict):
    """One step: who made it, when (``ts``: seconds since the epoch), what it touched;
    ``types`` maps each touched annotation id to its type."""

    seq: int
    ts: float
    userId: str
    annotations: AnnotationChanges
    types: dict[str, str]
    comments: list[str]
    image: bool


class HistoryEvents(TypedDict):
    roomId: str
    fromSeq: int
    toSeq: int
    oldestSeq: int
    headSeq: int
    events: list[HistoryEvent]


@command("history.events", method="GET", path="/v1/rooms/{roomId}/history", result=HistoryEvents)
async def list_events(hub: Hub, p: ListEvents, caller: Caller) -> dict[str, Any]:
    """Who changed what at each step fromSeq..toSeq: user, time, annotations, threads, image."""
    page = await hub.room(p.roomId).steps(p.fromSeq, p.toSeq, hub.config.history.max_events_per_request)
    return {"roomId": p.roomId, "fromSeq": page.from_seq, "toSeq": page.to_seq, "oldestSeq": page.oldest_seq,
            "headSeq": page.head, "events": page.events}
