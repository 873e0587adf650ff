"""Create, patch and delete annotations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pycrdt

from annotd.base.errors import Conflict, InvalidParams, LimitReached, NotFound
from annotd.canvas import schema
from annotd.canvas.codec import annotation_to_json
from annotd.canvas.fractional import is_valid_key, key_between
from annotd.canvas.model import Annotation
from annotd.canvas.ops.comments import detach_threads
from annotd.canvas.ops.write import bbox_size, check_now, new_id, root, write_existing
from annotd.canvas.pins import thread_pins
from annotd.canvas.reader import ABSENT, read_entry, read_fields
from annotd.canvas.repair import sanitize_annotation
from annotd.canvas.validate import validate_annotation_create, validate_annotation_patch, validate_id, validate_ids, validate_user
from annotd.canvas.view import read_annotation


def _top_z(doc: pycrdt.Doc) -> str | None:
    zs = [z for f in read_fields(doc, schema.ROOT_ANNOTATIONS, ("z",)).values() if is_valid_key(z := f.get("z"))]
    return max(zs) if zs else None


def _new_annotation(doc: pycrdt.Doc, fields: dict[str, Any], user_id: str, now_ms: int) -> str:
    annotations = root(doc, schema.ROOT_ANNOTATIONS)
    if len(annotations) >= schema.MAX_ANNOTATIONS:
        raise LimitReached(f"a room holds at most {schema.MAX_ANNOTATIONS} annotations")
    type_ = fields["type"]
    ann_id = fields.get("id") or new_id()
    stored: dict[str, Any] = {
        "id": ann_id,
        "type": type_,
        "x": 0.0,
        "y": 0.0,
        "w": 0.0,
        "h": 0.0,
        "rotation": 0.0,
        "groupIds": [],
        "locked": False,
        **schema.TYPE_DEFAULTS[type_],
    }
    stored.update({k: v for k, v in fields.items() if k != "style"})
    if type_ in schema.POINT_TYPES:
        w, h = bbox_size(stored["points"])
        if "w" not in fields:
            stored["w"] = w
        if "h" not in fields:
            stored["h"] = h
    if stored.get("pressures", ABSENT) is None:
        del stored["pressures"]
    if "z" not in fields:
        stored["z"] = key_between(_top_z(doc), None)
    stored["createdBy"] = user_id
    stored["updatedBy"] = user_id
    stored["updatedAt"] = now_ms
    stored["style"] = pycrdt.Map({**schema.STYLE_DEFAULTS, **fields.get("style", {})})
    annotations[ann_id] = pycrdt.Map(stored)
    return ann_id


def upsert_annotation(doc: pycrdt.Doc, patch: Any, user_id: str, now_ms: int) -> dict[str, Any]:
    """Create an annotation, or update only the fields given of an existing one.

    ``patch`` is the API object (field ``annotation``). Without ``id``, or with an ``id``
    not in the room, it is a create: ``type`` is required (plus ``points`` for point
    types); missing fields take the schema defaults; ``z`` defaults to the front of the
    paint order. With the ``id`` of an existing annotation it is a partial update: each
    given field (and each given ``style`` property) is written on its own. For point
    types ``w``/``h`` follow the points' bounding box unless given.

    Returns the annotation's JSON. Raises ``InvalidParams``; ``NotFound`` for an unknown
    ``id`` without ``type``; ``Conflict`` if the annotation is locked (a patch may only
    change ``locked``); ``LimitReached`` past ``MAX_ANNOTATIONS``.
    """
    user_id = validate_user(user_id)
    now_ms = check_now(now_ms)
    if not isinstance(patch, Mapping):
        raise InvalidParams("annotation", "must be an object")
    ann_id = validate_id(patch["id"], "annotation.id") if "id" in patch else None
    with doc.transaction():
        raw = read_entry(doc, schema.ROOT_ANNOTATIONS, ann_id) if ann_id is not None else ABSENT
        current = sanitize_annotation(ann_id, raw, []) if raw is not ABSENT and ann_id is not None else None
        if current is None:
            if ann_id is not None and "type" not in patch:
                raise NotFound(f"annotation {ann_id!r} not found", data={"id": ann_id})
            fields = validate_annotation_create(patch)
            ann_id = _new_annotation(doc, fields, user_id, now_ms)
        else:
            fields = validate_annotation_patch(patch, current.type)
            if current.locked and fields.get("locked") is not False and set(fields) - {"id", "type", "locked"}:
                raise Conflict(f"annotation {ann_id!r} is locked; unlock it first", data={"id": ann_id})
            write_existing(doc, current, raw, fields, user_id, now_ms)
        assert ann_id is not None
        result = read_annotation(doc, ann_id)
    assert result is not None
    return annotation_to_json(result)


def delete_annotations(doc: pycrdt.Doc, ids: Any, user_id: str, now_ms: int) -> list[str]:
    """Delete several annotations as one update (a selection). Threads anchored to them
    are detached in the same update: their anchor becomes
    ``{kind: point, x, y, detachedFrom}`` where their pin was. Returns the ids deleted.
    Raises ``NotFound`` (naming the first unknown id) or ``Conflict`` (a locked one)."""
    validate_user(user_id)
    check_now(now_ms)
    wanted = validate_ids(ids, "ids")
    annotations = root(doc, schema.ROOT_ANNOTATIONS)
    with doc.transaction():
        current: dict[str, Annotation | None] = {}
        for ann_id in wanted:
            raw = read_entry(doc, schema.ROOT_ANNOTATIONS, ann_id)
            if raw is ABSENT:
                raise NotFound(f"annotation {ann_id!r} not found", data={"id": ann_id})
            ann = sanitize_annotation(ann_id, raw, [])
            if ann is not None and ann.locked:
                raise Conflict(f"annotation {ann_id!r} is locked; unlock it first", data={"id": ann_id})
            current[ann_id] = ann
        detach_threads(doc, thread_pins(doc, current.get))
        for ann_id in wanted:
            del annotations[ann_id]
    return wanted


def delete_annotation(doc: pycrdt.Doc, annotation_id: Any, user_id: str, now_ms: int) -> None:
    """Delete one annotation (see :func:`delete_annotations`)."""
    delete_annotations(doc, [validate_id(annotation_id, "id")], user_id, now_ms)
