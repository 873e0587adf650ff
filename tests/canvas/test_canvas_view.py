"""The view never raises on what raw Yjs clients write, and records what it repaired."""

from __future__ import annotations

import logging
import math
from typing import Any

import pycrdt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotd.base.identifiers import is_id
from annotd.canvas import ops, schema
from annotd.canvas.codec import annotation_to_json, view_to_json
from annotd.canvas.view import ViewBuilder, build_view


def raw_doc(annotations: dict[str, Any]) -> pycrdt.Doc:
    doc = pycrdt.Doc()
    root = doc.get("annotations", type=pycrdt.Map)
    with doc.transaction():
        for key, value in annotations.items():
            root[key] = value
    return doc


def rect(**fields: Any) -> pycrdt.Map:
    base: dict[str, Any] = {
        "id": "r",
        "type": "rect",
        "x": 1,
        "y": 2,
        "w": 3,
        "h": 4,
        "z": "a0",
        "style": pycrdt.Map({"stroke": "#000000"}),
    }
    base.update(fields)
    return pycrdt.Map(base)


def only(doc: pycrdt.Doc) -> Any:
    view = build_view(doc)
    assert len(view.annotations) == 1, view.issues
    return view.annotations[0]


@pytest.mark.parametrize(
    ("fields", "check", "issue"),
    [
        ({"x": float("nan")}, lambda a: a.x == 0, "x: not a finite number"),
        ({"y": float("inf")}, lambda a: a.y == 0, "y: not a finite number"),
        ({"w": "12"}, lambda a: a.w == 0, "w: expected a number, got a string"),
        ({"h": -5}, lambda a: a.h == 0, "h: -5 out of range"),
        ({"x": 1e300}, lambda a: a.x == schema.COORD_LIMIT, "x: 1e+300 out of range"),
        ({"x": 2**62}, lambda a: a.x == schema.COORD_LIMIT, "x: 4.61169e+18 out of range"),
        ({"locked": 1}, lambda a: a.locked is False, "locked: expected a boolean"),
        ({"z": ""}, lambda a: a.z == "a0", "z: not a fractional index key"),
        ({"z": 5}, lambda a: a.z == "a0", "z: not a fractional index key"),
        ({"rotation": 450}, lambda a: a.rotation == 90, None),
        ({"groupIds": ["ok", "bad id!", "ok"]}, lambda a: a.groupIds == ("ok",), "groupIds: invalid"),
        ({"groupIds": "g"}, lambda a: a.groupIds == (), "groupIds: expected an array"),
        ({"style": {"stroke": "#000000"}}, lambda a: a.style.stroke == "#000000", "style: a plain object"),
        ({"style": "red"}, lambda a: a.style.stroke == "#e03131", "style: expected a map"),
        (
            {"style": pycrdt.Map({"opacity": 7, "strokeStyle": "wavy", "fill": "red"})},
            lambda a: (a.style.opacity, a.style.strokeStyle, a.style.fill) == (1, "solid", "none"),
            "style.opacity: 7 out of range",
        ),
        ({"id": "other"}, lambda a: a.id == "r", "id: does not match its key"),
        ({"updatedAt": "yesterday"}, lambda a: a.updatedAt == 0, "updatedAt: expected a number"),
        ({"createdBy": 42}, lambda a: a.createdBy == "", "createdBy: expected a string"),
        ({"x": pycrdt.Map({"a": 1})}, lambda a: a.x == 0, "x: expected a number, got a Y.Map"),
        ({"x": pycrdt.Text("1")}, lambda a: a.x == 0, "x: expected a number"),
        ({"x": b"\x00"}, lambda a: a.x == 0, "x: expected a number, got <binary>"),
    ],
)
def test_bad_fields_are_clamped_and_reported(fields: dict[str, Any], check: Any, issue: str | None) -> None:
    a = only(raw_doc({"r": rect(**fields)}))
    assert check(a)
    if issue is None:
        assert a.issues == ()
    else:
        assert any(i.startswith(issue) for i in a.issues), a.issues


def test_missing_required_fields_are_reported() -> None:
    a = only(raw_doc({"r": pycrdt.Map({"type": "ellipse"})}))
    assert (a.x, a.y, a.w, a.h) == (0, 0, 0, 0)
    assert {"x: missing", "y: missing", "w: missing", "h: missing"} <= set(a.issues)


@pytest.mark.parametrize(
    ("key", "value", "issue"),
    [
        ("r", rect(type="hexagon"), "annotations.r.type: 'hexagon' is not a known type"),
        ("r", rect(type=None), "annotations.r.type: null is not a known type"),
        ("r", pycrdt.Map({"x": 1}), "annotations.r.type: missing is not a known type"),
        ("r", "just a string", "annotations.r: expected a map, got a string"),
        ("r", [1, 2, 3], "annotations.r: expected a map, got an array"),
        ("not valid!", rect(), "annotations['not valid!']: key is not a valid id"),
        ("x" * 65, rect(), "annotations["),
    ],
)
def test_unshowable_annotations_are_skipped_and_reported(key: str, value: Any, issue: str) -> None:
    view = build_view(raw_doc({key: value, "ok": rect(id="ok")}))
    assert [a.id for a in view.annotations] == ["ok"]
    assert any(i.startswith(issue) for i in view.issues), view.issues


def test_a_plain_object_annotation_is_shown_and_reported() -> None:
    a = only(raw_doc({"r": {"id": "r", "type": "rect", "x": 1, "y": 2, "w": 3, "h": 4}}))
    assert a.x == 1 and any("plain object" in i for i in a.issues)


def test_points_are_repaired() -> None:
    huge = [1.0, 2.0] * 1_000_000
    doc = raw_doc(
        {
            "big": rect(id="big", type="freehand", points=huge),
            "odd": rect(id="odd", type="line", points=[0, 0, 1, 1, 5]),
            "nan": rect(id="nan", type="polygon", points=[0, 0, float("nan"), 1, 2, 2, 3, "x", 4, 4]),
            "nest": rect(id="nest", type="freehand", points=[[0, 0, 0.5], [1, 1, 0.7]]),
            "yarr": rect(id="yarr", type="line", points=pycrdt.Array([0, 0, 1, 1])),
            "none": rect(id="none", type="arrow"),
            "prs": rect(id="prs", type="freehand", points=[0, 0, 1, 1], pressures=[0.5, 9]),
        }
    )
    a = {x.id: x for x in build_view(doc).annotations}
    assert len(a["big"].points) == schema.MAX_POINTS and any("truncated" in i for i in a["big"].issues)
    assert len(a["odd"].points) == 2 and any("odd number" in i for i in a["odd"].issues)
    assert [(p.x, p.y) for p in a["nan"].points] == [(0, 0), (2, 2), (4, 4)]
    assert any("2 point(s) not finite" in i for i in a["nan"].issues)
    assert [(p.x, p.y, p.pressure) for p in a["nest"].points] == [(0, 0, 0.5), (1, 1, 0.7)]
    assert len(a["yarr"].points) == 2 and any("Y.Array" in i for i in a["yarr"].issues)
    assert a["none"].points == () and "points: missing" in a["none"].issues
    assert all(p.pressure is None for p in a["prs"].points) and any("pressures" in i for i in a["prs"].issues)


def test_bad_meta_and_comments_never_lose_threads() -> None:
    doc = raw_doc({"r": rect()})
    meta = doc.get("meta", type=pycrdt.Map)
    meta["schemaVersion"] = 99
    meta["image"] = {"sha256": "nope", "width": 1, "height": 1, "mime": "image/png"}
    comments = doc.get("comments", type=pycrdt.Map)
    with doc.transaction():
        comments["t1"] = pycrdt.Map(
            {
                "anchor": "here",
                "status": "maybe",
                "messages": pycrdt.Map({"m": pycrdt.Map({"author": "a", "body": 5, "createdAt": float("nan")}), "bad key": 1}),
            }
        )
        comments["t2"] = pycrdt.Map({"anchor": {"kind": "annotation", "annotationId": "gone", "x": 7, "y": 8}})
        comments["t3"] = pycrdt.Map({"anchor": {"kind": "weird", "x": 1, "y": 1}, "messages": "none"})
        comments["t4"] = {"anchor": {"kind": "annotation", "annotationId": "r", "offsetX": 0, "offsetY": 0}}
        comments["bad id!"] = pycrdt.Map({})
        comments["t5"] = 17
    view = build_view(doc)
    assert view.schemaVersion == 1 and view.image is None
    threads = {t.id: t for t in view.threads}
    assert set(threads) == {"t1", "t2", "t3", "t4"}
    assert threads["t1"].pin == (0, 0) and threads["t1"].status == "open"
    assert threads["t1"].messages[0].body == ""
    assert threads["t2"].pin == (7, 8)
    assert threads["t3"].anchor.kind == "point"
    assert threads["t4"].pin == (1, 2)
    text = "\n".join(view.issues)
    for expected in (
        "meta.schemaVersion",
        "meta.image",
        "comments.t1.anchor",
        "comments.t1.status",
        "comments.t2.anchor.annotationId: gone does not exist",
        "comments['bad id!']",
        "comments.t3.messages",
        "comments.t4: a plain object",
        "comments.t5: expected a map",
    ):
        assert expected in text, expected


def test_repairs_are_logged_once_per_change(caplog: pytest.LogCaptureFixture) -> None:
    doc = raw_doc({"r": rect(x=float("nan"))})
    builder = ViewBuilder()
    with caplog.at_level(logging.WARNING, logger="annotd.canvas"):
        builder.build(doc)
        builder.build(doc)  # unchanged (NaN != NaN, so this one re-sanitizes: still logged)
        doc.get("annotations", type=pycrdt.Map)["s"] = rect(id="s", w="wide")
        first = len(caplog.records)
        builder.build(doc)
        builder.build(doc)
    assert first >= 1
    logged = [r.getMessage() for r in caplog.records]
    assert any("annotations.s.w: expected a number" in m for m in logged)
    assert sum("annotations.s.w" in m for m in logged) <= 2


def test_builder_reuses_unchanged_annotations_and_sees_changes() -> None:
    doc = pycrdt.Doc()
    builder = ViewBuilder()
    ops.upsert_annotation(doc, {"id": "a", "type": "freehand", "points": [0, 0, 1, 1]}, "u", 1)
    ops.upsert_annotation(doc, {"id": "b", "type": "rect"}, "u", 1)
    v1 = builder.build(doc)
    ops.upsert_annotation(doc, {"id": "b", "x": 5}, "u", 2)
    v2 = builder.build(doc)
    assert v2.annotations[0] is v1.annotations[0]
    assert v2.annotations[1].x == 5
    assert view_to_json(v2) == view_to_json(build_view(doc))


def test_annotations_sorted_by_z_then_id() -> None:
    doc = raw_doc({"b": rect(id="b", z="a1"), "a": rect(id="a", z="a1"), "c": rect(id="c", z="Zz")})
    assert [a.id for a in build_view(doc).annotations] == ["c", "a", "b"]


# -- random junk -----------------------------------------------------------------------------

junk_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["rect", "text", "line", "freehand", "polygon", "a0", "#ffffff", "none"]),
)
junk_json = st.recursive(
    junk_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=8), inner, max_size=6)),
    max_leaves=20,
)
field_names = st.one_of(
    st.sampled_from([*schema.COMMON_FIELDS, "text", "wrap", "points", "pressures", "closed", "startArrowhead", "endArrowhead"]),
    st.text(max_size=10),
)


def to_shared(value: Any, depth: int, nested: bool) -> Any:
    """Sometimes wrap dicts/lists into Y types, to mix shared and plain data."""
    if nested and isinstance(value, dict) and depth < 3:
        return pycrdt.Map({k: to_shared(v, depth + 1, nested) for k, v in value.items()})
    if nested and isinstance(value, list) and depth < 3 and len(value) % 2:
        return pycrdt.Array([to_shared(v, depth + 1, nested) for v in value])
    return value


@settings(derandomize=True, max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.one_of(st.text(max_size=8), st.sampled_from(["a", "b", "c"])),
        st.one_of(junk_json, st.dictionaries(field_names, junk_json, max_size=12)),
        max_size=5,
    ),
    st.booleans(),
    st.dictionaries(st.text(max_size=8), junk_json, max_size=3),
    st.dictionaries(st.text(max_size=8), junk_json, max_size=3),
)
def test_random_junk_never_breaks_build_view(
    annotations: dict[str, Any], nested: bool, comments: dict[str, Any], meta: dict[str, Any]
) -> None:
    doc = pycrdt.Doc()
    with doc.transaction():
        root = doc.get("annotations", type=pycrdt.Map)
        for key, value in annotations.items():
            root[key] = to_shared(value, 0, nested)
        croot = doc.get("comments", type=pycrdt.Map)
        for key, value in comments.items():
            croot[key] = to_shared(value, 0, nested)
        mroot = doc.get("meta", type=pycrdt.Map)
        for key, value in meta.items():
            mroot[key] = value
    view = build_view(doc)
    out = view_to_json(view)
    for a in view.annotations:
        assert is_id(a.id) and a.type in schema.ANNOTATION_TYPES
        for v in (a.x, a.y, a.w, a.h, a.rotation, a.style.opacity, a.style.strokeWidth):
            assert math.isfinite(v)
        assert len(a.points) <= schema.MAX_POINTS
    # replicas agree, and mutations keep working on top of junk
    other = pycrdt.Doc()
    other.apply_update(doc.get_update())
    assert view_to_json(build_view(other)) == out
    for a in view.annotations:
        if not a.locked:
            ops.upsert_annotation(doc, {"id": a.id, "x": 1, "style": {"stroke": "#123456"}}, "u", 1)
            ops.reorder(doc, a.id, "front", "u", 2)
            fixed = next(b for b in build_view(doc).annotations if b.id == a.id)
            assert fixed.x == 1 and fixed.style.stroke == "#123456"
    for t in view.threads:
        ops.reply(doc, t.id, "still here", "u", 3)
        ops.resolve_thread(doc, t.id, "u", 4)


def test_annotation_to_json_has_schema_field_names() -> None:
    doc = pycrdt.Doc()
    out = ops.upsert_annotation(doc, {"type": "text", "text": "hi"}, "u", 1)
    assert set(out) == {*schema.COMMON_FIELDS, "text", "wrap", "issues"}
    assert set(out["style"]) == set(schema.STYLE_FIELDS)
    assert annotation_to_json(build_view(doc).annotations[0]) == out
