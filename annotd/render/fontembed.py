"""The SVG export's fonts: each face it uses, cut to the characters it draws, as @font-face.

Why embed: a viewer without the exact files substitutes its own fonts, and text then takes
another width than in the PNG (lines overrun their box, centring shifts). Whole files are
large (Noto Sans CJK is 20 MB), so each (face, weight) is subset by HarfBuzz's subsetter
(hb-subset, through the pinned uharfbuzz that shapes the text) to the characters the drawing
gives it -- by the same per-character fallback as the raster export
(:func:`textlayout.faces_used`) -- keeping hb-subset's default OpenType layout features (the
ones HarfBuzz's shapers apply by default: joining forms, Indic conjuncts, marks, kerning,
ligatures), and the glyphs they reach, so that the viewer's shaper joins Arabic and forms
Devanagari clusters as HarfBuzz does here. Variable faces are
pinned to the weight (wght 400/700, other axes at their defaults): the subset is a static
font and the viewer cannot pick another instance. fontTools' subsetter was measured first:
4-10 s per face (it decompiles Noto's whole GSUB/GPOS in Python) against ~50 ms.

Determinism: hb-subset writes no timestamps; the same characters give the same bytes.
"""

from __future__ import annotations

import base64
from functools import lru_cache

import uharfbuzz as hb

from .fonts import WEIGHTS, FontFace, face_path


def css_family(face: FontFace, weight: str) -> str:
    """The family name an embedded subset is declared under: one per face and weight, so
    the viewer never synthesises bold (a face without a bold file is declared as its own
    bold, as the raster export draws it)."""
    return f"annotd-{face.key}-{WEIGHTS[weight]}"


@lru_cache(maxsize=64)
def subset_font(face: FontFace, weight: str, chars: str) -> bytes:
    """``face`` at ``weight`` cut to ``chars`` (sorted, unique) as a TrueType/OpenType file."""
    source = hb.Face(hb.Blob.from_file_path(str(face_path(face, weight))), face.index)
    spec = hb.SubsetInput()
    spec.unicode_set.update([ord(c) for c in chars])
    if face.variable:
        spec.pin_all_axes_to_default(source)
        spec.pin_axis_location(source, "wght", float(WEIGHTS[weight]))
    out = hb.subset(source, spec)
    if out is None:
        raise RuntimeError(f"hb-subset failed on {face.key} {weight}")
    return bytes(out.blob.data)


def font_face_css(uses: dict[tuple[FontFace, str], set[str]]) -> str:
    """@font-face rules for every (face, weight) and the characters drawn with it, in a
    fixed order (face key, weight)."""
    rules = []
    for (face, weight), chars in sorted(uses.items(), key=lambda kv: (kv[0][0].key, kv[0][1])):
        data = base64.b64encode(subset_font(face, weight, "".join(sorted(chars)))).decode("ascii")
        rules.append(f'@font-face{{font-family:"{css_family(face, weight)}";font-weight:{WEIGHTS[weight]};'
                     f'src:url(data:font/otf;base64,{data})}}')
    return "".join(rules)
