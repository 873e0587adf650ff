"""SVG selectors in and out: an annotation as an SVG shape, and an SVG shape as create fields.

Why its own module: SVG is how W3C Web Annotation names an image region, and it is the one
input here that is XML written by other tools.

SVG input comes from other tools, so it is parsed with ``defusedxml`` (no DTDs, no
entities), only the first shape is read, and unsupported constructs are reported, not
guessed: arcs in paths, nested transforms other than translate/scale/rotate/matrix.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from ..canvas import schema as S
from ..canvas.box import Pt, absolute_points, bbox, box_corners, centre
from ..canvas.model import Annotation
from .geometry import ELLIPSE_POINTS, ellipse_points, num

Affine = tuple[float, float, float, float, float, float]
"""(a, b, c, d, e, f) as in SVG ``matrix(a b c d e f)``: x' = a*x + c*y + e, y' = b*x + d*y + f."""
IDENTITY: Affine = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
SVG_NS = "http://www.w3.org/2000/svg"
MAX_SVG_CHARS = 2_000_000
CURVE_STEPS = 8
"""Line segments per Bézier curve when a path is flattened into points."""


class ShapeError(ValueError):
    """An SVG selector annotd cannot turn into an annotation (the message says why)."""


def _pts(pts: Sequence[Pt]) -> str:
    return " ".join(f"{num(x)},{num(y)}" for x, y in pts)


def to_svg(a: Annotation) -> str:
    """An SvgSelector value for ``a`` in absolute image pixels, in the forms Annotorious 3
    reads (it dispatches on the element name and reads only a few): no transforms, a rotated
    shape as the ``<polygon>`` of its outline, every open shape as a ``<path>`` without ``Z``."""
    if a.type in ("rect", "text"):
        if a.rotation:
            return _svg(f'<polygon points="{_pts(box_corners(a))}"/>')
        return _svg(f'<rect x="{num(a.x)}" y="{num(a.y)}" width="{num(a.w)}" height="{num(a.h)}"/>')
    if a.type == "ellipse":
        if a.rotation:  # Annotorious' ellipse has no rotation: its outline keeps the shape
            return _svg(f'<polygon points="{_pts(ellipse_points(a))}"/>')
        cx, cy = centre(a)
        # Without xmlns: Annotorious 3.8 reads an <ellipse> inside <svg xmlns="…"> as NaN
        # (its parseSVGXML hands back the <svg> root, whose cx/cy/rx/ry do not exist). An
        # unqualified <svg> is what Annotorious writes itself; annotd reads both.
        return f'<svg><ellipse cx="{num(cx)}" cy="{num(cy)}" rx="{num(a.w / 2)}" ry="{num(a.h / 2)}"/></svg>'
    if a.type == "polygon" and a.closed:
        return _svg(f'<polygon points="{_pts(absolute_points(a))}"/>')
    return _svg(f'<path d="{path_data(absolute_points(a))}"/>')  # line, arrow, open polygon, freehand


def _svg(body: str) -> str:
    return f'<svg xmlns="{SVG_NS}">{body}</svg>'


def path_data(pts: Sequence[Pt]) -> str:
    """An open path through ``pts``: ``M x y L x y …`` (no ``Z``: Annotorious reads a path
    without ``Z`` as a polyline, with it as a polygon)."""
    return "M" + " L".join(f"{num(x)} {num(y)}" for x, y in pts)


def point_svg(x: float, y: float) -> str:
    return _svg(f'<circle cx="{num(x)}" cy="{num(y)}" r="0"/>')


def region_svg(x: float, y: float, w: float, h: float) -> str:
    return _svg(f'<rect x="{num(x)}" y="{num(y)}" width="{num(w)}" height="{num(h)}"/>')


# -- SVG / xywh → annotd create fields -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParsedShape:
    fields: dict[str, object]
    """Create fields (type, x, y, w, h, rotation, points, closed) ready for validation."""
    notes: tuple[str, ...] = ()


_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_NUM_RE = re.compile(_NUM)
_TRANSFORM_RE = re.compile(r"(matrix|translate|scale|rotate|skewX|skewY)\s*\(([^)]*)\)")
_PATH_RE = re.compile(rf"([MmLlHhVvZzCcSsQqTtAa])|({_NUM})")


def _float(text: str | None, what: str) -> float:
    if text is None:
        raise ShapeError(f"{what} is missing")
    m = _NUM_RE.fullmatch(text.strip().removesuffix("px"))
    if m is None:
        raise ShapeError(f"{what} is not a number: {text[:40]!r}")
    v = float(m.group(0))
    if not math.isfinite(v) or abs(v) > S.COORD_LIMIT:
        raise ShapeError(f"{what} is outside ±{S.COORD_LIMIT:g}")
    return v


def _mul(m: Affine, n: Affine) -> Affine:
    """``m`` after ``n``."""
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (a * a2 + c * b2, b * a2 + d * b2, a * c2 + c * d2, b * c2 + d * d2, a * e2 + c * f2 + e, b * e2 + d * f2 + f)


def _transform(text: str | None) -> Affine:
    m = IDENTITY
    if not text:
        return m
    for name, args_text in _TRANSFORM_RE.findall(text):
        args = [float(v) for v in _NUM_RE.findall(args_text)]
        if name == "matrix" and len(args) == 6:
            t: Affine = (args[0], args[1], args[2], args[3], args[4], args[5])
        elif name == "translate" and len(args) in (1, 2):
            t = (1, 0, 0, 1, args[0], args[1] if len(args) == 2 else 0.0)
        elif name == "scale" and len(args) in (1, 2):
            t = (args[0], 0, 0, args[1] if len(args) == 2 else args[0], 0, 0)
        elif name == "rotate" and len(args) in (1, 3):
            r = math.radians(args[0])
            c, s = math.cos(r), math.sin(r)
            cx, cy = (args[1], args[2]) if len(args) == 3 else (0.0, 0.0)
            t = (c, s, -s, c, cx - c * cx + s * cy, cy - s * cx - c * cy)
        else:
            raise ShapeError(f"transform {name}({args_text.strip()[:40]}) is not supported")
        m = _mul(m, t)
    return m


def _apply(m: Affine, pts: Sequence[Pt]) -> list[Pt]:
    a, b, c, d, e, f = m
    return [(a * x + c * y + e, b * x + d * y + f) for x, y in pts]


def _rotation_about(m: Affine, cx: float, cy: float) -> float | None:
    """The angle if ``m`` is a pure rotation that keeps ``(cx, cy)`` fixed, else ``None``."""
    a, b, c, d, e, f = m
    if not (math.isclose(a, d, abs_tol=1e-9) and math.isclose(b, -c, abs_tol=1e-9)
            and math.isclose(a * a + b * b, 1.0, abs_tol=1e-9)):
        return None
    x, y = _apply(m, [(cx, cy)])[0]
    if not (math.isclose(x, cx, abs_tol=1e-6) and math.isclose(y, cy, abs_tol=1e-6)):
        return None
    return math.degrees(math.atan2(b, a)) % 360.0


def _points_attr(text: str | None) -> list[Pt]:
    values = [_float(v, "points") for v in _NUM_RE.findall(text or "")]
    if len(values) % 2:
        raise ShapeError("points has an odd count of numbers")
    return list(zip(values[0::2], values[1::2], strict=True))


def _bezier(p0: Pt, ctrl: Sequence[Pt], p3: Pt) -> list[Pt]:
    out = []
    for i in range(1, CURVE_STEPS + 1):
        t = i / CURVE_STEPS
        u = 1 - t
        if len(ctrl) == 1:
            (q,) = ctrl
            out.append((u * u * p0[0] + 2 * u * t * q[0] + t * t * p3[0], u * u * p0[1] + 2 * u * t * q[1] + t * t * p3[1]))
        else:
            c1, c2 = ctrl
            out.append((u**3 * p0[0] + 3 * u * u * t * c1[0] + 3 * u * t * t * c2[0] + t**3 * p3[0],
                        u**3 * p0[1] + 3 * u * u * t * c1[1] + 3 * u * t * t * c2[1] + t**3 * p3[1]))
    return out


def path_points(d: str) -> tuple[list[Pt], bool, list[str]]:
    """Flatten the first subpath of SVG path data: (points, closed, notes)."""
    tokens = _PATH_RE.findall(d)
    notes: list[str] = []
    pts: list[Pt] = []
    cmd = ""
    cur: Pt = (0.0, 0.0)
    last_ctrl: Pt | None = None
    closed = False
    i = 0

    def take(n: int) -> list[float]:
        nonlocal i
        vals = []
        for _ in range(n):
            if i >= len(tokens) or not tokens[i][1]:
                raise ShapeError(f"path command {cmd} needs {n} numbers")
            vals.append(_float(tokens[i][1], "path"))
            i += 1
        return vals

    while i < len(tokens):
        if tokens[i][0]:
            cmd = tokens[i][0]
            i += 1
            if cmd in "Zz":
                closed = True
                if any(t[0] for t in tokens[i:]) or any(t[1] for t in tokens[i:]):
                    notes.append("only the first subpath of the SVG path was imported")
                break
            if cmd in "Mm" and pts:
                notes.append("only the first subpath of the SVG path was imported")
                break
        elif not cmd:
            raise ShapeError("path data must start with a command")
        rel = cmd.islower()
        ox, oy = cur if rel else (0.0, 0.0)
        up = cmd.upper()
        if up in "ML":
            x, y = take(2)
            cur = (ox + x, oy + y)
            pts.append(cur)
            cmd = {"M": "L", "m": "l"}.get(cmd, cmd)
            last_ctrl = None
        elif up == "H":
            cur = ((ox if rel else 0.0) + take(1)[0], cur[1])
            pts.append(cur)
        elif up == "V":
            cur = (cur[0], (oy if rel else 0.0) + take(1)[0])
            pts.append(cur)
        elif up in "CS":
            v = take(6 if up == "C" else 4)
            if up == "C":
                c1: Pt = (ox + v[0], oy + v[1])
                rest = v[2:]
            else:
                c1 = (2 * cur[0] - last_ctrl[0], 2 * cur[1] - last_ctrl[1]) if last_ctrl else cur
                rest = v
            c2, end = (ox + rest[0], oy + rest[1]), (ox + rest[2], oy + rest[3])
            pts.extend(_bezier(cur, (c1, c2), end))
            cur, last_ctrl = end, c2
        elif up in "QT":
            v = take(4 if up == "Q" else 2)
            if up == "Q":
                q: Pt = (ox + v[0], oy + v[1])
                end = (ox + v[2], oy + v[3])
            else:
                q = (2 * cur[0] - last_ctrl[0], 2 * cur[1] - last_ctrl[1]) if last_ctrl else cur
                end = (ox + v[0], oy + v[1])
            pts.extend(_bezier(cur, (q,), end))
            cur, last_ctrl = end, q
        else:
            raise ShapeError("arc commands (A) in SVG paths are not supported")
        if up not in "CSQT":
            last_ctrl = None
    if any(up in "CSQT" for up in (t[0].upper() for t in tokens if t[0])):
        notes.append("curves in the SVG path were flattened into points")
    return pts, closed, notes


def _points_fields(type_: str, pts: list[Pt], **extra: object) -> dict[str, object]:
    x, y, w, h = bbox(pts)
    flat = [v for px, py in pts for v in (px - x, py - y)]
    return {"type": type_, "x": x, "y": y, "w": w, "h": h, "points": flat, **extra}


def _box_fields(type_: str, x: float, y: float, w: float, h: float, m: Affine) -> dict[str, object] | None:
    """A rect/ellipse with ``m`` applied, if ``m`` keeps it one (translation or rotation)."""
    if w < 0 or h < 0:
        raise ShapeError("width and height must not be negative")
    cx, cy = x + w / 2, y + h / 2
    a, b, c, d, e, f = m
    if (a, b, c, d) == (1, 0, 0, 1):
        return {"type": type_, "x": x + e, "y": y + f, "w": w, "h": h}
    ncx, ncy = _apply(m, [(cx, cy)])[0]
    angle = _rotation_about((a, b, c, d, 0.0, 0.0), 0.0, 0.0)
    if angle is None:
        return None
    return {"type": type_, "x": ncx - w / 2, "y": ncy - h / 2, "w": w, "h": h, "rotation": angle}


def _element_fields(el: object, inherited: Affine) -> ParsedShape:
    tag = el.tag.rsplit("}", 1)[-1]  # type: ignore[attr-defined]
    get = el.get  # type: ignore[attr-defined]
    m = _mul(inherited, _transform(get("transform")))
    if tag == "rect":
        x, y = _float(get("x", "0"), "rect x"), _float(get("y", "0"), "rect y")
        w, h = _float(get("width"), "rect width"), _float(get("height"), "rect height")
        fields = _box_fields("rect", x, y, w, h, m)
        if fields is None:
            corners = _apply(m, [(x, y), (x + w, y), (x + w, y + h), (x, y + h)])
            return ParsedShape(_points_fields("polygon", corners, closed=True), ("a skewed rectangle became a polygon",))
        return ParsedShape(fields)
    if tag in ("ellipse", "circle"):
        cx, cy = _float(get("cx", "0"), f"{tag} cx"), _float(get("cy", "0"), f"{tag} cy")
        if tag == "circle":
            rx = ry = _float(get("r"), "circle r")
        else:
            rx, ry = _float(get("rx"), "ellipse rx"), _float(get("ry"), "ellipse ry")
        fields = _box_fields("ellipse", cx - rx, cy - ry, 2 * rx, 2 * ry, m)
        if fields is None:
            step = 2 * math.pi / ELLIPSE_POINTS
            pts = _apply(m, [(cx + rx * math.cos(i * step), cy + ry * math.sin(i * step)) for i in range(ELLIPSE_POINTS)])
            return ParsedShape(_points_fields("polygon", pts, closed=True), ("a skewed ellipse became a polygon",))
        return ParsedShape(fields)
    if tag in ("polygon", "polyline"):
        pts = _apply(m, _points_attr(get("points")))
        if tag == "polygon":
            return ParsedShape(_points_fields("polygon", pts, closed=True))
        return ParsedShape(_points_fields("line", pts))
    if tag == "line":
        pts = [(_float(get("x1", "0"), "x1"), _float(get("y1", "0"), "y1")),
                (_float(get("x2", "0"), "x2"), _float(get("y2", "0"), "y2"))]
        return ParsedShape(_points_fields("line", _apply(m, pts)))
    if tag == "path":
        pts, closed, notes = path_points(get("d") or "")
        pts = _apply(m, pts)
        if closed:
            return ParsedShape(_points_fields("polygon", pts, closed=True), tuple(notes))
        return ParsedShape(_points_fields("freehand", pts), tuple(notes))
    raise ShapeError(f"<{tag}> is not a shape annotd can import")


SHAPE_TAGS = ("rect", "ellipse", "circle", "polygon", "polyline", "line", "path")


def parse_svg(value: str) -> ParsedShape:
    """The first shape of an SvgSelector value as annotd create fields."""
    if len(value) > MAX_SVG_CHARS:
        raise ShapeError(f"the SVG is longer than {MAX_SVG_CHARS} characters")
    try:
        root = SafeET.fromstring(value, forbid_dtd=True)
    except (SafeET.ParseError, DefusedXmlException, ValueError) as exc:
        raise ShapeError(f"the SVG is not well-formed XML: {exc}") from None

    def walk(el: object, m: Affine) -> tuple[object, Affine] | None:
        tag = el.tag.rsplit("}", 1)[-1]  # type: ignore[attr-defined]
        if tag in SHAPE_TAGS:
            return el, m
        inner = _mul(m, _transform(el.get("transform"))) if tag == "g" else m  # type: ignore[attr-defined]
        for child in el:  # type: ignore[attr-defined]
            found = walk(child, inner)
            if found is not None:
                return found
        return None

    found = walk(root, IDENTITY)
    if found is None:
        raise ShapeError("the SVG has no rect, ellipse, circle, polygon, polyline, line or path")
    el, m = found
    shape = _element_fields(el, m)
    count = sum(1 for e in root.iter() if e.tag.rsplit("}", 1)[-1] in SHAPE_TAGS)
    if count > 1:
        return ParsedShape(shape.fields, (*shape.notes, f"only the first of {count} SVG shapes was imported"))
    return shape


_XYWH_RE = re.compile(rf"xywh=(?:(pixel|percent):)?({_NUM}),({_NUM}),({_NUM}),({_NUM})")


def parse_xywh(value: str, image: tuple[int, int] | None) -> ParsedShape:
    """A media-fragment ``xywh=`` box (pixels, or percent of ``image`` width × height)."""
    m = _XYWH_RE.fullmatch(value.strip().removeprefix("#"))
    if m is None:
        raise ShapeError(f"{value[:60]!r} is not an xywh= media fragment")
    unit = m.group(1) or "pixel"
    x, y, w, h = (float(m.group(i)) for i in range(2, 6))
    if unit == "percent":
        if image is None:
            raise ShapeError("xywh=percent: needs the room's base image to know its size")
        x, w = x * image[0] / 100, w * image[0] / 100
        y, h = y * image[1] / 100, h * image[1] / 100
    if w < 0 or h < 0:
        raise ShapeError("xywh width and height must not be negative")
    return ParsedShape({"type": "rect", "x": x, "y": y, "w": w, "h": h})
