"""Small, pure 2-D helpers the renderers share.

Why hand-written: strokes, caps, joins and dashes are Skia's (and SVG's) own; what neither
has is a stroke whose width varies along the line (pen pressure). :func:`round_stroke` builds
that as geometry both can fill: one quad per segment and one disc per vertex, all wound the
same way so a non-zero fill unions them without double-blending.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

Pt = tuple[float, float]
Affine = tuple[float, float, float, float, float, float]
"""(a, b, c, d, e, f): x' = a*x + b*y + c, y' = d*x + e*y + f (Pillow's convention)."""

IDENTITY: Affine = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def rotation_about(cx: float, cy: float, degrees: float) -> Affine:
    """Clockwise rotation on screen (y points down) about (cx, cy)."""
    if degrees % 360 == 0:
        return IDENTITY
    r = math.radians(degrees)
    cs, sn = math.cos(r), math.sin(r)
    return (cs, -sn, cx - cs * cx + sn * cy, sn, cs, cy - sn * cx - cs * cy)


def apply(m: Affine, pts: Sequence[Pt]) -> list[Pt]:
    a, b, c, d, e, f = m
    return [(a * x + b * y + c, d * x + e * y + f) for x, y in pts]


def bbox(pts: Sequence[Pt]) -> tuple[float, float, float, float]:
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    return (min(xs), min(ys), max(xs), max(ys))


def signed_area(poly: Sequence[Pt]) -> float:
    s = 0.0
    n = len(poly)
    for i in range(n):
        x1, y1 = poly[i]
        x2, y2 = poly[(i + 1) % n]
        s += x1 * y2 - x2 * y1
    return s / 2.0


def oriented(poly: list[Pt]) -> list[Pt]:
    """``poly`` wound with positive signed area (so non-zero fills of many pieces union)."""
    return poly if signed_area(poly) >= 0 else poly[::-1]


@lru_cache(maxsize=4096)
def circle_segments(radius: float) -> int:
    """Enough segments that a chord deviates < ~0.1 px from the circle, within 8..128."""
    if radius <= 0.5:
        return 8
    n = math.ceil(math.pi / math.acos(max(-1.0, 1.0 - 0.1 / radius)))
    return max(8, min(128, n))


@lru_cache(maxsize=256)
def _unit_circle(n: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """cos and sin of the ``n`` polygon angles; cached because round strokes put a disc on
    every vertex (the values are the same floats as computing them each time)."""
    step = 2 * math.pi / n
    return tuple(math.cos(i * step) for i in range(n)), tuple(math.sin(i * step) for i in range(n))


def ellipse(cx: float, cy: float, rx: float, ry: float, n: int | None = None) -> list[Pt]:
    """Polygon approximating an ellipse, positively wound, starting at angle 0."""
    if n is None:
        n = circle_segments(max(rx, ry))
    cos, sin = _unit_circle(n)
    return [(cx + rx * c, cy + ry * s) for c, s in zip(cos, sin, strict=True)]


def _disc_flat(cx: float, cy: float, r: float) -> list[float]:
    """``ellipse(cx, cy, r, r)`` as a flat x, y list (what aggdraw takes), built faster."""
    cos, sin = _unit_circle(circle_segments(r))
    out = [0.0] * (2 * len(cos))
    out[0::2] = [cx + r * c for c in cos]
    out[1::2] = [cy + r * s for s in sin]
    return out


def polyline_length(pts: Sequence[Pt], closed: bool) -> float:
    seq = list(pts) + ([pts[0]] if closed and pts else [])
    return sum(math.dist(seq[i], seq[i + 1]) for i in range(len(seq) - 1))


def segment_quad(x1: float, y1: float, r1: float, x2: float, y2: float, r2: float) -> list[Pt] | None:
    """The quad joining a disc of radius ``r1`` at (x1, y1) to one of ``r2`` at (x2, y2)
    along their segment, positively wound; ``None`` for a zero-length segment."""
    seg = math.hypot(x2 - x1, y2 - y1)
    if seg == 0:
        return None
    nx, ny = -(y2 - y1) / seg, (x2 - x1) / seg
    quad = [(x1 + nx * r1, y1 + ny * r1), (x2 + nx * r2, y2 + ny * r2), (x2 - nx * r2, y2 - ny * r2),
            (x1 - nx * r1, y1 - ny * r1)]
    return quad if signed_area(quad) >= 0 else quad[::-1]


def round_stroke(pts: Sequence[Pt], radii: Sequence[float]) -> list[list[float]]:
    """Outline pieces of a stroke with round caps and joins, as flat x, y lists: one quad per
    segment (a trapezoid when the two ends have different radii, for pressure) and one disc
    per vertex, every piece positively wound. Fill them together with a non-zero rule."""
    pieces: list[list[float]] = []
    for i, (p, r) in enumerate(zip(pts, radii, strict=True)):
        if r > 0:
            pieces.append(_disc_flat(p[0], p[1], r))
        if i == 0:
            continue
        quad = segment_quad(pts[i - 1][0], pts[i - 1][1], radii[i - 1], p[0], p[1], r)
        if quad is not None:
            pieces.append([c for pt in quad for c in pt])
    return pieces


def pairs(flat: Sequence[float]) -> list[Pt]:
    """A flat x, y list as points."""
    return list(zip(flat[0::2], flat[1::2], strict=True))


def last_direction(pts: Sequence[Pt]) -> tuple[Pt, Pt] | None:
    """(tip, unit vector pointing *into* the tip) from the last two distinct points."""
    if len(pts) < 2:
        return None
    tip = pts[-1]
    for q in reversed(pts[:-1]):
        d = math.dist(q, tip)
        if d > 1e-9:
            return tip, ((tip[0] - q[0]) / d, (tip[1] - q[1]) / d)
    return None
