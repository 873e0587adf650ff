"""Annotations -> backend-neutral paint items.

Why one scene for every backend: the raster renderer and the SVG export must agree on what
each annotation looks like (dash lengths, arrowhead sizes, where text lines break), so those
decisions are made once here, in the base image's pixel space, and backends only translate
items into their own calls. Text is shaped and wrapped in em units (:mod:`.textlayout`), so line
breaks do not change with the export scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from annotd.canvas.model import Annotation, CanvasView, Style, Thread

from . import geometry as g
from .colors import RGBA, parse_color
from .fonts import metrics
from .geometry import Pt
from .textlayout import shape, wrap_lines

LINE_HEIGHT = 1.25
"""CSS line-height of text annotations, as Excalidraw uses."""
BADGE_FILL: RGBA = (25, 113, 194, 255)
BADGE_RING: RGBA = (255, 255, 255, 255)
BADGE_RADIUS = 11.0
BADGE_FONT_SIZE = 12.0


@dataclass(frozen=True, slots=True)
class Fill:
    """Closed polygons filled together with the non-zero rule."""

    polys: tuple[tuple[Pt, ...], ...]
    color: RGBA


@dataclass(frozen=True, slots=True)
class Stroke:
    """Polylines (points, closed) stroked with one pen.

    ``round``: round caps and joins (lines, arrows, freehand); otherwise butt caps and miter
    joins (SVG's defaults, used for rect/ellipse/polygon outlines). ``dash`` is (on, off) in
    image pixels. ``pressure`` optionally scales the half-width per point (one path only).
    """

    paths: tuple[tuple[tuple[Pt, ...], bool], ...]
    width: float
    color: RGBA
    round: bool
    dash: tuple[float, float] | None = None
    pressure: tuple[float, ...] | None = None


@dataclass(frozen=True, slots=True)
class TextLine:
    text: str
    x: float
    baseline: float
    anchor: str
    """``l``, ``m`` or ``r``: ``x`` is the line's left end, middle or right end."""
    rtl: bool = False
    """The line's paragraph runs right to left (its bidi base direction)."""


@dataclass(frozen=True, slots=True)
class Text:
    lines: tuple[TextLine, ...]
    family: str
    weight: str
    size: float
    color: RGBA
    extent: tuple[float, float, float, float]
    """Unrotated ink box estimate (x0, y0, x1, y1), for canvas bounds and scratch layers."""


Op = Fill | Stroke | Text


@dataclass(frozen=True, slots=True)
class Item:
    """One annotation (or comment badge): ops painted in order, then rotated about (cx, cy)
    and composited as a group with ``opacity`` (like an SVG ``<g opacity>``)."""

    id: str
    ops: tuple[Op, ...]
    rotation: float
    cx: float
    cy: float
    opacity: float


def dash_pattern(style: Style, round_caps: bool) -> tuple[float, float] | None:
    """(on, off) lengths; relative to the stroke width so thick strokes stay readable."""
    w = style.strokeWidth
    if style.strokeStyle == "dashed":
        return (max(8.0, 4.0 * w), max(6.0, 3.0 * w))
    if style.strokeStyle == "dotted":
        return (0.0, max(4.0, 2.0 * w)) if round_caps else (w, max(2.0, w * 2.0))
    return None


def _abs_points(a: Annotation) -> list[Pt]:
    return [(a.x + p.x, a.y + p.y) for p in a.points]


def _arrowhead(kind: str, pts: list[Pt], width: float, color: RGBA, total: float) -> tuple[list[Op], float]:
    """Ops for one arrowhead at ``pts[-1]`` and how much to trim the line under it."""
    d = g.last_direction(pts)
    if kind == "none" or d is None:
        return [], 0.0
    (tx, ty), (ux, uy) = d
    size = min(max(10.0, 3.0 * width + 6.0), 0.45 * total)
    if kind == "dot":
        r = max(3.0, 1.5 * width)
        return [Fill((tuple(g.ellipse(tx, ty, r, r)),), color)], 0.0
    nx, ny = -uy, ux
    half = size * (0.55 if kind == "triangle" else 0.6)
    bx, by = tx - ux * size, ty - uy * size
    left = (bx + nx * half, by + ny * half)
    right = (bx - nx * half, by - ny * half)
    if kind == "triangle":
        return [Fill((tuple(g.oriented([(tx, ty), left, right])),), color)], size * 0.6
    return [Stroke(((( left, (tx, ty), right), False),), width, color, True)], 0.0


def _trim_end(pts: list[Pt], dist: float) -> list[Pt]:
    """``pts`` with the last ``dist`` of its length removed (so a cap does not poke past a head)."""
    out = list(pts)
    while dist > 0 and len(out) >= 2:
        seg = math.dist(out[-2], out[-1])
        if seg > dist:
            (x1, y1), (x2, y2) = out[-2], out[-1]
            t = (seg - dist) / seg
            out[-1] = (x1 + (x2 - x1) * t, y1 + (y2 - y1) * t)
            break
        dist -= seg
        out.pop()
    return out


def _line_ops(a: Annotation, stroke: RGBA | None) -> list[Op]:
    pts = _abs_points(a)
    s = a.style
    if stroke is None or s.strokeWidth <= 0 or len(pts) < 2:
        return []
    total = g.polyline_length(pts, False)
    head_end, trim_end = _arrowhead(a.endArrowhead, pts, s.strokeWidth, stroke, total)
    head_start, trim_start = _arrowhead(a.startArrowhead, pts[::-1], s.strokeWidth, stroke, total)
    body = _trim_end(_trim_end(pts, trim_end)[::-1], trim_start)[::-1]
    ops: list[Op] = []
    if len(body) >= 2:
        ops.append(Stroke(((tuple(body), False),), s.strokeWidth, stroke, True, dash_pattern(s, True)))
    return ops + head_start + head_end


def _freehand_ops(a: Annotation, stroke: RGBA | None) -> list[Op]:
    s = a.style
    if stroke is None or s.strokeWidth <= 0 or not a.points:
        return []
    pts = _abs_points(a)
    if len(pts) == 1:
        pts = pts * 2
    pressure: tuple[float, ...] | None = None
    if all(p.pressure is not None for p in a.points) and s.strokeStyle == "solid":
        # 0.5 is "normal" pressure and gives the nominal width; 0 -> half, 1 -> 1.5x.
        pressure = tuple(0.5 + min(1.0, max(0.0, p.pressure or 0.0)) for p in a.points)
        if len(pressure) == 1:
            pressure = pressure * 2
    return [Stroke(((tuple(pts), False),), s.strokeWidth, stroke, True, dash_pattern(s, True), pressure)]


def _closed_shape_ops(outline: list[Pt], closed: bool, s: Style, fill: RGBA | None, stroke: RGBA | None) -> list[Op]:
    ops: list[Op] = []
    if fill is not None and closed and len(outline) >= 3:
        ops.append(Fill((tuple(outline),), fill))
    if stroke is not None and s.strokeWidth > 0 and len(outline) >= 2:
        ops.append(Stroke(((tuple(outline), closed),), s.strokeWidth, stroke, False, dash_pattern(s, False)))
    return ops


def text_op(
    text: str, x: float, y: float, w: float, s: Style, color: RGBA, wrap: bool, baseline_first: float | None = None
) -> Text:
    fam, wt, size = s.fontFamily, s.fontWeight, s.fontSize
    lines = wrap_lines(text, fam, wt, size, w if wrap else None)
    asc, desc = metrics(fam, wt)
    asc_px, desc_px = asc * size, desc * size
    lh = LINE_HEIGHT * size
    first = baseline_first if baseline_first is not None else y + (lh - (asc_px + desc_px)) / 2 + asc_px
    anchor = {"left": "l", "center": "m", "right": "r"}[s.textAlign]
    ax = {"l": x, "m": x + w / 2, "r": x + w}[anchor]
    out: list[TextLine] = []
    x0, x1 = math.inf, -math.inf
    top, bottom = asc_px, desc_px  # the tallest face any line falls back to
    for i, (line, base) in enumerate(lines):
        shaped = shape(line, fam, wt, base)
        lw = shaped.advance * size
        top, bottom = max(top, shaped.ascent * size), max(bottom, shaped.descent * size)
        left = {"l": ax, "m": ax - lw / 2, "r": ax - lw}[anchor]
        x0, x1 = min(x0, left), max(x1, left + lw)
        out.append(TextLine(line, ax, first + i * lh, anchor, base == 1))
    pad = 0.25 * size
    extent = (x0 - pad, first - top - pad, x1 + pad, first + (len(lines) - 1) * lh + bottom + pad)
    return Text(tuple(out), fam, wt, size, color, extent)


def annotation_item(a: Annotation) -> Item:
    s = a.style
    stroke = parse_color(s.stroke)
    fill = parse_color(s.fill)
    ops: list[Op] = []
    if a.type == "rect":
        outline = [(a.x, a.y), (a.x + a.w, a.y), (a.x + a.w, a.y + a.h), (a.x, a.y + a.h)]
        ops = _closed_shape_ops(outline, True, s, fill, stroke)
    elif a.type == "ellipse":
        rx, ry = abs(a.w) / 2, abs(a.h) / 2
        outline = g.ellipse(a.x + a.w / 2, a.y + a.h / 2, rx, ry, n=max(g.circle_segments(max(rx, ry)), 32))
        ops = _closed_shape_ops(outline, True, s, fill, stroke)
    elif a.type == "polygon":
        ops = _closed_shape_ops(_abs_points(a), a.closed, s, fill, stroke)
    elif a.type in ("line", "arrow"):
        ops = _line_ops(a, stroke)
    elif a.type == "freehand":
        ops = _freehand_ops(a, stroke)
    elif a.type == "text":
        if fill is not None:
            ops.append(Fill(((( a.x, a.y), (a.x + a.w, a.y), (a.x + a.w, a.y + a.h), (a.x, a.y + a.h)),), fill))
        if stroke is not None and a.text:
            ops.append(text_op(a.text, a.x, a.y, a.w, s, stroke, a.wrap))
    return Item(a.id, tuple(ops), a.rotation, a.x + a.w / 2, a.y + a.h / 2, min(1.0, max(0.0, s.opacity)))


def badge_item(number: int, t: Thread) -> Item:
    """A numbered comment pin: blue disc, white ring, white bold number, centred on the pin."""
    cx, cy = t.pin
    label = str(number)
    r = BADGE_RADIUS + 3.5 * max(0, len(label) - 2)
    disc = tuple(g.ellipse(cx, cy, r, r, n=48))
    st = Style(fontFamily="sans", fontWeight="bold", fontSize=BADGE_FONT_SIZE, textAlign="center")
    # digits sit on the baseline and are ~0.71 em tall: centre them optically
    txt = text_op(label, cx - r, cy, 2 * r, st, BADGE_RING, False, baseline_first=cy + 0.36 * BADGE_FONT_SIZE)
    return Item(f"badge:{t.id}", (Fill((disc,), BADGE_FILL), Stroke(((disc, True),), 2.0, BADGE_RING, False), txt), 0.0, cx, cy, 1.0)


def shown_threads(view: CanvasView, include_comments: bool, comment_states: tuple[str, ...]) -> list[Thread]:
    """The threads that get a badge, in number order (badge N is the N-th): the view's thread
    order, filtered by state (``exports.plan`` lists them through
    :func:`annotd.render.frame.badge_threads`)."""
    if not include_comments:
        return []
    return [t for t in view.threads if t.status in comment_states]


def build_items(view: CanvasView, include_comments: bool, comment_states: tuple[str, ...]) -> list[Item]:
    """Paint order: annotations as the view sorted them, then badges numbered 1, 2, 3... over
    the threads shown (:func:`shown_threads`)."""
    items = [annotation_item(a) for a in view.annotations]
    items.extend(badge_item(i + 1, t) for i, t in enumerate(shown_threads(view, include_comments, comment_states)))
    return [it for it in items if it.ops]


def op_points(op: Op) -> tuple[list[Pt], float]:
    """Vertices of an op (image space, unrotated) and how far ink may reach beyond them."""
    if isinstance(op, Fill):
        return [p for poly in op.polys for p in poly], 1.0
    if isinstance(op, Stroke):
        factor = max(op.pressure) if op.pressure else 1.0
        reach = op.width * factor / 2 if op.round else op.width * 2.0  # AGG miter limit 4
        return [p for path, _ in op.paths for p in path], reach + 1.0
    x0, y0, x1, y1 = op.extent
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)], 0.0


def item_bounds(it: Item) -> tuple[float, float, float, float] | None:
    """Axis-aligned ink bounds in image space after rotation (for a canvas without image)."""
    rot = g.rotation_about(it.cx, it.cy, it.rotation)
    x0 = y0 = math.inf
    x1 = y1 = -math.inf
    for op in it.ops:
        pts, reach = op_points(op)
        if not pts:
            continue
        bx0, by0, bx1, by1 = g.bbox(g.apply(rot, pts))
        x0, y0, x1, y1 = min(x0, bx0 - reach), min(y0, by0 - reach), max(x1, bx1 + reach), max(y1, by1 + reach)
    return None if x0 == math.inf else (x0, y0, x1, y1)
