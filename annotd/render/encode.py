"""PNG/JPEG encoding with every setting pinned.

Why pinned: byte-identical exports need the encoder to see the same pixels *and* the same
settings; Pillow writes no timestamps, and nothing here depends on the machine except the
codec libraries bundled in the pinned Pillow wheel (zlib-ng/libjpeg-turbo): a Pillow upgrade
may change bytes (not pixels), which is why goldens hash pixels.
"""

from __future__ import annotations

from collections.abc import Mapping
from io import BytesIO

from PIL import Image
from PIL.PngImagePlugin import PngInfo

JPEG_SUBSAMPLING = 0
"""4:4:4 -- chroma subsampling smears thin red annotation strokes; worth the bytes."""
JPEG_OPTIMIZE = True
"""Optimised Huffman tables: deterministic, ~5-10 % smaller, little extra time."""


def _opaque(img: Image.Image) -> bool:
    return img.mode != "RGBA" or img.getchannel("A").getextrema() == (255, 255)


def encode_png(
    img: Image.Image, *, compress_level: int, dpi: float | None = None, provenance: Mapping[str, str] | None = None
) -> bytes:
    """RGBA PNG (RGB when every pixel is opaque: smaller, same pixels)."""
    out = img if not _opaque(img) else img.convert("RGB")
    info = PngInfo()
    for key in sorted(provenance or {}):
        info.add_text(key, (provenance or {})[key])
    buf = BytesIO()
    params: dict[str, object] = {"compress_level": compress_level, "optimize": False, "pnginfo": info}
    if dpi is not None:
        params["dpi"] = (dpi, dpi)
    out.save(buf, format="PNG", **params)
    return buf.getvalue()


def encode_jpeg(
    img: Image.Image, *, quality: int, dpi: float | None = None, provenance: Mapping[str, str] | None = None
) -> bytes:
    """Baseline JPEG; a non-opaque input is flattened on white first (JPEG has no alpha)."""
    if img.mode == "RGBA" and not _opaque(img):
        flat = Image.new("RGBA", img.size, (255, 255, 255, 255))
        flat.alpha_composite(img)
        img = flat
    rgb = img.convert("RGB")
    params: dict[str, object] = {
        "quality": quality,
        "subsampling": JPEG_SUBSAMPLING,
        "optimize": JPEG_OPTIMIZE,
        "progressive": False,
    }
    if dpi is not None:
        params["dpi"] = (round(dpi), round(dpi))
    if provenance:
        params["comment"] = "\n".join(f"{k}={provenance[k]}" for k in sorted(provenance))
    buf = BytesIO()
    rgb.save(buf, format="JPEG", **params)
    return buf.getvalue()
