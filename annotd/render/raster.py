"""Raster export: PNG/JPEG bytes from a materialized view (hybrid aggdraw + Pillow).

Canvas (documented contract):
- with a base image: the base image's size x scale; annotations outside it are clipped;
- with ``view.image`` set but no base bytes given: that size x scale, background only;
- with no image at all: the annotations' (and shown badges') rotated ink bounds plus a
  ``frame.CONTENT_PADDING`` margin, x scale; an empty canvas is 1x1.
Output size is ``max(1, round(size * scale))`` per axis; ``scale = dpi / 96`` when ``dpi`` is set.

How it paints (why and measurements in DESIGN.md): shapes by aggdraw (AGG: anti-aliased,
exact sub-pixel geometry), text by Pillow/FreeType as a coverage mask (affinely rotated) through
which its colour is pasted. :mod:`.prepare` turns each item into paint steps -- straight onto the
canvas when that is the item's group (opacity 1, or ops that do not overlap), else one layer
composited with the item's opacity (SVG-like group opacity: a 50 % shape's stroke does not darken
its fill) -- and :mod:`.schedule` orders them into alternating aggdraw / Pillow phases (steps
that do not overlap commute) and splits each aggdraw phase into disjoint regions, each copied
into aggdraw and back once.

The canvas is RGB when it will be opaque, else RGBA holding premultiplied values while
painting: aggdraw blends as "premultiplied over" (50 % red on transparent black gives
(127, 0, 0, 127)); Pillow's per-channel paste through a mask is the same operation. It is
converted to straight alpha once, at the end.
"""

from __future__ import annotations

import gc
import math
import threading
from collections.abc import Mapping
from functools import lru_cache

import aggdraw
from PIL import Image, ImageChops, ImageDraw

from annotd.canvas.model import CanvasView

from . import geometry as g
from .colors import RGBA, parse_color
from .encode import encode_jpeg, encode_png
from .fonts import load_font
from .frame import content_frame, pixel_size
from .options import RenderOptions
from .prepare import PaintOp, Prepared, ShapeOp, Step, TextOp, steps
from .scene import Item, Text, build_items
from .schedule import AGG, Box, phases, regions

_FREETYPE_LOCK = threading.Lock()
"""Cached FreeType faces are shared; Pillow may release the GIL while rasterising glyphs."""

GRID_CELL = 32
"""Cell size (image px, times the scale) of the overlap grid used to schedule paint steps."""


def canvas_frame(view: CanvasView, base: Image.Image | None, items: list[Item]) -> tuple[float, float, float, float]:
    """(origin x, origin y, width, height) of the exported area in image space."""
    if base is not None:
        return 0.0, 0.0, float(base.width), float(base.height)
    return content_frame(view, items)


def background_color(options: RenderOptions) -> RGBA:
    bg = parse_color(options.background) or (0, 0, 0, 0)
    if options.format == "jpg" and bg[3] < 255:
        return (255, 255, 255, 255)  # JPEG has no alpha: transparent means white
    return bg


def _start_canvas(base: Image.Image | None, size: tuple[int, int], bg: RGBA) -> tuple[Image.Image, bool]:
    """The canvas before any annotation, and whether it holds premultiplied RGBA.

    RGB when every pixel is opaque (an opaque background, or an opaque base image): the
    common case, 3 bytes a pixel, and "over" needs no alpha there. Otherwise RGBA holding
    *premultiplied* values while painting (aggdraw blends premultiplied; converted once at
    the end), so that shapes can be painted straight onto it.
    """
    if base is not None and base.mode not in ("RGB", "RGBA"):
        base = base.convert("RGBA" if "A" in base.getbands() or "transparency" in base.info else "RGB")
    base_opaque = base is not None and (base.mode == "RGB" or base.getchannel("A").getextrema() == (255, 255))
    resized = base is not None and base.size != size
    if base is not None and resized:
        # Lanczos when shrinking (no aliasing); bicubic when enlarging, as browsers do, and
        # about twice as fast at 3x. An opaque base is resized as RGB: the same values as
        # Pillow's (premultiplied) RGBA resize when alpha is 255, with a quarter less work.
        down = size[0] < base.width
        src = base.convert("RGB") if base_opaque and base.mode != "RGB" else base
        base = src.resize(size, Image.Resampling.LANCZOS if down else Image.Resampling.BICUBIC)
    if base_opaque:
        assert base is not None
        if base.mode != "RGB":
            return base.convert("RGB"), False
        return (base if resized else base.copy()), False
    if bg[3] == 255 and base is None:
        return Image.new("RGB", size, bg[:3]), False
    canvas = Image.new("RGBA", size, bg)
    if base is not None:
        canvas.alpha_composite(base)
    if bg[3] == 255:
        return canvas.convert("RGB"), False
    if canvas.getchannel("A").getextrema() == (0, 0) and bg == (0, 0, 0, 0):
        return canvas, True  # transparent black is premultiplied already
    return Image.frombytes("RGBA", size, canvas.convert("RGBa").tobytes()), True


def _paint_shapes(draw: aggdraw.Draw, ops: tuple[PaintOp, ...]) -> None:
    for op in ops:
        assert isinstance(op, ShapeOp)
        path = aggdraw.Path()
        color = op.color
        if op.lines is None:
            for flat in op.polys:
                path.polygon(flat)
            draw.path(path, aggdraw.Brush(color[:3], color[3]))
        else:
            for flat, closed in op.lines:
                path.moveto(flat[0], flat[1])
                for i in range(2, len(flat), 2):
                    path.lineto(flat[i], flat[i + 1])
                if closed:
                    path.close()
            draw.path(path, aggdraw.Pen(color[:3], op.width, color[3]))


def _text_mask(prep: Prepared, op: Text, box: Box) -> Image.Image:
    """Coverage mask of ``op`` over ``box``: rasterised in its unrotated frame, then rotated
    into place with a bicubic affine warp."""
    s = prep.scale
    font = load_font(op.family, op.weight, op.size * s)
    ox, oy = box[0], box[1]
    out_size = (box[2] - box[0], box[3] - box[1])
    rotated = prep.item.rotation % 360 != 0
    if rotated:
        (ex0, ey0), (ex1, ey1) = g.apply(prep.out, [(op.extent[0], op.extent[1]), (op.extent[2], op.extent[3])])
        fx0, fy0 = math.floor(ex0), math.floor(ey0)
        size = (max(1, math.ceil(ex1) - fx0), max(1, math.ceil(ey1) - fy0))
    else:
        fx0, fy0 = ox, oy
        size = out_size
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
        mask = mask.transform(out_size, Image.Transform.AFFINE, to_mask, Image.Resampling.BICUBIC)
    return mask


@lru_cache(maxsize=256)
def _alpha_lut(a: int) -> list[int]:
    return [(v * a + 127) // 255 for v in range(256)]


@lru_cache(maxsize=256)
def _opacity_lut(o: float) -> list[int]:
    return [round(v * o) for v in range(256)] * 4


def _paste_color(target: Image.Image, color: RGBA, box: Box, mask: Image.Image, premultiplied: bool) -> None:
    """Paint ``color`` (its alpha folded into ``mask``) through ``mask`` onto ``box``.

    On premultiplied RGBA an opaque colour *image* is pasted: Pillow blends every channel,
    alpha included, which is premultiplied "over". (Pasting a colour *value* onto RGBA makes
    Pillow composite straight alpha: premultiplied pixels would come out too light.)"""
    ink = mask.getbbox()  # pasting where the mask is 0 changes nothing: skip that area
    if ink is None:
        return
    if ink != (0, 0) + mask.size:
        mask = mask.crop(ink)
        box = (box[0] + ink[0], box[1] + ink[1], box[0] + ink[2], box[1] + ink[3])
    if color[3] < 255:
        mask = mask.point(_alpha_lut(color[3]))
    if premultiplied:
        target.paste(Image.new("RGBA", mask.size, color[:3] + (255,)), box, mask)
    else:
        target.paste(color[:3], box, mask)


def _region_bytes(img: Image.Image, box: Box) -> bytes:
    """The raw pixels of ``box`` (Pillow's raw encoder on a region: no crop, one chunk)."""
    enc = Image.core.raw_encoder(img.mode, img.mode)
    enc.setimage(img.im, box)
    size = (box[2] - box[0]) * (box[3] - box[1]) * len(img.getbands())
    chunks = []
    while True:
        _, status, data = enc.encode(size + 64)
        chunks.append(data)
        if status:
            break
    if status < 0:
        raise RuntimeError(f"raw encoder failed ({status})")
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _put_region(img: Image.Image, box: Box, data: bytes) -> None:
    """Write raw pixels into ``box`` of ``img`` in place (Pillow's raw decoder on a region)."""
    dec = Image.core.raw_decoder(img.mode, img.mode)
    dec.setimage(img.im, box)
    dec.decode(data)


def _agg_over(img: Image.Image, box: Box) -> aggdraw.Draw:
    """An aggdraw surface holding a copy of ``box`` of ``img``, in ``img``'s coordinates."""
    draw = aggdraw.Draw(img.mode, (box[2] - box[0], box[3] - box[1]))
    draw.frombytes(_region_bytes(img, box))
    draw.settransform((-box[0], -box[1]))
    return draw


def _layer(prep: Prepared, box: Box) -> Image.Image:
    """The item painted alone over ``box`` as a group (SVG's ``<g opacity>``), with its
    opacity applied: *premultiplied* values in an image labelled RGBA. Painted as aggdraw
    blends (premultiplied, from transparent black); text is pasted into it the same way."""
    size = (box[2] - box[0], box[3] - box[1])
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    local = (0, 0) + size
    draw: aggdraw.Draw | None = None
    for op in prep.ops:
        if isinstance(op, TextOp):
            if draw is not None:
                _put_region(layer, local, draw.tobytes())
                draw = None
            _paste_color(layer, op.text.color, local, _text_mask(prep, op.text, box), True)
            continue
        if draw is None:
            draw = _agg_over(layer, local)
            draw.settransform((-box[0], -box[1]))
        _paint_shapes(draw, (op,))
    if draw is not None:
        _put_region(layer, local, draw.tobytes())
    o = prep.item.opacity
    return layer if o >= 1.0 else layer.point(_opacity_lut(o))


def _paint_pil(canvas: Image.Image, step: Step, premultiplied: bool) -> None:
    box = step.box
    if step.layer:
        # premultiplied "over": layer + canvas x (1 - layer alpha), on every channel
        layer = _layer(step.prep, box)
        ink = layer.getchannel("A").getbbox()  # where the layer is transparent nothing changes
        if ink is None:
            return
        if ink != (0, 0) + layer.size:
            layer = layer.crop(ink)
            box = (box[0] + ink[0], box[1] + ink[1], box[0] + ink[2], box[1] + ink[3])
        alpha = layer.getchannel("A")
        region = canvas.crop(box)
        if premultiplied:
            region.paste(Image.new("RGBA", layer.size, (0, 0, 0, 0)), (0, 0), alpha)
        else:
            region.paste((0, 0, 0), (0, 0) + layer.size, alpha)
            layer = layer.convert("RGB")
        canvas.paste(ImageChops.add(region, layer), box)
        return
    op = step.ops[0]
    assert isinstance(op, TextOp)
    _paste_color(canvas, op.text.color[:3] + (op.alpha,), box, _text_mask(step.prep, op.text, box), premultiplied)


def _paint_agg(canvas: Image.Image, agg_steps: list[Step]) -> None:
    """Draw shape steps with aggdraw, one copy in and out per disjoint region. A region
    contains each of its steps' whole (canvas-clipped) ink box, so AGG clips geometry only
    at the canvas edges: the same coverage as drawing each item alone."""
    for region, members in regions([s.box for s in agg_steps]):
        draw = _agg_over(canvas, region)
        for i in members:
            _paint_shapes(draw, agg_steps[i].ops)
        _put_region(canvas, region, draw.tobytes())


def render_image(view: CanvasView, base: Image.Image | None, options: RenderOptions) -> Image.Image:
    """The export as an image (what :func:`render` encodes; tests hash its pixels): RGB when
    it is opaque, else RGBA."""
    collecting = gc.isenabled()
    gc.disable()  # thousands of short-lived tuples and lists, no cycles: collections only cost
    try:
        return _render_image(view, base, options)
    finally:
        if collecting:
            gc.enable()


def _render_image(view: CanvasView, base: Image.Image | None, options: RenderOptions) -> Image.Image:
    items = build_items(view, options.include_comments, options.comment_states)
    ox, oy, w, h = canvas_frame(view, base, items)
    scale = options.effective_scale
    size = pixel_size(w, h, scale)
    canvas, premultiplied = _start_canvas(base, size, background_color(options))
    out = g.scale_translate(scale, ox, oy)
    todo = [st for it in items for st in steps(Prepared(it, out, scale), size)]
    order = phases([s.box for s in todo], [s.kind for s in todo], max(16, round(GRID_CELL * scale)))
    by_phase: dict[int, list[Step]] = {}
    for st, ph in zip(todo, order, strict=True):
        by_phase.setdefault(ph, []).append(st)
    for ph in sorted(by_phase):
        if ph % 2 == AGG:
            _paint_agg(canvas, by_phase[ph])
        else:
            for st in by_phase[ph]:
                _paint_pil(canvas, st, premultiplied)
    if premultiplied:
        return Image.frombytes("RGBa", size, canvas.tobytes()).convert("RGBA")
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
    return encode_png(img, speed=options.png_speed, dpi=options.dpi, provenance=provenance)
