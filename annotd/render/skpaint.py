"""Scene items onto a Skia canvas: paths, native strokes, dashes, shaped text, group opacity.

Why Skia: it is the rasteriser Chromium draws the page with, so the export and the screen
agree on anti-aliasing, caps, joins, dashes and glyph outlines; and it does natively what the
old renderer built in Python (round caps/joins, dash patterns) or pasted through masks (text).

Each item is drawn under its own matrix (export scale, then its rotation about its centre),
so geometry, stroke widths and dash lengths stay in image units, as in the SVG export.
Group opacity (SVG ``<g opacity>``: a 50 % shape's stroke must not darken its fill) needs an
offscreen layer only when the item's ops overlap; otherwise the opacity is folded into each
op's paint, which gives the same pixels without the layer (DESIGN.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import skia

from . import geometry as g
from .colors import RGBA
from .scene import Fill, Item, Op, Stroke, Text, op_points
from .textlayout import shape

MITER_LIMIT = 4.0
"""SVG's default ``stroke-miterlimit``."""


def _color(c: RGBA, opacity: float) -> int:
    a = c[3] if opacity >= 1.0 else round(c[3] * opacity)
    return skia.ColorSetARGB(a, c[0], c[1], c[2])


def _poly_path(path: skia.Path, pts: Sequence[g.Pt], closed: bool) -> None:
    if not pts:
        return
    path.moveTo(pts[0][0], pts[0][1])
    for x, y in pts[1:]:
        path.lineTo(x, y)
    if closed:
        path.close()


def _fill(canvas: skia.Canvas, op: Fill, opacity: float) -> None:
    path = skia.Path()
    path.setFillType(skia.PathFillType.kWinding)
    for poly in op.polys:
        if len(poly) >= 3:
            _poly_path(path, poly, True)
    canvas.drawPath(path, skia.Paint(AntiAlias=True, Color=_color(op.color, opacity)))


def _pressure_outline(pts: Sequence[g.Pt], radii: Sequence[float]) -> skia.Path:
    """The outline of a round stroke whose radius varies per point: a disc on every vertex
    and a quad (a trapezoid when the radii differ) along every segment, all wound clockwise
    on screen so that the non-zero fill is their union (``geometry.round_stroke``'s pieces,
    with exact circles). Inlined: a 500-point pressure stroke is 500 quads."""
    path = skia.Path()
    path.setFillType(skia.PathFillType.kWinding)
    cw = skia.PathDirection.kCW
    x1 = y1 = r1 = 0.0
    for i, ((x2, y2), r2) in enumerate(zip(pts, radii, strict=True)):
        if r2 > 0:
            path.addCircle(x2, y2, r2, cw)
        if i > 0:
            seg = math.hypot(x2 - x1, y2 - y1)
            if seg > 0:
                # left normal; p1+n*r1, p2+n*r2, p2-n*r2, p1-n*r1 runs counter-clockwise on
                # screen for every direction, so it is walked backwards
                nx, ny = -(y2 - y1) / seg, (x2 - x1) / seg
                path.moveTo(x1 - nx * r1, y1 - ny * r1)
                path.lineTo(x2 - nx * r2, y2 - ny * r2)
                path.lineTo(x2 + nx * r2, y2 + ny * r2)
                path.lineTo(x1 + nx * r1, y1 + ny * r1)
                path.close()
        x1, y1, r1 = x2, y2, r2
    return path


@lru_cache(maxsize=256)
def _dash_effect(on: float, off: float) -> skia.PathEffect:
    return skia.DashPathEffect.Make([on, off], 0.0)


def _stroke(canvas: skia.Canvas, op: Stroke, opacity: float) -> None:
    color = _color(op.color, opacity)
    if op.pressure is not None and op.dash is None and len(op.pressure) == len(op.paths[0][0]):
        # A width that varies along the line is no pen: fill its outline (discs and quads).
        canvas.drawPath(_pressure_outline(op.paths[0][0], [op.width / 2 * f for f in op.pressure]),
                        skia.Paint(AntiAlias=True, Color=color))
        return
    path = skia.Path()
    for pts, closed in op.paths:
        _poly_path(path, pts, closed)
    paint = skia.Paint(AntiAlias=True, Color=color, Style=skia.Paint.kStroke_Style, StrokeWidth=op.width)
    if op.round:
        paint.setStrokeCap(skia.Paint.kRound_Cap)
        paint.setStrokeJoin(skia.Paint.kRound_Join)
    else:
        paint.setStrokeCap(skia.Paint.kButt_Cap)
        paint.setStrokeJoin(skia.Paint.kMiter_Join)
        paint.setStrokeMiter(MITER_LIMIT)
    if op.dash is not None:
        paint.setPathEffect(_dash_effect(op.dash[0], op.dash[1]))
    canvas.drawPath(path, paint)


def font(face_typeface: skia.Typeface, size: float) -> skia.Font:
    """A Skia font as the export draws glyphs: unhinted outlines at sub-pixel positions,
    grey-scale anti-aliasing (no LCD), linear metrics: the same coverage at every scale."""
    f = skia.Font(face_typeface, size)
    f.setEdging(skia.Font.Edging.kAntiAlias)
    f.setHinting(skia.FontHinting.kSlight)
    f.setSubpixel(True)
    f.setLinearMetrics(True)
    return f


def text_blob(op: Text) -> skia.TextBlob | None:
    """All lines of ``op`` as one blob of positioned glyphs (image units)."""
    builder = skia.TextBlobBuilder()
    size = op.size
    empty = True
    for line in op.lines:
        if not line.text:
            continue
        shaped = shape(line.text, op.family, op.weight, 1 if line.rtl else 0)
        width = shaped.advance * size
        left = line.x - {"l": 0.0, "m": width / 2, "r": width}[line.anchor]
        for run in shaped.runs:
            if not run.glyphs:
                continue
            pos = [skia.Point(left + x * size, line.baseline + y * size) for x, y in zip(run.xs, run.ys, strict=True)]
            builder.allocRunPos(font(run.face.typeface, size), list(run.glyphs), pos)
            empty = False
    return None if empty else builder.make()


def _text(canvas: skia.Canvas, op: Text, opacity: float) -> None:
    blob = text_blob(op)
    if blob is not None:
        canvas.drawTextBlob(blob, 0, 0, skia.Paint(AntiAlias=True, Color=_color(op.color, opacity)))


def _op_box(op: Op) -> tuple[float, float, float, float] | None:
    pts, reach = op_points(op)
    if not pts:
        return None
    x0, y0, x1, y1 = g.bbox(pts)
    return (x0 - reach, y0 - reach, x1 + reach, y1 + reach)


def needs_layer(it: Item) -> bool:
    """Whether group opacity needs an offscreen layer: opacity < 1 and ops whose ink boxes
    overlap (in the item's own frame; rotation moves all ops alike)."""
    if it.opacity >= 1.0:
        return False
    boxes = [b for b in (_op_box(op) for op in it.ops) if b is not None]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                return True
    return False


def paint_item(canvas: skia.Canvas, it: Item) -> None:
    """Draw ``it``; the canvas matrix maps image space to output pixels."""
    if it.opacity <= 0:
        return
    count = canvas.save()
    if it.rotation % 360:
        canvas.rotate(it.rotation, it.cx, it.cy)
    opacity = it.opacity
    if needs_layer(it):
        boxes = [b for b in (_op_box(op) for op in it.ops) if b is not None]
        bounds = skia.Rect.MakeLTRB(min(b[0] for b in boxes), min(b[1] for b in boxes),
                                    max(b[2] for b in boxes), max(b[3] for b in boxes))
        canvas.saveLayerAlpha(bounds, round(255 * opacity))
        opacity = 1.0
    for op in it.ops:
        paint_op(canvas, op, opacity)
    canvas.restoreToCount(count)


def paint_op(canvas: skia.Canvas, op: Op, opacity: float) -> None:
    """Draw one op with ``opacity`` folded into its colour."""
    if isinstance(op, Fill):
        _fill(canvas, op, opacity)
    elif isinstance(op, Stroke):
        _stroke(canvas, op, opacity)
    else:
        _text(canvas, op, opacity)
