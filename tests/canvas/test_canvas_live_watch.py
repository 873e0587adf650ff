"""The live canvas's thread check is incremental: it looks only at the threads that changed and
at the threads of the annotations that changed, and still finds every orphan and return."""

from __future__ import annotations

from typing import Any

import pycrdt
import pytest

from annotd.canvas import live as live_module
from annotd.canvas import ops
from annotd.canvas.live import LiveCanvas
from annotd.canvas.view import build_view

N = 500


def no_replay(seq: int) -> None:
    return None


def room_with_threads(n: int = N) -> pycrdt.Doc:
    doc = pycrdt.Doc()
    ops.ensure_schema(doc)
    for i in range(n):
        ops.upsert_annotation(doc, {"id": f"a{i}", "type": "rect", "x": i, "y": 0, "w": 10, "h": 10}, "u", 1)
        ops.create_thread(doc, {"kind": "annotation", "annotationId": f"a{i}"}, "b", "u", 1, thread_id=f"t{i}")
    ops.upsert_annotation(doc, {"id": "plain", "type": "rect"}, "u", 1)
    return doc


class Reads:
    """Counts the anchors and annotations the live canvas reads from the document."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.anchors = 0
        self.annotations = 0
        real_field, real_ann = live_module.read_entry_field, live_module.read_annotation

        def field(*args: Any) -> Any:
            self.anchors += 1
            return real_field(*args)

        def ann(*args: Any) -> Any:
            self.annotations += 1
            return real_ann(*args)

        monkeypatch.setattr(live_module, "read_entry_field", field)
        monkeypatch.setattr(live_module, "read_annotation", ann)

    def total(self) -> int:
        return self.anchors + self.annotations


def checked(live: LiveCanvas, doc: pycrdt.Doc, seq: int) -> tuple[Any, Any]:
    """One tick's check, acted on as the live room does."""
    pins, back = live.check(doc, no_replay)
    if pins:
        ops.detach_threads(doc, pins)
    if back:
        ops.reattach_threads(doc, back)
    live.track(doc, seq)
    return pins, back


def watching(doc: pycrdt.Doc) -> LiveCanvas:
    """A live canvas past its first reading of ``doc`` (spread over checks: see backlog)."""
    live = LiveCanvas()
    checked(live, doc, 1)
    while live.backlog:
        checked(live, doc, 1)
    return live


def test_a_check_reads_only_what_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = room_with_threads()
    live = watching(doc)  # the first checks read every thread, once
    reads = Reads(monkeypatch)
    ops.upsert_annotation(doc, {"id": "plain", "x": 5}, "u", 2)  # an annotation without threads
    assert checked(live, doc, 2) == ({}, {})
    assert reads.total() == 0
    ops.upsert_annotation(doc, {"id": "a7", "x": 50}, "u", 3)  # moves t7's pin
    assert checked(live, doc, 3) == ({}, {})
    assert reads.total() == 1  # a7, for t7's pin
    live.close()


def test_a_raw_delete_is_found_and_detached_at_the_pin_last_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = room_with_threads()
    live = watching(doc)
    ops.upsert_annotation(doc, {"id": "a3", "x": 100}, "u", 2)  # moved: pin (105, 5)
    checked(live, doc, 2)
    reads = Reads(monkeypatch)
    del doc.get("annotations", type=pycrdt.Map)["a3"]  # as a raw Yjs client deletes it
    pins, back = checked(live, doc, 3)
    assert pins == {"t3": ("a3", (105.0, 5.0))} and back == {}
    assert reads.total() <= 3  # t3's anchor after the detach, not every thread's
    threads = {t.id: t for t in build_view(doc).threads}
    assert threads["t3"].anchor.detachedFrom == "a3" and threads["t3"].pin == (105.0, 5.0)
    # the annotation comes back (an undo): the thread is anchored to it again
    doc.get("annotations", type=pycrdt.Map)["a3"] = pycrdt.Map(
        {"type": "rect", "x": 100, "y": 0, "w": 10, "h": 10})
    pins, back = checked(live, doc, 4)
    assert pins == {} and set(back) == {"t3"}
    assert {t.id: t for t in build_view(doc).threads}["t3"].anchor.kind == "annotation"
    live.close()


def test_a_thread_anchored_and_orphaned_between_two_checks_is_found() -> None:
    doc = room_with_threads(3)
    live = LiveCanvas()
    checked(live, doc, 1)
    ops.upsert_annotation(doc, {"id": "late", "type": "rect", "x": 1, "y": 1, "w": 2, "h": 2}, "u", 2)
    ops.create_thread(doc, {"kind": "annotation", "annotationId": "late"}, "b", "u", 2, thread_id="tl")
    del doc.get("annotations", type=pycrdt.Map)["late"]
    pins, _ = checked(live, doc, 2)
    assert set(pins) == {"tl"}
    live.close()


def test_a_replaced_annotation_map_is_still_watched() -> None:
    """A raw client may write an annotation whole (a new nested map): its later edits still move
    the tracked pin, and its deletion still detaches at that pin."""
    doc = room_with_threads(2)
    live = LiveCanvas()
    checked(live, doc, 1)
    annotations = doc.get("annotations", type=pycrdt.Map)
    annotations["a1"] = pycrdt.Map({"type": "rect", "x": 0, "y": 0, "w": 10, "h": 10})
    checked(live, doc, 2)
    annotations["a1"]["x"] = 40
    checked(live, doc, 3)
    del annotations["a1"]
    pins, _ = checked(live, doc, 4)
    assert pins == {"t1": ("a1", (45.0, 5.0))}
    live.close()


def test_a_room_without_comments_is_not_observed() -> None:
    doc = pycrdt.Doc()
    ops.ensure_schema(doc)
    live = LiveCanvas()
    assert checked(live, doc, 1) == ({}, {})
    ops.upsert_annotation(doc, {"id": "r", "type": "rect"}, "u", 2)
    ops.create_thread(doc, {"kind": "annotation", "annotationId": "r"}, "b", "u", 2, thread_id="t")
    del doc.get("annotations", type=pycrdt.Map)["r"]
    pins, _ = checked(live, doc, 2)  # comments appeared: watching starts with a full read
    assert set(pins) == {"t"}
    live.close()


def test_many_changed_threads_are_spread_over_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """An import of thousands of threads is looked at a bounded number per check; the rest wait
    (``backlog``) and are still found."""
    monkeypatch.setattr(live_module, "MAX_THREADS_PER_CHECK", 10)
    doc = room_with_threads(25)
    del doc.get("annotations", type=pycrdt.Map)["a4"]
    live = LiveCanvas()
    found: dict[str, Any] = {}
    for seq in range(1, 4):
        pins, _ = checked(live, doc, seq)
        found.update(pins)
        assert live.backlog == (seq < 3)  # 26 threads (25 + the detached t4 again), 10 a check
    assert set(found) == {"t4"}
    live.close()
