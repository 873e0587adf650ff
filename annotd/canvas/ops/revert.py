"""Restore a version: make the document equal another one, as one forward update."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pycrdt

from annotd.canvas import schema
from annotd.canvas.codec import annotation_to_fields
from annotd.canvas.model import CanvasView
from annotd.canvas.ops.comments import detach_threads
from annotd.canvas.ops.write import check_now, root, same
from annotd.canvas.pins import thread_pins
from annotd.canvas.reader import YMapData, read_root
from annotd.canvas.repair import sanitize_annotation
from annotd.canvas.validate import validate_user
from annotd.canvas.view import build_view


def revert_to(doc: pycrdt.Doc, target: pycrdt.Doc | CanvasView, user_id: str, now_ms: int) -> dict[str, list[str]]:
    """Make ``doc``'s annotations and ``meta.image`` equal to ``target``'s, as ONE forward
    update (history is never rewound; others' later edits merge on top as usual).

    ``target`` is the version to restore: a document, or its view (built elsewhere, e.g. by
    the state worker for a big room). Annotations absent from ``target`` are deleted; the others are created or
    patched field by field (style property by property) to equal ``target``'s repaired
    view — every field, ``z`` and ``groupIds`` included. ``createdBy`` comes from
    ``target``; ``updatedBy``/``updatedAt`` are stamped with ``user_id``/``now_ms`` on
    every annotation the revert changed. ``comments`` are left untouched (a discussion
    survives a revert; threads whose annotation disappears are detached, as for any
    delete). Returns ``{"created": [...], "updated": [...], "deleted": [...]}`` (sorted).
    """
    user_id = validate_user(user_id)
    now_ms = check_now(now_ms)
    wanted = target if isinstance(target, CanvasView) else build_view(target)
    result: dict[str, list[str]] = {"created": [], "updated": [], "deleted": []}
    annotations = root(doc, schema.ROOT_ANNOTATIONS)
    meta = root(doc, schema.ROOT_META)
    with doc.transaction():
        current = read_root(doc, schema.ROOT_ANNOTATIONS)
        wanted_ids = {a.id for a in wanted.annotations}
        doomed = sorted(k for k in current if k not in wanted_ids)
        if doomed:
            before = {a.id: a for k in doomed if (a := sanitize_annotation(k, current[k], [])) is not None}
            detach_threads(doc, thread_pins(doc, before.get))
            for k in doomed:
                del annotations[k]
            result["deleted"] = doomed
        for ann in wanted.annotations:
            fields = annotation_to_fields(ann)
            fields["updatedBy"], fields["updatedAt"] = user_id, now_ms
            raw = current.get(ann.id)
            if not isinstance(raw, YMapData) or not isinstance(raw.get("style"), YMapData):
                fields["style"] = pycrdt.Map(fields["style"])
                annotations[ann.id] = pycrdt.Map(fields)
                result["created" if raw is None else "updated"].append(ann.id)
                continue
            if _patch_to(annotations[ann.id], raw, fields):
                result["updated"].append(ann.id)
        image = wanted.image
        current_image = meta.get("image") if "image" in meta else None
        if image is None:
            if "image" in meta:
                del meta["image"]
        else:
            ref = {"sha256": image.sha256, "width": image.width, "height": image.height, "mime": image.mime}
            if not (isinstance(current_image, dict) and all(same(current_image.get(k), v) for k, v in ref.items())):
                meta["image"] = ref
        if "schemaVersion" not in meta:
            meta["schemaVersion"] = schema.SCHEMA_VERSION
    for v in result.values():
        v.sort()
    return result


def _patch_to(ymap: pycrdt.Map, raw: YMapData, fields: dict[str, Any]) -> bool:
    """Write into ``ymap`` (currently ``raw``) what differs from ``fields``; delete keys
    ``fields`` does not have. Stamps only if something else changed. True if it wrote."""
    changed = False
    stamp = {k: fields.pop(k) for k in ("updatedBy", "updatedAt")}
    style = fields.pop("style")
    for key, value in fields.items():
        if key not in raw or not same(raw[key], value):
            ymap[key] = value
            changed = True
    for key in _extra_keys(raw, fields, stamp):
        del ymap[key]
        changed = True
    raw_style: YMapData = raw["style"]
    style_map: pycrdt.Map = ymap["style"]
    for key, value in style.items():
        if key not in raw_style or not same(raw_style[key], value):
            style_map[key] = value
            changed = True
    for key in [k for k in raw_style if k not in style]:
        del style_map[key]
        changed = True
    if changed:
        for key, value in stamp.items():
            ymap[key] = value
    return changed


def _extra_keys(raw: Mapping[str, Any], *known: Iterable[str]) -> list[str]:
    names = {"style"}
    for k in known:
        names.update(k)
    return [k for k in raw if k not in names]
