"""A room's live canvas: the cached materialized view at the head, and comment pins.

Why cached by seq: the API and exports read the view often, the document changes in
bursts; building it costs tens of milliseconds for a thousand annotations, so it is
rebuilt at most once per seq, on demand, never on the relay path.

Why pins are tracked here: when a raw Yjs client deletes an annotation that a comment
thread is anchored to, the thread must keep the position where its pin last was. The
daemon's periodic tick (every 50 ms, when the head moved) finds threads anchored to an
annotation the document no longer has, replays the few events since the last check to see
where each pin last was, and turns those anchors into points there (one server update).
The routine cost is proportional to the number of anchored threads, not to the number of
annotations; the replay runs only when something was orphaned; nothing runs per relayed
update.
"""

from __future__ import annotations

import math
from typing import Any

import pycrdt

from . import schema as S
from .model import CanvasView
from .mutations import thread_pins
from .reader import read_fields
from .view import ViewBuilder, annotation_box_point, read_annotation

Pins = dict[str, tuple[str, tuple[float, float]]]


class LiveCanvas:
    def __init__(self) -> None:
        self._builder = ViewBuilder()
        self._view: tuple[int, CanvasView] | None = None
        self._pins: Pins = {}
        self.checked_seq = -1

    def view(self, doc: pycrdt.Doc[Any], seq: int) -> CanvasView:
        """The view of ``doc`` at head ``seq`` (rebuilt only when the seq moved)."""
        if self._view is None or self._view[0] != seq:
            self._view = (seq, self._builder.build(doc))
        return self._view[1]

    def orphaned(self, doc: pycrdt.Doc[Any]) -> dict[str, tuple[str, float, float, tuple[float, float]]]:
        """Threads anchored to an annotation the document no longer has.

        Returns thread id → (annotation id, offsetX, offsetY, fallback pin). Read from the
        document itself, so a thread anchored and orphaned between two checks is found too.
        """
        if S.ROOT_COMMENTS not in doc.keys():
            return {}
        annotations = doc.get(S.ROOT_ANNOTATIONS, type=pycrdt.Map)
        found: dict[str, tuple[str, float, float, tuple[float, float]]] = {}
        for tid, anchor in _anchors(doc):
            aid = anchor["annotationId"]
            if aid in annotations:
                continue
            tracked = self._pins.get(tid)
            fallback = tracked[1] if tracked is not None and tracked[0] == aid else _stored_pin(anchor)
            found[tid] = (aid, anchor["offsetX"], anchor["offsetY"], fallback)
        return found

    @staticmethod
    def last_pins(
        orphans: dict[str, tuple[str, float, float, tuple[float, float]]],
        base: pycrdt.Doc[Any],
        updates: list[bytes],
    ) -> Pins:
        """Where each orphaned thread's pin last was: replay ``updates`` on ``base`` (the state
        at the last check) and note the pin after every update in which the annotation still
        existed. Threads whose annotation never shows up keep their fallback pin."""
        pins: Pins = {tid: (aid, fallback) for tid, (aid, _, _, fallback) in orphans.items()}

        def note() -> None:
            for tid, (aid, fx, fy, _) in orphans.items():
                ann = read_annotation(base, aid)
                if ann is not None:
                    pins[tid] = (aid, annotation_box_point(ann, fx, fy))

        note()
        for update in updates:
            base.apply_update(update)
            note()
        return pins

    def track(self, doc: pycrdt.Doc[Any], seq: int) -> None:
        """Remember where every annotation-anchored pin is at ``seq``."""
        self.checked_seq = seq
        has_comments = S.ROOT_COMMENTS in doc.keys()
        self._pins = thread_pins(doc, lambda aid: read_annotation(doc, aid)) if has_comments else {}


def _anchors(doc: pycrdt.Doc[Any]) -> list[tuple[str, dict[str, Any]]]:
    """(thread id, anchor) for every thread anchored to an annotation, offsets made safe."""
    out = []
    for tid, fields in read_fields(doc, S.ROOT_COMMENTS, ("anchor",)).items():
        anchor = fields.get("anchor")
        if not isinstance(anchor, dict) or anchor.get("kind") != "annotation":
            continue
        if not isinstance(anchor.get("annotationId"), str):
            continue
        fx, fy = anchor.get("offsetX", 0.5), anchor.get("offsetY", 0.5)
        if not all(isinstance(v, int | float) and 0 <= v <= 1 for v in (fx, fy)):
            fx = fy = 0.5
        out.append((tid, {**anchor, "offsetX": float(fx), "offsetY": float(fy)}))
    return out


def _stored_pin(anchor: dict[str, Any]) -> tuple[float, float]:
    x, y = anchor.get("x", 0.0), anchor.get("y", 0.0)
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in (x, y)):
        return (0.0, 0.0)
    return (float(x), float(y))
