"""W3C Web Annotation: annotd → page → new room round trip, other tools' pages, hostile pages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pycrdt import Doc

from annotd.base.errors import InvalidParams, LimitReached
from annotd.canvas import ops as mut
from annotd.canvas.view import build_view
from annotd.formats.geometry import ELLIPSE_POINTS, absolute_points, ellipse_points
from annotd.formats.plan import apply_plan
from annotd.formats.w3c import to_page
from annotd.formats.w3c_in import parse_page
from tests.format_samples import group_partition, rich_doc, shape_fields, threads_summary

SIZE = (1600, 1000)


def fresh() -> Doc[Any]:
    doc: Doc[Any] = Doc()
    mut.ensure_schema(doc)
    return doc


def import_into(doc: Doc[Any], page: Any) -> dict[str, Any]:
    plan = parse_page(json.loads(json.dumps(page)), SIZE)  # through real JSON, as on the wire
    result = apply_plan(doc, plan, "importer", 1_800_000_000_000)
    result["skipped"], result["notes"] = plan.skipped, plan.notes
    return result


def test_round_trip_keeps_shapes_styles_order_groups_and_threads() -> None:
    src = build_view(rich_doc())
    page = to_page(src, room_id="r1", seq=42, tag="v1", generated_ms=1)
    dst = fresh()
    result = import_into(dst, page)
    assert result["skipped"] == [] and result["notes"] == []
    out = build_view(dst)
    assert shape_fields(out) == shape_fields(src)
    assert group_partition(out) == group_partition(src)
    assert threads_summary(out) == threads_summary(src)
    assert [a.createdBy for a in out.annotations] == [a.createdBy for a in src.annotations]
    assert {a.id for a in out.annotations}.isdisjoint({a.id for a in src.annotations})  # new ids


def test_selectors_alone_carry_the_geometry() -> None:
    """Another tool drops the annotd: extension: shapes still come back from the SVG."""
    src = build_view(rich_doc())
    page = to_page(src, room_id="r1", seq=42)
    for item in page["items"]:
        item.pop("annotd:annotation", None)
    dst = fresh()
    import_into(dst, page)
    imported = build_view(dst).annotations
    out = {a.type: a for a in imported}
    ellipse = next(a for a in src.annotations if a.type == "ellipse")
    # A rotated ellipse is written as its outline (Annotorious' ellipse cannot rotate).
    outline = next(a for a in imported if a.type == "polygon" and len(a.points) == ELLIPSE_POINTS)
    flat = [v for p in absolute_points(outline) for v in p]
    assert flat == pytest.approx([v for p in ellipse_points(ellipse) for v in p], abs=0.07)
    # Open shapes are paths (what Annotorious reads): without the block they come back as strokes.
    strokes = [[(p.x, p.y) for p in a.points] for a in imported if a.type == "freehand"]
    for kind in ("freehand", "line", "arrow"):
        src_points = [(p.x, p.y) for p in next(a for a in src.annotations if a.type == kind).points]
        assert src_points in strokes, kind
    assert out["text"].text == "crack" and (out["text"].x, out["text"].w) == (100, 120)


def test_page_is_json_ld_with_selectors_bodies_and_creators() -> None:
    page = to_page(build_view(rich_doc()), room_id="r1", seq=42, base_url="http://h:1/")
    assert page["type"] == "AnnotationPage" and page["@context"][0] == "http://www.w3.org/ns/anno.jsonld"
    rect, text = page["items"][0], page["items"][1]
    assert rect["target"]["source"] == "http://h:1/v1/rooms/r1/image?sha256=" + "ab" * 32
    kinds = [s["type"] for s in rect["target"]["selector"]]
    assert kinds == ["SvgSelector"]  # rotated: no xywh box
    assert "<polygon" in rect["target"]["selector"][0]["value"]
    assert [s["type"] for s in text["target"]["selector"]] == ["FragmentSelector", "SvgSelector"]
    assert text["target"]["selector"][0]["value"] == "xywh=pixel:100,50,120,24"
    assert text["body"] == [{"type": "TextualBody", "purpose": "describing", "value": "crack", "format": "text/plain"}]
    purposes = [(b["purpose"], b["creator"]["name"]) for b in rect["body"]]
    assert purposes == [("commenting", "bob"), ("replying", "alice")]
    assert rect["body"][0]["created"] == "2025-11-26T12:27:30.000Z"
    assert rect["creator"] == {"id": "urn:annotd:user:alice", "type": "Person", "name": "alice"}
    loose = [i for i in page["items"] if i["motivation"] == "commenting"]
    assert [i["annotd:anchor"]["kind"] for i in loose] == ["point", "region"]
    assert loose[1]["target"]["selector"][0]["value"] == "xywh=pixel:1200,300,200,150"


def test_deleted_messages_and_empty_threads_are_not_exported() -> None:
    doc = fresh()
    th = mut.create_thread(doc, {"kind": "point", "x": 1, "y": 2}, "gone soon", "u", 1)
    mut.delete_message(doc, th["id"], th["messages"][0]["id"], "u", 2)
    assert to_page(build_view(doc), room_id="r", seq=1)["items"] == []


ANNOTORIOUS_PAGE = """
[
  {
    "@context": "http://www.w3.org/ns/anno.jsonld",
    "id": "#a88b22d0-6106-4872-9435-c78b5e89fede",
    "type": "Annotation",
    "body": [
      {"type": "TextualBody", "value": "A chimney", "purpose": "commenting",
       "creator": {"id": "https://example.org/users/rainer", "name": "rainer"},
       "created": "2024-03-01T10:00:00Z"},
      {"type": "TextualBody", "value": "roof", "purpose": "tagging"},
      {"type": "TextualBody", "value": "Agreed", "purpose": "replying",
       "creator": {"id": "https://example.org/users/mia", "name": "mia"}, "created": "2024-03-01T10:05:00Z"}
    ],
    "target": {
      "source": "http://example.org/photo.jpg",
      "selector": {"type": "FragmentSelector", "conformsTo": "http://www.w3.org/TR/media-frags/",
                   "value": "xywh=pixel:270,120,90,170"}
    }
  },
  {
    "type": "Annotation",
    "body": [],
    "target": {
      "source": "http://example.org/photo.jpg",
      "selector": {"type": "SvgSelector",
                   "value": "<svg><polygon points=\\"10,10 100,10 55,80\\"></polygon></svg>"}
    }
  },
  {
    "type": "Annotation",
    "bodyValue": "half of the picture",
    "target": {"source": "http://example.org/photo.jpg",
               "selector": {"type": "FragmentSelector", "value": "xywh=percent:0,0,50,100"}}
  },
  {
    "type": "Annotation",
    "target": {"source": "http://example.org/photo.jpg",
               "selector": {"type": "SvgSelector",
                            "value": "<svg><g transform='translate(5 5)'><path d='M0 0 C10 0 10 10 20 10 Z'/></g></svg>"}}
  },
  {"type": "Annotation", "target": "http://example.org/photo.jpg", "bodyValue": "whole image"},
  {"type": "Annotation", "target": {"source": "http://example.org/other.jpg",
                                    "selector": {"type": "FragmentSelector", "value": "xywh=1,2,3,4"}}},
  {"type": "Annotation", "target": {"source": "http://example.org/photo.jpg",
                                    "selector": {"type": "TextQuoteSelector", "exact": "chimney"}}},
  {"type": "Annotation", "target": {"source": "http://example.org/photo.jpg",
                                    "selector": {"type": "SvgSelector", "value": "<svg><path d='M0 0 A 5 5 0 0 1 10 10'/></svg>"}}},
  "not an annotation"
]
"""


def test_annotorious_style_page_imports_shapes_threads_and_tags() -> None:
    doc = fresh()
    result = import_into(doc, json.loads(ANNOTORIOUS_PAGE))
    reasons = {s["index"]: s["reason"] for s in result["skipped"]}
    assert set(reasons) == {4, 5, 6, 7, 8}
    assert "whole image" in reasons[4] and "another image" in reasons[5]
    assert "TextQuoteSelector" in reasons[6] and "arc" in reasons[7] and reasons[8] == "is not an object"
    assert any("flattened" in n for n in result["notes"])
    view = build_view(doc)
    kinds = [(a.type, a.x, a.y, a.w, a.h) for a in view.annotations]
    assert ("rect", 270.0, 120.0, 90.0, 170.0) in kinds
    assert ("rect", 0.0, 0.0, 800.0, 1000.0) in kinds  # percent of the room image
    label = next(a for a in view.annotations if a.type == "text")
    rect = next(a for a in view.annotations if a.type == "rect" and a.x == 270)
    assert label.text == "roof" and label.groupIds == rect.groupIds and rect.groupIds
    poly = next(a for a in view.annotations if a.type == "polygon" and a.x == 10)
    assert [(p.x, p.y) for p in poly.points] == [(0, 0), (90, 0), (45, 70)]
    curve = next(a for a in view.annotations if a.type == "polygon" and a.x == 5)
    assert len(curve.points) == 9
    by_pin = {t.messages[0].body: t for t in view.threads}
    chimney = by_pin["A chimney"]
    assert chimney.anchor.annotationId == rect.id
    assert [(m.author, m.body, m.createdAt) for m in chimney.messages] == [
        ("rainer", "A chimney", 1709287200000), ("mia", "Agreed", 1709287500000)]
    assert "half of the picture" in by_pin


def test_creator_and_times_fall_back_to_the_importer() -> None:
    doc = fresh()
    import_into(doc, {"type": "Annotation", "bodyValue": "hi",
                      "target": {"selector": {"type": "FragmentSelector", "value": "xywh=1,2,3,4"}}})
    view = build_view(doc)
    assert view.annotations[0].createdBy == "importer" and view.threads[0].createdBy == "importer"
    assert view.threads[0].createdAt == 1_800_000_000_000


@pytest.mark.parametrize(
    ("page", "field"),
    [
        ("a string", "page"),
        (42, "page"),
        ({"type": "Something"}, "page.type"),
        ({"items": []}, "page.type"),
        ({"type": "AnnotationPage", "items": {"0": {}}}, "page.items"),
        ({"type": "AnnotationCollection", "first": "http://example.org/page1"}, "page.first"),
        ({"type": "AnnotationPage", "items": [{}] * 10_001}, "page.items"),
    ],
)
def test_documents_that_are_not_web_annotation_are_refused(page: Any, field: str) -> None:
    with pytest.raises(InvalidParams) as exc:
        parse_page(page, SIZE)
    assert exc.value.field == field


def test_hostile_items_are_skipped_not_fatal() -> None:
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
            '<svg><rect x="&lol2;" y="0" width="1" height="1"/></svg>')
    items = [
        {"type": "Annotation", "target": {"selector": {"type": "SvgSelector", "value": bomb}}},
        {"type": "Annotation", "target": {"selector": {"type": "SvgSelector", "value": "<svg><rect"}}},
        {"type": "Annotation", "target": {"selector": {"type": "SvgSelector", "value": 7}}},
        {"type": "Annotation", "target": {"selector": {"type": "SvgSelector",
                                                       "value": "<svg><rect x='1e400' width='1' height='1'/></svg>"}}},
        {"type": "Annotation", "target": {"selector": {"type": "SvgSelector", "value": "<svg><polygon points='1,2 3'/></svg>"}}},
        {"type": "Annotation", "target": {"selector": {"type": "FragmentSelector", "value": "xywh=1,2,-3,4"}}},
        {"type": "Annotation", "target": {"selector": {"type": "SvgSelector", "value": "<svg><polygon points='0,0 1,1'/></svg>"}}},
        {"type": "Annotation", "annotd:annotation": {"type": "rect", "x": "NaN"},
         "target": {"selector": {"type": "FragmentSelector", "value": "xywh=1,2,3,4"}}},
        {"type": "Annotation", "annotd:anchor": {"kind": "point", "x": 1}, "bodyValue": "x"},
        {"type": ["Annotation"], "target": {"selector": [{"type": "FragmentSelector", "value": "xywh=0,0,1,1"}]},
         "body": [{"type": "TextualBody", "value": ""}, {"type": "SpecificResource", "source": "http://x"}]},
    ]
    doc = fresh()
    before = doc.get_update()
    result = import_into(doc, {"type": "AnnotationPage", "items": items})
    skipped = {s["index"] for s in result["skipped"]}
    assert skipped == {0, 1, 2, 3, 4, 5, 6, 8}, result["skipped"]
    assert len(result["created"]) == 2 and result["threads"] == []  # 7 via its selector, 9 without bodies
    assert any("ignored" in n for n in result["notes"]) and any("not a TextualBody" in n for n in result["notes"])
    assert before != doc.get_update()


def test_import_past_the_room_cap_writes_nothing() -> None:
    doc = fresh()
    page = {"type": "AnnotationPage", "items": [
        {"type": "Annotation", "target": {"selector": {"type": "FragmentSelector", "value": "xywh=0,0,1,1"}}}] * 3}
    plan = parse_page(page, SIZE)
    for _ in range(2):
        apply_plan(doc, plan, "u", 1)
    state = build_view(doc)
    import annotd.formats.plan as plan_mod

    original = plan_mod.S.MAX_ANNOTATIONS
    plan_mod.S.MAX_ANNOTATIONS = 8  # type: ignore[misc]
    try:
        with pytest.raises(LimitReached):
            apply_plan(doc, plan, "u", 1)
    finally:
        plan_mod.S.MAX_ANNOTATIONS = original  # type: ignore[misc]
    assert build_view(doc) == state


def test_tags_on_a_deeply_grouped_shape_drop_its_outermost_group() -> None:
    deep = [f"g{k}" for k in range(32)]
    item = {"type": "Annotation", "annotd:annotation": {"type": "rect", "w": 1, "h": 1, "groupIds": deep},
            "body": {"type": "TextualBody", "purpose": "tagging", "value": "deep"},
            "target": {"selector": {"type": "FragmentSelector", "value": "xywh=0,0,1,1"}}}
    doc = fresh()
    result = import_into(doc, item)
    assert any("outermost group was dropped" in n for n in result["notes"])
    rect, label = sorted(build_view(doc).annotations, key=lambda a: a.type)
    assert len(rect.groupIds) == 32 and rect.groupIds[0] == label.groupIds[0]


def test_a_plan_that_is_not_storable_writes_nothing() -> None:
    from annotd.formats.plan import DraftAnnotation, ImportPlan

    doc = fresh()
    before = build_view(doc)
    plan = ImportPlan(annotations=[DraftAnnotation("0", {"type": "rect"}), DraftAnnotation("1", {"type": "nope"})])
    with pytest.raises(InvalidParams):
        apply_plan(doc, plan, "u", 1)
    assert build_view(doc) == before


def test_messages_of_the_same_millisecond_keep_their_order() -> None:
    doc = fresh()
    th = mut.create_thread(doc, {"kind": "point", "x": 1, "y": 1}, "first", "u", 5)
    for k in range(20):
        mut.reply(doc, th["id"], f"reply {k}", "u", 5)
    src = build_view(doc)
    dst = fresh()
    import_into(dst, to_page(src, room_id="r", seq=1))
    assert [m.body for m in build_view(dst).threads[0].messages] == [m.body for m in src.threads[0].messages]
