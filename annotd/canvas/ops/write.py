"""How every operation writes: one field per key, stamped, nothing when nothing changed.

The rules each operation in :mod:`annotd.canvas.ops` follows (see its package docstring)
rest on these primitives: the caller's ``now_ms`` checked once, equality that keeps Yjs
types apart, and :func:`write_existing`, which writes only the fields that differ into an
annotation's nested map (rebuilding a raw client's plain object as nested maps first).
"""

from __future__ import annotations

import secrets
from typing import Any

import pycrdt

from annotd.base.errors import InvalidParams, NotFound
from annotd.canvas import schema
from annotd.canvas.codec import annotation_to_fields
from annotd.canvas.model import Annotation
from annotd.canvas.reader import ABSENT, YMapData
from annotd.canvas.view import read_annotation


def new_id() -> str:
    """A fresh random id (16 characters of ``[A-Za-z0-9_-]``)."""
    return secrets.token_urlsafe(12)


def root(doc: pycrdt.Doc, name: str) -> pycrdt.Map:
    return doc.get(name, type=pycrdt.Map)


def check_now(now_ms: Any) -> int:
    if isinstance(now_ms, bool) or not isinstance(now_ms, int) or not 0 <= now_ms <= 2**53:
        raise InvalidParams("now", "must be a non-negative integer of milliseconds")
    return now_ms


def same(a: Any, b: Any) -> bool:
    """Equality that does not take ``True`` for ``1.0`` (Yjs keeps both apart)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def bbox_size(points: list[float]) -> tuple[float, float]:
    if not points:
        return 0.0, 0.0
    xs, ys = points[0::2], points[1::2]
    return max(xs) - min(xs), max(ys) - min(ys)


def write_existing(doc: pycrdt.Doc, current: Annotation, raw: Any, fields: dict[str, Any], user_id: str, now_ms: int) -> bool:
    """Write the changed fields of ``fields`` into the existing annotation; True if any."""
    annotations = root(doc, schema.ROOT_ANNOTATIONS)
    fields = dict(fields)
    fields.pop("id", None)
    fields.pop("type", None)
    if current.type in schema.POINT_TYPES and "points" in fields:
        w, h = bbox_size(fields["points"])
        fields.setdefault("w", w)
        fields.setdefault("h", h)
        if current.type == "freehand" and "pressures" not in fields:
            fields["pressures"] = None  # stale: one pressure per *old* point
    style_patch: dict[str, Any] = fields.pop("style", {})
    if not isinstance(raw, YMapData):
        # Written by a raw client as a plain object: rebuild it as a nested map from the
        # repaired view, then apply the patch.
        full = annotation_to_fields(current)
        full.update({k: v for k, v in fields.items()})
        full["style"] = pycrdt.Map({**full["style"], **style_patch})
        full["updatedBy"], full["updatedAt"] = user_id, now_ms
        if full.get("pressures", ABSENT) is None:
            del full["pressures"]
        annotations[current.id] = pycrdt.Map(full)
        return True
    ymap: pycrdt.Map = annotations[current.id]
    changed = False
    for key, value in fields.items():
        if value is None:
            if key in raw:
                del ymap[key]
                changed = True
        elif key not in raw or not same(raw[key], value):
            ymap[key] = value
            changed = True
    if style_patch:
        raw_style = raw.get("style")
        if isinstance(raw_style, YMapData):
            style_map: pycrdt.Map = ymap["style"]
            for key, value in style_patch.items():
                if key not in raw_style or not same(raw_style[key], value):
                    style_map[key] = value
                    changed = True
        else:
            base = annotation_to_fields(current)["style"]
            ymap["style"] = pycrdt.Map({**base, **style_patch})
            changed = True
    if changed:
        ymap["updatedBy"] = user_id
        ymap["updatedAt"] = now_ms
    return changed


def require_annotation(doc: pycrdt.Doc, annotation_id: str) -> Annotation:
    ann = read_annotation(doc, annotation_id)
    if ann is None:
        raise NotFound(f"annotation {annotation_id!r} not found", data={"id": annotation_id})
    return ann
