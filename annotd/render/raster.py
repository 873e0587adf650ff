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


def _base_image(base: Image.Image, size: tuple[int, int]) -> tuple[skia.Image, bytes, bool]:
    """``base`` resampled to ``size`` as a Skia image (straight alpha), the bytes it reads
    (not copied: keep them alive while the image is used), and whether it is opaque.

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
    # RGB rows as Pillow packs them (RGBX; Skia's 888x ignores the pad byte, whatever it holds)
    rgb = base.mode == "RGB"
    data = base.tobytes("raw", "RGBX" if rgb else "RGBA")
    del base
    color = skia.ColorType.kRGB_888x_ColorType if rgb else skia.ColorType.kRGBA_8888_ColorType
    alpha = skia.AlphaType.kOpaque_AlphaType if opaque else skia.AlphaType.kUnpremul_AlphaType
    return skia.Image.frombytes(data, size, color, alpha, None, False), data, opaque


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


def start_surface(base: Image.Image | None, size: tuple[int, int], bg: RGBA) -> tuple[skia.Surface, bool]:
    """A premultiplied RGBA surface of ``size`` holding the background and the base image
    (resampled to ``size``), and whether every pixel of it is opaque."""
    info = skia.ImageInfo.Make(size[0], size[1], skia.ColorType.kRGBA_8888_ColorType, skia.AlphaType.kPremul_AlphaType)
    surface = skia.Surface.MakeRaster(info)
    if surface is None:
        raise MemoryError(f"cannot allocate a {size[0]}x{size[1]} surface")
    canvas = surface.getCanvas()
    canvas.clear(skia.ColorSetARGB(bg[3], bg[0], bg[1], bg[2]))
    opaque = bg[3] == 255
    if base is not None:
        image, pixels, base_opaque = _base_image(base, size)
        opaque = opaque or base_opaque
        canvas.drawImage(image, 0, 0, skia.SamplingOptions(),
                         skia.Paint(BlendMode=skia.BlendMode.kSrc if base_opaque else skia.BlendMode.kSrcOver))
        del image, pixels
    return surface, opaque


def _render_image(view: CanvasView, base: Image.Image | None, options: RenderOptions) -> Image.Image:
    items = build_items(view, options.include_comments, options.comment_states)
    ox, oy, w, h = canvas_frame(view, base, items)
    scale = options.effective_scale
    size = pixel_size(w, h, scale)
    surface, opaque = start_surface(base, size, background_color(options))
    canvas = surface.getCanvas()
    canvas.scale(scale, scale)
    canvas.translate(-ox, -oy)
    for it in items:
        paint_item(canvas, it)
    return _read_back(surface, size, opaque)


def _read_back(surface: skia.Surface, size: tuple[int, int], opaque: bool) -> Image.Image:
    """The surface's pixels as a Pillow image: RGB when opaque, else straight-alpha RGBA
    (Skia unpremultiplies while reading)."""
    alpha = skia.AlphaType.kOpaque_AlphaType if opaque else skia.AlphaType.kUnpremul_AlphaType
    info = skia.ImageInfo.Make(size[0], size[1], skia.ColorType.kRGBA_8888_ColorType, alpha)
    buf = bytearray(size[0] * size[1] * 4)
    if not surface.readPixels(info, buf, size[0] * 4, 0, 0):
        raise RuntimeError("reading the rendered pixels failed")
    if opaque:
        return Image.frombytes("RGB", size, buf, "raw", "RGBX")
    return Image.frombuffer("RGBA", size, buf, "raw", "RGBA", 0, 1)


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
