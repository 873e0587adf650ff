"""SVG export from the same scene items as the raster renderer.

Why the same items: dash lengths, arrowheads, text line breaks and badge numbering are
decided once in :mod:`scene`, so SVG and PNG show the same drawing. Strokes use SVG's own
dasharray/caps/joins (the raster export's Skia dashes follow the same semantics); text keeps
the line breaks computed with the packaged fonts, its paragraph direction, and carries the
fonts it uses, subset to its characters (:mod:`.fontembed`), listed in the raster export's
fallback order: a viewer then shapes and falls back exactly as the PNG does.
Output is deterministic: fixed attribute order and number formatting, no ids from counters
that depend on anything but the view.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from xml.sax.saxutils import escape, quoteattr

from PIL import Image

from annotd.canvas.model import CanvasView

from . import geometry as g
from .colors import RGBA, css_hex
from .fontembed import css_family, font_face_css
from .fonts import WEIGHTS, FontFace, chain
from .frame import pixel_size
from .options import RenderOptions
from .raster import background_color, canvas_frame
from .scene import Fill, Item, Stroke, Text, build_items
from .textlayout import faces_used

FontUses = dict[tuple[FontFace, str], set[str]]

_GENERIC = {"sans": "sans-serif", "serif": "serif", "mono": "monospace"}
_ANCHOR = {"l": "start", "m": "middle", "r": "end"}
_ANCHOR_RTL = {"l": "end", "m": "middle", "r": "start"}
"""In a right-to-left line "start" is its right end."""


def num(v: float) -> str:
    """Fixed 3-decimal formatting without trailing zeros (deterministic, compact)."""
    s = f"{v:.3f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _path_d(polys: list[tuple[list[tuple[float, float]], bool]]) -> str:
    parts = []
    for pts, closed in polys:
        if not pts:
            continue
        seg = "M" + " L".join(f"{num(x)} {num(y)}" for x, y in pts)
        parts.append(seg + (" Z" if closed else ""))
    return " ".join(parts)


def _paint(attr: str, color: RGBA) -> str:
    hexc, alpha = css_hex(color)
    return f'{attr}="{hexc}"' + (f' {attr}-opacity="{num(alpha)}"' if alpha < 1 else "")


def _op_svg(op: Fill | Stroke | Text) -> str:
    if isinstance(op, Fill):
        d = _path_d([(list(p), True) for p in op.polys])
        return f'<path d="{d}" {_paint("fill", op.color)} fill-rule="nonzero"/>'
    if isinstance(op, Stroke):
        if op.pressure is not None:
            pts = list(op.paths[0][0])
            pieces = g.round_stroke(pts, [op.width / 2 * f for f in op.pressure])
            d = _path_d([(g.pairs(p), True) for p in pieces])
            return f'<path d="{d}" {_paint("fill", op.color)} fill-rule="nonzero"/>'
        d = _path_d([(list(p), c) for p, c in op.paths])
        cap, join = ("round", "round") if op.round else ("butt", "miter")
        dash = f' stroke-dasharray="{num(op.dash[0])} {num(op.dash[1])}"' if op.dash else ""
        return (
            f'<path d="{d}" fill="none" {_paint("stroke", op.color)} stroke-width="{num(op.width)}"'
            f' stroke-linecap="{cap}" stroke-linejoin="{join}"{dash}/>'
        )
    return _text_svg(op)


def font_uses(items: list[Item]) -> FontUses:
    """Which characters each (face, weight) draws in ``items``."""
    uses: FontUses = {}
    for it in items:
        for op in it.ops:
            if isinstance(op, Text):
                for line in op.lines:
                    for face, chars in faces_used(line.text, op.family, op.weight):
                        uses.setdefault((face.source, op.weight), set()).update(chars)
    return uses


def _text_svg(op: Text) -> str:
    names = [f'"{css_family(f.source, op.weight)}"' for f in chain(op.family, op.weight)]
    fam = ", ".join(names) + f", {_GENERIC[op.family]}"
    lines = "".join(
        f'<text x="{num(ln.x)}" y="{num(ln.baseline)}"'
        + (f' direction="rtl" text-anchor="{_ANCHOR_RTL[ln.anchor]}"' if ln.rtl else f' text-anchor="{_ANCHOR[ln.anchor]}"')
        + f">{escape(ln.text)}</text>"
        for ln in op.lines
        if ln.text
    )
    return (
        f"<g font-family={quoteattr(fam)} font-size=\"{num(op.size)}\" font-weight=\"{WEIGHTS[op.weight]}\""
        f' {_paint("fill", op.color)} xml:space="preserve">{lines}</g>'
    )


def _item_svg(it: Item) -> str:
    attrs = f' data-id={quoteattr(it.id)}'
    if it.rotation % 360:
        attrs += f' transform="rotate({num(it.rotation)} {num(it.cx)} {num(it.cy)})"'
    if it.opacity < 1:
        attrs += f' opacity="{num(it.opacity)}"'
    return f"<g{attrs}>" + "".join(_op_svg(op) for op in it.ops) + "</g>"


def render_svg(
    view: CanvasView,
    base_png: bytes | None,
    options: RenderOptions,
    provenance: Mapping[str, str] | None = None,
) -> bytes:
    """SVG document bytes; user units are image pixels, width/height are scaled."""
    items = build_items(view, options.include_comments, options.comment_states)
    base_img = Image.open(io.BytesIO(base_png)) if base_png is not None else None
    ox, oy, w, h = canvas_frame(view, base_img, items)
    ow, oh = pixel_size(w, h, options.effective_scale)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{ow}" height="{oh}"'
        f' viewBox="{num(ox)} {num(oy)} {num(w)} {num(h)}">',
    ]
    if provenance:
        meta = "".join(f"<entry key={quoteattr(k)}>{escape(provenance[k])}</entry>" for k in sorted(provenance))
        out.append(f'<metadata><provenance xmlns="urn:annotd:export">{meta}</provenance></metadata>')
    uses = font_uses(items)
    if uses:
        out.append(f"<defs><style>{font_face_css(uses)}</style></defs>")
    bg = background_color(options)
    if bg[3] > 0:
        out.append(f'<rect x="{num(ox)}" y="{num(oy)}" width="{num(w)}" height="{num(h)}" {_paint("fill", bg)}/>')
    if base_png is not None:
        b64 = base64.b64encode(base_png).decode("ascii")
        out.append(
            f'<image x="0" y="0" width="{num(w)}" height="{num(h)}" preserveAspectRatio="none"'
            f' href="data:image/png;base64,{b64}"/>'
        )
    out.extend(_item_svg(it) for it in items)
    out.append("</svg>\n")
    return "".join(out).encode("utf-8")
