"""Raster export: PNG/JPEG bytes from a materialized view, painted by Skia on a CPU surface.

Canvas (documented contract):
- with a base image: the base image's size x scale; annotations outside it are clipped;
- with ``view.image`` set but no base bytes given: that size x scale, background only;
- with no image at all: the annotations' (and shown badges') rotated ink bounds plus a
  ``frame.CONTENT_PADDING`` margin, x scale; an empty canvas is 1x1.
Output size is ``max(1, round(size * scale))`` per axis; ``scale = dpi / 96`` when ``dpi`` is set.

How it paints (why and measurements in DESIGN.md): one premultiplied RGBA raster surface; the
background, then the base image drawn by Skia (resampled to the output size), then every item
in paint order by :mod:`.skpaint` under the matrix image space -> output pixels. The pixels
are read back as straight alpha (or RGB when the export is opaque) into a Pillow image, which
the pinned encoders of :mod:`.encode` write.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping

import skia
from PIL import Image

from annotd.canvas.model import CanvasView

from .colors import RGBA, parse_color
from .encode import encode_jpeg, encode_png
from .frame import content_frame, pixel_size
from .options import RenderOptions
from .scene import Item, build_items
from .skpaint import paint_item


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


BASE_BAND_BYTES = 4 << 20
"""The resampled base image is handed to Skia in bands of about this many bytes."""
SKIA_RESAMPLE_PIXELS = 16_000_000
"""From this output size on, Skia resamples the base image while drawing it (cubic when
enlarging, mipmaps when shrinking): slower than Pillow, but no output-sized copy of the
base besides the surface (a 40 MP PNG export peaks at 330 instead of 490 MB; DESIGN.md)."""


def _resampled(base: Image.Image, size: tuple[int, int]) -> tuple[Image.Image, bool]:
    """``base`` resampled to ``size`` (RGB when opaque, else straight RGBA), and whether it is
    opaque.

    Resampled by Pillow -- Lanczos when shrinking (no aliasing), bicubic when enlarging, as
    browsers do -- because its separable filters are about four times faster than Skia's
    per-pixel bicubic at 3x (155 vs 600 ms for 1600x1000 -> 4800x3000). An opaque base is
    resampled as RGB (the same values as an RGBA resize when alpha is 255)."""
    if base.mode not in ("RGB", "RGBA"):
        base = base.convert("RGBA" if "A" in base.getbands() or "transparency" in base.info else "RGB")
    opaque = base.mode == "RGB" or base.getchannel("A").getextrema() == (255, 255)
    if opaque and base.mode != "RGB":
        base = base.convert("RGB")
    if base.size != size:
        down = size[0] < base.width
        base = base.resize(size, Image.Resampling.LANCZOS if down else Image.Resampling.BICUBIC)
    return base, opaque


def _draw_base(canvas: skia.Canvas, base: Image.Image, opaque: bool,
               sampling: skia.SamplingOptions | None = None, whole: bool = False) -> None:
    """Draw ``base`` at the origin with ``sampling`` (default: 1:1 copies), a band of rows
    at a time so that only one band is ever copied out of Pillow -- or ``whole``, when Skia
    resamples it (a band's filter would not see the rows beyond it). RGBX rows as Pillow
    packs them: Skia's 888x ignores the pad byte."""
    w, h = base.size
    rgb = base.mode == "RGB"
    color = skia.ColorType.kRGB_888x_ColorType if rgb else skia.ColorType.kRGBA_8888_ColorType
    alpha = skia.AlphaType.kOpaque_AlphaType if opaque else skia.AlphaType.kUnpremul_AlphaType
    paint = skia.Paint(BlendMode=skia.BlendMode.kSrc if opaque else skia.BlendMode.kSrcOver)
    step = h if whole else max(1, BASE_BAND_BYTES // (4 * w))
    for y in range(0, h, step):
        rows = min(step, h - y)
        data = base.crop((0, y, w, y + rows)).tobytes("raw", "RGBX" if rgb else "RGBA")
        band = skia.Image.frombytes(data, (w, rows), color, alpha, None, False)
        canvas.drawImage(band, 0, y, sampling or skia.SamplingOptions(), paint)
        del band, data  # the image reads ``data`` without a copy: drop it first


class Surface:
    """A premultiplied RGBA raster surface over a buffer this object owns, so that the
    rendered pixels can be handed to the encoders without a copy."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.size = size
        self.pixels = bytearray(size[0] * size[1] * 4)
        info = skia.ImageInfo.Make(size[0], size[1], skia.ColorType.kRGBA_8888_ColorType,
                                   skia.AlphaType.kPremul_AlphaType)
        surface = skia.Surface.MakeRasterDirect(info, self.pixels, size[0] * 4)
        if surface is None:
            raise MemoryError(f"cannot make a {size[0]}x{size[1]} surface")
        self.surface = surface

    def canvas(self) -> skia.Canvas:
        return self.surface.getCanvas()

    def image(self, opaque: bool) -> Image.Image:
        """The pixels as Pillow sees them: ``RGBX`` over the surface's own buffer when opaque
        (no copy; premultiplied equals straight there), else a straight-alpha RGBA copy
        (Skia unpremultiplies while reading)."""
        w, h = self.size
        if opaque:
            return Image.frombuffer("RGBX", self.size, self.pixels, "raw", "RGBX", 0, 1)
        info = skia.ImageInfo.Make(w, h, skia.ColorType.kRGBA_8888_ColorType, skia.AlphaType.kUnpremul_AlphaType)
        buf = bytearray(w * h * 4)
        if not self.surface.readPixels(info, buf, w * 4, 0, 0):
            raise RuntimeError("reading the rendered pixels failed")
        return Image.frombuffer("RGBA", self.size, buf, "raw", "RGBA", 0, 1)


def start_surface(base: Image.Image | None, size: tuple[int, int], bg: RGBA) -> tuple[Surface, bool]:
    """A surface of ``size`` holding the background and the base image (resampled to
    ``size``), and whether every pixel of it is opaque."""
    surface = Surface(size)
    canvas = surface.canvas()
    canvas.clear(skia.ColorSetARGB(bg[3], bg[0], bg[1], bg[2]))
    opaque = bg[3] == 255
    if base is not None and size[0] * size[1] >= SKIA_RESAMPLE_PIXELS and base.size != size:
        source, base_opaque = _resampled(base, base.size)
        opaque = opaque or base_opaque
        canvas.save()
        canvas.scale(size[0] / base.width, size[1] / base.height)
        down = size[0] < base.width
        _draw_base(canvas, source, base_opaque, skia.SamplingOptions(skia.FilterMode.kLinear, skia.MipmapMode.kLinear)
                   if down else skia.SamplingOptions(skia.CubicResampler.CatmullRom()), whole=True)
        canvas.restore()
    elif base is not None:
        resampled, base_opaque = _resampled(base, size)
        opaque = opaque or base_opaque
        _draw_base(canvas, resampled, base_opaque)
    return surface, opaque


def render_image(view: CanvasView, base: Image.Image | None, options: RenderOptions) -> Image.Image:
    """The export as an image (tests hash its pixels): RGB when it is opaque, else RGBA."""
    img = _render(view, base, options)
    return img.convert("RGB") if img.mode == "RGBX" else img


def _render(view: CanvasView, base: Image.Image | None, options: RenderOptions) -> Image.Image:
    """The export as :meth:`Surface.image` gives it (RGBX over the surface when opaque)."""
    collecting = gc.isenabled()
    gc.disable()  # thousands of short-lived tuples and lists, no cycles: collections only cost
    try:
        items = build_items(view, options.include_comments, options.comment_states)
        ox, oy, w, h = canvas_frame(view, base, items)
        scale = options.effective_scale
        size = pixel_size(w, h, scale)
        surface, opaque = start_surface(base, size, background_color(options))
        canvas = surface.canvas()
        canvas.scale(scale, scale)
        canvas.translate(-ox, -oy)
        for it in items:
            paint_item(canvas, it)
        return surface.image(opaque)
    finally:
        if collecting:
            gc.enable()


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
    img = _render(view, base, options)
    if options.format == "jpg":
        return encode_jpeg(img, quality=options.quality, dpi=options.dpi, provenance=provenance)
    return encode_png(img, speed=options.png_speed, dpi=options.dpi, provenance=provenance)
