"""Validate API input before it reaches the document.

Why separate from the view: the view *repairs* what raw Yjs clients already wrote (it
cannot refuse), while the API can and must *refuse*: every error here is an
:class:`~annotd.base.errors.InvalidParams` naming the offending field with a dotted path
(``annotation.style.strokeWidth``, ``annotation.points[3]``) so a client can highlight it.

Every function returns a normalized copy (floats for numbers, quantized points, rotation
in [0, 360)) ready to store; nothing here touches a ``pycrdt.Doc``.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping
from typing import Any

from annotd.base.errors import InvalidParams
from annotd.base.identifiers import COLOR_RE, SHA256_RE, is_id
from annotd.canvas import schema
from annotd.canvas.fractional import is_valid_key

__all__ = [
    "validate_anchor",
    "validate_annotation_create",
    "validate_annotation_patch",
    "validate_body",
    "validate_direction",
    "validate_id",
    "validate_ids",
    "validate_image_ref",
    "validate_user",
]

DIRECTIONS = ("forward", "backward", "front", "back")


def _object(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidParams(field, "must be an object")
    return value


def _number(value: Any, field: str, lo: float = -math.inf, hi: float = math.inf, what: str = "") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidParams(field, f"must be a number{what}")
    try:
        f = float(value)
    except OverflowError:
        raise InvalidParams(field, "must be a finite number") from None
    if not math.isfinite(f):
        raise InvalidParams(field, "must be a finite number")
    if f < lo or f > hi:
        raise InvalidParams(field, f"must be a number{what or _range(lo, hi)}")
    return f


def _range(lo: float, hi: float) -> str:
    if math.isinf(lo) and math.isinf(hi):
        return ""
    if math.isinf(hi):
        return f" ≥ {lo:g}"
    if math.isinf(lo):
        return f" ≤ {hi:g}"
    return f" in {lo:g}..{hi:g}"


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidParams(field, "must be true or false")
    return value


def _choice(value: Any, field: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise InvalidParams(field, f"must be one of {', '.join(choices)}")
    return value


def _text(value: Any, field: str, max_len: int, *, allow_newlines: bool = True) -> str:
    if not isinstance(value, str):
        raise InvalidParams(field, "must be a string")
    if len(value) > max_len:
        raise InvalidParams(field, f"must be at most {max_len} characters")
    for ch in value:
        if unicodedata.category(ch) == "Cc" and not (allow_newlines and ch in "\n\t"):
            raise InvalidParams(field, "must not contain control characters")
    return value


def validate_id(value: Any, field: str = "id") -> str:
    """An id: 1 to 64 of ``A-Z a-z 0-9 _ -``."""
    if not is_id(value):
        raise InvalidParams(field, "must be 1 to 64 characters of A-Z, a-z, 0-9, _ or -")
    return str(value)


def validate_ids(value: Any, field: str = "ids", *, min_count: int = 1, max_count: int = schema.MAX_ANNOTATIONS) -> list[str]:
    """A list of distinct ids (order kept)."""
    if not isinstance(value, list):
        raise InvalidParams(field, "must be an array of ids")
    if not min_count <= len(value) <= max_count:
        raise InvalidParams(field, f"must hold {min_count} to {max_count} ids")
    out = [validate_id(v, f"{field}[{i}]") for i, v in enumerate(value)]
    if len(set(out)) != len(out):
        raise InvalidParams(field, "must not repeat an id")
    return out


def validate_user(value: Any, field: str = "user") -> str:
    """A user id as stamped into ``createdBy``/``updatedBy``/``author``."""
    text = _text(value, field, schema.MAX_USER_LENGTH, allow_newlines=False)
    if not text:
        raise InvalidParams(field, "must not be empty")
    return text


def validate_direction(value: Any, field: str = "direction") -> str:
    return _choice(value, field, DIRECTIONS)


def validate_body(value: Any, field: str = "body") -> str:
    """A comment body: 1..MAX_BODY_LENGTH characters, not only whitespace, newlines and
    tabs allowed, other control characters refused. Stored as given (not stripped)."""
    body = _text(value, field, schema.MAX_BODY_LENGTH)
    if not body.strip():
        raise InvalidParams(field, "must not be empty")
    return body


def validate_image_ref(value: Any, field: str = "image") -> dict[str, Any]:
    """``{sha256, width, height, mime}`` as stored in ``meta.image``."""
    obj = _object(value, field)
    unknown = set(obj) - {"sha256", "width", "height", "mime"}
    if unknown:
        raise InvalidParams(f"{field}.{sorted(unknown)[0]}", "unknown field")
    sha = obj.get("sha256")
    if not isinstance(sha, str) or not SHA256_RE.fullmatch(sha):
        raise InvalidParams(f"{field}.sha256", "must be 64 lowercase hex digits")
    out: dict[str, Any] = {"sha256": sha}
    for side in ("width", "height"):
        v = _number(obj.get(side), f"{field}.{side}", 1, schema.MAX_IMAGE_SIDE)
        if v != int(v):
            raise InvalidParams(f"{field}.{side}", "must be an integer")
        out[side] = int(v)
    out["mime"] = _choice(obj.get("mime"), f"{field}.mime", schema.IMAGE_MIMES)
    return out


def _style(value: Any, field: str) -> dict[str, Any]:
    obj = _object(value, field)
    out: dict[str, Any] = {}
    for key, v in obj.items():
        f = f"{field}.{key}"
        if key in ("stroke", "fill"):
            if not isinstance(v, str) or not (v == "none" or COLOR_RE.fullmatch(v)):
                raise InvalidParams(f, "must be #rrggbb, #rrggbbaa or none")
            out[key] = v
        elif key == "strokeWidth":
            out[key] = _number(v, f, 0, schema.MAX_STROKE_WIDTH, f" ≥ 0 and ≤ {schema.MAX_STROKE_WIDTH:g}")
        elif key == "strokeStyle":
            out[key] = _choice(v, f, schema.STROKE_STYLES)
        elif key == "opacity":
            out[key] = _number(v, f, 0, 1)
        elif key == "fontFamily":
            out[key] = _choice(v, f, schema.FONT_FAMILIES)
        elif key == "fontSize":
            out[key] = _number(v, f, schema.MIN_FONT_SIZE, schema.MAX_FONT_SIZE)
        elif key == "fontWeight":
            out[key] = _choice(v, f, schema.FONT_WEIGHTS)
        elif key == "textAlign":
            out[key] = _choice(v, f, schema.TEXT_ALIGNS)
        else:
            raise InvalidParams(f, "unknown style field")
    return out


def _points(value: Any, field: str, type_: str) -> list[float]:
    if not isinstance(value, list):
        raise InvalidParams(field, "must be a flat array [x0, y0, x1, y1, …] of numbers")
    if len(value) % 2:
        raise InvalidParams(field, "must hold an even count of numbers (x, y pairs)")
    n = len(value) // 2
    if n > schema.MAX_POINTS:
        raise InvalidParams(field, f"must hold at most {schema.MAX_POINTS} points")
    if n < schema.MIN_POINTS[type_]:
        raise InvalidParams(field, f"must hold at least {schema.MIN_POINTS[type_]} points for a {type_}")
    lim = schema.COORD_LIMIT
    out: list[float] = []
    q = schema.quantize
    for i, v in enumerate(value):
        if type(v) is float or type(v) is int:
            if not (math.isfinite(v) and -lim <= v <= lim):
                raise InvalidParams(f"{field}[{i}]", f"must be a finite number within ±{lim:g}")
            out.append(q(v))
        else:
            raise InvalidParams(f"{field}[{i}]", "must be a number")
    return out


def _pressures(value: Any, field: str, n_points: int | None) -> list[float] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise InvalidParams(field, "must be an array of numbers in 0..1, one per point, or null")
    if n_points is not None and len(value) != n_points:
        raise InvalidParams(field, f"must hold one number per point ({n_points})")
    return [_number(v, f"{field}[{i}]", 0, 1) for i, v in enumerate(value)]


def _fields(obj: Mapping[str, Any], type_: str, field: str, *, creating: bool) -> dict[str, Any]:
    """Validate every field present in ``obj`` for an annotation of ``type_``."""
    allowed = set(schema.fields_for(type_))
    lim = schema.COORD_LIMIT
    out: dict[str, Any] = {}
    for key, v in obj.items():
        f = f"{field}.{key}"
        if not isinstance(key, str) or key not in allowed:
            if isinstance(key, str) and any(key in fs for fs in schema.TYPE_FIELDS.values()):
                raise InvalidParams(f, f"not allowed for type {type_}")
            raise InvalidParams(f, "unknown field")
        if key in schema.SERVER_FIELDS:
            raise InvalidParams(f, "set by the server")
        if key == "id":
            out[key] = validate_id(v, f)
        elif key == "type":
            out[key] = _choice(v, f, schema.ANNOTATION_TYPES)
        elif key in ("x", "y"):
            out[key] = _number(v, f, -lim, lim)
        elif key in ("w", "h"):
            out[key] = _number(v, f, 0, lim, f" ≥ 0 and ≤ {lim:g}")
        elif key == "rotation":
            out[key] = _number(v, f) % 360.0
        elif key == "z":
            if not is_valid_key(v):
                raise InvalidParams(f, "must be a fractional index key (base-62, e.g. a0)")
            out[key] = v
        elif key == "groupIds":
            ids = validate_ids(v, f, min_count=0, max_count=schema.MAX_GROUP_DEPTH)
            out[key] = ids
        elif key in ("locked", "wrap", "closed"):
            out[key] = _bool(v, f)
        elif key == "style":
            out[key] = _style(v, f)
        elif key == "text":
            out[key] = _text(v, f, schema.MAX_TEXT_LENGTH)
        elif key in ("startArrowhead", "endArrowhead"):
            out[key] = _choice(v, f, schema.ARROWHEADS)
        elif key == "points":
            out[key] = _points(v, f, type_)
        elif key == "pressures":
            pass  # checked below, once the point count is known
    if "pressures" in obj:
        n = len(out["points"]) // 2 if "points" in out else None
        if n is None and not creating:
            raise InvalidParams(f"{field}.pressures", "must be sent together with points")
        out["pressures"] = _pressures(obj["pressures"], f"{field}.pressures", n)
    if creating and type_ in schema.POINT_TYPES and "points" not in out:
        raise InvalidParams(f"{field}.points", f"required for a {type_}")
    return out


def validate_annotation_create(payload: Any, field: str = "annotation") -> dict[str, Any]:
    """A full create payload: ``type`` required (and ``points`` for point types); every
    other field optional (defaults in :mod:`annotd.canvas.schema`). Returns the given
    fields, normalized; ``style`` holds only the style fields given."""
    obj = _object(payload, field)
    if "type" not in obj:
        raise InvalidParams(f"{field}.type", "required")
    type_ = _choice(obj["type"], f"{field}.type", schema.ANNOTATION_TYPES)
    return _fields(obj, type_, field, creating=True)


def validate_annotation_patch(payload: Any, current_type: str, field: str = "annotation") -> dict[str, Any]:
    """A partial update of an existing annotation of ``current_type``: ``id`` required,
    every other field optional; ``type`` may be sent but not changed; ``style`` may hold
    a subset of style fields (each is updated on its own)."""
    obj = _object(payload, field)
    if "id" not in obj:
        raise InvalidParams(f"{field}.id", "required")
    if "type" in obj and obj["type"] != current_type:
        raise InvalidParams(f"{field}.type", f"cannot change (is {current_type}); delete and create instead")
    return _fields(obj, current_type, field, creating=False)


def validate_anchor(value: Any, field: str = "anchor") -> dict[str, Any]:
    """A comment anchor as the API accepts it:

    * ``{kind: "annotation", annotationId, offsetX?, offsetY?}`` (offsets 0..1, default 0.5);
    * ``{kind: "point", x, y}``;
    * ``{kind: "region", x, y, w, h}``.

    Existence of ``annotationId`` is checked by the mutation, not here.
    """
    obj = _object(value, field)
    kind = _choice(obj.get("kind"), f"{field}.kind", schema.ANCHOR_KINDS)
    lim = schema.COORD_LIMIT
    allowed = {
        "annotation": {"kind", "annotationId", "offsetX", "offsetY"},
        "point": {"kind", "x", "y"},
        "region": {"kind", "x", "y", "w", "h"},
    }[kind]
    for key in obj:
        if key not in allowed:
            raise InvalidParams(f"{field}.{key}", f"not allowed for a {kind} anchor")
    if kind == "annotation":
        return {
            "kind": kind,
            "annotationId": validate_id(obj.get("annotationId"), f"{field}.annotationId"),
            "offsetX": _number(obj.get("offsetX", 0.5), f"{field}.offsetX", 0, 1),
            "offsetY": _number(obj.get("offsetY", 0.5), f"{field}.offsetY", 0, 1),
        }
    out: dict[str, Any] = {"kind": kind}
    for key in ("x", "y"):
        out[key] = _number(obj.get(key), f"{field}.{key}", -lim, lim)
    if kind == "region":
        for key in ("w", "h"):
            out[key] = _number(obj.get(key), f"{field}.{key}", 0, lim, f" ≥ 0 and ≤ {lim:g}")
    return out
