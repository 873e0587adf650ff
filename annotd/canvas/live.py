"""A room's live canvas: the cached materialized view at the head, and comment pins.

Why cached by seq: the API and exports read the view often, the document changes in
bursts; building it costs tens of milliseconds for a thousand annotations, so it is
rebuilt at most once per seq, on demand, never on the relay path.

Why pins are tracked here: when a raw Yjs client deletes an annotation that a comment
thread is anchored to, the thread must keep the position where its pin last was. The
daemon's periodic tick (every 50 ms, when the head moved) finds threads anchored to an
annotation the document no longer has, replays the few events since the last check to see
where each pin last was, and turns those anchors into points there (one server update).
When the annotation comes back (an undo of the delete, a revert), the same tick anchors the
thread to it again at the pin's place on it: a detached thread only ever means that its
annotation is gone now. The routine cost is proportional to the number of anchored threads,
not to the number of annotations; the replay runs only when something was orphaned; nothing runs per relayed
update.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pycrdt

from annotd.canvas import schema
from annotd.canvas.box import box_fractions, box_point
from annotd.canvas.model import CanvasView
from annotd.canvas.pins import Pins, anchor_offsets, anchor_position, anchor_target, thread_pins
from annotd.canvas.reader import read_fields
from annotd.canvas.view import ViewBuilder, read_annotation
from annotd.identifiers import is_id

Orphans = dict[str, tuple[str, float, float, tuple[float, float]]]
"""Thread id → (annotation id, offsetX, offsetY, fallback pin)."""

Reattach = dict[str, tuple[str, float, float, tuple[float, float]]]
"""Thread id → (annotation id, offsetX, offsetY, pin): detached threads whose annotation is back."""


class LiveCanvas:
    def __init__(self) -> None:
        self._builder = ViewBuilder()
        self._view: tuple[int, CanvasView] | None = None
        self._pins: Pins = {}
        self.checked_seq = -1
        self._commented: pycrdt.Doc[Any] | None = None
        """The last document seen with a comments root (a Yjs root, once there, stays)."""

    def view(self, doc: pycrdt.Doc[Any], seq: int) -> CanvasView:
        """The view of ``doc`` at head ``seq`` (rebuilt only when the seq moved)."""
        if self._view is None or self._view[0] != seq:
            self._view = (seq, self._builder.build(doc))
        return self._view[1]

    def orphaned(self, doc: pycrdt.Doc[Any]) -> Orphans:
        """Threads anchored to an annotation the document no longer has.

        The fallback pin is where the last check saw the pin, else the anchor's stored
        ``x, y``. Read from the document itself, so a thread anchored and orphaned between
        two checks is found too.
        """
        if schema.ROOT_COMMENTS not in doc.keys():
            return {}
        annotations = doc.get(schema.ROOT_ANNOTATIONS, type=pycrdt.Map)
        found: Orphans = {}
        for tid, fields in read_fields(doc, schema.ROOT_COMMENTS, ("anchor",)).items():
            anchor = fields.get("anchor")
            if not isinstance(anchor, dict) or (aid := anchor_target(anchor)) is None or aid in annotations:
                continue
            tracked = self._pins.get(tid)
            fallback = tracked[1] if tracked is not None and tracked[0] == aid else anchor_position(anchor)
            found[tid] = (aid, *anchor_offsets(anchor), fallback)
        return found

    @staticmethod
    def returned(doc: pycrdt.Doc[Any]) -> Reattach:
        """Detached threads (a point anchor with ``detachedFrom``) whose annotation the
        document has again, with the offsets on its box where their pin is."""
        if schema.ROOT_COMMENTS not in doc.keys():
            return {}
        found: Reattach = {}
        for tid, fields in read_fields(doc, schema.ROOT_COMMENTS, ("anchor",)).items():
            anchor = fields.get("anchor")
            if not isinstance(anchor, dict) or anchor.get("kind") != "point" or not is_id(aid := anchor.get("detachedFrom")):
                continue
            ann = read_annotation(doc, aid)
            if ann is None:
                continue
            pin = anchor_position(anchor)
            found[tid] = (aid, *box_fractions(ann, *pin), pin)
        return found

    @staticmethod
    def last_pins(orphans: Orphans, base: pycrdt.Doc[Any], updates: list[bytes]) -> Pins:
        """Where each orphaned thread's pin last was: replay ``updates`` on ``base`` (the state
        at the last check) and note the pin after every update in which the annotation still
        existed. Threads whose annotation never shows up keep their fallback pin."""
        pins: Pins = {tid: (aid, fallback) for tid, (aid, _, _, fallback) in orphans.items()}

        def note() -> None:
            for tid, (aid, fx, fy, _) in orphans.items():
                ann = read_annotation(base, aid)
                if ann is not None:
                    pins[tid] = (aid, box_point(ann, fx, fy))

        note()
        for update in updates:
            base.apply_update(update)
            note()
        return pins

    def orphan_pins(self, doc: pycrdt.Doc[Any], replay_from: Callable[[int], tuple[pycrdt.Doc[Any], list[bytes]] | None]) -> Pins:
        """The threads to detach and where each pin last was (empty: nothing to do).

        ``replay_from(seq)`` gives the document at the last check and the updates since
        (``None`` when no longer retained: the last tracked pins, or the anchors' own
        ``x, y``, are used instead). Call :meth:`track` after acting on the result.
        """
        orphans = self.orphaned(doc)
        if not orphans:
            return {}
        replay = replay_from(self.checked_seq) if self.checked_seq >= 0 else None
        if replay is None:
            return {tid: (aid, fallback) for tid, (aid, _, _, fallback) in orphans.items()}
        return self.last_pins(orphans, *replay)

    def checked_without_comments(self, doc: pycrdt.Doc[Any], seq: int) -> bool:
        """Whether ``doc`` has no comments root, in which case ``seq`` counts as checked: no
        thread can be orphaned or come back. The periodic check of a room without comments
        is then one read of the document's roots, not three (orphans, returns, pins)."""
        if doc is self._commented:
            return False
        if schema.ROOT_COMMENTS in doc.keys():
            self._commented = doc
            return False
        self.checked_seq, self._pins = seq, {}
        return True

    def track(self, doc: pycrdt.Doc[Any], seq: int) -> None:
        """Remember where every annotation-anchored pin is at ``seq``."""
        self.checked_seq = seq
        has_comments = schema.ROOT_COMMENTS in doc.keys()
        self._pins = thread_pins(doc, lambda aid: read_annotation(doc, aid)) if has_comments else {}

