"""API input validation names the offending field with a dotted path."""

from __future__ import annotations

from typing import Any

import pytest

from annotd.base.errors import InvalidParams
from annotd.canvas import schema
from annotd.canvas.validate import (
    validate_anchor,
    validate_annotation_create,
    validate_annotation_patch,
    validate_body,
    validate_id,
    validate_image_ref,
)


def field_of(fn: Any, *args: Any) -> str:
    with pytest.raises(InvalidParams) as err:
        fn(*args)
    return err.value.field


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ([], "annotation"),
        ({}, "annotation.type"),
        ({"type": "hexagon"}, "annotation.type"),
        ({"type": "rect", "x": float("nan")}, "annotation.x"),
        ({"type": "rect", "x": float("inf")}, "annotation.x"),
        ({"type": "rect", "x": "1"}, "annotation.x"),
        ({"type": "rect", "x": True}, "annotation.x"),
        ({"type": "rect", "w": -1}, "annotation.w"),
        ({"type": "rect", "y": 1e9}, "annotation.y"),
        ({"type": "rect", "id": "has space"}, "annotation.id"),
        ({"type": "rect", "id": "x" * 65}, "annotation.id"),
        ({"type": "rect", "z": ""}, "annotation.z"),
        ({"type": "rect", "locked": "yes"}, "annotation.locked"),
        ({"type": "rect", "groupIds": ["ok", "no way"]}, "annotation.groupIds[1]"),
        ({"type": "rect", "groupIds": ["a", "a"]}, "annotation.groupIds"),
        ({"type": "rect", "style": {"strokeWidth": -1}}, "annotation.style.strokeWidth"),
        ({"type": "rect", "style": {"strokeWidth": "2"}}, "annotation.style.strokeWidth"),
        ({"type": "rect", "style": {"opacity": 1.5}}, "annotation.style.opacity"),
        ({"type": "rect", "style": {"stroke": "red"}}, "annotation.style.stroke"),
        ({"type": "rect", "style": {"strokeStyle": "wavy"}}, "annotation.style.strokeStyle"),
        ({"type": "rect", "style": {"fontFamily": "comic"}}, "annotation.style.fontFamily"),
        ({"type": "rect", "style": {"fontWeight": 700}}, "annotation.style.fontWeight"),
        ({"type": "rect", "style": {"textAlign": "justify"}}, "annotation.style.textAlign"),
        ({"type": "rect", "style": {"fontSize": 0}}, "annotation.style.fontSize"),
        ({"type": "rect", "style": {"glow": 1}}, "annotation.style.glow"),
        ({"type": "rect", "style": "bold"}, "annotation.style"),
        ({"type": "rect", "text": "hi"}, "annotation.text"),
        ({"type": "rect", "bogus": 1}, "annotation.bogus"),
        ({"type": "rect", "createdBy": "me"}, "annotation.createdBy"),
        ({"type": "text", "text": "x" * (schema.MAX_TEXT_LENGTH + 1)}, "annotation.text"),
        ({"type": "text", "text": "bell\x07"}, "annotation.text"),
        ({"type": "line"}, "annotation.points"),
        ({"type": "line", "points": [0, 0]}, "annotation.points"),
        ({"type": "line", "points": [0, 0, 1]}, "annotation.points"),
        ({"type": "line", "points": [0, 0, 1, float("nan")]}, "annotation.points[3]"),
        ({"type": "line", "points": [0, 0, 1, "2"]}, "annotation.points[3]"),
        ({"type": "line", "points": [[0, 0], [1, 1]]}, "annotation.points"),
        ({"type": "polygon", "points": [0, 0, 1, 1]}, "annotation.points"),
        ({"type": "freehand", "points": [0, 0] * (schema.MAX_POINTS + 1)}, "annotation.points"),
        ({"type": "freehand", "points": [0, 0, 1, 1], "pressures": [0.5]}, "annotation.pressures"),
        ({"type": "freehand", "points": [0, 0, 1, 1], "pressures": [0.5, 2]}, "annotation.pressures[1]"),
        ({"type": "arrow", "points": [0, 0, 1, 1], "endArrowhead": "spear"}, "annotation.endArrowhead"),
        ({"type": "line", "points": [0, 0, 1, 1], "pressures": [1, 1]}, "annotation.pressures"),
    ],
)
def test_create_errors_name_the_field(payload: Any, field: str) -> None:
    assert field_of(validate_annotation_create, payload) == field


def test_create_normalizes() -> None:
    out = validate_annotation_create({"type": "rect", "x": 1, "rotation": -90, "style": {"strokeWidth": 3}})
    assert out == {"type": "rect", "x": 1.0, "rotation": 270.0, "style": {"strokeWidth": 3.0}}
    out = validate_annotation_create({"type": "line", "points": [0.01, 0, 1.03, 1]})
    assert out["points"] == [0.0, 0.0, 1.0, 1.0]


@pytest.mark.parametrize(
    ("payload", "type_", "field"),
    [
        ({"x": 1}, "rect", "annotation.id"),
        ({"id": "a", "type": "ellipse"}, "rect", "annotation.type"),
        ({"id": "a", "closed": True}, "line", "annotation.closed"),
        ({"id": "a", "pressures": [1]}, "freehand", "annotation.pressures"),
        ({"id": "a", "style": {"strokeWidth": float("nan")}}, "rect", "annotation.style.strokeWidth"),
        ({"id": "a", "wrap": 0}, "text", "annotation.wrap"),
    ],
)
def test_patch_errors_name_the_field(payload: Any, type_: str, field: str) -> None:
    assert field_of(validate_annotation_patch, payload, type_) == field


def test_patch_keeps_only_given_fields() -> None:
    assert validate_annotation_patch({"id": "a", "style": {"fill": "none"}}, "rect") == {
        "id": "a",
        "style": {"fill": "none"},
    }


@pytest.mark.parametrize(
    ("anchor", "field"),
    [
        (None, "anchor"),
        ({"kind": "page"}, "anchor.kind"),
        ({"kind": "point", "x": 1}, "anchor.y"),
        ({"kind": "point", "x": 1, "y": float("nan")}, "anchor.y"),
        ({"kind": "point", "x": 1, "y": 1, "w": 3}, "anchor.w"),
        ({"kind": "region", "x": 1, "y": 1, "w": -3, "h": 1}, "anchor.w"),
        ({"kind": "annotation"}, "anchor.annotationId"),
        ({"kind": "annotation", "annotationId": "a", "offsetX": 2}, "anchor.offsetX"),
        ({"kind": "annotation", "annotationId": "a", "x": 2}, "anchor.x"),
    ],
)
def test_anchor_errors_name_the_field(anchor: Any, field: str) -> None:
    assert field_of(validate_anchor, anchor) == field


def test_anchor_defaults() -> None:
    assert validate_anchor({"kind": "annotation", "annotationId": "a"}) == {
        "kind": "annotation",
        "annotationId": "a",
        "offsetX": 0.5,
        "offsetY": 0.5,
    }


@pytest.mark.parametrize("body", ["", "   \n", 5, "x" * (schema.MAX_BODY_LENGTH + 1), "nul\x00"])
def test_bad_bodies(body: Any) -> None:
    assert field_of(validate_body, body) == "body"


def test_good_body_keeps_newlines() -> None:
    assert validate_body("line 1\n\tline 2") == "line 1\n\tline 2"


def test_good_id() -> None:
    assert validate_id("Ab_9-") == "Ab_9-"
    assert field_of(validate_id, "", "threadId") == "threadId"


@pytest.mark.parametrize(
    ("ref", "field"),
    [
        ({"sha256": "AB" * 32, "width": 1, "height": 1, "mime": "image/png"}, "image.sha256"),
        ({"sha256": "ab" * 32, "width": 1.5, "height": 1, "mime": "image/png"}, "image.width"),
        ({"sha256": "ab" * 32, "width": 1, "height": 0, "mime": "image/png"}, "image.height"),
        ({"sha256": "ab" * 32, "width": 1, "height": 1, "mime": "image/gif"}, "image.mime"),
        ({"sha256": "ab" * 32, "width": 1, "height": 1, "mime": "image/png", "x": 1}, "image.x"),
    ],
)
def test_image_ref_errors(ref: Any, field: str) -> None:
    assert field_of(validate_image_ref, ref) == field
