"""COCO instances: export rules, annotd → COCO → new room round trip, another tool's file, bad files."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pycrdt import Doc

from annotd.base.errors import InvalidParams
from annotd.canvas import ops as mut
from annotd.canvas.view import build_view
from annotd.formats.coco import normalize_categories, parse_coco, to_coco
from annotd.formats.plan import apply_plan
from tests.format_samples import IMAGE, rich_doc

SIZE = (1600, 1000)


def fresh() -> Doc[Any]:
    doc: Doc[Any] = Doc()
    mut.ensure_schema(doc)
    mut.set_image(doc, IMAGE)
    return doc


def load(doc: Doc[Any], coco: Any, **kw: Any) -> dict[str, Any]:
    plan = parse_coco(json.loads(json.dumps(coco)), image=SIZE, **kw)
    result = apply_plan(doc, plan, "importer", 1)
    result["skipped"], result["notes"] = plan.skipped, plan.notes
    return result


def comparable(coco: dict[str, Any]) -> list[tuple[Any, ...]]:
    names = {c["id"]: c["name"] for c in coco["categories"]}
    return sorted((names[a["category_id"]], a["attributes"]["annotdType"] if "attributes" in a else None,
                   tuple(round(v, 2) for v in a["bbox"]), round(a["area"], 1),
                   tuple(round(v, 2) for v in a["segmentation"][0])) for a in coco["annotations"])


def test_export_rules_types_categories_and_image() -> None:
    view = build_view(rich_doc())
    coco = to_coco(view, room_id="r1", seq=3, categories={"#2F9E44": "unused"})
    assert coco["images"] == [{"id": 1, "width": 1600, "height": 1000, "file_name": "r1.png",
                               "annotd_sha256": IMAGE["sha256"]}]
    types = sorted(a["attributes"]["annotdType"] for a in coco["annotations"])
    assert types == ["ellipse", "freehand", "polygon", "polygon", "rect"]  # no text, line or arrow
    names = {c["id"]: c["name"] for c in coco["categories"]}
    by_type = {a["attributes"]["annotdType"]: names[a["category_id"]] for a in coco["annotations"]}
    assert by_type["rect"] == "crack"  # the text grouped with it
    assert by_type["ellipse"] == "#e03131"  # no label, no mapping: its stroke colour
    mapped = to_coco(view, room_id="r1", seq=3, categories=normalize_categories({"#E03131ff": "defect"}))
    names = {c["id"]: c["name"] for c in mapped["categories"]}
    assert sorted(names.values()) == ["crack", "defect"]
    rect = next(a for a in coco["annotations"] if a["attributes"]["annotdType"] == "rect")
    assert len(rect["segmentation"][0]) == 8 and rect["attributes"]["rotation"] == 15
    assert rect["area"] == pytest.approx(300 * 200, rel=1e-6)
    square = next(a for a in coco["annotations"] if a["bbox"] == [900, 100, 50, 50])
    assert square["segmentation"] == [[900, 100, 950, 100, 950, 150, 900, 150]] and square["area"] == 2500
    ellipse = next(a for a in coco["annotations"] if a["attributes"]["annotdType"] == "ellipse")
    assert len(ellipse["segmentation"][0]) == 128


def test_bad_category_mapping_names_the_key() -> None:
    with pytest.raises(InvalidParams) as exc:
        normalize_categories({"red": "x"})
    assert exc.value.field == "categories.red"
    with pytest.raises(InvalidParams):
        normalize_categories({"#ff0000": ""})


def test_round_trip_keeps_regions_and_categories() -> None:
    first = to_coco(build_view(rich_doc()), room_id="r1", seq=1)
    dst = fresh()
    result = load(dst, first)
    assert result["skipped"] == [] and result["notes"] == []
    again = to_coco(build_view(dst), room_id="r2", seq=1)
    assert comparable(again) == comparable(first)
    view = build_view(dst)
    rect = next(a for a in view.annotations if a.type == "rect")
    assert (rect.x, rect.y, rect.w, rect.h, rect.rotation) == (100, 80, 300, 200, 15)


OTHER_TOOL = {
    "info": {"description": "exported by a labelling tool", "year": 2024},
    "licenses": [{"id": 1, "name": "CC-BY"}],
    "images": [
        {"id": 7, "width": 800, "height": 500, "file_name": "street.jpg", "license": 1},
        {"id": 8, "width": 640, "height": 480, "file_name": "other.jpg"},
    ],
    "categories": [{"id": 1, "name": "car", "supercategory": "vehicle"},
                   {"id": 2, "name": "person", "supercategory": "human"}],
    "annotations": [
        {"id": 1, "image_id": 7, "category_id": 1, "bbox": [10, 20, 100, 50], "area": 5000, "iscrowd": 0,
         "segmentation": [[10, 20, 110, 20, 110, 70, 10, 70]]},
        {"id": 2, "image_id": 7, "category_id": 2, "bbox": [200, 100, 40, 120], "area": 2400, "iscrowd": 0,
         "segmentation": [[200, 100, 240, 100, 230, 220, 210, 220], [250, 100, 260, 100, 255, 120]]},
        {"id": 3, "image_id": 7, "category_id": 1, "bbox": [300, 300, 60, 30], "area": 1800, "iscrowd": 1,
         "segmentation": {"counts": [0, 10, 20], "size": [500, 800]}},
        {"id": 4, "image_id": 7, "category_id": 9, "bbox": [400, 10, 20, 20], "area": 400, "iscrowd": 0},
        {"id": 5, "image_id": 8, "category_id": 1, "bbox": [1, 1, 1, 1], "area": 1, "iscrowd": 0},
        {"id": 6, "image_id": 7, "category_id": 1, "bbox": [1, 2, "3", 4], "iscrowd": 0},
        {"id": 7, "image_id": 7, "category_id": 1, "bbox": [1, 2, 3, 4], "segmentation": [[1, 2, 3]]},
    ],
}


def test_another_tools_file_imports_boxes_polygons_and_labels_scaled_to_the_room() -> None:
    doc = fresh()
    with pytest.raises(InvalidParams) as exc:
        load(doc, OTHER_TOOL)
    assert exc.value.field == "imageId" and "7 (street.jpg)" in exc.value.message
    result = load(doc, OTHER_TOOL, image_id=7)
    assert {s["index"]: s["id"] for s in result["skipped"]} == {5: 6, 6: 7}
    assert any("scaled by 2 x 2" in n for n in result["notes"]) and any("RLE" in n for n in result["notes"])
    assert any("1 object(s) of other images" in n for n in result["notes"])
    view = build_view(doc)
    car = next(a for a in view.annotations if a.type == "rect" and a.x == 20)
    assert (car.x, car.y, car.w, car.h) == (20, 40, 200, 100)  # 2x: the room's image is 1600x1000
    car_label = next(a for a in view.annotations if a.type == "text" and a.groupIds == car.groupIds)
    assert car.groupIds and car_label.text == "car" and car_label.style.stroke == car.style.stroke
    person_parts = [a for a in view.annotations if a.type == "polygon"]
    assert len(person_parts) == 2 and person_parts[0].groupIds == person_parts[1].groupIds
    texts = sorted(a.text for a in view.annotations if a.type == "text")
    assert texts == ["car", "car", "category 9", "person"]
    exported = to_coco(view, room_id="r", seq=1)
    names = sorted(c["name"] for c in exported["categories"])
    assert names == ["car", "category 9", "person"]


def test_labels_can_be_left_out() -> None:
    doc = fresh()
    load(doc, OTHER_TOOL, image_id=7, labels=False)
    assert not [a for a in build_view(doc).annotations if a.type == "text"]


@pytest.mark.parametrize(
    ("coco", "field"),
    [
        ([], "coco"),
        ({"type": "AnnotationPage", "items": []}, "coco.images"),
        ({"images": [], "annotations": {}}, "coco.annotations"),
        ({"images": [], "annotations": [], "categories": "x"}, "coco.categories"),
        ({"images": [], "annotations": [{}] * 10_001}, "coco.annotations"),
        ({"images": [], "annotations": [], "categories": [{"id": [], "name": "cat"}]}, "coco.categories[0].id"),
        ({"images": [], "annotations": [], "categories": [{"id": 1, "name": "a"}, {"id": True, "name": "b"}]},
         "coco.categories[1].id"),
    ],
)
def test_files_that_are_not_coco_are_refused(coco: Any, field: str) -> None:
    with pytest.raises(InvalidParams) as exc:
        parse_coco(coco, image=SIZE)
    assert exc.value.field == field


def test_unknown_image_id_is_refused() -> None:
    with pytest.raises(InvalidParams) as exc:
        parse_coco(OTHER_TOOL, image=SIZE, image_id=99)
    assert exc.value.field == "imageId"


def test_category_names_with_control_characters_still_import() -> None:
    doc = fresh()
    coco = {"images": [{"id": 1, "width": 1600, "height": 1000}], "categories": [{"id": 1, "name": "bad\x00\x07name"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]}]}
    load(doc, coco)
    assert sorted(a.text for a in build_view(doc).annotations if a.type == "text") == ["badname"]


def test_an_annotation_whose_category_id_is_not_a_key_imports_unlabelled() -> None:
    doc = fresh()
    coco = {"images": [{"id": 1, "width": 1600, "height": 1000}], "categories": [{"id": 1, "name": "cat"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": [1], "bbox": [1, 2, 3, 4]}]}
    load(doc, coco)
    view = build_view(doc)
    assert sorted(a.type for a in view.annotations) == ["rect", "text"]
    assert [a.text for a in view.annotations if a.type == "text"] == ["annotation"]
