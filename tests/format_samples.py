"""A canvas with one of everything, for the format round-trip tests."""

from __future__ import annotations

from typing import Any

from pycrdt import Doc

from annotd.canvas import ops as mut
from annotd.canvas.codec import annotation_to_fields
from annotd.canvas.model import CanvasView
from annotd.canvas.view import build_view

IMAGE = {"sha256": "ab" * 32, "width": 1600, "height": 1000, "mime": "image/png"}
COMPARED = ("type", "x", "y", "w", "h", "rotation", "locked", "style", "text", "wrap", "points", "pressures",
            "startArrowhead", "endArrowhead", "closed")


def rich_doc() -> Doc[Any]:
    doc: Doc[Any] = Doc()
    mut.ensure_schema(doc)
    mut.set_image(doc, IMAGE)
    up = mut.upsert_annotation
    r = up(doc, {"type": "rect", "x": 100, "y": 80, "w": 300, "h": 200, "rotation": 15,
                 "style": {"stroke": "#1971c2", "fill": "#ffec9933", "strokeStyle": "dashed"}}, "alice", 1_764_160_000_000)
    t = up(doc, {"type": "text", "x": 100, "y": 50, "w": 120, "h": 24, "text": "crack", "style": {"fontWeight": "bold"}},
           "alice", 1_764_160_001_000)
    mut.group(doc, [r["id"], t["id"]], "alice", 1_764_160_002_000)
    up(doc, {"type": "ellipse", "x": 500, "y": 500, "w": 80, "h": 40, "rotation": 30}, "bob", 1_764_160_003_000)
    up(doc, {"type": "polygon", "x": 700, "y": 400, "points": [0, 0, 120, 10, 60, 100], "closed": False,
             "locked": True}, "bob", 1_764_160_004_000)
    up(doc, {"type": "polygon", "x": 900, "y": 100, "points": [0, 0, 50, 0, 50, 50, 0, 50]}, "bob", 1_764_160_004_500)
    up(doc, {"type": "freehand", "x": 50, "y": 600, "points": [0, 0, 10.5, 4.25, 25, 12.25, 42.5, 8],
             "pressures": [0.3, 0.5, 0.6, 0.4]}, "carol", 1_764_160_005_000)
    up(doc, {"type": "arrow", "x": 300, "y": 700, "points": [0, 0, 90, 60], "startArrowhead": "dot"}, "carol", 1_764_160_006_000)
    up(doc, {"type": "line", "x": 10, "y": 10, "points": [0, 0, 5, 5, 10, 0]}, "carol", 1_764_160_007_000)
    th = mut.create_thread(doc, {"kind": "annotation", "annotationId": r["id"], "offsetX": 1, "offsetY": 0},
                           "Is this the crack?", "bob", 1_764_160_050_000)
    mut.reply(doc, th["id"], "Yes — marked.", "alice", 1_764_160_090_000)
    mut.resolve_thread(doc, th["id"], "alice", 1_764_160_100_000)
    mut.create_thread(doc, {"kind": "point", "x": 545, "y": 150}, "Arrow was removed?", "carol", 1_764_160_060_000)
    mut.create_thread(doc, {"kind": "region", "x": 1200, "y": 300, "w": 200, "h": 150}, "Look here", "dave",
                      1_764_160_070_000)
    return doc


def shape_fields(view: CanvasView) -> list[dict[str, Any]]:
    """Each annotation's comparable fields, in paint order."""
    out = []
    for a in view.annotations:
        f = annotation_to_fields(a)
        out.append({k: f[k] for k in COMPARED if k in f})
    return out


def group_partition(view: CanvasView) -> list[list[int]]:
    """Which annotations (by paint-order index) share each group: ids differ, structure must not."""
    groups: dict[str, list[int]] = {}
    for i, a in enumerate(view.annotations):
        for g in a.groupIds:
            groups.setdefault(g, []).append(i)
    return sorted(groups.values())


def threads_summary(view: CanvasView) -> list[tuple[Any, ...]]:
    index = {a.id: i for i, a in enumerate(view.annotations)}
    out = []
    for t in view.threads:
        anchor = (t.anchor.kind, index.get(t.anchor.annotationId or ""), t.anchor.offsetX, t.anchor.offsetY) \
            if t.anchor.kind == "annotation" else (t.anchor.kind, t.anchor.x, t.anchor.y, t.anchor.w, t.anchor.h)
        out.append((anchor, t.status, t.resolvedBy, t.resolvedAt, t.createdBy, t.createdAt,
                    tuple((m.author, m.body, m.createdAt) for m in t.messages)))
    return out


def view_of(doc: Doc[Any]) -> CanvasView:
    return build_view(doc)
