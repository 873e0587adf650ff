"""Annotation geometry in absolute image pixels.

Why: W3C Web Annotation and COCO describe a shape by its absolute outline in the image
(rotation applied), while annotd stores a box, a rotation about the box centre and points
relative to the box. Small and pure, and separate from the renderer's geometry so the
daemon's request path does not import the renderer (fonts, Skia).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..canvas.model import Annotation

Pt = tuple[float, float]
ELLIPSE_POINTS = 64
"""Vertices of the polygon an ellipse is written as in COCO (within 0.12% of the radius)."""


def rotate_points(pts: Sequence[Pt], cx: float, cy: float, degrees: float) -> list[Pt]:
    """Rotate clockwise on screen (y down) about ``(cx, cy)``, as annotd's ``rotation`` does."""
    if not degrees % 360:
        return list(pts)
    r = math.radians(degrees)
    c, s = math.cos(r), math.sin(r)
    return [(cx + (x - cx) * c - (y - cy) * s, cy + (x - cx) * s + (y - cy) * c) for x, y in pts]


def centre(a: Annotation) -> Pt:
    return (a.x + a.w / 2, a.y + a.h / 2)


def box_corners(a: Annotation) -> list[Pt]:
    """The four corners of ``a``'s box, clockwise from top-left, rotation applied."""
    pts = [(a.x, a.y), (a.x + a.w, a.y), (a.x + a.w, a.y + a.h), (a.x, a.y + a.h)]
    return rotate_points(pts, *centre(a), a.rotation)


def absolute_points(a: Annotation) -> list[Pt]:
    """The points of a line/arrow/polygon/freehand in image pixels, rotation applied."""
    return rotate_points([(a.x + p.x, a.y + p.y) for p in a.points], *centre(a), a.rotation)


def ellipse_points(a: Annotation, n: int = ELLIPSE_POINTS) -> list[Pt]:
    cx, cy = centre(a)
    step = 2 * math.pi / n
    pts = [(cx + a.w / 2 * math.cos(i * step), cy + a.h / 2 * math.sin(i * step)) for i in range(n)]
    return rotate_points(pts, cx, cy, a.rotation)


def outline(a: Annotation) -> list[Pt]:
    """What a region-based format sees of ``a``: box corners, an ellipse polygon, or its points."""
    if a.type in ("rect", "text"):
        return box_corners(a)
    if a.type == "ellipse":
        return ellipse_points(a)
    return absolute_points(a)


def bbox(pts: Sequence[Pt]) -> tuple[float, float, float, float]:
    """``(x, y, w, h)`` of the axis-aligned box around ``pts``."""
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))


def polygon_area(pts: Sequence[Pt]) -> float:
    n = len(pts)
    return abs(sum(pts[i][0] * pts[(i + 1) % n][1] - pts[(i + 1) % n][0] * pts[i][1] for i in range(n))) / 2


def num(v: float) -> str:
    """A coordinate as SVG/JSON text: at most 4 decimals (stored points are 1/16 px)."""
    text = f"{v:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
