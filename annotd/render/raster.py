"""Raster export: PNG/JPEG bytes from a materialized view (hybrid aggdraw + Pillow).

Canvas (documented contract):
- with a base image: the base image's size x scale; annotations outside it are clipped;
- with ``view.image`` set but no base bytes given: that size x scale, background only;
- with no image at all: the annotations' (and shown badges') rotated ink bounds plus a
  ``CONTENT_PADDING`` margin, x scale; an empty canvas is 1x1.
Output size is ``max(1, round(size * scale))`` per axis; ``scale = dpi / 96`` when ``dpi`` is set.

How it paints (why, in DESIGN.md): each item (annotation or badge) is painted into a small
transparent scratch layer the size of its clipped ink box -- shapes by aggdraw (AGG:
anti-aliased, exact sub-pixel geometry), text by Pillow/FreeType into a coverage mask that is
affinely rotated -- then the layer is alpha-composited onto the canvas with the item's opacity.
Per-item layers give SVG-like group opacity (fill and stroke of a 50 % shape do not double up)
and keep aggdraw, which copies its target in and out, away from the large canvas.

aggdraw blends as "premultiplied over" (drawing 50 % red on transparent black yields
(127, 0, 0, 127)), so scratch layers are premultiplied and are converted once before
compositing. Text is pasted into the same premultiplied layer with an opaque colour and a
coverage mask, which is exactly premultiplied "over".
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping

import aggdraw
from PIL import Image, ImageDraw

from annotd.canvas.model import CanvasView

from . import geometry as g
from .colors import RGBA, parse_color
from .encode import encode_jpeg, encode_png
from .fonts import load_font
from .options import RenderOptions
from .scene import Fill, Item, Stroke, Text, build_items, item_bounds

CONTENT_PADDING = 16.0
"""Margin (image px) around the content when there is no base image."""

_FREETYPE_LOCK = threading.Lock()
"""Cached FreeType faces are shared; Pillow may release the GIL while rasterising glyphs."""

Box = tuple[int, int, int, int]


def canvas_frame(view: CanvasView, base: Image.Image | None, items: list[Item]) -> tuple[float, float, float, float]:
    """(origin x, origin y, width, height) of the exported area in image space."""
    if base is not None:
        return 0.0, 0.0, float(base.width), float(base.height)
    if view.image is not None:
        return 0.0, 0.0, float(view.image.width), float(view.image.height)
    boxes = [b for b in (item_bounds(it) for it in items) if b is not None]
    if not boxes:
        return 0.0, 0.0, 1.0, 1.0
    x0 = math.floor(min(b[0] for b in boxes) - CONTENT_PADDING)
    y0 = math.floor(min(b[1] for b in boxes) - CONTENT_PADDING)
    x1 = math.ceil(max(b[2] for b in boxes) + CONTENT_PADDING)
    y1 = math.ceil(max(b[3] for b in boxes) + CONTENT_PADDING)
    return float(x0), float(y0), float(x1 - x0), float(y1 - y0)


def background_color(options: RenderOptions) -> RGBA:
    bg = parse_color(options.background) or (0, 0, 0, 0)
    if options.format == "jpg" and bg[3] < 255:
        return (255, 255, 255, 255)  # JPEG has no alpha: transparent means white
    return bg


def _start_canvas(base: Image.Image | None, size: tuple[int, int], bg: RGBA) -> Image.Image:
    canvas = Image.new("RGBA", size, bg)
    if base is None:
        return canvas
    layer = base if base.mode == "RGBA" else base.convert("RGBA")
    if layer.size != size:
        # Lanczos when shrinking (no aliasing); bicubic when enlarging, as browsers do, and
        # about twice as fast at 3x.
        down = size[0] < layer.width
        layer = layer.resize(size, Image.Resampling.LANCZOS if down else Image.Resampling.BICUBIC)
    if bg[3] == 0:
        return layer.copy()
    canvas.alpha_composite(layer)
    return canvas


class _Prepared:
    """An item's ops in output pixels (rotation and scale applied), with their ink box."""

    def __init__(self, it: Item, out: g.Affine, scale: float) -> None:
        self.item = it
        self.scale = scale
        self.out = out
        self.full = g.compose(out, g.rotation_about(it.cx, it.cy, it.rotation))
        self.ops: list[tuple[str, object, RGBA, float]] = []
        x0 = y0 = math.inf
        x1 = y1 = -math.inf
        for op in it.ops:
            if isinstance(op, Fill):
                polys = [g.apply(self.full, p) for p in op.polys]
                self.ops.append(("fill", polys, op.color, 0.0))
                pts = [p for poly in polys for p in poly]
                reach = 1.0
            elif isinstance(op, Stroke):
                kind, geom, width = self._stroke(op)
                self.ops.append((kind, geom, op.color, width))
                pts = [p for path in geom for p in (path if kind == "fill" else path[0])]  # type: ignore[union-attr]
                reach = 1.0 if kind == "fill" else width * 2.0 + 1.0
            else:
                self.ops.append(("text", op, op.color, 0.0))
                ex0, ey0, ex1, ey1 = op.extent
                pts = g.apply(self.full, [(ex0, ey0), (ex1, ey0), (ex1, ey1), (ex0, ey1)])
                reach = 1.0
            if pts:
                bx0, by0, bx1, by1 = g.bbox(pts)
                x0, y0 = min(x0, bx0 - reach), min(y0, by0 - reach)
                x1, y1 = max(x1, bx1 + reach), max(y1, by1 + reach)
        self.box = None if x0 == math.inf else (math.floor(x0), math.floor(y0), math.ceil(x1), math.ceil(y1))

    def _stroke(self, op: Stroke) -> tuple[str, list, float]:  # type: ignore[type-arg]
        w = op.width * self.scale
        paths = [(g.apply(self.full, pts), closed) for pts, closed in op.paths]
        if op.dash is not None:
            on, off = op.dash[0] * self.scale, op.dash[1] * self.scale
            paths = [(run, False) for pts, closed in paths for run in g.dash(pts, closed, on, off)]
        if not op.round:
            return "stroke", paths, w
        pieces: list[list[g.Pt]] = []
        for pts, closed in paths:
            seq = pts + [pts[0]] if closed else pts
            if op.pressure is not None and op.dash is None and len(op.pressure) == len(pts):
                radii = [w / 2 * f for f in op.pressure]
            else:
                radii = [w / 2] * len(seq)
            pieces.extend(g.round_stroke(seq, radii))
        return "fill", pieces, w


def _paint_text(layer: Image.Image, prep: _Prepared, op: Text, origin: tuple[int, int]) -> None:
    """Rasterise ``op`` as a coverage mask in its unrotated frame, rotate it into the layer
    with a bicubic affine warp, and paste the opaque colour through it (premultiplied over)."""
    s = prep.scale
    font = load_font(op.family, op.weight, op.size * s)
    ox, oy = origin
    rotated = prep.item.rotation % 360 != 0
    if rotated:
        (ex0, ey0), (ex1, ey1) = g.apply(prep.out, [(op.extent[0], op.extent[1]), (op.extent[2], op.extent[3])])
        fx0, fy0 = math.floor(ex0), math.floor(ey0)
        size = (max(1, math.ceil(ex1) - fx0), max(1, math.ceil(ey1) - fy0))
    else:
        fx0, fy0 = ox, oy
        size = layer.size
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    with _FREETYPE_LOCK:
        for line in op.lines:
            if not line.text:
                continue
            (px, py), = g.apply(prep.out, [(line.x, line.baseline)])
            draw.text((px - fx0, py - fy0), line.text, font=font, fill=255, anchor=line.anchor + "s")
    if rotated:
        cx, cy = g.apply(prep.out, [(prep.item.cx, prep.item.cy)])[0]
        rot_out = g.rotation_about(cx, cy, prep.item.rotation)
        to_mask = g.compose((1, 0, -fx0, 0, 1, -fy0), g.compose(g.invert(rot_out), (1, 0, ox, 0, 1, oy)))
        mask = mask.transform(layer.size, Image.Transform.AFFINE, to_mask, Image.Resampling.BICUBIC)
    if op.color[3] < 255:
        a = op.color[3]
        mask = mask.point([(v * a + 127) // 255 for v in range(256)])
    layer.paste(op.color[:3] + (255,), None, mask)


def _paint_item(canvas: Image.Image, prep: _Prepared) -> None:
    assert prep.box is not None
    x0, y0 = max(prep.box[0], 0), max(prep.box[1], 0)
    x1, y1 = min(prep.box[2], canvas.width), min(prep.box[3], canvas.height)
    if x1 <= x0 or y1 <= y0:
        return
    layer = Image.new("RGBA", (x1 - x0, y1 - y0), (0, 0, 0, 0))
    draw: aggdraw.Draw | None = None
    for kind, geom, color, width in prep.ops:
        if kind == "text":
            if draw is not None:
                draw.flush()
                draw = None
            _paint_text(layer, prep, geom, (x0, y0))  # type: ignore[arg-type]
            continue
        if draw is None:
            draw = aggdraw.Draw(layer)
            draw.settransform((-x0, -y0))
        path = aggdraw.Path()
        if kind == "fill":
            for poly in geom:  # type: ignore[attr-defined]
                if len(poly) >= 3:
                    path.polygon([c for p in poly for c in p])
            draw.path(path, aggdraw.Brush(color[:3], color[3]))
        else:
            for pts, closed in geom:  # type: ignore[attr-defined]
                path.moveto(*pts[0])
                for p in pts[1:]:
                    path.lineto(*p)
                if closed:
                    path.close()
            draw.path(path, aggdraw.Pen(color[:3], width, color[3]))
    if draw is not None:
        draw.flush()
    straight = Image.frombytes("RGBa", layer.size, layer.tobytes()).convert("RGBA")
    if prep.item.opacity < 1.0:
        o = prep.item.opacity
        straight.putalpha(straight.getchannel("A").point([round(v * o) for v in range(256)]))
    canvas.alpha_composite(straight, dest=(x0, y0))


def render_image(view: CanvasView, base: Image.Image | None, options: RenderOptions) -> Image.Image:
    """The export as an RGBA image (what :func:`render` encodes; tests hash its pixels)."""
    items = build_items(view, options.include_comments, options.comment_states)
    ox, oy, w, h = canvas_frame(view, base, items)
    scale = options.effective_scale
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    canvas = _start_canvas(base, size, background_color(options))
    out = g.scale_translate(scale, ox, oy)
    for it in items:
        prep = _Prepared(it, out, scale)
        if prep.box is not None:
            _paint_item(canvas, prep)
    return canvas


def render(
    view: CanvasView,
    base: Image.Image | None,
    options: RenderOptions,
    provenance: Mapping[str, str] | None = None,
) -> bytes:
    """PNG or JPEG bytes of the view; same inputs give the same bytes (see DESIGN.md).

    ``provenance`` (e.g. room id, seq) is written as PNG tEXt / a JPEG COM segment, sorted
    by key, so it stays deterministic.
    """
    if options.format not in ("png", "jpg"):
        raise ValueError(f"render() makes png or jpg, not {options.format!r}; use render_svg()")
    img = render_image(view, base, options)
    if options.format == "jpg":
        return encode_jpeg(img, quality=options.quality, dpi=options.dpi, provenance=provenance)
    return encode_png(img, compress_level=options.png_compress_level, dpi=options.dpi, provenance=provenance)
