"""Deterministic fonts: a fixed list of files, loaded by path, shared by export and page.

Why: browsers and system font lookup make exports differ across machines (Excalidraw #8296,
tldraw #1845). Every face here is a file at a known place -- inside a pinned PyPI wheel where
one exists (``fontpkg-*``), else from a Debian package that ``.ci/run`` and the README install
-- opened by its path; nothing is looked up by family name on the machine.

Each text family (``sans``/``serif``/``mono``) has its own face, then one shared fallback list
(:data:`FALLBACK`): Noto Sans, Arabic, Hebrew, Devanagari, Thai, CJK and Symbola (monochrome
emoji). The shaper picks, per character, the first face in that order whose cmap has it.

Missing files: the three family faces are required (:class:`FontMissing`: a deployment
error). A missing *fallback* file only drops that face from the list (:func:`missing`
names it; ``annotd serve`` logs it at start): the scripts it covers then show the primary
face's missing-glyph box, as they did before fallback existed, instead of refusing to export.

Variable faces are set to wght 400/700 (the designed Bold instance, not synthetic bold);
static faces have a Bold file of their own.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import skia
import uharfbuzz as hb

WEIGHTS: dict[str, int] = {"normal": 400, "bold": 700}


class FontMissing(RuntimeError):
    """A font file the renderer needs is not installed (a deployment error, not a user one)."""


@dataclass(frozen=True, slots=True)
class FontFace:
    """One face: where its file lives and how the page names it.

    ``package`` is the PyPI distribution (``module`` its import name, ``relpath`` inside it)
    or, when ``module`` is empty, the Debian package and ``relpath`` an absolute path.
    ``variable``: the face has a wght axis (set to 400/700); else ``bold`` is its Bold file, or
    ``None`` when it has no bold (Symbola: bold text shows its regular glyphs).
    ``index`` is the face's index in a font collection (.ttc).
    """

    key: str
    package: str
    module: str
    relpath: str
    css_family: str
    bold: str | None = None
    index: int = 0
    variable: bool = True


_NOTO = "/usr/share/fonts/truetype/noto/"
_CJK = "/usr/share/fonts/opentype/noto/"

FACES: dict[str, FontFace] = {
    "sans": FontFace("sans", "fontpkg-noto-sans", "fontpkg_noto_sans", "files/NotoSans[wdth,wght].ttf", "Noto Sans"),
    "serif": FontFace("serif", "fontpkg-noto-serif", "fontpkg_noto_serif", "files/NotoSerif[wdth,wght].ttf",
                      "Noto Serif"),
    "mono": FontFace("mono", "fontpkg-jetbrains-mono", "fontpkg_jetbrains_mono", "files/JetBrainsMono[wght].ttf",
                     "JetBrains Mono"),
}
"""The face of each text family (required)."""

FALLBACK: tuple[FontFace, ...] = (
    FACES["sans"],
    FontFace("arabic", "fontpkg-noto-sans-arabic", "fontpkg_noto_sans_arabic", "files/NotoSansArabic[wdth,wght].ttf",
             "Noto Sans Arabic"),
    FontFace("hebrew", "fonts-noto-core", "", _NOTO + "NotoSansHebrew-Regular.ttf", "Noto Sans Hebrew",
             bold=_NOTO + "NotoSansHebrew-Bold.ttf", variable=False),
    FontFace("devanagari", "fontpkg-noto-sans-devanagari", "fontpkg_noto_sans_devanagari",
             "files/NotoSansDevanagari[wdth,wght].ttf", "Noto Sans Devanagari"),
    FontFace("thai", "fontpkg-noto-sans-thai", "fontpkg_noto_sans_thai", "files/NotoSansThai[wdth,wght].ttf",
             "Noto Sans Thai"),
    FontFace("cjk", "fonts-noto-cjk", "", _CJK + "NotoSansCJK-Regular.ttc", "Noto Sans CJK SC",
             bold=_CJK + "NotoSansCJK-Bold.ttc", index=2, variable=False),
    FontFace("emoji", "fonts-symbola", "", "/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf", "Symbola",
             variable=False),
)
"""Tried in order after a family's own face, per character. CJK is the Simplified Chinese
face of Noto Sans CJK (Han, kana, Hangul, CJK punctuation); Symbola is monochrome emoji up
to Unicode 9."""


def face_path(face: FontFace, weight: str = "normal") -> Path:
    """Path of ``face``'s file for ``weight``; :class:`FontMissing` if it is not installed."""
    rel = face.bold if weight == "bold" and face.bold is not None else face.relpath
    if face.module:
        spec = importlib.util.find_spec(face.module)
        if spec is None or spec.origin is None:
            raise FontMissing(f"font package {face.package} is not installed (face {face.key!r})")
        path = Path(spec.origin).resolve().parent / rel
    else:
        path = Path(rel)
    if not path.is_file():
        raise FontMissing(f"font file {path} missing ({face.package}, face {face.key!r})")
    return path


def font_path(family: str) -> Path:
    """Path of the file of text ``family``; :class:`FontMissing` if absent."""
    face = FACES.get(family)
    if face is None:
        raise FontMissing(f"no font configured for family {family!r}")
    return face_path(face)


def all_font_paths() -> dict[str, Path]:
    """Every text family's file (a startup check)."""
    return {fam: font_path(fam) for fam in FACES}


def missing() -> list[str]:
    """Fallback faces whose file is not installed, as ``package (file)`` for a log line."""
    out = []
    for face in FALLBACK:
        try:
            face_path(face)
            if face.bold is not None:
                face_path(face, "bold")
        except FontMissing as exc:
            out.append(f"{face.package}: {exc}")
    return out


@dataclass(frozen=True, slots=True)
class LoadedFace:
    """One face at one weight, ready to shape (HarfBuzz, in font units) and draw (Skia)."""

    key: str
    weight: str
    source: FontFace
    upem: int
    hb_font: hb.Font
    ascent: float
    """Ascent and descent in em (positive), as HarfBuzz reads them (hhea, or OS/2 typo
    metrics when the font asks for them)."""
    descent: float

    def has(self, cp: int) -> bool:
        return self.hb_font.get_nominal_glyph(cp) is not None

    @property
    def typeface(self) -> skia.Typeface:
        """Skia's typeface of this face at this weight (made on first use: only faces that
        draw something pay for it)."""
        return _typeface(self.source, self.weight)


_FONT_MGR = skia.FontMgr.New_Custom_Empty()
"""Skia's FreeType loader without any system font directory (no fontconfig lookups)."""


@lru_cache(maxsize=64)
def load_face(face: FontFace, weight: str) -> LoadedFace:
    """``face`` at ``weight`` (``normal``/``bold``) for shaping; cached."""
    if weight not in WEIGHTS:
        raise ValueError(f"unknown font weight {weight!r}")
    path = face_path(face, weight)
    # HarfBuzz maps the file (no copy of a 20 MB collection per worker).
    hb_face = hb.Face(hb.Blob.from_file_path(str(path)), face.index)
    hb_font = hb.Font(hb_face)
    if face.variable:
        axes = {a.tag: a for a in hb_face.axis_infos}
        if "wght" not in axes:
            raise FontMissing(f"{path} has no weight axis; cannot give a real {weight} face")
        hb_font.set_variations({"wght": _weight_on_axis(face, weight, axes["wght"])})
    ext = hb_font.get_font_extents("ltr")
    upem = hb_face.upem
    return LoadedFace(face.key, weight, face, upem, hb_font, ext.ascender / upem, -ext.descender / upem)


def _weight_on_axis(face: FontFace, weight: str, axis: hb.OTVarAxisInfo) -> float:
    return min(max(float(WEIGHTS[weight]), axis.min_value), axis.max_value)


@lru_cache(maxsize=64)
def _typeface(face: FontFace, weight: str) -> skia.Typeface:
    """A static face for Skia: the file itself (mapped), or for a variable face the instance
    :func:`face_bytes` makes."""
    path = face_path(face, weight)
    if face.variable:
        typeface = _FONT_MGR.makeFromData(skia.Data.MakeWithCopy(face_bytes(face, weight)), 0)
    else:
        typeface = _FONT_MGR.makeFromFile(str(path), face.index)
    if typeface is None:
        raise FontMissing(f"Skia cannot read {path}")
    return typeface


@lru_cache(maxsize=8)
def face_bytes(face: FontFace, weight: str) -> bytes:
    """The font file of ``face`` at ``weight`` as the export draws it and the page loads it.

    A variable face is instanced at the weight by HarfBuzz (hb-subset pinning every axis, all
    glyphs kept; the same instance the SVG export embeds subsets of): Skia's FreeType drew
    some glyphs of the variable Noto Sans at wght 700 visibly heavier than the rest ("S"),
    the instanced outlines are right (DESIGN.md). A face inside a collection (.ttc) is cut
    out whole, since CSS cannot pick a face of a collection. Other faces are their file."""
    path = face_path(face, weight)
    if not face.variable and face.index == 0:
        return path.read_bytes()
    source = hb.Face(hb.Blob.from_file_path(str(path)), face.index)
    spec = hb.SubsetInput()
    spec.keep_everything()
    if face.variable:
        spec.pin_all_axes_to_default(source)
        axis = next(a for a in source.axis_infos if a.tag == "wght")
        spec.pin_axis_location(source, "wght", _weight_on_axis(face, weight, axis))
    out = hb.subset(source, spec)
    if out is None:
        raise FontMissing(f"cannot cut {face.key} {weight} out of {path}")
    return bytes(out.blob.data)


@lru_cache(maxsize=16)
def chain(family: str, weight: str) -> tuple[LoadedFace, ...]:
    """The faces tried for text in ``family``: its own, then the installed fallbacks."""
    own = FACES.get(family)
    if own is None:
        raise FontMissing(f"no font configured for family {family!r}")
    faces = [load_face(own, weight)]
    for face in FALLBACK:
        if face.key == own.key:
            continue
        try:
            face_path(face, weight)
        except FontMissing:
            continue  # reported by missing(); glyphs it would cover stay with the primary face
        faces.append(load_face(face, weight))
    return tuple(faces)


def css_chain(family: str) -> list[str]:
    """The page's ``font-family`` list for text ``family``: ``annotd-<face>`` in the order
    :func:`chain` tries them (the page falls back per character through it, as Chromium
    does, so screen and export pick the same face for each character)."""
    own = FACES[family]
    return [f"annotd-{own.key}"] + [f"annotd-{f.key}" for f in FALLBACK if f.key != own.key]


def all_faces() -> list[FontFace]:
    """Every face, family faces first: what the page declares with @font-face."""
    return list(FACES.values()) + [f for f in FALLBACK if f.key not in FACES]


def metrics(family: str, weight: str) -> tuple[float, float]:
    """(ascent, descent) in em of ``family``'s own face: what line boxes are built from."""
    f = chain(family, weight)[0]
    return f.ascent, f.descent
