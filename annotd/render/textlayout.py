"""Text lines in every script: font fallback, bidi, HarfBuzz shaping, UAX #14 wrapping.

Why here and in font units: the raster export, the SVG export and the canvas bounds all need
the same line breaks and widths, at any export scale. A line is shaped once, in em units
(cached), and scaled by whoever draws it:

1. **Font per character** -- the first face of :func:`fonts.chain` whose cmap has the
   character (what Chromium's fallback does cluster by cluster); combining marks, joiners and
   variation selectors stay with the character before them.
2. **Bidi** -- :mod:`.bidi` gives each character its level; a line is cut into segments of
   one level and one face, each shaped by HarfBuzz in its direction (so Arabic joins and
   Devanagari forms its clusters), and the segments are put in visual order (UAX #9 L2).
3. **Wrapping** -- break opportunities from UAX #14 (``uniseg``'s line breaker, pinned), filled
   greedily; spaces at a break hang; a piece wider than the box breaks between grapheme
   clusters (CSS ``overflow-wrap: break-word``).

The buffer's language is fixed (``und``, or ``zh-Hans`` for the CJK face) so that nothing
depends on the machine's locale.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import uharfbuzz as hb
from uniseg.graphemecluster import grapheme_clusters
from uniseg.linebreak import line_break_units

from . import bidi
from .fonts import LoadedFace, chain

_ATTACH = frozenset(("Mn", "Me", "Mc", "Cf"))
"""Categories that never choose a face of their own: marks, joiners, format characters."""


def _sticks(ch: str) -> bool:
    cp = ord(ch)
    return unicodedata.category(ch) in _ATTACH or 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF


@dataclass(frozen=True, slots=True)
class GlyphRun:
    """Glyphs of one face, in visual order: ids and positions (em, y down) from the line's
    left end at its baseline."""

    face: LoadedFace
    glyphs: tuple[int, ...]
    xs: tuple[float, ...]
    ys: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Shaped:
    runs: tuple[GlyphRun, ...]
    advance: float
    """Width of the line in em."""
    ascent: float
    """The tallest ascent and descent (em) of the faces used (at least the family's own)."""
    descent: float


def _faces(text: str, faces: tuple[LoadedFace, ...]) -> list[int]:
    """Index into ``faces`` of the face chosen for each character."""
    out: list[int] = []
    for ch in text:
        if out and _sticks(ch):
            out.append(out[-1])
            continue
        cp = ord(ch)
        out.append(next((k for k, f in enumerate(faces) if f.has(cp)), 0))
    return out


def faces_used(text: str, family: str, weight: str) -> list[tuple[LoadedFace, str]]:
    """The faces that draw ``text`` and the characters each draws (what an embedded font
    subset must hold), in the order of ``family``'s fallback chain."""
    faces = chain(family, weight)
    out: dict[int, list[str]] = {}
    for ch, k in zip(text, _faces(text, faces), strict=True):
        out.setdefault(k, []).append(ch)
    return [(faces[k], "".join(out[k])) for k in sorted(out)]


def _shape_segment(face: LoadedFace, text: str, rtl: bool, pen: float) -> tuple[GlyphRun, float]:
    buf = hb.Buffer()
    buf.add_str(text)
    buf.guess_segment_properties()
    buf.direction = "rtl" if rtl else "ltr"
    buf.language = "zh-Hans" if face.key == "cjk" else "und"
    hb.shape(face.hb_font, buf)
    em = float(face.upem)
    glyphs, xs, ys = [], [], []
    for info, pos in zip(buf.glyph_infos, buf.glyph_positions, strict=True):
        glyphs.append(info.codepoint)
        xs.append(pen + pos.x_offset / em)
        ys.append(-pos.y_offset / em)
        pen += pos.x_advance / em
    return GlyphRun(face, tuple(glyphs), tuple(xs), tuple(ys)), pen


@lru_cache(maxsize=8192)
def shape(text: str, family: str, weight: str, base: int = 0) -> Shaped:
    """``text`` (one line) shaped in ``family`` at ``weight``, in em units, in a paragraph of
    direction ``base`` (0 left-to-right, 1 right-to-left: :func:`bidi.base_level` of the
    whole paragraph, so that a wrapped line keeps its paragraph's direction)."""
    faces = chain(family, weight)
    asc, desc = faces[0].ascent, faces[0].descent
    if not text:
        return Shaped((), 0.0, asc, desc)
    lv = bidi.levels(text, base)
    which = _faces(text, faces)
    segments: list[tuple[int, int, int]] = []
    start = 0
    for i in range(1, len(text) + 1):
        if i == len(text) or lv[i] != lv[start] or which[i] != which[start]:
            segments.append((start, i, lv[start]))
            start = i
    runs: list[GlyphRun] = []
    pen = 0.0
    for k in bidi.visual_order(segments):
        s, e, level = segments[k]
        face = faces[which[s]]
        run, pen = _shape_segment(face, text[s:e], level % 2 == 1, pen)
        runs.append(run)
        asc, desc = max(asc, face.ascent), max(desc, face.descent)
    return Shaped(tuple(runs), pen, asc, desc)


_PLAIN = re.compile(r"(?:[A-Za-z0-9]+(?:[,.!?](?= |$))?| )*")
"""Latin letters, digits and spaces, with ``,.!?`` only before a space or at the end: for
such a paragraph UAX #14 allows a break exactly after each run of spaces (AL, NU never break
between them, nothing breaks before IS, EX or SP: LB7, LB13, LB18, LB23, LB25, LB28), so the
general (slow, pure-Python) breaker is not needed. ``tests/render/test_text_layout.py`` checks that
both give the same units."""
_AFTER_SPACES = re.compile(r"[^ ]* *")


def break_units(para: str) -> list[str]:
    """``para`` cut at its UAX #14 line break opportunities (each piece ends at one)."""
    if _PLAIN.fullmatch(para):
        return [u for u in _AFTER_SPACES.findall(para) if u]
    return list(line_break_units(para))


def measure(family: str, weight: str, size: float, text: str) -> float:
    """Advance width of ``text`` (one line) at ``size`` px (a line's width does not depend
    on its direction: the same glyphs in another order)."""
    return shape(text, family, weight).advance * size


def wrap_lines(text: str, family: str, weight: str, size: float, width: float | None) -> list[tuple[str, int]]:
    """Lines and their paragraph's direction (0 LTR, 1 RTL, from its first strong character,
    like CSS ``unicode-bidi: plaintext``). Hard breaks on ``\\n``; when ``width`` is set,
    greedy filling at UAX #14 break opportunities (spaces at a break are dropped), and pieces
    wider than the box break between grapheme clusters (CSS ``overflow-wrap: break-word``)."""
    out: list[tuple[str, int]] = []
    for para in text.split("\n"):
        base = bidi.base_level(para)
        out.extend((line, base) for line in _wrap_paragraph(para, family, weight, size, width))
    return out


def _wrap_paragraph(para: str, family: str, weight: str, size: float, width: float | None) -> list[str]:
    if width is None or width <= 0:
        return [para]

    def fits(s: str) -> bool:
        return measure(family, weight, size, s.rstrip(" ")) <= width

    out: list[str] = []
    line = ""
    for unit in break_units(para):
        if fits(line + unit):
            line += unit
            continue
        if line.strip():
            out.append(line.rstrip(" "))
            line = ""
        if fits(unit):
            line = unit
            continue
        for cluster in grapheme_clusters(unit):
            if line.strip() and not fits(line + cluster):
                out.append(line.rstrip(" "))
                line = ""
            line += cluster
    out.append(line.rstrip(" "))
    return out
