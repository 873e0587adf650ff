"""Where a comment thread's pin is: the one rule from a stored anchor to a position.

Why one module: the view (the pin every client is shown), the operations (the position a
thread keeps when its annotation is deleted through the API) and the live canvas (the same
when a raw Yjs client deletes it) must read a stored anchor identically, or the same bad
data would put a pin in different places depending on who looked. The rule:

* an anchor pins to an annotation only when ``kind`` is ``annotation`` and
  ``annotationId`` is a valid id (:func:`anchor_target`);
* ``offsetX``/``offsetY`` are fractions of that annotation's box; a missing value or one that
  is not a finite number means 0.5 (the centre), a value outside 0..1 is clamped, each axis
  on its own (:func:`anchor_offsets`);
* the stored ``x, y`` (the pin when it was anchored; the position of point and region
  anchors) read the same way, defaulting to 0 and clamped to ±COORD_LIMIT
  (:func:`anchor_position`);
* the pin is that point of the box, rotated with the box (:func:`annotd.canvas.box.box_point`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pycrdt

from annotd.base.identifiers import is_id
from annotd.canvas import schema
from annotd.canvas.box import box_point
from annotd.canvas.coerce import MISSING, number
from annotd.canvas.model import Annotation
from annotd.canvas.reader import read_fields

Pins = dict[str, tuple[str, tuple[float, float]]]
"""Thread id → (annotation id, pin position)."""


def anchor_target(anchor: Any) -> str | None:
    """The id of the annotation a stored anchor pins to, or ``None``."""
    if isinstance(anchor, dict) and anchor.get("kind") == "annotation":
        aid = anchor.get("annotationId")
        if is_id(aid):
            return aid
    return None


def anchor_offsets(anchor: Mapping[str, Any], issues: list[str] | None = None) -> tuple[float, float]:
    """``(offsetX, offsetY)`` of a stored annotation anchor, by the rule above."""
    sink: list[str] = [] if issues is None else issues
    fx = number(anchor.get("offsetX", MISSING), "offsetX", 0.5, 0.0, 1.0, sink)
    fy = number(anchor.get("offsetY", MISSING), "offsetY", 0.5, 0.0, 1.0, sink)
    return fx, fy


def anchor_position(anchor: Mapping[str, Any], issues: list[str] | None = None) -> tuple[float, float]:
    """The stored ``(x, y)`` of an anchor, by the rule above."""
    sink: list[str] = [] if issues is None else issues
    lim = schema.COORD_LIMIT
    x = number(anchor.get("x", MISSING), "x", 0.0, -lim, lim, sink)
    y = number(anchor.get("y", MISSING), "y", 0.0, -lim, lim, sink)
    return x, y


def thread_pins(doc: pycrdt.Doc, annotation_of: Callable[[str], Annotation | None]) -> Pins:
    """Every thread anchored to an annotation that ``annotation_of`` knows, with where its
    pin is drawn given that annotation's box."""
    pins: Pins = {}
    for thread_id, fields in read_fields(doc, schema.ROOT_COMMENTS, ("anchor",)).items():
        anchor = fields.get("anchor")
        if not isinstance(anchor, dict) or (aid := anchor_target(anchor)) is None:
            continue
        target = annotation_of(aid)
        if target is not None:
            pins[thread_id] = (target.id, box_point(target, *anchor_offsets(anchor)))
    return pins

