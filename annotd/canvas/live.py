"""A room's live canvas: the cached materialized view at the head, and comment pins.

Why cached by seq: the API and exports read the view often, the document changes in
bursts; building it costs tens of milliseconds for a thousand annotations, so it is
rebuilt at most once per seq, on demand, never on the relay path.

Why pins are tracked here: when a raw Yjs client deletes an annotation that a comment
thread is anchored to, the thread must keep the position where its pin last was. The
server remembers, for anchored threads only, where each pin was at the last check, and
the daemon's periodic tick turns the anchors of threads whose annotation vanished into
points at those positions (one server update). The cost is proportional to the number of
anchored threads, not to the number of annotations, and nothing runs per relayed update.
"""

from __future__ import annotations

from typing import Any

import pycrdt

from . import schema as S
from .model import CanvasView
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

    def orphaned(self, doc: pycrdt.Doc[Any]) -> Pins:
        """Tracked threads whose annotation no longer exists, with their last pins."""
        if not self._pins:
            return {}
        annotations = doc.get(S.ROOT_ANNOTATIONS, type=pycrdt.Map)
        return {tid: v for tid, v in self._pins.items() if v[0] not in annotations}

    def track(self, doc: pycrdt.Doc[Any], seq: int) -> None:
        """Remember where every annotation-anchored pin is at ``seq``."""
        self.checked_seq = seq
        pins: Pins = {}
        if S.ROOT_COMMENTS in doc.keys():
            for tid, fields in read_fields(doc, S.ROOT_COMMENTS, ("anchor",)).items():
                anchor = fields.get("anchor")
                if not isinstance(anchor, dict) or anchor.get("kind") != "annotation":
                    continue
                aid = anchor.get("annotationId")
                if not isinstance(aid, str):
                    continue
                ann = read_annotation(doc, aid)
                if ann is None:
                    continue
                fx, fy = anchor.get("offsetX", 0.5), anchor.get("offsetY", 0.5)
                if not all(isinstance(v, int | float) for v in (fx, fy)):
                    fx = fy = 0.5
                pins[tid] = (aid, annotation_box_point(ann, float(fx), float(fy)))
        self._pins = pins
