"""Mutations: one update per call, round trips, convergence, comments, orphans, revert."""

from __future__ import annotations

from typing import Any

import pycrdt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotd.base.errors import Conflict, Forbidden, InvalidParams, LimitReached, NotFound
from annotd.canvas import ops, schema
from annotd.canvas.codec import annotation_to_json, view_to_json
from annotd.canvas.live import LiveCanvas
from annotd.canvas.view import build_view

SHA = "ab" * 32


def new_doc() -> pycrdt.Doc:
    doc = pycrdt.Doc()
    ops.ensure_schema(doc)
    return doc


def sync(*docs: pycrdt.Doc) -> None:
    """Exchange everything between all docs (state-vector diffs, both ways)."""
    for a in docs:
        for b in docs:
            if a is not b:
                b.apply_update(a.get_update(b.get_state()))


def clone(doc: pycrdt.Doc) -> pycrdt.Doc:
    other = pycrdt.Doc()
    other.apply_update(doc.get_update())
    return other


class Updates:
    """Counts the Yjs updates a doc emits."""

    def __init__(self, doc: pycrdt.Doc) -> None:
        self.items: list[bytes] = []
        doc.observe(lambda event: self.items.append(event.update))

    def __len__(self) -> int:
        return len(self.items)


def strip_stamps(a: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in a.items() if k not in ("updatedBy", "updatedAt")}


PAYLOADS: list[dict[str, Any]] = [
    {
        "id": "t1",
        "type": "text",
        "x": 5,
        "y": 6,
        "w": 100,
        "h": 20,
        "text": "hello\nworld",
        "wrap": False,
        "style": {"fontFamily": "mono", "fontSize": 24, "fontWeight": "bold", "textAlign": "center"},
    },
    {"id": "l1", "type": "line", "x": 1, "y": 2, "points": [0, 0, 10, 5], "startArrowhead": "dot"},
    {
        "id": "a1",
        "type": "arrow",
        "x": 1,
        "y": 2,
        "points": [0, 0, -10, 5, 3, 3],
        "endArrowhead": "triangle",
        "style": {"strokeStyle": "dashed", "strokeWidth": 4},
    },
    {
        "id": "r1",
        "type": "rect",
        "x": -5,
        "y": 7.5,
        "w": 30,
        "h": 40,
        "rotation": 370,
        "locked": False,
        "style": {"fill": "#11223344", "opacity": 0.5},
    },
    {"id": "e1", "type": "ellipse", "x": 0, "y": 0, "w": 1, "h": 2},
    {"id": "p1", "type": "polygon", "x": 3, "y": 3, "points": [0, 0, 10, 0, 5, 8], "closed": False},
    {"id": "f1", "type": "freehand", "x": 9, "y": 9, "points": [0, 0, 1.3, 2.7, 4, 4.0625], "pressures": [0.25, 0.5, 1]},
]


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p["type"])
def test_create_round_trips_payload_doc_view_json(payload: dict[str, Any]) -> None:
    doc = new_doc()
    updates = Updates(doc)
    out = ops.upsert_annotation(doc, payload, "alice", 1_000)
    assert len(updates) == 1
    for key, value in payload.items():
        if key == "style":
            for sk, sv in value.items():
                assert out["style"][sk] == sv
        elif key == "rotation":
            assert out[key] == value % 360
        elif key == "points":
            assert out[key] == [round(v * 16) / 16 for v in value]
        else:
            assert out[key] == value, key
    assert out["createdBy"] == out["updatedBy"] == "alice"
    assert out["updatedAt"] == 1_000
    assert out["issues"] == []
    view = build_view(doc)
    assert [annotation_to_json(a) for a in view.annotations] == [out]
    # a replica synced by update sees the same view
    assert view_to_json(build_view(clone(doc))) == view_to_json(view)


def test_point_types_get_their_bounding_box_and_arrow_defaults() -> None:
    doc = new_doc()
    out = ops.upsert_annotation(doc, {"type": "arrow", "points": [0, 0, -10, 5, 3, 3]}, "u", 1)
    assert (out["w"], out["h"]) == (13, 5)
    assert (out["startArrowhead"], out["endArrowhead"]) == ("none", "arrow")
    out = ops.upsert_annotation(doc, {"id": out["id"], "points": [0, 0, 2, 2]}, "u", 2)
    assert (out["w"], out["h"]) == (2, 2)


def test_new_annotations_go_to_the_front() -> None:
    doc = new_doc()
    ids = [ops.upsert_annotation(doc, {"type": "rect"}, "u", i)["id"] for i in range(5)]
    assert [a.id for a in build_view(doc).annotations] == ids


def test_partial_update_writes_only_given_fields_in_one_update() -> None:
    doc = new_doc()
    ops.upsert_annotation(doc, PAYLOADS[3], "alice", 1)
    updates = Updates(doc)
    out = ops.upsert_annotation(doc, {"id": "r1", "x": 50, "style": {"stroke": "#000000"}}, "bob", 2)
    assert len(updates) == 1
    assert out["x"] == 50 and out["y"] == 7.5 and out["w"] == 30
    assert out["style"]["stroke"] == "#000000" and out["style"]["fill"] == "#11223344"
    assert (out["createdBy"], out["updatedBy"], out["updatedAt"]) == ("alice", "bob", 2)
    # no change → no update at all
    ops.upsert_annotation(doc, {"id": "r1", "x": 50}, "bob", 3)
    assert len(updates) == 1


def test_update_errors() -> None:
    doc = new_doc()
    ops.upsert_annotation(doc, PAYLOADS[3], "alice", 1)
    with pytest.raises(NotFound):
        ops.upsert_annotation(doc, {"id": "nope", "x": 1}, "alice", 2)
    with pytest.raises(InvalidParams) as err:
        ops.upsert_annotation(doc, {"id": "r1", "type": "ellipse"}, "alice", 2)
    assert err.value.field == "annotation.type"
    with pytest.raises(InvalidParams) as err:
        ops.upsert_annotation(doc, {"id": "r1", "text": "x"}, "alice", 2)
    assert err.value.field == "annotation.text"
    ops.upsert_annotation(doc, {"id": "r1", "locked": True}, "alice", 2)
    with pytest.raises(Conflict):
        ops.upsert_annotation(doc, {"id": "r1", "x": 1}, "bob", 3)
    with pytest.raises(Conflict):
        ops.delete_annotation(doc, "r1", "bob", 3)
    out = ops.upsert_annotation(doc, {"id": "r1", "locked": False, "x": 1}, "bob", 3)
    assert out["x"] == 1 and out["locked"] is False


def test_concurrent_edits_of_different_fields_both_survive() -> None:
    a = new_doc()
    ops.upsert_annotation(a, PAYLOADS[3], "alice", 1)
    b = clone(a)
    ops.upsert_annotation(a, {"id": "r1", "x": 100, "style": {"stroke": "#0000ff"}}, "alice", 2)
    ops.upsert_annotation(b, {"id": "r1", "w": 7, "style": {"fill": "#00ff00"}}, "bob", 2)
    sync(a, b)
    va, vb = view_to_json(build_view(a)), view_to_json(build_view(b))
    assert va == vb
    ann = va["annotations"][0]
    assert (ann["x"], ann["w"]) == (100, 7)
    assert (ann["style"]["stroke"], ann["style"]["fill"]) == ("#0000ff", "#00ff00")


def test_concurrent_move_does_not_undo_grouping() -> None:
    a = new_doc()
    for p in PAYLOADS[3:5]:
        ops.upsert_annotation(a, p, "alice", 1)
    b = clone(a)
    gid = ops.group(a, ["r1", "e1"], "alice", 2, group_id="g1")
    ops.upsert_annotation(b, {"id": "r1", "x": 500}, "bob", 2)
    sync(a, b)
    ann = {x.id: x for x in build_view(b).annotations}
    assert ann["r1"].groupIds == (gid,) and ann["r1"].x == 500


def three_docs() -> tuple[pycrdt.Doc, pycrdt.Doc, pycrdt.Doc]:
    a = new_doc()
    for i in range(6):
        ops.upsert_annotation(a, {"id": f"n{i}", "type": "rect", "x": i}, "alice", i)
    return a, clone(a), clone(a)


@settings(derandomize=True, max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 2),
            st.sampled_from(["forward", "backward", "front", "back", "group", "ungroup"]),
            st.integers(0, 5),
            st.integers(0, 5),
        ),
        max_size=25,
    ),
    st.lists(st.integers(0, 24), max_size=5),
)
def test_concurrent_reorders_and_groups_converge_to_one_total_order(moves: list[tuple[int, str, int, int]], sync_points: list[int]) -> None:
    docs = three_docs()
    for step, (who, op, i, j) in enumerate(moves):
        doc = docs[who]
        if op in ("forward", "backward", "front", "back"):
            ops.reorder(doc, f"n{i}", op, f"user{who}", 100 + step)
        elif op == "group" and i != j:
            ops.group(doc, [f"n{i}", f"n{j}"], f"user{who}", 100 + step)
        elif op == "ungroup":
            groups = next((a.groupIds for a in build_view(doc).annotations if a.id == f"n{i}"), ())
            if groups:
                ops.ungroup(doc, groups[0], f"user{who}", 100 + step)
        if step in sync_points:
            sync(*docs)
    sync(*docs)
    views = [view_to_json(build_view(d)) for d in docs]
    assert views[0] == views[1] == views[2]
    order = [(a["z"], a["id"]) for a in views[0]["annotations"]]
    assert order == sorted(order) and len(order) == 6
    assert all(len(set(a["groupIds"])) == len(a["groupIds"]) for a in views[0]["annotations"])


def test_reorder_moves_one_step_and_rewrites_only_z() -> None:
    doc, _, _ = three_docs()
    updates = Updates(doc)
    before = {a.id: a for a in build_view(doc).annotations}
    ops.reorder(doc, "n1", "forward", "bob", 99)
    assert [a.id for a in build_view(doc).annotations] == ["n0", "n2", "n1", "n3", "n4", "n5"]
    ops.reorder(doc, "n1", "back", "bob", 99)
    ops.reorder(doc, "n4", "front", "bob", 99)
    ops.reorder(doc, "n5", "backward", "bob", 99)
    view = build_view(doc)
    assert [a.id for a in view.annotations] == ["n1", "n0", "n2", "n5", "n3", "n4"]
    assert len(updates) == 4
    assert ops.reorder(doc, "n4", "front", "bob", 100) == next(a.z for a in view.annotations if a.id == "n4")
    assert len(updates) == 4  # already there: nothing written
    for a in view.annotations:
        assert (a.x, a.style) == (before[a.id].x, before[a.id].style)
    with pytest.raises(InvalidParams):
        ops.reorder(doc, "n1", "sideways", "bob", 1)
    with pytest.raises(NotFound):
        ops.reorder(doc, "zz", "front", "bob", 1)


def test_reorder_past_tied_keys() -> None:
    doc = new_doc()
    for name in ("a", "b", "c", "d"):
        ops.upsert_annotation(doc, {"id": name, "type": "rect", "z": "a0"}, "u", 1)
    ops.reorder(doc, "a", "forward", "u", 2)
    order = [a.id for a in build_view(doc).annotations]
    assert order.index("a") > order.index("b")
    ops.reorder(doc, "d", "backward", "u", 3)
    order = [a.id for a in build_view(doc).annotations]
    assert order.index("d") < order.index("c")


def test_group_nesting_keeps_a_tree() -> None:
    doc = new_doc()
    for name in ("a", "b", "c"):
        ops.upsert_annotation(doc, {"id": name, "type": "rect"}, "u", 1)
    ops.group(doc, ["a", "b"], "u", 2, group_id="inner")
    ops.group(doc, ["a", "b", "c"], "u", 3, group_id="outer")
    ops.group(doc, ["a", "b"], "u", 4, group_id="inmost")
    g = {a.id: a.groupIds for a in build_view(doc).annotations}
    assert g == {"a": ("inmost", "inner", "outer"), "b": ("inmost", "inner", "outer"), "c": ("outer",)}
    with pytest.raises(Conflict):
        ops.group(doc, ["a", "c"], "u", 5, group_id="inner")
    with pytest.raises(InvalidParams) as err:
        ops.group(doc, ["a"], "u", 5)
    assert err.value.field == "ids"
    with pytest.raises(NotFound):
        ops.group(doc, ["a", "zz"], "u", 5)
    assert ops.ungroup(doc, "inner", "u", 6) == ["a", "b"]
    g = {a.id: a.groupIds for a in build_view(doc).annotations}
    assert g["a"] == ("inmost", "outer")
    with pytest.raises(NotFound):
        ops.ungroup(doc, "inner", "u", 7)


def test_set_image_is_atomic_and_validated() -> None:
    doc = new_doc()
    ref = {"sha256": SHA, "width": 640, "height": 480, "mime": "image/png"}
    assert ops.set_image(doc, ref) == ref
    image = build_view(doc).image
    assert image is not None and (image.width, image.height) == (640, 480)
    with pytest.raises(InvalidParams) as err:
        ops.set_image(doc, {**ref, "width": 0})
    assert err.value.field == "image.width"


def test_annotation_limit() -> None:
    doc = new_doc()
    annotations = doc.get("annotations", type=pycrdt.Map)
    with doc.transaction():
        for i in range(schema.MAX_ANNOTATIONS):
            annotations[f"x{i}"] = {"type": "rect"}
    with pytest.raises(LimitReached):
        ops.upsert_annotation(doc, {"type": "rect"}, "u", 1)


# -- comments -------------------------------------------------------------------------------


def test_comment_lifecycle() -> None:
    doc = new_doc()
    ops.upsert_annotation(doc, PAYLOADS[4], "alice", 1)
    updates = Updates(doc)
    t = ops.create_thread(
        doc,
        {"kind": "annotation", "annotationId": "e1", "offsetX": 1, "offsetY": 0.5},
        "look here",
        "alice",
        10,
        thread_id="th1",
        message_id="m1",
    )
    assert t["status"] == "open" and t["pin"] == {"x": 1, "y": 1}
    r = ops.reply(doc, "th1", "agreed", "bob", 11, message_id="m2")
    assert r["author"] == "bob"
    e = ops.edit_message(doc, "th1", "m1", "look HERE", "alice", 12)
    assert (e["body"], e["editedAt"]) == ("look HERE", 12)
    with pytest.raises(Forbidden):
        ops.edit_message(doc, "th1", "m1", "mine now", "bob", 13)
    with pytest.raises(Forbidden):
        ops.delete_message(doc, "th1", "m1", "bob", 13)
    d = ops.delete_message(doc, "th1", "m2", "bob", 14)
    assert d["deleted"] is True and d["body"] == ""
    with pytest.raises(Conflict):
        ops.edit_message(doc, "th1", "m2", "undelete", "bob", 15)
    res = ops.resolve_thread(doc, "th1", "carol", 16)
    assert (res["status"], res["resolvedBy"], res["resolvedAt"]) == ("resolved", "carol", 16)
    again = ops.reopen_thread(doc, "th1", "alice", 17)
    assert (again["status"], again["resolvedBy"], again["resolvedAt"]) == ("open", None, None)
    assert len(updates) == 6  # refused calls wrote nothing
    thread = build_view(doc).threads[0]
    assert [(m.id, m.body, m.deleted) for m in thread.messages] == [("m1", "look HERE", False), ("m2", "", True)]
    with pytest.raises(NotFound):
        ops.reply(doc, "nope", "x", "bob", 1)
    with pytest.raises(NotFound):
        ops.create_thread(doc, {"kind": "annotation", "annotationId": "gone"}, "x", "bob", 1)
    with pytest.raises(Conflict):
        ops.create_thread(doc, {"kind": "point", "x": 1, "y": 1}, "x", "bob", 1, thread_id="th1")
    with pytest.raises(InvalidParams) as err:
        ops.reply(doc, "th1", "   ", "bob", 1)
    assert err.value.field == "body"


def test_concurrent_replies_never_collide_and_sort_by_time() -> None:
    a = new_doc()
    ops.create_thread(a, {"kind": "point", "x": 1, "y": 2}, "first", "alice", 1, thread_id="th")
    b, c = clone(a), clone(a)
    ops.reply(b, "th", "from b", "bob", 5)
    ops.reply(c, "th", "from c", "carol", 3)
    ops.resolve_thread(b, "th", "bob", 6)
    sync(a, b, c)
    views = [view_to_json(build_view(d)) for d in (a, b, c)]
    assert views[0] == views[1] == views[2]
    assert [m["body"] for m in views[0]["threads"][0]["messages"]] == ["first", "from c", "from b"]


def test_pin_follows_moves_resizes_and_rotation() -> None:
    doc = new_doc()
    ops.upsert_annotation(doc, {"id": "r", "type": "rect", "x": 0, "y": 0, "w": 10, "h": 10}, "u", 1)
    ops.create_thread(doc, {"kind": "annotation", "annotationId": "r", "offsetX": 1, "offsetY": 0.5}, "b", "u", 1)
    ops.upsert_annotation(doc, {"id": "r", "x": 100, "w": 20}, "u", 2)
    assert build_view(doc).threads[0].pin == (120, 5)
    ops.upsert_annotation(doc, {"id": "r", "rotation": 90}, "u", 3)
    x, y = build_view(doc).threads[0].pin
    assert (round(x, 6), round(y, 6)) == (110, 15)


def test_delete_through_api_detaches_threads_in_the_same_update() -> None:
    doc = new_doc()
    ops.upsert_annotation(doc, {"id": "r", "type": "rect", "x": 10, "y": 10, "w": 10, "h": 10}, "u", 1)
    ops.create_thread(doc, {"kind": "annotation", "annotationId": "r", "offsetX": 1, "offsetY": 1}, "b", "u", 1)
    ops.upsert_annotation(doc, {"id": "r", "x": 50}, "u", 2)
    updates = Updates(doc)
    ops.delete_annotation(doc, "r", "u", 3)
    assert len(updates) == 1
    t = view_to_json(build_view(doc))["threads"][0]
    assert t["anchor"] == {"kind": "point", "x": 60, "y": 20, "detachedFrom": "r"}
    assert t["pin"] == {"x": 60, "y": 20}


def test_orphan_detachment_after_a_raw_client_delete_keeps_last_pin() -> None:
    server = new_doc()
    ops.upsert_annotation(server, {"id": "r", "type": "rect", "x": 10, "y": 10, "w": 10, "h": 10}, "u", 1)
    ops.upsert_annotation(server, {"id": "keep", "type": "rect"}, "u", 1)
    ops.create_thread(server, {"kind": "annotation", "annotationId": "r"}, "b", "u", 1, thread_id="t1")
    ops.create_thread(server, {"kind": "annotation", "annotationId": "keep"}, "b", "u", 1, thread_id="t2")
    ops.upsert_annotation(server, {"id": "r", "x": 30}, "u", 2)
    live = LiveCanvas()
    live.track(server, 1)  # the tick saw the pins here
    # a raw Yjs client deletes the annotation without touching comments
    client = clone(server)
    del client.get("annotations", type=pycrdt.Map)["r"]
    server.apply_update(client.get_update(server.get_state()))
    updates = Updates(server)
    pins = live.orphan_pins(server, lambda seq: None)  # nothing to replay: the tracked pins
    assert ops.detach_threads(server, pins) is True
    assert len(updates) == 1
    threads = {t.id: t for t in build_view(server).threads}
    assert threads["t1"].anchor.kind == "point" and threads["t1"].anchor.detachedFrom == "r"
    assert threads["t1"].pin == (35, 15)
    assert threads["t2"].anchor.kind == "annotation"
    # nothing left to do: no write
    live.track(server, 2)
    assert ops.detach_threads(server, live.orphan_pins(server, lambda seq: None)) is False
    assert len(updates) == 1


def test_detach_is_free_without_annotation_anchors() -> None:
    doc = new_doc()
    ops.create_thread(doc, {"kind": "region", "x": 1, "y": 2, "w": 3, "h": 4}, "b", "u", 1)
    view = build_view(doc)
    assert view.threads[0].pin == (4, 2)
    assert LiveCanvas().orphan_pins(doc, lambda seq: None) == {}

    class Exploding(pycrdt.Doc):
        def get(self, *args: Any, **kwargs: Any) -> Any:
            raise AssertionError("must not read the document")

    assert LiveCanvas().orphan_pins(Exploding(), lambda seq: None) == {}  # no comments at all


def test_a_document_without_comments_is_checked_with_one_read() -> None:
    doc = new_doc()
    ops.upsert_annotation(doc, {"id": "r", "type": "rect"}, "u", 1)
    live = LiveCanvas()
    assert "comments" not in doc.keys()
    assert live.checked_without_comments(doc, 7) is True
    assert live.checked_seq == 7
    ops.create_thread(doc, {"kind": "annotation", "annotationId": "r"}, "b", "u", 2, thread_id="t1")
    assert live.checked_without_comments(doc, 8) is False  # now threads need the full check
    assert live.checked_seq == 7
    live.track(doc, 8)
    del doc.get("annotations", type=pycrdt.Map)["r"]
    assert live.checked_without_comments(doc, 9) is False  # remembered: the root stays
    assert set(live.orphan_pins(doc, lambda seq: None)) == {"t1"}


# -- revert ---------------------------------------------------------------------------------


def test_revert_restores_annotations_keeps_comments_and_still_merges() -> None:
    doc = new_doc()
    ops.set_image(doc, {"sha256": SHA, "width": 100, "height": 100, "mime": "image/png"})
    for p in PAYLOADS:
        ops.upsert_annotation(doc, p, "alice", 1)
    ops.group(doc, ["r1", "e1"], "alice", 2, group_id="g")
    ops.reorder(doc, "t1", "front", "alice", 3)
    target = clone(doc)
    target_json = [strip_stamps(annotation_to_json(a)) for a in build_view(target).annotations]

    # later edits: delete, move, restyle, regroup, new annotation, new image, comments
    ops.create_thread(doc, {"kind": "annotation", "annotationId": "e1"}, "about e1", "bob", 4, thread_id="th")
    ops.create_thread(doc, {"kind": "point", "x": 1, "y": 1}, "general", "bob", 4, thread_id="th2")
    ops.delete_annotations(doc, ["l1", "a1"], "bob", 5)
    ops.upsert_annotation(doc, {"id": "r1", "x": 999, "style": {"opacity": 0.1}}, "bob", 5)
    ops.ungroup(doc, "g", "bob", 5)
    ops.reorder(doc, "r1", "back", "bob", 5)
    ops.upsert_annotation(doc, {"id": "new", "type": "ellipse"}, "bob", 5)
    ops.set_image(doc, {"sha256": "cd" * 32, "width": 10, "height": 10, "mime": "image/jpeg"})
    other = clone(doc)
    comments_before = view_to_json(build_view(doc))["threads"]

    updates = Updates(doc)
    result = ops.revert_to(doc, target, "carol", 6)
    assert len(updates) == 1
    assert result == {"created": ["a1", "l1"], "updated": ["e1", "r1"], "deleted": ["new"]}
    after = build_view(doc)
    assert [strip_stamps(annotation_to_json(a)) for a in after.annotations] == target_json
    assert after.image == build_view(target).image
    assert view_to_json(after)["threads"] == comments_before

    # a concurrent edit made before seeing the revert still merges
    ops.upsert_annotation(other, {"id": "e1", "h": 77}, "dave", 7)
    sync(doc, other)
    assert view_to_json(build_view(doc)) == view_to_json(build_view(other))
    e1 = next(a for a in build_view(doc).annotations if a.id == "e1")
    assert e1.h == 77 and e1.groupIds == ("g",)


def test_revert_to_identical_state_writes_nothing() -> None:
    doc = new_doc()
    for p in PAYLOADS:
        ops.upsert_annotation(doc, p, "alice", 1)
    updates = Updates(doc)
    assert ops.revert_to(doc, clone(doc), "carol", 2) == {"created": [], "updated": [], "deleted": []}
    assert len(updates) == 0


def test_revert_detaches_threads_of_annotations_it_removes() -> None:
    doc = new_doc()
    target = clone(doc)
    ops.upsert_annotation(doc, {"id": "r", "type": "rect", "x": 4, "y": 4, "w": 2, "h": 2}, "u", 1)
    ops.create_thread(doc, {"kind": "annotation", "annotationId": "r"}, "b", "u", 2, thread_id="t")
    ops.revert_to(doc, target, "u", 3)
    t = build_view(doc).threads[0]
    assert t.anchor.detachedFrom == "r" and t.pin == (5, 5)


def test_a_detached_thread_is_anchored_again_when_its_annotation_comes_back() -> None:
    doc = new_doc()
    rect = {"id": "r", "type": "rect", "x": 10, "y": 10, "w": 20, "h": 10, "rotation": 90}
    ops.upsert_annotation(doc, rect, "u", 1)
    ops.create_thread(doc, {"kind": "annotation", "annotationId": "r", "offsetX": 0.75, "offsetY": 0.25}, "b", "u", 1,
                      thread_id="t1")
    ops.create_thread(doc, {"kind": "point", "x": 5, "y": 5}, "b", "u", 1, thread_id="t2")
    pin = build_view(doc).threads[0].pin
    before = clone(doc)
    ops.delete_annotation(doc, "r", "u", 2)
    assert LiveCanvas.returned(doc) == {}
    # a client's undo brings the annotation back with the same id (as a raw Yjs write)
    doc.get("annotations", type=pycrdt.Map)["r"] = before.get("annotations", type=pycrdt.Map)["r"].to_py()
    back = LiveCanvas.returned(doc)
    assert set(back) == {"t1"}
    updates = Updates(doc)
    assert ops.reattach_threads(doc, back) is True
    assert len(updates) == 1
    threads = {t.id: t for t in build_view(doc).threads}
    a = threads["t1"].anchor
    assert a.kind == "annotation" and a.annotationId == "r"
    assert (round(a.offsetX, 6), round(a.offsetY, 6)) == (0.75, 0.25)
    x, y = threads["t1"].pin
    assert (round(x, 6), round(y, 6)) == (round(pin[0], 6), round(pin[1], 6))
    assert threads["t2"].anchor.kind == "point"
    assert LiveCanvas.returned(doc) == {}
    assert ops.reattach_threads(doc, back) is False  # already anchored: no write
