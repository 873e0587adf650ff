"""The clipboard's validator (@annotd/client model/validate.ts, used by the web page's paste)
against the server's own (annotd/canvas/validate.py): the same payloads, good and bad, get the
same verdict — the same normalized fields when accepted, the same field named when refused —
so what a paste writes into the document is exactly what ``annotations.upsert`` would accept.
web/test/clip.test.ts runs on what this writes, with node."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from annotd.base.errors import InvalidParams
from annotd.canvas.validate import validate_annotation_create

from ..web.test_web_model import run_node_tests

GOOD: list[Any] = [
    {"type": "rect", "x": 1, "y": 2, "w": 3, "h": 4},
    {"type": "rect", "x": -1e6, "y": 1e6, "w": 0, "h": 1e6, "rotation": -90, "groupIds": ["g1", "g-2_"], "locked": True},
    {"type": "ellipse", "x": 0.5, "y": 0, "w": 1, "h": 1, "rotation": 725.5, "style": {"stroke": "none", "fill": "#ffec9933"}},
    {"type": "text", "text": "tab\there\nline", "wrap": False, "style": {"fontFamily": "mono", "fontSize": 2000, "fontWeight": "bold",
                                                                       "textAlign": "center", "opacity": 0, "strokeWidth": 1000}},
    {"type": "text", "text": "é" * 10_000},
    {"type": "text", "text": "😀" * 10_000},
    {"type": "line", "points": [0, 0, 10.03, 5.97], "startArrowhead": "dot", "endArrowhead": "triangle"},
    {"type": "arrow", "points": [0, 0, 1, 1], "z": "a0V"},
    {"type": "polygon", "points": [0, 0, 10, 0, 5, 5], "closed": False, "style": {"strokeStyle": "dotted"}},
    {"type": "freehand", "points": [0, 0, 1, 1], "pressures": [0, 1]},
    {"type": "freehand", "points": [0, 0], "pressures": None},
    {"type": "rect", "id": "Abc_-123", "groupIds": []},
]
BAD: list[Any] = [
    [],
    "rect",
    {},
    {"type": "square"},
    {"type": "rect", "x": "1"},
    {"type": "rect", "x": True},
    {"type": "rect", "x": 1_000_001},
    {"type": "rect", "w": -1},
    {"type": "rect", "rotation": None},
    {"type": "rect", "text": "no"},
    {"type": "rect", "colour": "red"},
    {"type": "rect", "createdBy": "me"},
    {"type": "rect", "id": "has space"},
    {"type": "rect", "z": "!"},
    {"type": "rect", "groupIds": ["a", "a"]},
    {"type": "rect", "groupIds": [f"g{i}" for i in range(33)]},
    {"type": "rect", "groupIds": "g1"},
    {"type": "rect", "locked": 1},
    {"type": "rect", "style": {"stroke": "red"}},
    {"type": "rect", "style": {"fill": "#12345"}},
    {"type": "rect", "style": {"strokeWidth": 1001}},
    {"type": "rect", "style": {"opacity": 1.5}},
    {"type": "rect", "style": {"fontSize": 0.5}},
    {"type": "rect", "style": {"glow": 1}},
    {"type": "rect", "style": "bold"},
    {"type": "text", "text": "x" * 10_001},
    {"type": "text", "text": "bell\u0007"},
    {"type": "text", "text": "c1\u0085"},
    {"type": "text", "text": 5},
    {"type": "line"},
    {"type": "line", "points": [0, 0]},
    {"type": "line", "points": [0, 0, 1]},
    {"type": "line", "points": [0, 0, 1, "1"]},
    {"type": "line", "points": [0, 0, 1, 2_000_000]},
    {"type": "line", "points": [0, 0, 1, 1], "startArrowhead": "star"},
    {"type": "polygon", "points": [0, 0, 1, 1]},
    {"type": "polygon", "points": [0, 0, 1, 1, 2, 2], "closed": "yes"},
    {"type": "freehand", "points": [0, 0, 1, 1], "pressures": [0.5]},
    {"type": "freehand", "points": [0, 0, 1, 1], "pressures": [0.5, 2]},
    {"type": "freehand", "points": [0, 0], "pressures": "none"},
    {"type": "freehand", "points": [0] * 20_002},
]


def verdict(payload: Any) -> dict[str, Any]:
    try:
        return {"payload": payload, "ok": True, "stored": validate_annotation_create(payload)}
    except InvalidParams as exc:
        assert exc.data is not None
        return {"payload": payload, "ok": False, "field": exc.data["field"]}


def test_the_page_validates_a_paste_exactly_as_the_server(tmp_path: Path) -> None:
    cases = [verdict(p) for p in GOOD + BAD]
    assert [c["ok"] for c in cases] == [True] * len(GOOD) + [False] * len(BAD)  # the samples mean what they say
    (tmp_path / "clip.json").write_text(json.dumps(cases), encoding="utf-8")
    run_node_tests(tmp_path, "clip", 2)
