"""The materialized view: one ``pycrdt.Doc`` in, one :class:`CanvasView` out.

Why it exists: any Yjs client can write anything into the document, so nothing downstream
(the JSON API, comment pins, the renderer, export) may read the document directly. This
module reads it once, repairs what breaks the schema and records every repair:

* an annotation that cannot be shown (id not ``[A-Za-z0-9_-]{1,64}``, not a map, unknown
  ``type``) is skipped and the reason goes to ``CanvasView.issues``;
* a field that is wrong (NaN, a string for a number, out of range, too many points, a plain
  object where a nested map belongs) is replaced by its default or clamped, and the reason
  goes to ``Annotation.issues`` (prefixed by the field name);
* a thread is never dropped for a bad field (a discussion is not lost to a bad anchor): its
  anchor falls back to a point, and the reasons go to ``CanvasView.issues``.

Nothing here raises on document content. Repairs are logged on ``annotd.canvas`` once per
change of the offending annotation (not on every rebuild), when a :class:`ViewBuilder` is
kept for the room.

The view is read-only: it never writes the repairs back (the next edit through
:mod:`annotd.canvas.mutations` writes clean values for the fields it touches).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import pycrdt

from annotd.canvas import schema as S
from annotd.canvas.fractional import FIRST_KEY, is_valid_key
from annotd.canvas.model import (
    Anchor,
    Annotation,
    CanvasView,
    ImageRef,
    Message,
    Point,
    Style,
    Thread,
)
from annotd.canvas.reader import ABSENT, Foreign, YArrayData, YMapData, YTextData, read_entry, read_root

__all__ = [
    "ViewBuilder",
    "anchor_to_json",
    "annotation_box_point",
    "annotation_to_fields",
    "annotation_to_json",
    "build_view",
    "image_json",
    "message_to_json",
    "read_annotation",
    "read_thread",
    "sanitize_annotation",
    "thread_to_json",
    "view_to_json",
]

logger = logging.getLogger("annotd.canvas")

_MISSING: Any = object()
_REQUIRED = ("x", "y", "w", "h")


def _describe(value: Any) -> str:
    if isinstance(value, Foreign):
        return repr(value)
    if isinstance(value, YMapData):
        return "a Y.Map"
    if isinstance(value, YArrayData):
        return "a Y.Array"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return "a number"  # int or float depending on the replica: keep issues identical
    return type(value).__name__


def _number(raw: Any, name: str, default: float, lo: float, hi: float, issues: list[str]) -> float:
    """A finite float in ``[lo, hi]``; anything else becomes ``default`` or is clamped."""
    if raw is _MISSING:
        return default
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        issues.append(f"{name}: expected a number, got {_describe(raw)}")
        return default
    try:
        value = float(raw)
    except OverflowError:
        issues.append(f"{name}: number too large")
        return default
    if not math.isfinite(value):
        issues.append(f"{name}: not a finite number")
        return default
    if value < lo or value > hi:
        issues.append(f"{name}: {value:g} out of range [{lo:g}, {hi:g}], clamped")
        return min(max(value, lo), hi)
    return value


def _integer(raw: Any, name: str, default: int | None, issues: list[str]) -> int | None:
    """A non-negative integer (timestamps in ms); floats are truncated silently (Yjs numbers
    come back as floats)."""
    if raw is _MISSING or (raw is None and default is None):
        return default
    value = _number(raw, name, math.nan, 0.0, 2.0**53, issues)
    if math.isnan(value):
        return default
    return int(value)


def _string(raw: Any, name: str, default: str, max_len: int, issues: list[str]) -> str:
    if raw is _MISSING:
        return default
    if not isinstance(raw, str):
        issues.append(f"{name}: expected a string, got {_describe(raw)}")
        return default
    if len(raw) > max_len:
        issues.append(f"{name}: longer than {max_len} characters, truncated")
        return raw[:max_len]
    return str(raw)


def _bool(raw: Any, name: str, default: bool, issues: list[str]) -> bool:
    if raw is _MISSING:
        return default
    if not isinstance(raw, bool):
        issues.append(f"{name}: expected a boolean, got {_describe(raw)}")
        return default
    return raw


def _choice(raw: Any, name: str, choices: tuple[str, ...], default: str, issues: list[str]) -> Any:
    if raw is _MISSING:
        return default
    if raw not in choices or not isinstance(raw, str):
        shown = repr(raw)[:40] if isinstance(raw, str) else _describe(raw)
        issues.append(f"{name}: {shown} is not one of {'|'.join(choices)}")
        return default
    return raw


def _color(raw: Any, name: str, default: str, issues: list[str]) -> str:
    if raw is _MISSING:
        return default
    if isinstance(raw, str) and (raw == "none" or S.COLOR_RE.fullmatch(raw)):
        return raw
    shown = repr(raw)[:40] if isinstance(raw, str) else _describe(raw)
    issues.append(f"{name}: {shown} is not a colour (#rrggbb, #rrggbbaa or none)")
    return default


def _style(raw: Any, issues: list[str]) -> Style:
    if raw is _MISSING:
        return Style()
    if not isinstance(raw, dict):
        issues.append(f"style: expected a map, got {_describe(raw)}")
        return Style()
    if not isinstance(raw, YMapData):
        issues.append("style: a plain object, not a nested Y.Map (concurrent style edits will not merge)")
    d = S.STYLE_DEFAULTS
    g = raw.get
    return Style(
        stroke=_color(g("stroke", _MISSING), "style.stroke", d["stroke"], issues),
        fill=_color(g("fill", _MISSING), "style.fill", d["fill"], issues),
        strokeWidth=_number(g("strokeWidth", _MISSING), "style.strokeWidth", d["strokeWidth"], 0.0, S.MAX_STROKE_WIDTH, issues),
        strokeStyle=_choice(g("strokeStyle", _MISSING), "style.strokeStyle", S.STROKE_STYLES, d["strokeStyle"], issues),
        opacity=_number(g("opacity", _MISSING), "style.opacity", d["opacity"], 0.0, 1.0, issues),
        fontFamily=_choice(g("fontFamily", _MISSING), "style.fontFamily", S.FONT_FAMILIES, d["fontFamily"], issues),
        fontSize=_number(g("fontSize", _MISSING), "style.fontSize", d["fontSize"], S.MIN_FONT_SIZE, S.MAX_FONT_SIZE, issues),
        fontWeight=_choice(g("fontWeight", _MISSING), "style.fontWeight", S.FONT_WEIGHTS, d["fontWeight"], issues),
        textAlign=_choice(g("textAlign", _MISSING), "style.textAlign", S.TEXT_ALIGNS, d["textAlign"], issues),
    )


def _is_finite_number(v: Any) -> bool:
    return (type(v) is float or type(v) is int) and math.isfinite(v) and abs(v) <= S.COORD_LIMIT


_NUMBER_TYPES = frozenset({int, float})


def _all_coordinates(flat: list[Any]) -> bool:
    """True if every item is a finite number within ±COORD_LIMIT (C-speed checks: this
    runs over every stored point on every rebuild)."""
    if not flat:
        return True
    if not set(map(type, flat)) <= _NUMBER_TYPES:  # also rules out bool (True == 1)
        return False
    lim = S.COORD_LIMIT
    # NaN or ±inf make fsum non-finite; min/max then bound the finite values.
    return math.isfinite(math.fsum(flat)) and -lim <= min(flat) and max(flat) <= lim


def _points(raw: Any, pressures_raw: Any, min_points: int, issues: list[str]) -> tuple[Point, ...]:
    if raw is _MISSING:
        if min_points:
            issues.append("points: missing")
        return ()
    if not isinstance(raw, list):
        issues.append(f"points: expected an array, got {_describe(raw)}")
        return ()
    if isinstance(raw, YArrayData):
        issues.append("points: a Y.Array, expected a plain array")
    flat: list[Any] = raw
    if flat and isinstance(flat[0], list):
        # [[x, y, p?], …] written by some client: accept, report.
        issues.append("points: nested [x, y] pairs, expected a flat [x0, y0, x1, y1, …] array")
        if len(flat) > S.MAX_POINTS:
            flat = flat[: S.MAX_POINTS]
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
        if any(p is not None for p in pressures_from_nested) and pressures_raw is _MISSING:
            pressures_raw = pressures_from_nested
    if len(flat) > 2 * S.MAX_POINTS:
        issues.append(f"points: more than {S.MAX_POINTS} points, truncated")
        flat = flat[: 2 * S.MAX_POINTS]
    if len(flat) % 2:
        issues.append("points: odd number of coordinates, last one dropped")
        flat = flat[:-1]
    if not _all_coordinates(flat):
        bad = 0
        clean: list[float] = []
        for i in range(0, len(flat), 2):
            x, y = flat[i], flat[i + 1]
            if _is_finite_number(x) and _is_finite_number(y):
                clean.extend((x, y))
            else:
                bad += 1
        issues.append(f"points: {bad} point(s) not finite numbers within ±{S.COORD_LIMIT:g}, dropped")
        flat = clean
    n = len(flat) // 2
    if n < min_points:
        issues.append(f"points: {n} point(s), at least {min_points} needed")
    xs = list(map(float, flat[0::2]))
    ys = list(map(float, flat[1::2]))
    if pressures_raw is not _MISSING and pressures_raw is not None:
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
    if raw is _MISSING:
        return ()
    if not isinstance(raw, list):
        issues.append(f"groupIds: expected an array, got {_describe(raw)}")
        return ()
    out: list[str] = []
    for g in raw[: S.MAX_GROUP_DEPTH + 1]:
        if S.is_id(g) and g not in out:
            out.append(g)
    if len(out) != len(raw):
        issues.append("groupIds: invalid, duplicate or too many ids dropped")
    return tuple(out[: S.MAX_GROUP_DEPTH])


def sanitize_annotation(key: str, raw: Any, view_issues: list[str]) -> Annotation | None:
    """Turn one raw annotation entry into an :class:`Annotation`, or ``None`` if it cannot
    be shown (the reason is appended to ``view_issues``)."""
    if not S.is_id(key):
        view_issues.append(f"annotations[{key[:70]!r}]: key is not a valid id, skipped")
        return None
    if not isinstance(raw, dict):
        view_issues.append(f"annotations.{key}: expected a map, got {_describe(raw)}, skipped")
        return None
    type_ = raw.get("type", _MISSING)
    if not isinstance(type_, str) or type_ not in S.TYPE_FIELDS:
        shown = repr(type_)[:40] if isinstance(type_, str) else _describe(type_)
        if type_ is _MISSING:
            shown = "missing"
        view_issues.append(f"annotations.{key}.type: {shown} is not a known type, skipped")
        return None
    issues: list[str] = []
    if not isinstance(raw, YMapData):
        issues.append("a plain object, not a nested Y.Map (concurrent edits will not merge)")
    g = raw.get
    if g("id", key) != key:
        issues.append("id: does not match its key in annotations, key used")
    for name in _REQUIRED:
        if name not in raw:
            issues.append(f"{name}: missing")
    lim = S.COORD_LIMIT
    z = g("z", _MISSING)
    if z is _MISSING:
        z = FIRST_KEY
    elif not is_valid_key(z):
        issues.append("z: not a fractional index key, a0 used")
        z = FIRST_KEY
    rotation = _number(g("rotation", _MISSING), "rotation", 0.0, -math.inf, math.inf, issues) % 360.0
    fields: dict[str, Any] = {}
    if type_ == "text":
        text_raw = g("text", _MISSING)
        if isinstance(text_raw, YTextData):
            text_raw = str(text_raw)
        fields["text"] = _string(text_raw, "text", "", S.MAX_TEXT_LENGTH, issues)
        fields["wrap"] = _bool(g("wrap", _MISSING), "wrap", True, issues)
    elif type_ in S.POINT_TYPES:
        pressures = g("pressures", _MISSING) if type_ == "freehand" else _MISSING
        fields["points"] = _points(g("points", _MISSING), pressures, S.MIN_POINTS[type_], issues)
        if type_ in ("line", "arrow"):
            defaults = S.TYPE_DEFAULTS[type_]
            for end in ("startArrowhead", "endArrowhead"):
                fields[end] = _choice(g(end, _MISSING), end, S.ARROWHEADS, defaults[end], issues)
        elif type_ == "polygon":
            fields["closed"] = _bool(g("closed", _MISSING), "closed", True, issues)
    return Annotation(
        id=key,
        type=type_,  # type: ignore[arg-type]
        x=_number(g("x", _MISSING), "x", 0.0, -lim, lim, issues),
        y=_number(g("y", _MISSING), "y", 0.0, -lim, lim, issues),
        w=_number(g("w", _MISSING), "w", 0.0, 0.0, lim, issues),
        h=_number(g("h", _MISSING), "h", 0.0, 0.0, lim, issues),
        rotation=rotation,
        z=z,
        groupIds=_group_ids(g("groupIds", _MISSING), issues),
        locked=_bool(g("locked", _MISSING), "locked", False, issues),
        style=_style(g("style", _MISSING), issues),
        createdBy=_string(g("createdBy", _MISSING), "createdBy", "", S.MAX_USER_LENGTH, issues),
        updatedBy=_string(g("updatedBy", _MISSING), "updatedBy", "", S.MAX_USER_LENGTH, issues),
        updatedAt=_integer(g("updatedAt", _MISSING), "updatedAt", 0, issues) or 0,
        issues=tuple(issues),
        **fields,
    )


def _image(meta: Mapping[str, Any], issues: list[str]) -> ImageRef | None:
    raw = meta.get("image", _MISSING)
    if raw is _MISSING or raw is None:
        return None
    if not isinstance(raw, dict):
        issues.append(f"meta.image: expected an object, got {_describe(raw)}, ignored")
        return None
    sha, width, height, mime = raw.get("sha256"), raw.get("width"), raw.get("height"), raw.get("mime")

    def side(v: Any) -> int | None:
        ok = _is_finite_number(v) and 0 < v <= S.MAX_IMAGE_SIDE and v == int(v)
        return int(v) if ok else None

    w, h = side(width), side(height)
    if isinstance(sha, str) and S.SHA256_RE.fullmatch(sha) and w and h and isinstance(mime, str) and mime in S.IMAGE_MIMES:
        return ImageRef(sha256=sha, width=w, height=h, mime=mime)
    issues.append("meta.image: not {sha256, width, height, mime} with valid values, ignored")
    return None


def annotation_box_point(a: Annotation, fx: float, fy: float) -> tuple[float, float]:
    """The absolute position of the point at fractions ``(fx, fy)`` of ``a``'s box, rotated
    with the box about its centre (clockwise degrees, y down)."""
    cx, cy = a.x + a.w / 2, a.y + a.h / 2
    dx, dy = (fx - 0.5) * a.w, (fy - 0.5) * a.h
    if a.rotation:
        r = math.radians(a.rotation)
        c, s = math.cos(r), math.sin(r)
        dx, dy = dx * c - dy * s, dx * s + dy * c
    return (cx + dx, cy + dy)


def _anchor(raw: Any, where: str, by_id: Mapping[str, Annotation], issues: list[str]) -> tuple[Anchor, tuple[float, float]]:
    """Parse a stored anchor and resolve its pin; falls back to a point, never fails."""
    local: list[str] = []
    if not isinstance(raw, dict):
        issues.append(f"{where}.anchor: expected an object, got {_describe(raw)}, pinned at (0, 0)")
        return Anchor(kind="point"), (0.0, 0.0)
    lim = S.COORD_LIMIT
    g = raw.get
    kind = g("kind")
    x = _number(g("x", _MISSING), "x", 0.0, -lim, lim, local)
    y = _number(g("y", _MISSING), "y", 0.0, -lim, lim, local)
    detached = g("detachedFrom")
    detached = detached if S.is_id(detached) else None
    anchor: Anchor
    if kind == "annotation":
        ann_id = g("annotationId")
        fx = _number(g("offsetX", _MISSING), "offsetX", 0.5, 0.0, 1.0, local)
        fy = _number(g("offsetY", _MISSING), "offsetY", 0.5, 0.0, 1.0, local)
        if not S.is_id(ann_id):
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
                pin = annotation_box_point(target, fx, fy)
    elif kind == "region":
        w = _number(g("w", _MISSING), "w", 0.0, 0.0, lim, local)
        h = _number(g("h", _MISSING), "h", 0.0, 0.0, lim, local)
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
    if not S.is_id(key) or not isinstance(raw, dict):
        issues.append(f"{where}.messages[{key[:70]!r}]: not a valid id or not a map, skipped")
        return None
    local: list[str] = []
    g = raw.get
    deleted = _bool(g("deleted", _MISSING), "deleted", False, local)
    body = _string(g("body", _MISSING), "body", "", S.MAX_BODY_LENGTH, local)
    msg = Message(
        id=key,
        author=_string(g("author", _MISSING), "author", "", S.MAX_USER_LENGTH, local),
        body="" if deleted else body,
        createdAt=_integer(g("createdAt", _MISSING), "createdAt", 0, local) or 0,
        editedAt=_integer(g("editedAt", None), "editedAt", None, local),
        deleted=deleted,
    )
    issues.extend(f"{where}.messages.{key}.{m}" for m in local)
    return msg


def _thread(key: str, raw: Any, by_id: Mapping[str, Annotation], issues: list[str]) -> Thread | None:
    if not S.is_id(key):
        issues.append(f"comments[{key[:70]!r}]: key is not a valid id, skipped")
        return None
    where = f"comments.{key}"
    if not isinstance(raw, dict):
        issues.append(f"{where}: expected a map, got {_describe(raw)}, skipped")
        return None
    if not isinstance(raw, YMapData):
        issues.append(f"{where}: a plain object, not a nested Y.Map (concurrent edits will not merge)")
    g = raw.get
    local: list[str] = []
    anchor, pin = _anchor(g("anchor"), where, by_id, issues)
    status = _choice(g("status", _MISSING), "status", S.THREAD_STATUSES, "open", local)
    resolved = status == "resolved"
    messages_raw = g("messages", _MISSING)
    messages: list[Message] = []
    if messages_raw is not _MISSING:
        if not isinstance(messages_raw, dict):
            local.append(f"messages: expected a map, got {_describe(messages_raw)}, ignored")
        else:
            if not isinstance(messages_raw, YMapData):
                local.append("messages: a plain object, not a nested Y.Map (concurrent replies will collide)")
            items = sorted(messages_raw.items(), key=lambda kv: kv[0])
            if len(items) > S.MAX_MESSAGES_PER_THREAD:
                local.append(f"messages: more than {S.MAX_MESSAGES_PER_THREAD}, the rest ignored")
                del items[S.MAX_MESSAGES_PER_THREAD :]
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
        createdBy=_string(g("createdBy", _MISSING), "createdBy", "", S.MAX_USER_LENGTH, local),
        createdAt=_integer(g("createdAt", _MISSING), "createdAt", 0, local) or 0,
        resolvedBy=_string(g("resolvedBy", ""), "resolvedBy", "", S.MAX_USER_LENGTH, local) or None if resolved else None,
        resolvedAt=_integer(g("resolvedAt", None), "resolvedAt", None, local) if resolved else None,
        messages=tuple(messages),
    )
    issues.extend(f"{where}.{m}" for m in local)
    return thread


class ViewBuilder:
    """Builds views of one room, reusing the repaired :class:`Annotation` of every
    annotation whose stored data did not change since the previous build.

    Why: converting points into :class:`Point` objects costs ~1 µs each; a room with
    1,000 strokes of 100 points would pay 100 ms per rebuild. Keep one builder per room
    (it holds only the current annotations) and call :meth:`build` after each update.
    Issues are logged when an annotation is (re)built, so a bad annotation is logged once
    per change, not once per rebuild.
    """

    def __init__(self) -> None:
        self._cache: dict[str, tuple[Any, Annotation | None, tuple[str, ...]]] = {}

    def build(self, doc: pycrdt.Doc) -> CanvasView:
        view_issues: list[str] = []
        meta = read_root(doc, S.ROOT_META)
        raw_annotations = read_root(doc, S.ROOT_ANNOTATIONS)
        raw_comments = read_root(doc, S.ROOT_COMMENTS)

        version_raw = meta.get("schemaVersion", S.SCHEMA_VERSION)
        schema_version = S.SCHEMA_VERSION
        if _is_finite_number(version_raw) and version_raw == int(version_raw):
            schema_version = int(version_raw)
            if schema_version > S.SCHEMA_VERSION:
                view_issues.append(f"meta.schemaVersion: {schema_version} is newer than {S.SCHEMA_VERSION}; read as {S.SCHEMA_VERSION}")
        else:
            view_issues.append("meta.schemaVersion: not an integer")
        image = _image(meta, view_issues)

        # Sorted by key: replicas iterate maps in different orders, their issues must not.
        items = sorted(raw_annotations.items(), key=lambda kv: kv[0])
        if len(items) > S.MAX_ANNOTATIONS:
            view_issues.append(f"annotations: {len(items)} entries, only the first {S.MAX_ANNOTATIONS} by id are shown")
            del items[S.MAX_ANNOTATIONS :]
        old_cache = self._cache
        cache: dict[str, tuple[Any, Annotation | None, tuple[str, ...]]] = {}
        annotations: list[Annotation] = []
        fresh_issues: list[str] = []
        for key, raw in items:
            hit = old_cache.get(key)
            if hit is not None and hit[0] == raw:
                ann, skipped = hit[1], hit[2]
            else:
                skipped_list: list[str] = []
                ann = sanitize_annotation(key, raw, skipped_list)
                skipped = tuple(skipped_list)
                if ann is not None and ann.issues:
                    fresh_issues.extend(f"annotations.{key}.{m}" for m in ann.issues)
                fresh_issues.extend(skipped)
            cache[key] = (raw, ann, skipped)
            view_issues.extend(skipped)
            if ann is not None:
                annotations.append(ann)
        self._cache = cache
        annotations.sort(key=lambda a: (a.z, a.id))
        by_id = {a.id: a for a in annotations}

        thread_items = sorted(raw_comments.items(), key=lambda kv: kv[0])
        if len(thread_items) > S.MAX_THREADS:
            view_issues.append(f"comments: {len(thread_items)} threads, only the first {S.MAX_THREADS} by id are shown")
            del thread_items[S.MAX_THREADS :]
        thread_issues: list[str] = []
        threads = [t for key, raw in thread_items if (t := _thread(key, raw, by_id, thread_issues)) is not None]
        threads.sort(key=lambda t: (t.createdAt, t.id))
        view_issues.extend(thread_issues)

        if fresh_issues:
            logger.warning(
                "canvas: repaired %d problem(s) in annotations: %s",
                len(fresh_issues),
                "; ".join(fresh_issues[:5]) + (" …" if len(fresh_issues) > 5 else ""),
            )
        return CanvasView(
            schemaVersion=min(schema_version, S.SCHEMA_VERSION),
            image=image,
            annotations=tuple(annotations),
            threads=tuple(threads),
            issues=tuple(view_issues),
        )


def build_view(doc: pycrdt.Doc) -> CanvasView:
    """Build the whole view of ``doc`` from scratch (see :class:`ViewBuilder` to reuse work)."""
    return ViewBuilder().build(doc)


def read_annotation(doc: pycrdt.Doc, annotation_id: str) -> Annotation | None:
    """The repaired view of one annotation, or ``None`` if it is absent or unshowable."""
    raw = read_entry(doc, S.ROOT_ANNOTATIONS, annotation_id)
    if raw is ABSENT:
        return None
    return sanitize_annotation(annotation_id, raw, [])


def read_thread(doc: pycrdt.Doc, thread_id: str) -> Thread | None:
    """The view of one thread (pin resolved against its annotation), or ``None``."""
    raw = read_entry(doc, S.ROOT_COMMENTS, thread_id)
    if raw is ABSENT:
        return None
    by_id: dict[str, Annotation] = {}
    anchor = raw.get("anchor") if isinstance(raw, dict) else None
    if isinstance(anchor, dict) and anchor.get("kind") == "annotation" and S.is_id(anchor.get("annotationId")):
        target = read_annotation(doc, anchor["annotationId"])
        if target is not None:
            by_id[target.id] = target
    return _thread(thread_id, raw, by_id, [])


# -- JSON ---------------------------------------------------------------------------------


def _style_json(s: Style) -> dict[str, Any]:
    return {
        "stroke": s.stroke,
        "fill": s.fill,
        "strokeWidth": s.strokeWidth,
        "strokeStyle": s.strokeStyle,
        "opacity": s.opacity,
        "fontFamily": s.fontFamily,
        "fontSize": s.fontSize,
        "fontWeight": s.fontWeight,
        "textAlign": s.textAlign,
    }


def annotation_to_fields(a: Annotation) -> dict[str, Any]:
    """The fields of ``a`` exactly as stored in its Yjs map (``style`` as a dict)."""
    d: dict[str, Any] = {
        "id": a.id,
        "type": a.type,
        "x": a.x,
        "y": a.y,
        "w": a.w,
        "h": a.h,
        "rotation": a.rotation,
        "z": a.z,
        "groupIds": list(a.groupIds),
        "locked": a.locked,
        "style": _style_json(a.style),
        "createdBy": a.createdBy,
        "updatedBy": a.updatedBy,
        "updatedAt": a.updatedAt,
    }
    t = a.type
    if t == "text":
        d["text"] = a.text
        d["wrap"] = a.wrap
    elif t in S.POINT_TYPES:
        flat: list[float] = []
        for p in a.points:
            flat.append(p.x)
            flat.append(p.y)
        d["points"] = flat
        if t in ("line", "arrow"):
            d["startArrowhead"] = a.startArrowhead
            d["endArrowhead"] = a.endArrowhead
        elif t == "polygon":
            d["closed"] = a.closed
        elif any(p.pressure is not None for p in a.points):
            d["pressures"] = [p.pressure for p in a.points]
    return d


def annotation_to_json(a: Annotation) -> dict[str, Any]:
    """The API's JSON for one annotation: the stored fields plus ``issues`` (a list, empty
    when the stored data matched the schema)."""
    d = annotation_to_fields(a)
    d["issues"] = list(a.issues)
    return d


def anchor_to_json(anchor: Anchor) -> dict[str, Any]:
    """The anchor as stored/returned: only the fields of its kind."""
    if anchor.kind == "annotation":
        return {
            "kind": "annotation",
            "annotationId": anchor.annotationId,
            "offsetX": anchor.offsetX,
            "offsetY": anchor.offsetY,
            "x": anchor.x,
            "y": anchor.y,
        }
    if anchor.kind == "region":
        return {"kind": "region", "x": anchor.x, "y": anchor.y, "w": anchor.w, "h": anchor.h}
    d: dict[str, Any] = {"kind": "point", "x": anchor.x, "y": anchor.y}
    if anchor.detachedFrom is not None:
        d["detachedFrom"] = anchor.detachedFrom
    return d


def message_to_json(m: Message) -> dict[str, Any]:
    return {
        "id": m.id,
        "author": m.author,
        "body": m.body,
        "createdAt": m.createdAt,
        "editedAt": m.editedAt,
        "deleted": m.deleted,
    }


def thread_to_json(t: Thread) -> dict[str, Any]:
    return {
        "id": t.id,
        "anchor": anchor_to_json(t.anchor),
        "pin": {"x": t.pin[0], "y": t.pin[1]},
        "status": t.status,
        "createdBy": t.createdBy,
        "createdAt": t.createdAt,
        "resolvedBy": t.resolvedBy,
        "resolvedAt": t.resolvedAt,
        "messages": [message_to_json(m) for m in t.messages],
    }


def image_json(image: ImageRef | None) -> dict[str, Any] | None:
    """``meta.image`` as the API returns it (null when the canvas has no base image)."""
    return None if image is None else {"sha256": image.sha256, "width": image.width, "height": image.height, "mime": image.mime}


def view_to_json(view: CanvasView) -> dict[str, Any]:
    """The API's JSON for the whole canvas (annotations in paint order, threads by
    ``(createdAt, id)``)."""
    return {
        "schemaVersion": view.schemaVersion,
        "image": image_json(view.image),
        "annotations": [annotation_to_json(a) for a in view.annotations],
        "threads": [thread_to_json(t) for t in view.threads],
        "issues": list(view.issues),
    }
