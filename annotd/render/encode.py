"""PNG/JPEG encoding with every setting pinned.

PNG, fast (the default): a streaming writer. Rows are filtered with PNG's "Up" filter by
Pillow (``subtract_modulo`` of a band and the band shifted down one row) and deflated by
ISA-L (``isal``, level 1), band by band, so memory beyond the image is one band. It beat
Pillow's zlib levels on time and size for rendered annotations (slightly larger on
photographs); fpng needs three copies of the image in memory and is an unmaintained alpha
wrapper (the figures: BENCHMARKS.md, "Figures the design rests on", from ``bench/bench_png.py``).

PNG, small: Pillow's encoder (bundled zlib-ng, adaptive filters) at level 6: smaller, several
times slower, and the whole image in memory.

Why pinned: byte-identical exports need the encoder to see the same pixels *and* the same
settings; nothing is timestamped, and the only machine dependence is in the codec libraries
bundled in pinned wheels (ISA-L, zlib-ng, libjpeg-turbo): an upgrade may change bytes (not
pixels), which is why goldens hash pixels. ISA-L also picks its code by CPU: every x86-64
with SSE4.2 (2008 on) gives the same bytes; an older x86 or an ARM CPU other (valid) bytes.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping
from io import BytesIO

from isal import isal_zlib
from PIL import Image, ImageChops
from PIL.PngImagePlugin import PngInfo

from .options import DEFAULT_PNG_SPEED, PNG_SPEEDS

JPEG_SUBSAMPLING = 0
"""4:4:4 -- chroma subsampling smears thin red annotation strokes; worth the bytes."""
JPEG_OPTIMIZE = True
"""Optimised Huffman tables: deterministic, smaller, little extra time."""
PNG_ISAL_LEVEL = 1
"""ISA-L level 1: as small as level 2 and smaller than 3 on exports, at the same speed as 0."""
PNG_SMALL_LEVEL = 6
"""zlib level of the ``small`` PNG writer (Pillow's default)."""
PNG_BAND_BYTES = 1 << 20
"""Rows are filtered and deflated about this many bytes at a time."""


def _opaque(img: Image.Image) -> bool:
    return img.mode != "RGBA" or img.getchannel("A").getextrema() == (255, 255)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _text_chunk(key: str, value: str) -> bytes:
    """tEXt when key and value are Latin-1 (what PNG's tEXt allows), else UTF-8 iTXt."""
    name = key.encode("latin-1", "replace")[:79]
    try:
        return _chunk(b"tEXt", name + b"\x00" + value.encode("latin-1"))
    except UnicodeEncodeError:
        return _chunk(b"iTXt", name + b"\x00\x00\x00\x00\x00" + value.encode("utf-8"))


class PngWriter:
    """Writes an 8-bit RGB or RGBA PNG from bands of rows given top to bottom.

    ``dpi`` becomes a pHYs chunk, ``provenance`` text chunks sorted by key (as Pillow
    writes them). Collect the file with :meth:`finish`.
    """

    def __init__(self, size: tuple[int, int], mode: str, *, dpi: float | None = None,
                 provenance: Mapping[str, str] | None = None) -> None:
        if mode not in ("RGB", "RGBA"):
            raise ValueError(f"PngWriter writes RGB or RGBA, not {mode}")
        self.size, self.mode = size, mode
        self._rows_done = 0
        self._prev: Image.Image | None = None
        self._deflate = isal_zlib.compressobj(PNG_ISAL_LEVEL)
        colour_type = 2 if mode == "RGB" else 6
        out = [b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", struct.pack(">IIBBBBB", size[0], size[1], 8, colour_type, 0, 0, 0))]
        for key in sorted(provenance or {}):
            out.append(_text_chunk(key, (provenance or {})[key]))
        if dpi is not None:
            ppm = int(dpi / 0.0254 + 0.5)  # as Pillow writes it
            out.append(_chunk(b"pHYs", struct.pack(">IIB", ppm, ppm, 1)))
        self._out = out

    def write(self, band: Image.Image) -> None:
        """Append ``band`` (full width, next rows, this writer's mode) to the image."""
        w, h = band.size
        if w != self.size[0] or band.mode != self.mode or self._rows_done + h > self.size[1]:
            raise ValueError("band does not fit the image")
        up = Image.new(self.mode, band.size)
        if self._prev is not None:
            up.paste(self._prev, (0, 0))
        if h > 1:
            up.paste(band.crop((0, 0, w, h - 1)), (0, 1))
        self._prev = band.crop((0, h - 1, w, h))
        raw = ImageChops.subtract_modulo(band, up).tobytes()
        bpl = w * len(self.mode)
        data = b"".join(b"\x02" + raw[i : i + bpl] for i in range(0, len(raw), bpl))
        self._idat(self._deflate.compress(data))
        self._rows_done += h

    def _idat(self, data: bytes) -> None:
        if data:
            self._out.append(_chunk(b"IDAT", data))

    def finish(self) -> bytes:
        if self._rows_done != self.size[1]:
            raise ValueError(f"{self._rows_done} of {self.size[1]} rows written")
        self._idat(self._deflate.flush())
        self._out.append(_chunk(b"IEND", b""))
        data = b"".join(self._out)
        self._out = []
        return data


def band_rows(width: int, mode: str) -> int:
    """Rows per band so that a band is about :data:`PNG_BAND_BYTES`."""
    return max(1, PNG_BAND_BYTES // max(1, width * len(mode)))


def encode_png(img: Image.Image, *, speed: str = DEFAULT_PNG_SPEED, dpi: float | None = None,
               provenance: Mapping[str, str] | None = None) -> bytes:
    """RGBA PNG (RGB when every pixel is opaque: smaller, same pixels)."""
    if speed not in PNG_SPEEDS:
        raise ValueError(f"png speed must be one of {PNG_SPEEDS}, not {speed!r}")
    mode = "RGB" if _opaque(img) else "RGBA"
    if speed == "small":
        out = img if img.mode == mode else img.convert(mode)
        info = PngInfo()
        for key in sorted(provenance or {}):
            info.add_text(key, (provenance or {})[key])
        buf = BytesIO()
        params: dict[str, object] = {"compress_level": PNG_SMALL_LEVEL, "optimize": False, "pnginfo": info}
        if dpi is not None:
            params["dpi"] = (dpi, dpi)
        out.save(buf, format="PNG", **params)
        return buf.getvalue()
    writer = PngWriter(img.size, mode, dpi=dpi, provenance=provenance)
    step = band_rows(img.width, mode)
    for y in range(0, img.height, step):
        band = img.crop((0, y, img.width, min(img.height, y + step)))
        writer.write(band if band.mode == mode else band.convert(mode))
    return writer.finish()


def encode_jpeg(
    img: Image.Image, *, quality: int, dpi: float | None = None, provenance: Mapping[str, str] | None = None
) -> bytes:
    """Baseline JPEG; a non-opaque input is flattened on white first (JPEG has no alpha)."""
    if img.mode == "RGBA" and not _opaque(img):
        flat = Image.new("RGBA", img.size, (255, 255, 255, 255))
        flat.alpha_composite(img)
        img = flat
    rgb = img if img.mode in ("RGB", "RGBX") else img.convert("RGB")  # RGBX: libjpeg reads it as is
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
