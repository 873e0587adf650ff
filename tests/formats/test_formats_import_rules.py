"""What an import keeps and refuses: edits made in another tool, fragment targets, where
labels go, a file of which nothing imports, and COCO image sizes."""

from __future__ import annotations

import copy
import json
from typing import Any

import aiohttp
import pytest
from pycrdt import Doc

from annotd.base.errors import InvalidParams
from annotd.canvas import ops as mut
from annotd.canvas.view import build_view
from annotd.formats.coco import parse_coco
from annotd.formats.plan import LABEL_HEIGHT, apply_plan
from annotd.formats.w3c import EXTENSION, to_page
from annotd.formats.w3c_in import parse_page
from tests.format_samples import IMAGE, rich_doc
from tests.helpers import Daemon

SIZE = (1600, 1000)


def fresh() -> Doc[Any]:
    doc: Doc[Any] = Doc()
    mut.ensure_schema(doc)
    mut.set_image(doc, IMAGE)
    return doc


def import_page(page: Any) -> tuple[Doc[Any], list[dict[str, Any]], list[str]]:
    plan = parse_page(json.loads(json.dumps(page)), SIZE)
    doc = fresh()
    apply_plan(doc, plan, "importer", 1_800_000_000_000)
    return doc, plan.skipped, plan.notes


def exported() -> dict[str, Any]:
    return to_page(build_view(rich_doc()), room_id="r1", seq=1)


def item_of(page: dict[str, Any], kind: str, **match: Any) -> dict[str, Any]:
    return next(i for i in page["items"] if i.get(EXTENSION, {}).get("type") == kind
                and all(i[EXTENSION].get(k) == v for k, v in match.items()))


# -- annotd:annotation vs the selector ------------------------------------------------------------


def test_a_text_box_moved_elsewhere_keeps_its_text_style_and_group() -> None:
    page = exported()
    text = item_of(page, "text")
    text["target"]["selector"] = [{"type": "FragmentSelector", "value": "xywh=pixel:300,250,120,24"}]
    doc, skipped, notes = import_page(page)
    assert skipped == []
    index = page["items"].index(text)
    assert [n for n in notes if "disagree" in n] == [n for n in notes if n.startswith(f"page.items[{index}]:")]
    assert len(notes) == 1 and "moved by 200, 200" in notes[0]
    view = build_view(doc)
    moved = next(a for a in view.annotations if a.type == "text")
    assert (moved.x, moved.y, moved.w, moved.h) == (300, 250, 120, 24)
    assert moved.text == "crack" and moved.style.fontWeight == "bold"
    rect = next(a for a in view.annotations if a.type == "rect")
    assert moved.groupIds and moved.groupIds == rect.groupIds  # still grouped with the rect


def test_an_arrow_moved_elsewhere_stays_an_arrow_with_its_heads() -> None:
    page = exported()
    arrow = item_of(page, "arrow")
    arrow["target"]["selector"] = [{"type": "SvgSelector", "value": "<svg><path d=\"M 310 720 L 400 780\" /></svg>"}]
    doc, _, notes = import_page(page)
    out = next(a for a in build_view(doc).annotations if a.type == "arrow")
    assert (out.x, out.y) == (310, 720) and [(p.x, p.y) for p in out.points] == [(0, 0), (90, 60)]
    assert out.startArrowhead == "dot" and out.endArrowhead == "arrow"
    assert len(notes) == 1 and "moved by 10, 20" in notes[0]


def test_a_resized_arrow_takes_the_selectors_points_and_keeps_its_heads() -> None:
    page = exported()
    arrow = item_of(page, "arrow")
    arrow["target"]["selector"] = [{"type": "SvgSelector", "value": "<svg><path d=\"M 300 700 L 500 800\" /></svg>"}]
    doc, _, notes = import_page(page)
    out = next(a for a in build_view(doc).annotations if a.type == "arrow")
    assert (out.x, out.y) == (300, 700) and [(p.x, p.y) for p in out.points] == [(0, 0), (200, 100)]
    assert out.startArrowhead == "dot"
    assert len(notes) == 1 and "geometry was taken from the selector (type arrow)" in notes[0]


def test_a_rotated_ellipse_moved_in_a_tool_that_sees_only_its_outline_stays_a_rotated_ellipse() -> None:
    page = exported()
    ellipse = item_of(page, "ellipse")
    value = ellipse["target"]["selector"][0]["value"]
    points = value.split('points="')[1].split('"')[0]
    shifted = " ".join(f"{float(x) + 40},{float(y) - 30}" for x, y in (p.split(",") for p in points.split()))
    ellipse["target"]["selector"] = [{"type": "SvgSelector", "value": f'<svg><polygon points="{shifted}" /></svg>'}]
    doc, _, notes = import_page(page)
    out = next(a for a in build_view(doc).annotations if a.type == "ellipse")
    assert (out.x, out.y, out.w, out.h, out.rotation) == pytest.approx((540, 470, 80, 40, 30))
    assert len(notes) == 1 and "moved by 40, -30" in notes[0]


def test_a_locked_open_polygon_given_a_new_vertex_keeps_lock_and_stays_open() -> None:
    page = exported()
    poly = item_of(page, "polygon", closed=False)
    poly["target"]["selector"] = [{"type": "SvgSelector",
                                   "value": "<svg><path d=\"M 700 400 L 820 410 L 760 500 L 700 480\" /></svg>"}]
    doc, _, notes = import_page(page)
    out = next(a for a in build_view(doc).annotations if a.type == "polygon" and not a.closed)
    assert len(out.points) == 4 and out.locked
    assert len(notes) == 1


def test_a_sub_pixel_difference_is_agreement() -> None:
    page = exported()
    rect = item_of(page, "text")
    rect["target"]["selector"] = [{"type": "FragmentSelector", "value": "xywh=pixel:100.6,50.4,120.3,23.5"}]
    doc, _, notes = import_page(page)
    assert notes == []
    out = next(a for a in build_view(doc).annotations if a.type == "text")
    assert (out.x, out.y, out.w, out.h) == (100, 50, 120, 24)  # the block's exact values


def test_a_point_comment_moved_elsewhere_is_pinned_where_the_selector_says() -> None:
    page = exported()
    point = next(i for i in page["items"] if i.get("annotd:anchor", {}).get("kind") == "point")
    point["target"]["selector"] = [{"type": "FragmentSelector", "value": "xywh=pixel:600,180,0,0"}]
    doc, _, notes = import_page(page)
    pins = [t.anchor for t in build_view(doc).threads if t.anchor.kind == "point"]
    assert [(a.x, a.y) for a in pins] == [(600, 180)]
    assert len(notes) == 1 and "annotd:anchor disagree" in notes[0]


# -- fragment targets -----------------------------------------------------------------------------


@pytest.mark.parametrize(("target", "box"), [
    ("http://example.org/photo.jpg#xywh=100,100,20,20", (100, 100, 20, 20)),
    ("http://example.org/photo.jpg#xywh=pixel:5,6,7,8", (5, 6, 7, 8)),
    ("http://example.org/photo.jpg#xywh=percent:10,20,50,25", (160, 200, 800, 250)),
    ({"id": "http://example.org/photo.jpg#xywh=1,2,3,4", "type": "Image"}, (1, 2, 3, 4)),
    (["http://example.org/photo.jpg#xywh=9,9,9,9"], (9, 9, 9, 9)),
])
def test_a_target_string_with_a_media_fragment_is_the_box_it_names(target: Any, box: tuple[float, ...]) -> None:
    doc, skipped, _ = import_page([{"type": "Annotation", "bodyValue": "a note", "target": target}])
    assert skipped == []
    (rect,) = build_view(doc).annotations
    assert (rect.type, rect.x, rect.y, rect.w, rect.h) == ("rect", *box)
    assert [m.body for m in build_view(doc).threads[0].messages] == ["a note"]


def test_a_target_string_without_a_fragment_is_skipped_as_the_whole_image() -> None:
    page = [{"type": "Annotation", "target": "http://example.org/photo.jpg"},
            {"type": "Annotation", "target": "http://example.org/photo.jpg#xywh=1,2,3,4"}]
    _, skipped, _ = import_page(page)
    assert [s["index"] for s in skipped] == [0] and "whole image" in skipped[0]["reason"]


# -- labels ---------------------------------------------------------------------------------------


def tagged(x: float, y: float, w: float, h: float) -> dict[str, Any]:
    return {"type": "Annotation", "body": [{"type": "TextualBody", "purpose": "tagging", "value": "roof"}],
            "target": {"source": "img", "selector": {"type": "FragmentSelector", "value": f"xywh=pixel:{x},{y},{w},{h}"}}}


@pytest.mark.parametrize(("box", "label_y"), [
    ((100, 300, 200, 100), 300 - LABEL_HEIGHT),  # room above: above
    ((100, 10, 200, 100), 110),  # at the top edge: below
    ((100, 0, 200, 1000), 0),  # as tall as the image: inside, at its top
    ((100, 5, 200, 990), 5),  # no room above or below: inside, at its top
])
def test_a_tag_label_is_placed_inside_the_image(box: tuple[float, float, float, float], label_y: float) -> None:
    doc, _, _ = import_page([tagged(*box)])
    label = next(a for a in build_view(doc).annotations if a.type == "text")
    assert label.y == label_y
    assert 0 <= label.x and label.x + label.w <= SIZE[0]


def test_a_label_at_the_right_edge_is_moved_in() -> None:
    doc, _, _ = import_page([tagged(1590, 300, 5, 5)])
    label = next(a for a in build_view(doc).annotations if a.type == "text")
    assert label.x + label.w == SIZE[0] and label.w > 5


def test_a_coco_label_at_the_top_edge_goes_below() -> None:
    coco = {"images": [{"id": 1, "width": 1600, "height": 1000}], "categories": [{"id": 1, "name": "car"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 0, 50, 40]}]}
    doc = fresh()
    apply_plan(doc, parse_coco(coco, image=SIZE), "u", 1)
    label = next(a for a in build_view(doc).annotations if a.type == "text")
    assert (label.y, label.text) == (40, "car")


# -- nothing imported -------------------------------------------------------------------------------


def test_a_page_of_which_nothing_imports_is_refused_with_every_reason() -> None:
    with pytest.raises(InvalidParams) as err:
        parse_page([1, 2, {"type": "Annotation", "target": "http://example.org/a.jpg"}], SIZE)
    assert err.value.field == "page.items"
    assert err.value.data is not None
    assert [(s["index"], s["reason"]) for s in err.value.data["skipped"]] == [
        (0, "is not an object"), (1, "is not an object"),
        (2, "targets the whole image (no selector, no #xywh= fragment): nothing to draw")]
    assert "[2] targets the whole image" in err.value.message


def test_a_partial_import_and_an_empty_page_are_not_refused() -> None:
    plan = parse_page([1, {"type": "Annotation", "target": "img#xywh=1,2,3,4"}], SIZE)
    assert len(plan.annotations) == 1 and [s["index"] for s in plan.skipped] == [0]
    assert parse_page({"type": "AnnotationPage", "items": []}, SIZE).skipped == []


def test_a_coco_file_of_which_nothing_imports_is_refused() -> None:
    coco = {"images": [{"id": 1}], "annotations": [{"id": 4, "image_id": 1, "segmentation": [[1, 2]]}]}
    with pytest.raises(InvalidParams) as err:
        parse_coco(coco, image=SIZE)
    assert err.value.field == "coco.annotations" and err.value.data is not None
    assert err.value.data["skipped"] == [{"index": 0, "id": 4, "reason": "segmentation[0] is not a polygon of at "
                                                                           "least 3 x, y pairs"}]


def test_a_coco_image_without_objects_is_refused_naming_the_image() -> None:
    coco = {"images": [{"id": 1}, {"id": 2}], "annotations": [{"id": 4, "image_id": 2, "bbox": [1, 2, 3, 4]}]}
    with pytest.raises(InvalidParams) as err:
        parse_coco(coco, image=SIZE, image_id=1)
    assert err.value.field == "imageId" and "all 1 object(s) of the file belong to other images than image 1" in err.value.message
    assert len(parse_coco(coco, image=SIZE, image_id=2).annotations) == 2  # the box and its label


async def test_nothing_importable_is_a_422_over_rest(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    await http.post("/v1/rooms", json={"id": "empty"})
    resp = await http.post("/v1/rooms/empty/formats/w3c", json=[1, 2, 3])
    assert resp.status == 422
    body = (await resp.json())["error"]
    assert body["code"] == "invalid_params" and body["data"]["field"] == "page.items" and len(body["data"]["skipped"]) == 3
    listed = await (await http.get("/v1/rooms/empty/annotations")).json()
    assert listed["annotations"] == []


# -- COCO image sizes -------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [0, 1e-300, 1e308, -1e308, 640.5, "640", True])
def test_a_coco_image_size_that_is_no_size_is_refused_by_name(width: Any) -> None:
    coco = {"images": [{"id": 1, "width": width, "height": 480}],
            "annotations": [{"id": 1, "image_id": 1, "bbox": [1, 2, 3, 4]}]}
    with pytest.raises(InvalidParams) as err:
        parse_coco(copy.deepcopy(coco), image=SIZE)
    assert err.value.field == "coco.images[0].width"
    assert "whole number of pixels from 1 to 1e+06" in err.value.message


def test_a_coco_image_without_a_size_or_with_an_integral_float_imports() -> None:
    for image in ({"id": 1}, {"id": 1, "width": 800.0, "height": 500}):
        coco = {"images": [image], "annotations": [{"id": 1, "image_id": 1, "bbox": [10, 20, 30, 40]}]}
        plan = parse_coco(coco, image=SIZE, labels=False)
        assert [d.fields["x"] for d in plan.annotations] == [10 if "width" not in image else 20]
