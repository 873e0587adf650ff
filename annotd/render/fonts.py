"""Deterministic fonts, loaded by file from pinned PyPI packages.

Why: browsers and system font lookup make exports differ across machines (Excalidraw #8296,
tldraw #1845). Here every face is a TTF shipped inside a pinned wheel, opened by its path inside
that package; nothing is looked up by family name on the machine and no Debian font is used.
A missing file raises :class:`FontMissing` -- a silent fallback would change every exported
pixel without anyone noticing.

The packaged fonts are variable fonts (``wght`` axis). Bold is the font's own designed Bold
instance (weight 700 on the axis, interpolated between the designer's masters), not a
synthetic stroke-thickening. Text is laid out with Pillow's BASIC engine: RAQM would load the
machine's libfribidi at run time, which makes output depend on the machine.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

WEIGHTS: dict[str, int] = {"normal": 400, "bold": 700}


class FontMissing(RuntimeError):
    """A font file the renderer needs is not installed (a deployment error, not a user one)."""


@dataclass(frozen=True, slots=True)
class FontFace:
    """Where one family lives: PyPI package, its import name, the file inside it, CSS name."""

    package: str
    module: str
    relpath: str
    css_family: str


FACES: dict[str, FontFace] = {
    "sans": FontFace("fontpkg-noto-sans", "fontpkg_noto_sans", "files/NotoSans[wdth,wght].ttf", "Noto Sans"),
    "serif": FontFace("fontpkg-noto-serif", "fontpkg_noto_serif", "files/NotoSerif[wdth,wght].ttf", "Noto Serif"),
    "mono": FontFace(
        "fontpkg-jetbrains-mono", "fontpkg_jetbrains_mono", "files/JetBrainsMono[wght].ttf", "JetBrains Mono"
    ),
}


def font_path(family: str) -> Path:
    """Path of the TTF for ``family`` inside its package; :class:`FontMissing` if absent."""
    face = FACES.get(family)
    if face is None:
        raise FontMissing(f"no font configured for family {family!r}")
    spec = importlib.util.find_spec(face.module)
    if spec is None or spec.origin is None:
        raise FontMissing(f"font package {face.package} is not installed (family {family!r})")
    path = Path(spec.origin).resolve().parent / face.relpath
    if not path.is_file():
        raise FontMissing(f"font file {path} missing from {face.package} (family {family!r})")
    return path


def all_font_paths() -> dict[str, Path]:
    """Every configured family's file; used by the SVG rasteriser and by a startup check."""
    return {fam: font_path(fam) for fam in FACES}


@lru_cache(maxsize=256)
def load_font(family: str, weight: str, size: float, path: Path | None = None) -> ImageFont.FreeTypeFont:
    """A FreeType face of ``family`` at ``weight`` (``normal``/``bold``) and pixel ``size``.

    ``path`` overrides the packaged file (tests use it to prove a missing file raises).
    Cached: opening a 2 MB variable font costs more than rendering a label.
    """
    if weight not in WEIGHTS:
        raise ValueError(f"unknown font weight {weight!r}")
    p = path if path is not None else font_path(family)
    if not p.is_file():
        raise FontMissing(f"font file {p} missing (family {family!r})")
    font = ImageFont.truetype(str(p), size=max(size, 1.0), layout_engine=ImageFont.Layout.BASIC)
    axes = font.get_variation_axes()
    values: list[float] = []
    for axis in axes:
        name = axis["name"]
        name_s = name.decode() if isinstance(name, bytes) else str(name)
        if name_s.lower() == "weight":
            lo, hi = float(axis["minimum"] or 0), float(axis["maximum"] or 0)
            values.append(min(max(float(WEIGHTS[weight]), lo), hi))
        else:
            values.append(float(axis["default"] or 0))
    if not any((a["name"] in (b"Weight", "Weight")) for a in axes):
        raise FontMissing(f"{p} has no weight axis; cannot give a real {weight} face")
    font.set_variation_by_axes(values)
    return font
