"""annotd's exports read by the real third-party libraries the README names.

* **pyld** (the JSON-LD processor): expanding the W3C page and compacting it again with
  annotd's own context must give back every key path and every ``annotd:`` value; a
  processor silently drops any property its context does not define, so this fails as
  soon as an ``annotd:`` term is written without a definition. The W3C context is loaded
  from ``tests/jsonld/anno.jsonld``, a copy of https://www.w3.org/ns/anno.jsonld (W3C
  Document License): tests make no network requests, and any other remote context fails.
* **pycocotools** (the COCO reference API): ``COCO()`` loads the export, each object's
  mask (``annToMask``) agrees with its ``bbox`` and ``area``, and evaluating the export
  against itself scores AP 1.0 for masks and boxes.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from pyld import jsonld

from annotd.canvas.view import build_view
from annotd.formats.coco import to_coco
from annotd.formats.w3c import CONTEXT, to_page
from tests.format_samples import rich_doc

ANNO_CONTEXT = Path(__file__).parents[1] / "jsonld" / "anno.jsonld"


def offline_loader(url: str, options: dict[str, Any]) -> dict[str, Any]:
    if url != "http://www.w3.org/ns/anno.jsonld":
        raise AssertionError(f"the test asked for a remote context it does not have: {url}")
    return {"contextUrl": None, "documentUrl": url, "document": json.loads(ANNO_CONTEXT.read_text(encoding="utf-8"))}


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path of a JSON value; arrays are transparent (compaction turns an array of
    one into the value itself, which is the same data)."""
    if isinstance(value, list):
        return set().union(*(key_paths(v, prefix) for v in value)) if value else {prefix}
    if isinstance(value, dict):
        out: set[str] = set()
        for k, v in value.items():
            out |= {f"{prefix}.{k}"} | key_paths(v, f"{prefix}.{k}")
        return out
    return set()


def test_pyld_expands_and_compacts_the_w3c_export_without_losing_a_key() -> None:
    page = json.loads(json.dumps(to_page(build_view(rich_doc()), room_id="r1", seq=42, tag="v1",
                                         base_url="http://h:1", generated_ms=1_764_160_000_000)))
    dropped: list[str | None] = []
    expanded = jsonld.expand(page, {"documentLoader": offline_loader}, on_property_dropped=dropped.append)
    assert dropped == []
    compacted = jsonld.compact(expanded, {"@context": CONTEXT}, {"documentLoader": offline_loader})
    lost = key_paths(page) - key_paths(compacted)
    assert lost == set()
    assert len(key_paths(page)) > 70  # the page really carries the annotd: data checked here
    for key in ("annotd:room", "annotd:seq", "annotd:tag", "annotd:image", "annotd:generated"):
        assert compacted[key] == page[key], key
    for before, after in zip(page["items"], compacted["items"], strict=True):
        for key in ("annotd:annotation", "annotd:anchor"):
            assert after.get(key) == before.get(key)
        bodies = before.get("body", [])
        after_bodies = after.get("body", [])
        after_bodies = after_bodies if isinstance(after_bodies, list) else [after_bodies]
        assert [b.get("annotd:thread") for b in after_bodies] == [b.get("annotd:thread") for b in bodies]


def test_without_the_annotd_definitions_pyld_drops_annotd_data() -> None:
    """The check above can fail: the context annotd used to write loses thread status,
    styles and the image description."""
    page = to_page(build_view(rich_doc()), room_id="r1", seq=42)
    page["@context"] = ["http://www.w3.org/ns/anno.jsonld", {"annotd": "urn:annotd:terms:"}]
    dropped: list[str | None] = []
    jsonld.expand(page, {"documentLoader": offline_loader}, on_property_dropped=dropped.append)
    assert {"status", "style", "sha256"} <= set(dropped)


@pytest.fixture
def coco_file(tmp_path: Path) -> Path:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(to_coco(build_view(rich_doc()), room_id="r1", seq=3)), encoding="utf-8")
    return path


def _quiet_coco(path: Path) -> COCO:
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(path))


# pycocotools 2.0.11's compiled mask.decode passes copy=False to an __array__ that NumPy 2
# warns about; the warning is upstream's and names nothing of annotd's.
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
def test_pycocotools_masks_agree_with_bbox_and_area(coco_file: Path) -> None:
    coco = _quiet_coco(coco_file)
    anns = coco.loadAnns(coco.getAnnIds())
    assert len(anns) == 5
    for ann in anns:
        m = coco.annToMask(ann)
        assert m.shape == (1000, 1600)
        rle = mask_utils.encode(np.asfortranarray(m))
        x, y, w, h = (float(v) for v in mask_utils.toBbox(rle))
        bx, by, bw, bh = ann["bbox"]
        # The mask lies within the box (a pixel of rasterising allowed) and fills it: a thin
        # stroke's tips rasterise to nothing, so "fills" is an overlap, not equal sides.
        assert x >= bx - 1 and y >= by - 1 and x + w <= bx + bw + 1 and y + h <= by + bh + 1, ann
        assert (w * h) / (bw * bh) >= 0.8, ann
        pts = np.array(ann["segmentation"][0]).reshape(-1, 2)
        perimeter = float(np.sum(np.hypot(*(np.roll(pts, -1, axis=0) - pts).T)))
        assert abs(float(m.sum()) - ann["area"]) <= 0.6 * perimeter + 4, ann


@pytest.mark.parametrize("iou_type", ["segm", "bbox"])
def test_pycocotools_scores_the_export_against_itself_at_ap_1(coco_file: Path, iou_type: str) -> None:
    gt = _quiet_coco(coco_file)
    detections = [{"image_id": a["image_id"], "category_id": a["category_id"], "segmentation": a["segmentation"],
                   "bbox": a["bbox"], "score": 1.0} for a in gt.loadAnns(gt.getAnnIds())]
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes(detections)
        ev = COCOeval(gt, dt, iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)
