"""The web client's document model (web/src/model) against documents this server produced.

The Python side writes documents with the server's own operations (and a "raw" one that
breaks the schema the way a careless Yjs client might), plus what the server's view reads
from them; web/test/model.test.ts (bundled with esbuild, run with ``node --test``) must read
the same values, compute the same z keys and groups, and write a document that the server
then reads here without a single repair: nested Y.Maps, flat offset points rounded to
1/16 px, fractional z, groupIds innermost first. Node and web/node_modules are required
(bin/test installs them): a missing toolchain fails instead of skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pycrdt
import pytest

from annotd.canvas import ops
from annotd.canvas.codec import annotation_to_json
from annotd.canvas.fractional import key_between
from annotd.canvas.reader import YMapData, read_root
from annotd.canvas.view import build_view

WEB = Path(__file__).resolve().parents[2] / "web"
NOW = 1764160000000
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("the web model tests need Node.js >= 20 on PATH", pytrace=False)
    if not (WEB / "node_modules" / "esbuild" / "package.json").is_file():
        pytest.fail("web/node_modules is missing: run bin/test (it runs npm ci in web/)", pytrace=False)
    return node


def run_node_tests(fixtures: Path, name: str, passes: int) -> None:
    """Bundle web/test/*.test.ts and run ``<name>.test.mjs`` with ``node --test`` on the
    documents in ``fixtures`` ($ANNOTD_FIXTURES); every test must pass."""
    node = _node()
    built = fixtures / "build"
    subprocess.run([node, str(WEB / "test" / "build.mjs"), str(built)], cwd=WEB, check=True, timeout=120)
    env = {**os.environ, "ANNOTD_FIXTURES": str(fixtures)}
    run = subprocess.run([node, "--test", "--test-reporter=tap", str(built / f"{name}.test.mjs")], cwd=WEB, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "# fail 0" in run.stdout and f"# pass {passes}" in run.stdout, run.stdout


def server_doc() -> tuple[pycrdt.Doc, dict[str, str]]:
    doc: pycrdt.Doc = pycrdt.Doc()
    ops.ensure_schema(doc)
    ops.set_image(doc, {"sha256": SHA, "width": 1920, "height": 1080, "mime": "image/png"})
    ids: dict[str, str] = {}

    def up(name: str, ann: dict[str, Any], user: str = "alice") -> None:
        ids[name] = ops.upsert_annotation(doc, {"id": name, **ann}, user, NOW)["id"]

    up("r1", {"type": "rect", "x": 100, "y": 80, "w": 300, "h": 200,
              "style": {"stroke": "#e03131", "fill": "#ffec9933", "strokeWidth": 3, "strokeStyle": "dashed"}})
    up("t1", {"type": "text", "x": 110, "y": 300, "w": 280, "h": 40, "text": "Crack in the weld\nsecond line",
              "style": {"stroke": "#1e1e1e", "fontFamily": "serif", "fontSize": 24, "fontWeight": "bold", "textAlign": "center"}})
    up("a1", {"type": "arrow", "x": 500, "y": 120, "points": [0, 0, 90.03, 60.51], "startArrowhead": "dot"}, "bob")
    up("l1", {"type": "line", "x": 20, "y": 20, "points": [0, 0, 10, 10, 30, 5]})
    up("p1", {"type": "polygon", "x": 700, "y": 400, "rotation": 15, "points": [0, 0, 120, 10, 60, 100], "locked": True})
    up("f1", {"type": "freehand", "x": 50, "y": 600, "points": [0, 0, 10.5, 4.25, 25, 12.25, 42.5, 8],
              "pressures": [0.3, 0.5, 0.62, 0.4]}, "bob")
    up("e1", {"type": "ellipse", "x": 900, "y": 100, "w": 120, "h": 60, "rotation": 370, "style": {"opacity": 0.5}})
    ops.group(doc, ["r1", "t1"], "alice", NOW, group_id="g1")
    ops.group(doc, ["r1", "t1", "a1"], "alice", NOW, group_id="g2")
    ops.reorder(doc, "l1", "front", "alice", NOW)
    return doc, ids


def raw_doc() -> pycrdt.Doc:
    """What a careless client might write: plain objects, wrong types, bad keys."""
    doc: pycrdt.Doc = pycrdt.Doc()
    ann = doc.get("annotations", type=pycrdt.Map)
    ann["plain"] = {"id": "plain", "type": "rect", "x": 5, "y": "6", "w": -3, "h": 40, "z": "not a key",
                    "style": {"stroke": "red", "strokeWidth": 5000, "opacity": 2}, "groupIds": ["ok", "bad id!", "ok"]}
    ann["nested"] = pycrdt.Map({"id": "nested", "type": "line", "x": 1, "y": 1, "points": [[0, 0], [5, 5, 0.5]],
                                "style": pycrdt.Map({"strokeStyle": "wavy", "fontSize": 0})})
    ann["skipme"] = {"type": "hexagon"}
    ann["rot"] = pycrdt.Map({"type": "text", "rotation": -30, "text": 42, "wrap": "yes", "locked": 1})
    return doc


def _view_json(doc: pycrdt.Doc) -> list[dict[str, Any]]:
    return [annotation_to_json(a) for a in build_view(doc).annotations]


def test_node_model_matches_the_server(tmp_path: Path) -> None:
    doc, _ = server_doc()
    (tmp_path / "server.bin").write_bytes(doc.get_update())
    (tmp_path / "server-view.json").write_text(json.dumps(_view_json(doc)))
    image = build_view(doc).image
    assert image is not None
    (tmp_path / "server-image.json").write_text(json.dumps(
        {"sha256": image.sha256, "width": image.width, "height": image.height, "mime": image.mime}))
    raw = raw_doc()
    (tmp_path / "raw.bin").write_bytes(raw.get_update())
    (tmp_path / "raw-view.json").write_text(json.dumps(_view_json(raw)))
    keys = [(None, None), ("a0", None), (None, "a0"), ("a0", "a1"), ("a0", "a0V"), ("Zz", "a0"), ("a1V", "a2"), ("az", None), ("b10", None)]
    (tmp_path / "keys.json").write_text(json.dumps([[a, b, key_between(a, b)] for a, b in keys]))
    reorders = []
    for ann_id in ("r1", "a1", "l1", "e1", "f1"):
        for direction in ("forward", "backward", "front", "back"):
            d, _ = server_doc()
            reorders.append({"id": ann_id, "direction": direction, "z": ops.reorder(d, ann_id, direction, "x", NOW)})
    (tmp_path / "reorder.json").write_text(json.dumps(reorders))
    groups = []
    for members in (["r1", "t1"], ["r1", "e1"], ["a1", "l1", "f1"], ["r1", "t1", "a1"]):
        d, _ = server_doc()
        ops.group(d, members, "x", NOW, group_id="NEWGROUP")
        view = {a.id: list(a.groupIds) for a in build_view(d).annotations}
        groups.append({"ids": members, "groupIds": {m: view[m] for m in members}})
    (tmp_path / "group.json").write_text(json.dumps(groups))

    run_node_tests(tmp_path, "model", 8)

    # what node wrote, read by the server: no repairs, exactly the client's values
    client: pycrdt.Doc = pycrdt.Doc()
    client.apply_update((tmp_path / "client.bin").read_bytes())
    view = build_view(client)
    assert not view.issues
    got = [annotation_to_json(a) for a in view.annotations]
    assert all(not a["issues"] for a in got), [a["issues"] for a in got]
    expected = json.loads((tmp_path / "client-view.json").read_text())
    assert [{k: v for k, v in a.items() if k != "issues"} for a in got] == expected
    stored = read_root(client, "annotations")
    for entry in stored.values():
        assert isinstance(entry, YMapData) and isinstance(entry["style"], YMapData)
        for v in entry.get("points", []):
            assert (v * 16).is_integer()
    by_type = {a["type"]: a for a in got}
    assert by_type["rect"]["groupIds"] == ["g1", "g2"] and by_type["ellipse"]["groupIds"] == ["g1", "g2"]
    assert by_type["text"]["groupIds"] == ["g2"]
    assert by_type["text"]["text"] == "Crack <b>in</b> the weld"
    assert by_type["line"]["points"] == [49.5, 59.6875, 0.0, 0.0] and by_type["line"]["x"] == 250.5
    assert by_type["freehand"]["pressures"] == [0.3, 0.5, 0.62]
    assert got[-1]["type"] == "ellipse"  # reordered to the front
