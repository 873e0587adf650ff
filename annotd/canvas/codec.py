"""Encoders: model objects to the API's JSON and to the fields stored in the document.

Why one module: the read side (commands answering with the view) and the write side (the
operations rebuilding a raw client's plain object as nested maps, or restoring a version)
must produce exactly the same shapes, the ones the "Document schema" section of
protocol.md describes.
"""

from __future__ import annotations

from typing import Any

from annotd.canvas import schema
from annotd.canvas.model import Anchor, Annotation, CanvasView, ImageRef, Message, Style, Thread

__all__ = [
    "anchor_to_json",
    "annotation_to_fields",
    "annotation_to_json",
    "image_json",
    "message_to_json",
    "thread_to_json",
    "view_to_json",
]
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
    elif t in schema.POINT_TYPES:
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
