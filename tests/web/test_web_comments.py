"""The web client's comments model (@annotd/client's model/comments.ts) against documents this server
produced: threads written by the server's own operations (anchored to a rotated shape, a
region, a point, detached by a delete, orphaned by a raw delete, resolved, edited,
deleted messages) and threads a careless Yjs client wrote (plain objects, bad anchors, bad
messages). web/test/comments.test.ts must read the same threads and put every pin where the
server's view puts it. Node and web/node_modules are required (bin/test installs them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pycrdt

from annotd.canvas import ops
from annotd.canvas.codec import thread_to_json
from annotd.canvas.view import build_view

from ..web.test_web_model import run_node_tests

NOW = 1764160000000


def server_doc() -> pycrdt.Doc[Any]:
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    ops.ensure_schema(doc)
    ops.upsert_annotation(doc, {"id": "r1", "type": "rect", "x": 100, "y": 80, "w": 300, "h": 200, "rotation": 30}, "alice", NOW)
    ops.upsert_annotation(doc, {"id": "e1", "type": "ellipse", "x": 500, "y": 500, "w": 80, "h": 40}, "alice", NOW)
    ops.upsert_annotation(doc, {"id": "a1", "type": "arrow", "x": 40, "y": 400, "points": [0, 0, 90.5, 60.25], "rotation": 285},
                          "bob", NOW)
    ops.upsert_annotation(doc, {"id": "t1", "type": "text", "x": 700, "y": 100, "w": 0, "h": 30, "text": "zero width"}, "bob", NOW)
    ops.create_thread(doc, {"kind": "annotation", "annotationId": "r1", "offsetX": 0.8, "offsetY": 0.1}, "On the rotated rect",
                      "bob", NOW + 1, thread_id="onrect", message_id="m1")
    ops.reply(doc, "onrect", "A reply", "alice", NOW + 2, message_id="m2")
    ops.reply(doc, "onrect", "Deleted later", "bob", NOW + 3, message_id="m3")
    ops.edit_message(doc, "onrect", "m2", "An edited reply", "alice", NOW + 4)
    ops.delete_message(doc, "onrect", "m3", "bob", NOW + 5)
    ops.resolve_thread(doc, "onrect", "carol", NOW + 6)
    ops.create_thread(doc, {"kind": "annotation", "annotationId": "a1", "offsetX": 0, "offsetY": 1}, "Arrow tail",
                      "carol", NOW + 7, thread_id="onarrow")
    ops.create_thread(doc, {"kind": "annotation", "annotationId": "t1"}, "Zero width box", "carol", NOW + 7, thread_id="ontext")
    ops.create_thread(doc, {"kind": "region", "x": 10, "y": 20, "w": 30.5, "h": 40}, "An area", "dave", NOW + 8, thread_id="area")
    ops.create_thread(doc, {"kind": "point", "x": -5, "y": 6.25}, "A point", "dave", NOW + 9, thread_id="pt")
    ops.create_thread(doc, {"kind": "annotation", "annotationId": "e1", "offsetX": 1, "offsetY": 0.5}, "Soon gone",
                      "erin", NOW + 10, thread_id="gone")
    ops.delete_annotations(doc, ["e1"], "erin", NOW + 11)  # detaches "gone" at its last pin
    comments = doc.get("comments", type=pycrdt.Map)
    comments["orphan"] = pycrdt.Map({  # anchored to an annotation a raw client deleted: not detached yet
        "id": "orphan", "status": "open", "createdBy": "raw", "createdAt": NOW + 12,
        "anchor": {"kind": "annotation", "annotationId": "zz", "offsetX": 0.3, "offsetY": 0.4, "x": 7, "y": 8},
        "messages": pycrdt.Map({"mz": pycrdt.Map({"id": "mz", "author": "raw", "body": "hm", "createdAt": NOW + 12,
                                                  "editedAt": None, "deleted": False})}),
    })
    return doc


def raw_doc() -> pycrdt.Doc[Any]:
    """Threads that break the schema the way a careless client might."""
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    ops.ensure_schema(doc)
    c = doc.get("comments", type=pycrdt.Map)
    c["plain"] = {"status": "resolved", "createdBy": "x", "createdAt": 5.9, "resolvedBy": 42,
                  "anchor": {"kind": "region", "x": 2e7, "y": "3", "w": -5, "h": 10},
                  "messages": {"b": {"author": "x", "body": "second", "createdAt": 2},
                               "a": {"author": "y", "body": "first", "createdAt": 2},
                               "bad key!": {"body": "skipped"}, "c": "not a map",
                               "d": {"author": "z", "body": "gone", "deleted": True, "createdAt": "soon", "editedAt": "x"}}}
    c["badanchor"] = pycrdt.Map({"anchor": "nope", "status": "weird", "resolvedBy": "q", "createdAt": -4})
    c["badkind"] = pycrdt.Map({"anchor": {"kind": "blob", "x": 3, "y": 4, "detachedFrom": "ok-id"}, "messages": pycrdt.Array([1, 2])})
    c["badid"] = pycrdt.Map({"anchor": {"kind": "annotation", "annotationId": "bad id!", "x": 1, "y": 2, "offsetX": 7}})
    c["offsets"] = pycrdt.Map({"anchor": {"kind": "annotation", "annotationId": "nope", "offsetX": 7, "offsetY": "a", "x": True}})
    c["bad key!"] = pycrdt.Map({"anchor": {"kind": "point", "x": 1, "y": 1}})
    c["notmap"] = 12
    return doc


def test_node_comments_model_matches_the_server(tmp_path: Path) -> None:
    for name, doc in (("comments", server_doc()), ("raw-comments", raw_doc())):
        (tmp_path / f"{name}.bin").write_bytes(doc.get_update())
        view = build_view(doc)
        (tmp_path / f"{name}-view.json").write_text(json.dumps([thread_to_json(t) for t in view.threads]))
    served = json.loads((tmp_path / "comments-view.json").read_text())
    assert [t["id"] for t in served][:2] == ["onrect", "onarrow"]
    assert next(t for t in served if t["id"] == "gone")["anchor"]["detachedFrom"] == "e1"
    run_node_tests(tmp_path, "comments", 3)
