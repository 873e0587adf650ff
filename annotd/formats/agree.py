"""Does an annotation's ``annotd:annotation`` block still describe the shape its selector names?

Why: annotd's W3C export carries each annotation twice, as a selector every tool reads and
as the stored fields (the block) that make a round trip lossless. Other tools edit the
selector and carry the block along untouched (Annotorious does exactly that when a person
moves a shape), so preferring the block would silently undo their edit. The block is used
whole only when both name the same outline within :data:`TOLERANCE_PX`. When the
selector's outline is the block's moved, the block is moved (:func:`shift`); otherwise the
geometry comes from the selector and the rest (style, z-order, groups, lock, text,
arrowheads) from the block (:func:`merge`). Both cases are noted.

Outlines are compared point by point in image pixels, rotation applied: a rect is its four
corners, an ellipse :data:`~annotd.formats.geometry.ELLIPSE_POINTS` points (the polygon a
rotated ellipse is exported as), every other type its points. Different point counts
disagree (a vertex was added or removed).
"""

from __future__ import annotations

import math
from typing import Any

from ..canvas import schema as S
from .geometry import ELLIPSE_POINTS, Pt, rotate_points

TOLERANCE_PX = 1.0
GEOMETRY_KEYS = ("type", "x", "y", "w", "h", "rotation", "points", "closed", "pressures")
"""What the selector decides when the two disagree; ``pressures`` go with the points."""
_OPEN_TYPES = ("line", "freehand")
"""What an open SVG path or polyline is read as (a line or a stroke: the same outline)."""


def _num(fields: dict[str, Any], key: str) -> float:
    v = fields.get(key, 0.0)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else 0.0


def outline(fields: dict[str, Any]) -> list[Pt]:
    """The absolute outline of validated create ``fields`` (see the module doc)."""
    x, y, w, h = (_num(fields, k) for k in ("x", "y", "w", "h"))
    cx, cy, rot = x + w / 2, y + h / 2, _num(fields, "rotation")
    kind = fields.get("type")
    if kind in ("rect", "text"):
        pts: list[Pt] = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
    elif kind == "ellipse":
        step = 2 * math.pi / ELLIPSE_POINTS
        pts = [(cx + w / 2 * math.cos(i * step), cy + h / 2 * math.sin(i * step)) for i in range(ELLIPSE_POINTS)]
    else:
        flat = fields.get("points") or []
        pts = [(x + flat[k], y + flat[k + 1]) for k in range(0, len(flat) - 1, 2)]
    return rotate_points(pts, cx, cy, rot)


def agrees(block: dict[str, Any], selector: dict[str, Any]) -> bool:
    """Whether ``block`` and ``selector`` (both create fields) name the same outline."""
    a, b = outline(block), outline(selector)
    if len(a) != len(b) or not a:
        return False
    return all(abs(p[0] - q[0]) <= TOLERANCE_PX and abs(p[1] - q[1]) <= TOLERANCE_PX for p, q in zip(a, b, strict=True))


def shift(block: dict[str, Any], selector: dict[str, Any]) -> Pt | None:
    """How far the selector's outline is the block's moved (every point by the same offset,
    within :data:`TOLERANCE_PX`), or ``None`` when the shape changed otherwise."""
    a, b = outline(block), outline(selector)
    if len(a) != len(b) or not a:
        return None
    dx = sum(q[0] - p[0] for p, q in zip(a, b, strict=True)) / len(a)
    dy = sum(q[1] - p[1] for p, q in zip(a, b, strict=True)) / len(a)
    if all(abs(q[0] - p[0] - dx) <= TOLERANCE_PX and abs(q[1] - p[1] - dy) <= TOLERANCE_PX
           for p, q in zip(a, b, strict=True)):
        return dx, dy
    return None


def moved(block: dict[str, Any], by: Pt) -> dict[str, Any]:
    """The block moved ``by``: a moved shape keeps everything, its type and rotation too
    (a rotated ellipse moved in Annotorious, which only knows its outline, stays one)."""
    return {**block, "x": _num(block, "x") + by[0], "y": _num(block, "y") + by[1]}


def _type(block_type: Any, selector_type: Any) -> str:
    """The block's type when the selector's shape can still be one (a moved text box is a
    text box, a moved arrow an arrow), else what the selector reads as."""
    if block_type == "text" and selector_type == "rect":
        return "text"
    if block_type in ("line", "arrow", "freehand") and selector_type in _OPEN_TYPES:
        return str(block_type)
    if block_type == "polygon" and (selector_type in _OPEN_TYPES or selector_type == "polygon"):
        return "polygon"
    return str(selector_type)


def merge(block: dict[str, Any], selector: dict[str, Any]) -> dict[str, Any]:
    """Create fields with the selector's geometry and everything else the block has that
    the resulting type can hold."""
    kind = _type(block.get("type"), selector.get("type"))
    allowed = set(S.fields_for(kind))
    out = {k: v for k, v in block.items() if k not in GEOMETRY_KEYS and k in allowed}
    out.update({k: v for k, v in selector.items() if k in GEOMETRY_KEYS and k in allowed})
    out["type"] = kind
    if kind == "polygon" and selector.get("type") in _OPEN_TYPES:
        out["closed"] = False
    return out
