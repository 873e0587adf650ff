"""The paint scheduler: phases keep every overlapping pair of steps in paint order, regions
are disjoint and cover their boxes; and painting without layers gives what layers gave."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from annotd.render import RenderOptions, render, render_image
from annotd.render.schedule import AGG, PIL, phases, regions
from tests.goldens_regen import ann, view

box = st.tuples(st.integers(0, 200), st.integers(0, 200), st.integers(1, 80), st.integers(1, 80)).map(
    lambda t: (t[0], t[1], t[0] + t[2], t[1] + t[3]))


def meets(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(box, st.sampled_from([AGG, PIL])), max_size=40), st.sampled_from([1, 7, 32]))
def test_phases_keep_overlapping_steps_in_order(steps, cell) -> None:  # type: ignore[no-untyped-def]
    boxes = [b for b, _ in steps]
    kinds = [k for _, k in steps]
    ph = phases(boxes, kinds, cell)
    for i, (b, k) in enumerate(steps):
        assert ph[i] % 2 == k
        for j in range(i):
            if meets(boxes[j], b):
                # an earlier overlapping step runs in an earlier phase, or in the same one
                # (same kind: steps of a phase run in paint order)
                assert ph[j] < ph[i] or (ph[j] == ph[i] and kinds[j] == k)


@settings(max_examples=200, deadline=None)
@given(st.lists(box, max_size=40))
def test_regions_are_disjoint_and_cover_their_boxes(boxes) -> None:  # type: ignore[no-untyped-def]
    found = regions(boxes)
    assert sorted(i for _, idx in found for i in idx) == list(range(len(boxes)))
    for n, (r, idx) in enumerate(found):
        assert idx == sorted(idx)
        for i in idx:
            b = boxes[i]
            assert r[0] <= b[0] and r[1] <= b[1] and b[2] <= r[2] and b[3] <= r[3]
        for other, _ in found[n + 1:]:
            assert not meets(r, other)


def test_phases_batch_shapes_around_text() -> None:
    # shape, text on it, shape elsewhere, shape over the text: 3 phases, not 4
    boxes = [(0, 0, 50, 50), (10, 10, 40, 40), (100, 100, 120, 120), (20, 20, 30, 30)]
    assert phases(boxes, [AGG, PIL, AGG, AGG], 8) == [0, 1, 0, 2]


def test_coloured_text_edges_blend_with_the_background() -> None:
    """Anti-aliased edges of coloured text lie between the text colour and the background
    (before #11 they were washed out: a straight colour was read as premultiplied)."""
    v = view(ann("t", "text", 5, 5, 190, 60, stroke="#1971c2", fontSize=28, text="Serif centre"))
    img = render_image(v, None, RenderOptions(background="white")).convert("RGB")
    color = (0x19, 0x71, 0xC2)
    edges = 0
    for r, g, b in img.get_flattened_data():  # type: ignore[attr-defined]
        if (r, g, b) in ((255, 255, 255), color):
            continue
        edges += 1
        t = (255 - r) / (255 - color[0])  # how much ink, from the red channel
        assert abs(255 - (255 - color[1]) * t - g) <= 3 and abs(255 - (255 - color[2]) * t - b) <= 3
    assert edges > 50


def test_opacity_one_items_paint_straight_on_opaque_and_transparent_canvases() -> None:
    """The same shapes over white and over transparent (then flattened on white) agree:
    painting on a premultiplied canvas is "over"."""
    anns = (ann("r", "rect", 20, 20, 100, 60, stroke="#e03131", fill="#ffc9c9", strokeWidth=4),
            ann("e", "ellipse", 60, 40, 100, 80, stroke="#1971c2cc", strokeWidth=6),
            ann("t", "text", 30, 90, 150, 30, stroke="#2f9e44", fontSize=18, text="over"),
            ann("h", "rect", 100, 10, 80, 60, stroke="#000000", fill="#fab005", strokeWidth=8, opacity=0.5))
    white = render_image(view(*anns), None, RenderOptions(background="white")).convert("RGB")
    clear = Image.open(io.BytesIO(render(view(*anns), None, RenderOptions(background="transparent"))))
    assert clear.mode == "RGBA"
    flat = Image.new("RGBA", clear.size, (255, 255, 255, 255))
    flat.alpha_composite(clear)
    diffs = [abs(a - b) for p, q in zip(white.get_flattened_data(), flat.convert("RGB").get_flattened_data(),  # type: ignore[attr-defined]
                                        strict=True) for a, b in zip(p, q, strict=True)]
    assert max(diffs) <= 3  # rounding only


def test_steps_use_a_layer_only_for_group_opacity_over_overlapping_ops() -> None:
    from annotd.render import geometry as g
    from annotd.render.prepare import Prepared, ShapeOp, TextOp, steps
    from annotd.render.scene import annotation_item

    def plan(a):  # type: ignore[no-untyped-def]
        return steps(Prepared(annotation_item(a), g.scale_translate(1.0, 0, 0), 1.0), (200, 150))

    solid = plan(ann("r", "rect", 10, 10, 50, 40, stroke="#000000", fill="#ff0000"))
    assert [(s.kind, s.layer, len(s.ops)) for s in solid] == [(AGG, False, 2)]  # fill and stroke, straight on
    group = plan(ann("r", "rect", 10, 10, 50, 40, stroke="#000000", fill="#ff0000", opacity=0.5))
    assert [(s.kind, s.layer) for s in group] == [(PIL, True)]  # the stroke must not darken the fill
    line = plan(ann("l", "line", 10, 10, 100, 0, stroke="#00ff0080", points=[(0, 0), (100, 0)], opacity=0.5))
    (only,) = line
    assert only.kind == AGG and not only.layer
    op = only.ops[0]
    assert isinstance(op, ShapeOp) and op.color == (0, 255, 0, 64)  # 128 x 0.5 folded into the colour
    text = plan(ann("t", "text", 10, 10, 150, 30, stroke="#0000ff", fill="#ffff00", text="hi"))
    assert [(s.kind, type(s.ops[0]).__name__) for s in text] == [(AGG, "ShapeOp"), (PIL, "TextOp")]
    faded = plan(ann("t", "text", 10, 10, 150, 30, stroke="#0000ff", text="hi", opacity=0.25))
    assert isinstance(faded[0].ops[0], TextOp) and faded[0].ops[0].alpha == 64
    assert plan(ann("r", "rect", 10, 10, 50, 40, fill="#ff0000", opacity=0.0)) == []
    assert plan(ann("r", "rect", 500, 500, 50, 40, fill="#ff0000")) == []  # off the canvas


def test_layered_items_on_a_transparent_canvas_keep_group_opacity() -> None:
    v = view(ann("r", "rect", 40, 40, 100, 60, stroke="#000000", fill="#000000", strokeWidth=10, opacity=0.5))
    img = render_image(v, None, RenderOptions(background="transparent"))
    assert img.mode == "RGBA"
    assert img.getpixel((40, 70)) == img.getpixel((90, 70)) == (0, 0, 0, 128)  # stroke and fill alike
