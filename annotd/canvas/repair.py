"""Repair: one raw stored entry in, one typed model object out, every repair recorded.

Why it exists: any Yjs client can write anything into the document, so nothing downstream
(the JSON API, comment pins, the renderer, export) may trust what is stored. Each function
here reads one entry (an annotation, a thread, ``meta.image``) as :mod:`annotd.canvas.reader`
returned it and never raises on its content:

* an annotation that cannot be shown (id not a valid id, not a map, unknown ``type``) is
  skipped and the reason goes to the caller's ``view_issues``;
* a field that is wrong (NaN, a string for a number, out of range, too many points, a plain
  object where a nested map belongs) is replaced by its default or clamped
  (:mod:`annotd.canvas.coerce`), and the reason goes to ``Annotation.issues`` (prefixed by
  the field name);
* a thread is never dropped for a bad field (a discussion is not lost to a bad anchor): its
  anchor falls back to a point, and the reasons go to the caller's ``issues``.

Nothing here writes the repairs back (the next edit through :mod:`annotd.canvas.ops`
writes clean values for the fields it touches).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from annotd.base.identifiers import SHA256_RE, is_id
from annotd.canvas import schema
from annotd.canvas.box import box_point
from annotd.canvas.coerce import MISSING, boolean, choice, color, describe, integer, is_coordinate, number, string
from annotd.canvas.fractional import FIRST_KEY, is_valid_key
from annotd.canvas.model import Anchor, Annotation, ImageRef, Message, Point, Style, Thread
from annotd.canvas.pins import anchor_offsets, anchor_position, anchor_target
from annotd.canvas.reader import YArrayData, YMapData, YTextData

__all__ = ["sanitize_annotation", "sanitize_image", "sanitize_thread"]

_REQUIRED = ("x", "y", "w", "h")


def _style(raw: Any, issues: list[str]) -> Style:
    if raw is MISSING:
        return Style()
    if not isinstance(raw, dict):
        issues.append(f"style: expected a map, got {describe(raw)}")
        return Style()
    if not isinstance(raw, YMapData):
        issues.append("style: a plain object, not a nested Y.Map (concurrent style edits will not merge)")
    default = Style()
    get = raw.get
    return Style(
        stroke=color(get("stroke", MISSING), "style.stroke", default.stroke, issues),
        fill=color(get("fill", MISSING), "style.fill", default.fill, issues),
        strokeWidth=number(get("strokeWidth", MISSING), "style.strokeWidth", default.strokeWidth, 0.0, schema.MAX_STROKE_WIDTH, issues),
        strokeStyle=choice(get("strokeStyle", MISSING), "style.strokeStyle", schema.STROKE_STYLES, default.strokeStyle, issues),
        opacity=number(get("opacity", MISSING), "style.opacity", default.opacity, 0.0, 1.0, issues),
        fontFamily=choice(get("fontFamily", MISSING), "style.fontFamily", schema.FONT_FAMILIES, default.fontFamily, issues),
        fontSize=number(get("fontSize", MISSING), "style.fontSize", default.fontSize, schema.MIN_FONT_SIZE, schema.MAX_FONT_SIZE, issues),
        fontWeight=choice(get("fontWeight", MISSING), "style.fontWeight", schema.FONT_WEIGHTS, default.fontWeight, issues),
        textAlign=choice(get("textAlign", MISSING), "style.textAlign", schema.TEXT_ALIGNS, default.textAlign, issues),
    )


_NUMBER_TYPES = frozenset({int, float})


def _all_coordinates(flat: list[Any]) -> bool:
    """True if every item is a finite number within ±COORD_LIMIT (C-speed checks: this
    runs over every stored point on every rebuild)."""
    if not flat:
        return True
    if not set(map(type, flat)) <= _NUMBER_TYPES:  # also rules out bool (True == 1)
        return False
    lim = schema.COORD_LIMIT
    # NaN or ±inf make fsum non-finite; min/max then bound the finite values.
    return math.isfinite(math.fsum(flat)) and -lim <= min(flat) and max(flat) <= lim


def _points(raw: Any, pressures_raw: Any, min_points: int, issues: list[str]) -> tuple[Point, ...]:
    if raw is MISSING:
        if min_points:
            issues.append("points: missing")
        return ()
    if not isinstance(raw, list):
        issues.append(f"points: expected an array, got {describe(raw)}")
        return ()
    if isinstance(raw, YArrayData):
        issues.append("points: a Y.Array, expected a plain array")
    flat: list[Any] = raw
    if flat and isinstance(flat[0], list):
        # [[x, y, p?], …] written by some client: accept, report.
        issues.append("points: nested [x, y] pairs, expected a flat [x0, y0, x1, y1, …] array")
        if len(flat) > schema.MAX_POINTS:
            flat = flat[: schema.MAX_POINTS]
        nested = flat
        flat = []
        pressures_from_nested: list[Any] = []
        for item in nested:
            if isinstance(item, list) and len(item) >= 2:
                flat.extend(item[:2])
                pressures_from_nested.append(item[2] if len(item) > 2 else None)
            else:
                flat.extend((None, None))
                pressures_from_nested.append(None)
        if any(p is not None for p in pressures_from_nested) and pressures_raw is MISSING:
            pressures_raw = pressures_from_nested
    if len(flat) > 2 * schema.MAX_POINTS:
        issues.append(f"points: more than {schema.MAX_POINTS} points, truncated")
        flat = flat[: 2 * schema.MAX_POINTS]
    if len(flat) % 2:
        issues.append("points: odd number of coordinates, last one dropped")
        flat = flat[:-1]
    if not _all_coordinates(flat):
        bad = 0
        clean: list[float] = []
        for i in range(0, len(flat), 2):
            x, y = flat[i], flat[i + 1]
            if is_coordinate(x) and is_coordinate(y):
                clean.extend((x, y))
            else:
                bad += 1
        issues.append(f"points: {bad} point(s) not finite numbers within ±{schema.COORD_LIMIT:g}, dropped")
        flat = clean
    n = len(flat) // 2
    if n < min_points:
        issues.append(f"points: {n} point(s), at least {min_points} needed")
    xs = list(map(float, flat[0::2]))
    ys = list(map(float, flat[1::2]))
    if pressures_raw is not MISSING and pressures_raw is not None:
        ok = (
            isinstance(pressures_raw, list)
            and len(pressures_raw) >= n
            and all(p is None or ((type(p) is float or type(p) is int) and 0.0 <= p <= 1.0) for p in pressures_raw[:n])
        )
        if ok:
            ps = [None if p is None else float(p) for p in pressures_raw[:n]]
            return tuple(map(Point, xs, ys, ps))
        issues.append("pressures: expected one number in 0..1 per point, ignored")
    return tuple(map(Point, xs, ys))


def _group_ids(raw: Any, issues: list[str]) -> tuple[str, ...]:
    if raw is MISSING:
        return ()
    if not isinstance(raw, list):
        issues.append(f"groupIds: expected an array, got {describe(raw)}")
        return ()
    out: list[str] = []
    for g in raw[: schema.MAX_GROUP_DEPTH + 1]:
        if is_id(g) and g not in out:
            out.append(g)
    if len(out) != len(raw):
        issues.append("groupIds: invalid, duplicate or too many ids dropped")
    return tuple(out[: schema.MAX_GROUP_DEPTH])


def sanitize_annotation(key: str, raw: Any, view_issues: list[str]) -> Annotation | None:
    """Turn one raw annotation entry into an :class:`Annotation`, or ``None`` if it cannot
    be shown (the reason is appended to ``view_issues``)."""
    if not is_id(key):
        view_issues.append(f"annotations[{key[:70]!r}]: key is not a valid id, skipped")
        return None
    if not isinstance(raw, dict):
        view_issues.append(f"annotations.{key}: expected a map, got {describe(raw)}, skipped")
        return None
    type_ = raw.get("type", MISSING)
    if not isinstance(type_, str) or type_ not in schema.TYPE_FIELDS:
        shown = repr(type_)[:40] if isinstance(type_, str) else describe(type_)
        if type_ is MISSING:
            shown = "missing"
        view_issues.append(f"annotations.{key}.type: {shown} is not a known type, skipped")
        return None
    issues: list[str] = []
    if not isinstance(raw, YMapData):
        issues.append("a plain object, not a nested Y.Map (concurrent edits will not merge)")
    get = raw.get
    if get("id", key) != key:
        issues.append("id: does not match its key in annotations, key used")
    for name in _REQUIRED:
        if name not in raw:
            issues.append(f"{name}: missing")
    lim = schema.COORD_LIMIT
    z = get("z", MISSING)
    if z is MISSING:
        z = FIRST_KEY
    elif not is_valid_key(z):
        issues.append("z: not a fractional index key, a0 used")
        z = FIRST_KEY
    rotation = number(get("rotation", MISSING), "rotation", 0.0, -math.inf, math.inf, issues) % 360.0
    fields: dict[str, Any] = {}
    if type_ == "text":
        text_raw = get("text", MISSING)
        if isinstance(text_raw, YTextData):
            text_raw = str(text_raw)
        fields["text"] = string(text_raw, "text", "", schema.MAX_TEXT_LENGTH, issues)
        fields["wrap"] = boolean(get("wrap", MISSING), "wrap", True, issues)
    elif type_ in schema.POINT_TYPES:
        pressures = get("pressures", MISSING) if type_ == "freehand" else MISSING
        fields["points"] = _points(get("points", MISSING), pressures, schema.MIN_POINTS[type_], issues)
        if type_ in ("line", "arrow"):
            defaults = schema.TYPE_DEFAULTS[type_]
            for end in ("startArrowhead", "endArrowhead"):
                fields[end] = choice(get(end, MISSING), end, schema.ARROWHEADS, defaults[end], issues)
        elif type_ == "polygon":
            fields["closed"] = boolean(get("closed", MISSING), "closed", True, issues)
    return Annotation(
        id=key,
        type=type_,  # type: ignore[arg-type]
        x=number(get("x", MISSING), "x", 0.0, -lim, lim, issues),
        y=number(get("y", MISSING), "y", 0.0, -lim, lim, issues),
        w=number(get("w", MISSING), "w", 0.0, 0.0, lim, issues),
        h=number(get("h", MISSING), "h", 0.0, 0.0, lim, issues),
        rotation=rotation,
        z=z,
        groupIds=_group_ids(get("groupIds", MISSING), issues),
        locked=boolean(get("locked", MISSING), "locked", False, issues),
        style=_style(get("style", MISSING), issues),
        createdBy=string(get("createdBy", MISSING), "createdBy", "", schema.MAX_USER_LENGTH, issues),
        updatedBy=string(get("updatedBy", MISSING), "updatedBy", "", schema.MAX_USER_LENGTH, issues),
        updatedAt=integer(get("updatedAt", MISSING), "updatedAt", 0, issues) or 0,
        issues=tuple(issues),
        **fields,
    )


def sanitize_image(meta: Mapping[str, Any], issues: list[str]) -> ImageRef | None:
    raw = meta.get("image", MISSING)
    if raw is MISSING or raw is None:
        return None
    if not isinstance(raw, dict):
        issues.append(f"meta.image: expected an object, got {describe(raw)}, ignored")
        return None
    sha, width, height, mime = raw.get("sha256"), raw.get("width"), raw.get("height"), raw.get("mime")

    def side(v: Any) -> int | None:
        ok = is_coordinate(v) and 0 < v <= schema.MAX_IMAGE_SIDE and v == int(v)
        return int(v) if ok else None

    w, h = side(width), side(height)
    if isinstance(sha, str) and SHA256_RE.fullmatch(sha) and w and h and isinstance(mime, str) and mime in schema.IMAGE_MIMES:
        return ImageRef(sha256=sha, width=w, height=h, mime=mime)
    issues.append("meta.image: not {sha256, width, height, mime} with valid values, ignored")
    return None


def _anchor(raw: Any, where: str, by_id: Mapping[str, Annotation], issues: list[str]) -> tuple[Anchor, tuple[float, float]]:
    """Parse a stored anchor and resolve its pin (rule: :mod:`annotd.canvas.pins`); falls
    back to a point, never fails."""
    local: list[str] = []
    if not isinstance(raw, dict):
        issues.append(f"{where}.anchor: expected an object, got {describe(raw)}, pinned at (0, 0)")
        return Anchor(kind="point"), (0.0, 0.0)
    kind = raw.get("kind")
    x, y = anchor_position(raw, local)
    detached = raw.get("detachedFrom")
    detached = detached if is_id(detached) else None
    anchor: Anchor
    if kind == "annotation":
        fx, fy = anchor_offsets(raw, local)
        ann_id = anchor_target(raw)
        if ann_id is None:
            local.append("annotationId: not a valid id, pinned at the anchor's x, y")
            anchor = Anchor(kind="point", x=x, y=y)
            pin = (x, y)
        else:
            anchor = Anchor(kind="annotation", annotationId=ann_id, offsetX=fx, offsetY=fy, x=x, y=y)
            target = by_id.get(ann_id)
            if target is None:
                local.append(f"annotationId: {ann_id} does not exist, pinned at its last known position")
                pin = (x, y)
            else:
                pin = box_point(target, fx, fy)
    elif kind == "region":
        lim = schema.COORD_LIMIT
        w = number(raw.get("w", MISSING), "w", 0.0, 0.0, lim, local)
        h = number(raw.get("h", MISSING), "h", 0.0, 0.0, lim, local)
        anchor = Anchor(kind="region", x=x, y=y, w=w, h=h)
        pin = (x + w, y)
    else:
        if kind != "point":
            local.append(f"kind: {str(kind)[:40]!r} unknown, treated as a point")
        anchor = Anchor(kind="point", x=x, y=y, detachedFrom=detached)
        pin = (x, y)
    issues.extend(f"{where}.anchor.{m}" for m in local)
    return anchor, pin


def _message(key: str, raw: Any, where: str, issues: list[str]) -> Message | None:
    if not is_id(key) or not isinstance(raw, dict):
        issues.append(f"{where}.messages[{key[:70]!r}]: not a valid id or not a map, skipped")
        return None
    local: list[str] = []
    get = raw.get
    deleted = boolean(get("deleted", MISSING), "deleted", False, local)
    body = string(get("body", MISSING), "body", "", schema.MAX_BODY_LENGTH, local)
    msg = Message(
        id=key,
        author=string(get("author", MISSING), "author", "", schema.MAX_USER_LENGTH, local),
        body="" if deleted else body,
        createdAt=integer(get("createdAt", MISSING), "createdAt", 0, local) or 0,
        editedAt=integer(get("editedAt", None), "editedAt", None, local),
        deleted=deleted,
    )
    issues.extend(f"{where}.messages.{key}.{m}" for m in local)
    return msg


def sanitize_thread(key: str, raw: Any, by_id: Mapping[str, Annotation], issues: list[str]) -> Thread | None:
    if not is_id(key):
        issues.append(f"comments[{key[:70]!r}]: key is not a valid id, skipped")
        return None
    where = f"comments.{key}"
    if not isinstance(raw, dict):
        issues.append(f"{where}: expected a map, got {describe(raw)}, skipped")
        return None
    if not isinstance(raw, YMapData):
        issues.append(f"{where}: a plain object, not a nested Y.Map (concurrent edits will not merge)")
    get = raw.get
    local: list[str] = []
    anchor, pin = _anchor(get("anchor"), where, by_id, issues)
    status = choice(get("status", MISSING), "status", schema.THREAD_STATUSES, "open", local)
    resolved = status == "resolved"
    messages_raw = get("messages", MISSING)
    messages: list[Message] = []
    if messages_raw is not MISSING:
        if not isinstance(messages_raw, dict):
            local.append(f"messages: expected a map, got {describe(messages_raw)}, ignored")
        else:
            if not isinstance(messages_raw, YMapData):
                local.append("messages: a plain object, not a nested Y.Map (concurrent replies will collide)")
            items = sorted(messages_raw.items(), key=lambda kv: kv[0])
            if len(items) > schema.MAX_MESSAGES_PER_THREAD:
                local.append(f"messages: more than {schema.MAX_MESSAGES_PER_THREAD}, the rest ignored")
                del items[schema.MAX_MESSAGES_PER_THREAD :]
            for mid, mraw in items:
                m = _message(mid, mraw, where, issues)
                if m is not None:
                    messages.append(m)
            messages.sort(key=lambda m: (m.createdAt, m.id))
    thread = Thread(
        id=key,
        anchor=anchor,
        pin=pin,
        status=status,
        createdBy=string(get("createdBy", MISSING), "createdBy", "", schema.MAX_USER_LENGTH, local),
        createdAt=integer(get("createdAt", MISSING), "createdAt", 0, local) or 0,
        resolvedBy=string(get("resolvedBy", ""), "resolvedBy", "", schema.MAX_USER_LENGTH, local) or None if resolved else None,
        resolvedAt=integer(get("resolvedAt", None), "resolvedAt", None, local) if resolved else None,
        messages=tuple(messages),
    )
    issues.extend(f"{where}.{m}" for m in local)
    return thread
