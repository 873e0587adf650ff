"""One rule from a stored anchor to a pin: the view, the API's delete and the live tick
read the same bad data the same way."""

from __future__ import annotations

import pycrdt

from annotd.canvas import ops
from annotd.canvas.live import LiveCanvas
from annotd.canvas.pins import anchor_offsets, anchor_position, thread_pins
from annotd.canvas.view import build_view, read_annotation

BAD_ANCHOR = {"kind": "annotation", "annotationId": "r", "offsetX": 1.5, "offsetY": True, "x": "left", "y": 7}


def doc_with_bad_anchor() -> pycrdt.Doc:
    doc = pycrdt.Doc()
    ops.ensure_schema(doc)
    ops.upsert_annotation(doc, {"id": "r", "type": "rect", "x": 0, "y": 0, "w": 100, "h": 50}, "u", 1)
    ops.create_thread(doc, {"kind": "annotation", "annotationId": "r"}, "b", "u", 1, thread_id="t")
    doc.get("comments", type=pycrdt.Map)["t"]["anchor"] = BAD_ANCHOR  # as a raw client might
    return doc


def test_offsets_clamp_per_axis_and_default_to_the_centre() -> None:
    assert anchor_offsets(BAD_ANCHOR) == (1.0, 0.5)
    assert anchor_offsets({"offsetX": float("nan"), "offsetY": -3}) == (0.5, 0.0)
    assert anchor_position(BAD_ANCHOR) == (0.0, 7.0)


def test_view_tracker_and_delete_agree_on_a_bad_anchor() -> None:
    doc = doc_with_bad_anchor()
    [thread] = build_view(doc).threads
    assert thread.pin == (100.0, 25.0)
    assert thread_pins(doc, lambda aid: read_annotation(doc, aid)) == {"t": ("r", thread.pin)}
    live = LiveCanvas()
    live.track(doc, 1)
    del doc.get("annotations", type=pycrdt.Map)["r"]  # a raw client deletes it
    assert live.orphan_pins(doc, lambda seq: None) == {"t": ("r", thread.pin)}
    # deleted through the API instead: the same pin
    api = doc_with_bad_anchor()
    ops.delete_annotation(api, "r", "u", 2)
    assert build_view(api).threads[0].pin == thread.pin


def test_without_a_tracked_pin_the_stored_position_is_read_as_the_view_reads_it() -> None:
    doc = doc_with_bad_anchor()
    del doc.get("annotations", type=pycrdt.Map)["r"]
    [thread] = build_view(doc).threads  # the annotation is missing: pinned at the anchor's x, y
    assert LiveCanvas().orphan_pins(doc, lambda seq: None) == {"t": ("r", thread.pin)}
    assert thread.pin == (0.0, 7.0)
