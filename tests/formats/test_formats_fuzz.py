"""Hostile input, generated: whatever the bytes or JSON, the readers answer with a client
error (an AnnotdError: 4xx) or a result, never another exception."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Doc

from annotd.base.errors import AnnotdError
from annotd.canvas import ops as mut
from annotd.formats.bundle import read_bundle
from annotd.formats.coco import parse_coco
from annotd.formats.plan import ImportPlan, apply_plan
from annotd.formats.restore import plan_load
from annotd.formats.w3c_in import parse_page
from tests.formats.test_formats_bundle import LIMITS, encoded

BUNDLE = encoded()


def written(plan: ImportPlan) -> None:
    """What a parser accepted must write without an error: it was all validated."""
    doc: Doc[Any] = Doc()
    mut.ensure_schema(doc)
    result = apply_plan(doc, plan, "fuzz", 1)
    assert len(result["created"]) == len(plan.annotations) and len(result["threads"]) == len(plan.threads)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def survives(data: bytes) -> None:
    try:
        plan_load(read_bundle(data, LIMITS))
    except AnnotdError:
        pass


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, len(BUNDLE) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_bundle_with_flipped_bytes(flips: list[tuple[int, int]]) -> None:
    data = bytearray(BUNDLE)
    for at, value in flips:
        data[at] = value
    survives(bytes(data))


def test_bundle_needing_a_newer_zip_version() -> None:
    """zipfile refuses an entry whose "version needed to extract" it does not know with
    NotImplementedError: a damaged bundle, answered as one."""
    data = bytearray(BUNDLE)
    central = data.index(b"PK\x01\x02")
    data[central + 6:central + 8] = (64).to_bytes(2, "little")
    try:
        read_bundle(bytes(data), LIMITS)
    except AnnotdError as exc:
        assert "not a readable zip file" in exc.message
    else:
        raise AssertionError("a zip entry needing version 6.4 was read")


@SETTINGS
@given(st.integers(0, len(BUNDLE)), st.binary(max_size=64))
def test_bundle_truncated_or_extended(cut: int, tail: bytes) -> None:
    survives(BUNDLE[:cut] + tail)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["type", "items", "target", "selector", "value", "body", "purpose", "source", "id",
                         "annotd:annotation", "annotd:anchor", "creator", "images", "annotations", "categories",
                         "bbox", "segmentation", "attributes", "image_id", "category_id", "name", "first"])
        | st.text(max_size=5), inner, max_size=5),
    max_leaves=30,
)
SHAPES = st.sampled_from(["Annotation", "AnnotationPage", "SvgSelector", "FragmentSelector", "TextualBody",
                          "xywh=1,2,3,4", "xywh=percent:1,2,3,4", "<svg><rect width='1' height='2'/></svg>",
                          "<svg><path d='M0 0 C 1 1 2 2 3 3 Z'/></svg>", "<svg><polygon points='1,2 3,4 5,6'/></svg>"])


@SETTINGS
@given(st.one_of(JSON, st.builds(lambda t, v, j: {"type": t, "items": [{"type": "Annotation", "target": {
    "selector": {"type": t, "value": v}}, "body": j}]}, SHAPES, SHAPES, JSON)))
def test_w3c_any_json(page: Any) -> None:
    try:
        plan = parse_page(page, (100, 100))
    except AnnotdError:
        return
    written(plan)


@SETTINGS
@given(JSON, st.lists(JSON, max_size=4))
def test_coco_any_json(extra: Any, annotations: list[Any]) -> None:
    for doc in (extra, {"images": [{"id": 1, "width": 10, "height": 10}], "annotations": annotations,
                        "categories": [extra]}):
        try:
            plan = parse_coco(doc, image=(20, 20))
        except AnnotdError:
            continue
        written(plan)
