"""Who is in a room and where their cursor is: never stored in the document or the log.

Two forms exist because two kinds of client exist:

* y-protocols **awareness** (binary), spoken by every stock Yjs client. The server keeps
  pycrdt's :class:`~pycrdt.Awareness` state only to answer query-awareness and to announce
  removals: it remembers which awareness client ids each connection introduced, so that
  when a connection closes its states are removed and the removal is broadcast at once
  (no ghosts).
* annotd.v1 JSON **presence** (``{"type":"presence", ...}``), one entry per connection
  ("session"), with a TTL refreshed by every message and a periodic rebroadcast so a late
  packet loss heals.

The two are not bridged in either direction (documented in protocol.md): a stock client
cannot parse JSON, and synthesising awareness states would fight the clients' own clocks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Awareness, Doc

from ..base.errors import InvalidParams, MalformedFrame

MAX_SELECTION = 1000
MAX_NAME = 100
MAX_VIEWPORT_COORD = 1e7
"""Viewport coordinates are image pixels; a zoomed-out view of a large image spans far more
than the image, so the bound is wider than the document's ±1,000,000."""


@dataclass(slots=True)
class Entry:
    session: str
    user_id: str
    state: dict[str, Any]
    expires: float
    last_sent: float = -math.inf
    dirty: bool = False


def validate_presence(msg: dict[str, Any]) -> dict[str, Any]:
    """Keep the documented presence fields, checked; raise ``InvalidParams`` naming a bad one."""
    state: dict[str, Any] = {}
    cursor = msg.get("cursor")
    if cursor is not None:
        if not isinstance(cursor, dict):
            raise InvalidParams("cursor", "must be an object {x, y} or null")
        xy = []
        for axis in ("x", "y"):
            v = cursor.get(axis)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise InvalidParams(f"cursor.{axis}", "must be a finite number")
            xy.append(v)
        state["cursor"] = {"x": xy[0], "y": xy[1]}
    else:
        state["cursor"] = None
    selection = msg.get("selection", [])
    if not isinstance(selection, list) or not all(isinstance(s, str) for s in selection):
        raise InvalidParams("selection", "must be a list of annotation ids")
    if len(selection) > MAX_SELECTION:
        raise InvalidParams("selection", f"at most {MAX_SELECTION} ids")
    state["selection"] = selection
    for key in ("name", "color"):
        v = msg.get(key)
        if v is not None:
            if not isinstance(v, str) or len(v) > MAX_NAME:
                raise InvalidParams(key, f"must be a string of at most {MAX_NAME} characters")
            state[key] = v
    if "viewport" in msg:
        state["viewport"] = validate_viewport(msg["viewport"])
    typing = msg.get("typing")
    if typing is not None:
        if not isinstance(typing, bool):
            raise InvalidParams("typing", "must be true or false")
        state["typing"] = typing
    return state


def validate_viewport(raw: Any) -> dict[str, float] | None:
    """``{x, y, w, h}``: the image-pixel rectangle a person sees (others can follow it), or null."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidParams("viewport", "must be an object {x, y, w, h} or null")
    out: dict[str, float] = {}
    for key in ("x", "y", "w", "h"):
        v = raw.get(key)
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or abs(v) > MAX_VIEWPORT_COORD:
            raise InvalidParams(f"viewport.{key}", f"must be a finite number within ±{MAX_VIEWPORT_COORD:g}")
        if key in ("w", "h") and v <= 0:
            raise InvalidParams(f"viewport.{key}", "must be greater than 0")
        out[key] = v
    return out


@dataclass
class Presence:
    """JSON presence sessions of one room, plus the room's awareness bookkeeping."""

    ttl_s: float
    min_interval_s: float
    entries: dict[str, Entry] = field(default_factory=dict)
    awareness: Awareness = field(default_factory=lambda: Awareness(Doc()))
    owned_ids: dict[str, set[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # The server has no awareness state of its own.
        self.awareness.set_local_state(None)

    # -- JSON presence -------------------------------------------------------------------
    def update(self, session: str, user_id: str, state: dict[str, Any], now: float) -> dict[str, Any] | None:
        """Record a presence message; return the message to broadcast now, or ``None`` if
        it must wait for the rate limit (it is then sent by :meth:`due`)."""
        entry = self.entries.get(session)
        if entry is None:
            entry = self.entries[session] = Entry(session, user_id, state, now + self.ttl_s)
        else:
            entry.state = state
            entry.expires = now + self.ttl_s
        if now - entry.last_sent >= self.min_interval_s:
            entry.last_sent = now
            entry.dirty = False
            return self.message(entry)
        entry.dirty = True
        return None

    def message(self, entry: Entry) -> dict[str, Any]:
        return {"type": "presence", "userId": entry.user_id, "session": entry.session, **entry.state}

    def remove(self, session: str) -> dict[str, Any] | None:
        entry = self.entries.pop(session, None)
        if entry is None:
            return None
        return {"type": "presenceLeft", "userId": entry.user_id, "session": session}

    def due(self, now: float, rebroadcast_s: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """What the periodic tick sends: (held-back or stale entries to (re)send, expired ones)."""
        send: list[dict[str, Any]] = []
        gone: list[dict[str, Any]] = []
        for session, entry in list(self.entries.items()):
            if entry.expires <= now:
                left = self.remove(session)
                if left:
                    gone.append(left)
            elif (entry.dirty and now - entry.last_sent >= self.min_interval_s) or (
                now - entry.last_sent >= rebroadcast_s
            ):
                entry.dirty = False
                entry.last_sent = now
                send.append(self.message(entry))
        return send, gone

    def snapshot(self) -> list[dict[str, Any]]:
        return [self.message(e) for e in self.entries.values()]

    # -- awareness -----------------------------------------------------------------------
    def apply_awareness(self, session: str, update: bytes) -> None:
        """Apply a client's awareness update, remembering which ids it introduced."""
        changed: list[int] = []

        def collect(topic: str, payload: tuple[dict[str, Any], Any]) -> None:
            if topic == "update":
                changes = payload[0]
                changed.extend(changes["added"] + changes["updated"])

        sub = self.awareness.observe(collect)
        try:
            self.awareness.apply_awareness_update(update, session)
        except (IndexError, RuntimeError, ValueError, UnicodeDecodeError) as exc:
            raise MalformedFrame(f"undecodable awareness update: {exc}") from None
        finally:
            self.awareness.unobserve(sub)
        if changed:
            self.owned_ids.setdefault(session, set()).update(changed)

    def awareness_all(self) -> bytes | None:
        ids = list(self.awareness.states)
        return self.awareness.encode_awareness_update(ids) if ids else None

    def drop_awareness(self, session: str) -> bytes | None:
        """Remove the awareness states a closing connection owned; return the removal update."""
        ids = [i for i in self.owned_ids.pop(session, set()) if i in self.awareness.states]
        if not ids:
            return None
        self.awareness.remove_awareness_states(ids, "disconnect")
        return self.awareness.encode_awareness_update(ids)
