"""Paint items in output pixels, and the steps that paint them.

An :class:`~annotd.render.scene.Item` is in image space; :class:`Prepared` applies its
rotation and the export scale, turns dashes and round strokes into geometry aggdraw can fill,
and computes the ink box of the whole item and of each op. :func:`steps` then decides how the
item is painted:

* **directly** on the canvas -- shape ops by aggdraw (one ``AGG`` step per run of consecutive
  shape ops), text by pasting its colour through a coverage mask (a ``PIL`` step) -- when this
  gives exactly the group the item describes: its opacity is 1 (painting the ops one after the
  other *is* the group), or its ops do not overlap (folding the opacity into each op's colour
  is then the same group);
* otherwise through a **layer**: the item is painted in a scratch image of its own and
  composited with its opacity (one ``PIL`` step), so that a 50 % shape's stroke does not darken
  its fill (SVG/browser group opacity).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import chain

from . import geometry as g
from .colors import RGBA
from .scene import Fill, Item, Stroke, Text
from .schedule import AGG, PIL, Box

FloatBox = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class ShapeOp:
    """One aggdraw call: ``polys`` (flat x, y lists) filled together with the non-zero rule,
    or, when ``lines`` is set, polylines (flat coords, closed) stroked ``width`` wide with a
    butt-cap/miter-join pen."""

    polys: tuple[list[float], ...]
    lines: tuple[tuple[list[float], bool], ...] | None
    color: RGBA
    width: float


@dataclass(frozen=True, slots=True)
class TextOp:
    text: Text
    alpha: int
    """The colour's alpha with the item's opacity folded in."""


PaintOp = ShapeOp | TextOp


@dataclass(frozen=True, slots=True)
class Step:
    """A unit of painting: ``kind`` AGG (``ops`` are ShapeOps drawn in order) or PIL (one
    TextOp pasted, or ``layer`` set: the whole item composited as a group)."""

    kind: int
    box: Box
    prep: Prepared
    ops: tuple[PaintOp, ...]
    layer: bool = False


def _reach_box(pts: list[g.Pt], reach: float) -> FloatBox:
    x0, y0, x1, y1 = g.bbox(pts)
    return (x0 - reach, y0 - reach, x1 + reach, y1 + reach)


class Prepared:
    """An item's ops in output pixels (rotation and scale applied), with their ink boxes."""

    def __init__(self, it: Item, out: g.Affine, scale: float) -> None:
        self.item = it
        self.scale = scale
        self.out = out
        self.full = g.compose(out, g.rotation_about(it.cx, it.cy, it.rotation))
        self.ops: list[PaintOp] = []
        self.op_boxes: list[FloatBox] = []
        for op in it.ops:
            if isinstance(op, Fill):
                polys = [g.apply(self.full, p) for p in op.polys]
                self.ops.append(ShapeOp(tuple(list(chain.from_iterable(p)) for p in polys if len(p) >= 3), None,
                                        op.color, 0.0))
                self.op_boxes.append(_reach_box([p for poly in polys for p in poly], 1.0))
            elif isinstance(op, Stroke):
                self._stroke(op)
            else:
                self.ops.append(TextOp(op, op.color[3]))
                ex0, ey0, ex1, ey1 = op.extent
                self.op_boxes.append(_reach_box(g.apply(self.full, [(ex0, ey0), (ex1, ey0), (ex1, ey1), (ex0, ey1)]), 1.0))
        boxes = [b for b in self.op_boxes if b[0] != math.inf]
        self.box: Box | None = None
        if boxes:
            self.box = (math.floor(min(b[0] for b in boxes)), math.floor(min(b[1] for b in boxes)),
                        math.ceil(max(b[2] for b in boxes)), math.ceil(max(b[3] for b in boxes)))

    def _stroke(self, op: Stroke) -> None:
        w = op.width * self.scale
        paths = [(g.apply(self.full, pts), closed) for pts, closed in op.paths]
        if op.dash is not None:
            on, off = op.dash[0] * self.scale, op.dash[1] * self.scale
            paths = [(run, False) for pts, closed in paths for run in g.dash(pts, closed, on, off)]
        points = [p for pts, _ in paths for p in pts]
        if not op.round:
            self.ops.append(ShapeOp((), tuple((list(chain.from_iterable(pts)), closed) for pts, closed in paths),
                                    op.color, w))
            self.op_boxes.append(_reach_box(points, w * 2.0 + 1.0) if points else (math.inf,) * 4)
            return
        pieces: list[list[float]] = []
        widest = w / 2
        for pts, closed in paths:
            seq = pts + [pts[0]] if closed else pts
            if op.pressure is not None and op.dash is None and len(op.pressure) == len(pts):
                radii = [w / 2 * f for f in op.pressure]
                widest = max(widest, max(radii))
            else:
                radii = [w / 2] * len(seq)
            pieces.extend(g.round_stroke(seq, radii))
        self.ops.append(ShapeOp(tuple(pieces), None, op.color, w))
        # Every piece lies within ``widest`` of a centre-line point.
        self.op_boxes.append(_reach_box(points, widest + 1.0) if points else (math.inf,) * 4)


def _disjoint(boxes: list[FloatBox]) -> bool:
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                return False
    return True


def steps(prep: Prepared, size: tuple[int, int]) -> list[Step]:
    """How to paint ``prep`` on a canvas of ``size`` (see the module docstring)."""
    if prep.box is None or prep.item.opacity <= 0:
        return []
    x0, y0 = max(prep.box[0], 0), max(prep.box[1], 0)
    x1, y1 = min(prep.box[2], size[0]), min(prep.box[3], size[1])
    if x1 <= x0 or y1 <= y0:
        return []
    box = (x0, y0, x1, y1)
    o = prep.item.opacity
    if o < 1.0 and not _disjoint([b for b in prep.op_boxes if b[0] != math.inf]):
        return [Step(PIL, box, prep, (), layer=True)]
    out: list[Step] = []
    run: list[PaintOp] = []
    for op in prep.ops:
        if isinstance(op, TextOp):
            if run:
                out.append(Step(AGG, box, prep, tuple(run)))
                run = []
            out.append(Step(PIL, box, prep, (TextOp(op.text, op.alpha if o >= 1.0 else round(op.alpha * o)),)))
        elif o >= 1.0:
            run.append(op)
        else:
            run.append(ShapeOp(op.polys, op.lines, op.color[:3] + (round(op.color[3] * o),), op.width))
    if run:
        out.append(Step(AGG, box, prep, tuple(run)))
    return out
