"""Outlines the data formats write, in absolute image pixels.

Why: W3C Web Annotation and COCO describe a shape by its absolute outline in the image
(rotation applied), while annotd stores a box, a rotation about the box centre and points
relative to the box. The box and rotation rule itself is the canvas layer's
(:mod:`annotd.canvas.box`); this module adds what only the formats need (an ellipse as a
polygon, areas, coordinates as text), separate from the renderer's geometry so the
daemon's request path does not import the renderer (fonts, Skia).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..canvas.box import Pt, absolute_points, box_corners, centre, rotate_points
from ..canvas.model import Annotation

ELLIPSE_POINTS = 64
"""Vertices of the polygon an ellipse is written as in COCO (within 0.12% of the radius)."""


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


def polygon_area(pts: Sequence[Pt]) -> float:
    n = len(pts)
    return abs(sum(pts[i][0] * pts[(i + 1) % n][1] - pts[(i + 1) % n][0] * pts[i][1] for i in range(n))) / 2


def num(v: float) -> str:
    """A coordinate as SVG/JSON text: at most 4 decimals (stored points are 1/16 px)."""
    text = f"{v:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
