"""An annotation's box in image pixels: the one home of annotd's rotation rule.

Why one module: an annotation is stored as a box ``(x, y, w, h)``, a ``rotation`` in
clockwise degrees on screen (y points down) about the box centre, and (for lines, arrows,
polygons, strokes) points relative to ``(x, y)``. Where a comment pin sits on a rotated box
(:mod:`annotd.canvas.pins`) and the outline the W3C and COCO exports write
(:mod:`annotd.formats`) must turn a box the same way, so both call these functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from annotd.canvas.model import Annotation

Pt = tuple[float, float]


def centre(a: Annotation) -> Pt:
    """The point ``a`` rotates about."""
    return (a.x + a.w / 2, a.y + a.h / 2)


def rotate_points(pts: Sequence[Pt], cx: float, cy: float, degrees: float) -> list[Pt]:
    """``pts`` turned ``degrees`` clockwise on screen (y down) about ``(cx, cy)``."""
    if not degrees % 360:
        return list(pts)
    r = math.radians(degrees)
    c, s = math.cos(r), math.sin(r)
    return [(cx + (x - cx) * c - (y - cy) * s, cy + (x - cx) * s + (y - cy) * c) for x, y in pts]


def box_point(a: Annotation, fx: float, fy: float) -> Pt:
    """The point at fractions ``(fx, fy)`` of ``a``'s box, rotated with the box."""
    return rotate_points([(a.x + fx * a.w, a.y + fy * a.h)], *centre(a), a.rotation)[0]


def box_fractions(a: Annotation, x: float, y: float) -> Pt:
    """The inverse of :func:`box_point`: the fractions of ``a``'s box at which the point
    ``(x, y)`` lies (turned back with the box, clamped to 0..1; 0.5 on an empty axis)."""
    cx, cy = centre(a)
    (ux, uy), = rotate_points([(x, y)], cx, cy, -a.rotation)

    def frac(d: float, size: float) -> float:
        return min(1.0, max(0.0, d / size + 0.5)) if size > 0 else 0.5

    return frac(ux - cx, a.w), frac(uy - cy, a.h)


def box_corners(a: Annotation) -> list[Pt]:
    """The four corners of ``a``'s box, clockwise from top-left, rotation applied."""
    pts = [(a.x, a.y), (a.x + a.w, a.y), (a.x + a.w, a.y + a.h), (a.x, a.y + a.h)]
    return rotate_points(pts, *centre(a), a.rotation)


def absolute_points(a: Annotation) -> list[Pt]:
    """The points of a line/arrow/polygon/freehand in image pixels, rotation applied."""
    return rotate_points([(a.x + p.x, a.y + p.y) for p in a.points], *centre(a), a.rotation)


def bbox(pts: Sequence[Pt]) -> tuple[float, float, float, float]:
    """``(x, y, w, h)`` of the axis-aligned box around ``pts``."""
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
