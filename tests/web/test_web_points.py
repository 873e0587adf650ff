"""Point editing's geometry (web/src/model/points.ts) against the server's reading of it:
web/test/points.test.ts edits annotations this server wrote (move, add and remove a point,
bend and cut a stroke; rotated, and with a box larger than the points), the fields it
produces are written back here and read with the server's view and the renderer's rotation:
the edited point is where it was dragged, every other point is where it was on the image,
the rotation is kept and nothing is repaired; at a type's minimum the edit is refused."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pycrdt

from annotd.canvas import ops
from annotd.canvas.codec import annotation_to_json
from annotd.canvas.view import build_view
from annotd.render import geometry as g
from annotd.render.scene import annotation_item
from tests.web.test_web_model import run_node_tests

NOW = 1764160000000
WAVE = [v for i in range(500) for v in (i * 1.5, 60 + 50 * math.sin(i / 40))]
SHAPES: dict[str, dict[str, Any]] = {
    "tri": {"type": "polygon", "x": 700, "y": 400, "rotation": 15, "points": [0, 0, 120, 10, 60, 100]},
    "quad": {"type": "polygon", "x": 100, "y": 100, "rotation": 200, "points": [0, 0, 80, 0, 80, 60, 0, 60]},
    "line": {"type": "line", "x": 20, "y": 30, "rotation": 300, "points": [0, 0, 140, 40]},
    "wide": {"type": "arrow", "x": 0, "y": 0, "w": 300, "h": 300, "rotation": 45, "points": [0, 0, 100, 50]},
    "wave": {"type": "freehand", "x": 50, "y": 600, "rotation": 30, "points": WAVE, "pressures": [0.5] * 500},
}
EDITS: list[dict[str, Any]] = [
    {"name": "move", "shape": "tri", "edit": "move", "index": 1, "x": 900, "y": 380},
    {"name": "insert", "shape": "tri", "edit": "insert", "index": 2, "x": 640, "y": 460},
    {"name": "remove-at-minimum", "shape": "tri", "edit": "remove", "index": 0},
    {"name": "remove", "shape": "quad", "edit": "remove", "index": 0},
    {"name": "move-line-start", "shape": "line", "edit": "move", "index": 0, "x": -40, "y": 10},
    {"name": "move-in-a-wide-box", "shape": "wide", "edit": "move", "index": 1, "x": 260, "y": 20},
    {"name": "remove-at-minimum-line", "shape": "line", "edit": "remove", "index": 1},
    {"name": "bend", "shape": "wave", "edit": "bend", "index": 2, "x": 15, "y": -30},
    {"name": "cut-start", "shape": "wave", "edit": "cut", "index": 0},
    {"name": "cut-inner", "shape": "wave", "edit": "cut", "index": 1},
]


def read(ann: dict[str, Any]) -> dict[str, Any]:
    doc: pycrdt.Doc = pycrdt.Doc()
    ops.ensure_schema(doc)
    ops.upsert_annotation(doc, {"id": "a", **ann}, "alice", NOW)
    return annotation_to_json(build_view(doc).annotations[0])


def on_image(ann: dict[str, Any]) -> list[tuple[float, float]]:
    """The points of the annotation written with fields ``ann``, where the renderer draws
    them (its rotation about its centre)."""
    doc: pycrdt.Doc = pycrdt.Doc()
    ops.ensure_schema(doc)
    ops.upsert_annotation(doc, {**ann, "id": "a"}, "alice", NOW)
    view_ann = build_view(doc).annotations[0]
    it = annotation_item(view_ann)
    local = [(view_ann.x + p.x, view_ann.y + p.y) for p in view_ann.points]
    return g.apply(g.rotation_about(it.cx, it.cy, it.rotation), local)


def near(a: tuple[float, float], b: tuple[float, float], tol: float = 0.1) -> bool:
    return abs(a[0] - b[0]) < tol and abs(a[1] - b[1]) < tol


def test_point_edits_move_only_what_they_edit(tmp_path: Path) -> None:
    stored = {name: read(shape) for name, shape in SHAPES.items()}
    cases = [{**{k: v for k, v in e.items() if k != "shape"}, "annotation": stored[e["shape"]]} for e in EDITS]
    (tmp_path / "points.json").write_text(json.dumps(cases))
    run_node_tests(tmp_path, "points", 2)
    out = json.loads((tmp_path / "points-out.json").read_text())

    for e in EDITS:
        orig = stored[e["shape"]]
        patch = out[e["name"]]
        if e["name"].startswith("remove-at-minimum"):
            assert patch is None, e["name"]
            continue
        edited = read({**SHAPES[e["shape"]], **patch})
        assert edited["issues"] == [] and edited["rotation"] == orig["rotation"], e["name"]
        before, after = on_image(SHAPES[e["shape"]]), on_image({**SHAPES[e["shape"]], **patch})
        if e["edit"] == "move":
            i = e["index"]
            assert near(after[i], (e["x"], e["y"])), (e["name"], after[i])
            assert all(near(p, q) for k, (p, q) in enumerate(zip(before, after, strict=True)) if k != i), e["name"]
        elif e["edit"] == "insert":
            assert len(after) == len(before) + 1
            assert near(after[e["index"] + 1], (e["x"], e["y"]))
            rest = after[: e["index"] + 1] + after[e["index"] + 2:]
            assert all(near(p, q) for p, q in zip(before, rest, strict=True))
        elif e["edit"] == "remove":
            assert all(near(p, q) for p, q in zip(before[1:], after, strict=True))
        elif e["edit"] == "bend":
            assert len(after) == len(before) and edited["pressures"] == orig["pressures"]
            assert near(after[0], before[0]) and near(after[-1], before[-1])
            moved = [k for k in range(len(before)) if not near(before[k], after[k])]
            assert moved and moved == list(range(moved[0], moved[-1] + 1)), "one stretch bends"
            assert len(moved) < len(before) // 2
        else:  # cut: the stroke minus one contiguous stretch, pressures with it
            assert len(after) < len(before) and len(edited["pressures"]) == len(after)
            start = next(k for k in range(len(after)) if not near(after[k], before[k])) if not near(after[0], before[0]) else None
            if e["index"] == 0:
                assert start == 0
                gone = len(before) - len(after)
                assert all(near(p, q) for p, q in zip(after, before[gone:], strict=True))
            else:
                k = next(k for k in range(len(after)) if not near(after[k], before[k]))
                gone = len(before) - len(after)
                assert all(near(p, q) for p, q in zip(after[:k], before[:k], strict=True))
                assert all(near(p, q) for p, q in zip(after[k:], before[k + gone:], strict=True))
