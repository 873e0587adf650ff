"""Who changed what at each step of a room's history: the ids each logged update touched.

Why: a history scrubber shows the canvas at a past seq; a person also wants to know *what
happened at that step* ("Bob moved a rectangle, deleted an arrow"). The event log stores
only raw Yjs updates and who sent them. A Yjs update names its parents by internal item
ids, not by annotation id, so it cannot be read on its own: it is replayed on the state
just before it, with deep observers on the root maps collecting the keys it changed.

Sans-I/O and read-only: the caller passes the base state (a scratch ``Doc`` it owns) and
the events; nothing here touches a room.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

import pycrdt

from . import schema

Summary = dict[str, Any]


class LoggedUpdate(Protocol):
    """One step of a room's log (``history.Event`` has these fields; the canvas layer does
    not import the room core)."""

    @property
    def seq(self) -> int: ...

    @property
    def ts(self) -> float: ...

    @property
    def user_id(self) -> str: ...

    @property
    def update(self) -> bytes: ...


def _type_of(value: Any) -> str | None:
    """The ``type`` field of a stored annotation (nested map or plain object), if a string."""
    t = value.get("type") if isinstance(value, pycrdt.Map | dict) else None
    return t if isinstance(t, str) else None


def _top_keys(events: list[Any]) -> tuple[dict[str, str], set[str]]:
    """(top-level key -> action, keys changed below the top level) of one deep-observe batch."""
    top: dict[str, str] = {}
    below: set[str] = set()
    for ev in events:
        path = list(ev.path)
        if path:
            if isinstance(path[0], str):
                below.add(path[0])
            continue
        for key, change in ev.keys.items():
            top[key] = change.get("action", "update")
    return top, below


def describe(base: pycrdt.Doc[Any], events: Iterable[LoggedUpdate]) -> list[Summary]:
    """Replay ``events`` on ``base`` (the state just before the first of them) and say, for
    each, which annotations it created, updated or deleted (with their types), which comment
    threads it touched, and whether it changed the base image. ``base`` is modified."""
    annotations = base.get(schema.ROOT_ANNOTATIONS, type=pycrdt.Map)
    comments = base.get(schema.ROOT_COMMENTS, type=pycrdt.Map)
    meta = base.get(schema.ROOT_META, type=pycrdt.Map)
    types: dict[str, str] = {}
    for key in annotations.keys():
        t = _type_of(annotations.get(key))
        if t is not None:
            types[key] = t
    batches: dict[str, list[Any]] = {"a": [], "c": [], "m": []}
    subs = [
        annotations.observe_deep(lambda evs: batches["a"].extend(evs)),
        comments.observe_deep(lambda evs: batches["c"].extend(evs)),
        meta.observe_deep(lambda evs: batches["m"].extend(evs)),
    ]
    out: list[Summary] = []
    try:
        for event in events:
            for batch in batches.values():
                batch.clear()
            before = dict(types)
            base.apply_update(event.update)
            top, below = _top_keys(batches["a"])
            created = sorted(k for k, action in top.items() if action == "add")
            deleted = sorted(k for k, action in top.items() if action == "delete")
            updated = sorted((set(below) | {k for k, a in top.items() if a == "update"}) - set(created) - set(deleted))
            touched_types: dict[str, str] = {}
            for key in created + updated:
                t = _type_of(annotations.get(key)) if key in annotations else None
                if t is not None:
                    types[key] = touched_types[key] = t
            for key in deleted:
                t = before.get(key)
                types.pop(key, None)
                if t is not None:
                    touched_types[key] = t
            c_top, c_below = _top_keys(batches["c"])
            m_top, m_below = _top_keys(batches["m"])
            out.append({
                "seq": event.seq,
                "ts": event.ts,
                "userId": event.user_id,
                "annotations": {"created": created, "updated": updated, "deleted": deleted},
                "types": touched_types,
                "comments": sorted(set(c_top) | c_below),
                "image": "image" in m_top or "image" in m_below,
            })
    finally:
        for root, sub in zip((annotations, comments, meta), subs, strict=True):
            root.unobserve(sub)
    return out
