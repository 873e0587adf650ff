"""Imports are built in the state worker and applied in bounded batches (annotd.roomfiles.imports):
what lands, how big each applied update is, what a refusal leaves behind."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from pycrdt import Map

from annotd.client.roomclient import RoomClient
from annotd.process.daemon import Daemon

from ..conftest import DaemonFactory
from ..helpers import create_room, settle


def page(n: int, comment: str = "") -> dict[str, Any]:
    items = []
    for i in range(n):
        item: dict[str, Any] = {"type": "Annotation", "id": f"urn:x:{i}", "target": {
            "source": "http://example.org/a.png",
            "selector": {"type": "FragmentSelector", "value": f"xywh={i % 50 * 10},{i // 50 * 10},8,8"}}}
        if comment:
            item["body"] = [{"type": "TextualBody", "purpose": "commenting", "value": f"{comment} {i}"}]
        items.append(item)
    return {"type": "AnnotationPage", "items": items}


async def test_a_big_import_lands_whole_in_bounded_batches(make_daemon: DaemonFactory) -> None:
    d = await make_daemon(limits={"import_batch_bytes": 20_000})
    async with aiohttp.ClientSession(base_url=d.http_url) as http:
        await create_room(http)
        watcher = RoomClient(d.ws_url, "r1", user_id="watcher")
        await watcher.connect()
        head = d.hub.rooms["r1"].head
        resp = await http.post("/v1/rooms/r1/formats/w3c", json=page(400, "c" * 200))
        assert resp.status == 201, await resp.text()
        result = await resp.json()
    room = d.hub.rooms["r1"].room
    assert len(result["created"]) == 400 and len(result["threads"]) == 400 and result["skipped"] == []
    assert result["seq"] == room.head
    events = room.history.log.after(head)
    assert len(events) > 5  # ~500 KB of updates in batches of 20 KB
    assert max(len(ev.update) for ev in events) < 1.5 * 20_000  # batches are sized by measured update bytes
    await settle(d, "r1", watcher)
    anns = watcher.doc.get("annotations", type=Map)
    assert sorted(str(a) for a in anns.keys()) == sorted(result["created"])
    assert len(watcher.doc.get("comments", type=Map)) == 400
    await watcher.close()


async def test_an_import_past_the_document_limit_is_refused_before_any_batch(make_daemon: DaemonFactory) -> None:
    d = await make_daemon(limits={"import_batch_bytes": 20_000, "max_document_bytes": 100_000})
    async with aiohttp.ClientSession(base_url=d.http_url) as http:
        await create_room(http)
        head = d.hub.rooms["r1"].head
        resp = await http.post("/v1/rooms/r1/formats/w3c", json=page(400, "c" * 200))
        assert resp.status == 413, await resp.text()
        assert (await resp.json())["error"]["code"] == "document_too_large"
    assert d.hub.rooms["r1"].head == head  # no batch was applied


async def test_a_refused_file_names_the_field_and_leaves_the_worker_usable(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    await create_room(http)
    head = daemon.hub.rooms["r1"].head
    resp = await http.post("/v1/rooms/r1/formats/coco", json={"images": [], "annotations": [{}] * 10_001})
    assert resp.status == 422
    assert (await resp.json())["error"]["data"]["field"] == "coco.annotations"
    resp = await http.post("/v1/rooms/r1/formats/w3c", json={"type": "AnnotationPage", "items": "no"})
    assert resp.status == 422 and (await resp.json())["error"]["data"]["field"] == "page.items"
    assert daemon.hub.rooms["r1"].head == head
    resp = await http.post("/v1/rooms/r1/formats/w3c", json=page(3))
    assert resp.status == 201 and len((await resp.json())["created"]) == 3



@pytest.mark.parametrize("size", [0, 1e-300, 1e308, -1e308, 2.5, "640", True])
def test_coco_image_sizes_that_are_not_pixels_are_refused_naming_the_field(size: Any) -> None:
    from annotd.base.errors import InvalidParams
    from annotd.formats.coco import parse_coco

    coco = {"images": [{"id": 7, "width": 640, "height": 480}, {"id": 8, "width": size, "height": 480}],
            "annotations": [{"id": 1, "image_id": 8, "bbox": [1, 2, 3, 4]}], "categories": []}
    with pytest.raises(InvalidParams) as exc:
        parse_coco(coco, image=(640, 480), image_id=8)
    assert exc.value.field == "coco.images[1].width"
    coco["images"][1]["width"] = 320.0  # a whole number written as a float is a size
    assert parse_coco(coco, image=(640, 480), image_id=8).notes == ["coordinates scaled by 2 x 1 from the file's image size to the room's"]


def test_a_manifest_format_version_of_the_wrong_type_says_so() -> None:
    from annotd.base.errors import InvalidParams
    from annotd.formats.bundle import FORMAT, _check_header

    with pytest.raises(InvalidParams) as exc:
        _check_header({"format": FORMAT, "formatVersion": "1"})
    assert exc.value.message == "bundle.manifest.formatVersion: must be a number (1 for this server), not the string '1'"
