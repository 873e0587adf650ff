"""Bundles, W3C and COCO through the daemon: REST, JSON-RPC, the CLI, and what bad files do."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from PIL import Image
from websockets.asyncio.client import connect

from annotd.canvas.view import build_view
from annotd.cli.formats import export_data, import_data, load_room, save_room
from annotd.process.daemon import Daemon
from tests.conftest import DaemonFactory
from tests.helpers import T, create_room, run_annotd

pytestmark = pytest.mark.asyncio


def png(color: str, size: tuple[int, int] = (160, 100)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


async def ok(resp: aiohttp.ClientResponse, status: int = 200) -> Any:
    assert resp.status == status, await resp.text()
    return await resp.json(content_type=None)


async def post(http: aiohttp.ClientSession, path: str, body: Any, status: int = 200) -> Any:
    return await ok(await http.post(path, json=body), status)


async def build_room(http: aiohttp.ClientSession, room: str = "src") -> dict[str, Any]:
    """A room with two images, styles, z-order, a group, comments (one resolved), three tags."""
    await create_room(http, room)
    red, blue = png("red"), png("blue", (200, 120))
    await ok(await http.post(f"/v1/rooms/{room}/image", data=red, headers={"Content-Type": "image/png"}), 201)
    base = f"/v1/rooms/{room}"
    r = (await post(http, f"{base}/annotations", {"type": "rect", "x": 10, "y": 20, "w": 50, "h": 30,
                                                   "style": {"stroke": "#1971c2", "strokeStyle": "dotted"}}))["annotation"]
    t = (await post(http, f"{base}/annotations", {"type": "text", "x": 10, "y": 0, "w": 50, "h": 20,
                                                   "text": "label", "style": {"fontWeight": "bold"}}))["annotation"]
    await post(http, f"{base}/groups", {"ids": [r["id"], t["id"]]}, 201)
    await post(http, f"{base}/versions", {"tag": "v1"}, 201)
    await ok(await http.post(f"{base}/image", data=blue, headers={"Content-Type": "image/png"}), 201)
    await post(http, f"{base}/annotations", {"type": "freehand", "x": 5, "y": 5, "points": [0, 0, 3, 4, 8, 1]})
    await post(http, f"{base}/annotations/{r['id']}/reorder", {"direction": "front"})
    th = (await post(http, f"{base}/comments", {"anchor": {"kind": "annotation", "annotationId": r["id"]},
                                                "body": "what is this?"}, 201))["thread"]
    await post(http, f"{base}/comments/{th['id']}/replies", {"body": "a crack"}, 201)
    await ok(await http.patch(f"{base}/comments/{th['id']}", json={"action": "resolve"}))
    await post(http, f"{base}/comments", {"anchor": {"kind": "point", "x": 3, "y": 4}, "body": "open one"}, 201)
    await post(http, f"{base}/versions", {"tag": "v2"}, 201)
    await post(http, f"{base}/annotations", {"type": "ellipse", "x": 1, "y": 1, "w": 9, "h": 9})
    await post(http, f"{base}/versions", {"tag": "v3"}, 201)
    await post(http, f"{base}/annotations", {"type": "rect", "x": 70, "y": 70, "w": 9, "h": 9})
    return {"red": hashlib.sha256(red).hexdigest(), "blue": hashlib.sha256(blue).hexdigest()}


async def canvas(http: aiohttp.ClientSession, room: str, tag: str | None = None) -> tuple[Any, Any]:
    q = f"?tag={tag}" if tag else ""
    anns = (await ok(await http.get(f"/v1/rooms/{room}/annotations{q}")))["annotations"]
    threads = (await ok(await http.get(f"/v1/rooms/{room}/comments{q}")))["threads"]
    return anns, threads


async def test_bundle_round_trip_over_rest_keeps_everything(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    shas = await build_room(http)
    resp = await http.get("/v1/rooms/src/bundle")
    assert resp.status == 200 and resp.headers["Content-Type"] == "application/vnd.annotd.bundle+zip"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="src.annotd"'
    data = await resp.read()
    loaded = await ok(await http.post("/v1/rooms/copy/bundle", data=data,
                                      headers={"Content-Type": "application/zip"}), 201)
    assert loaded["room"]["id"] == "copy" and loaded["warnings"] == []
    assert [(v["tag"], v["seq"]) for v in loaded["versions"]] == [("v1", 1), ("v2", 2), ("v3", 3)]
    assert loaded["room"]["headSeq"] == 4 and loaded["savedHeadSeq"] == daemon.hub.rooms["src"].room.head
    src_versions = (await ok(await http.get("/v1/rooms/src/versions")))["versions"]
    assert [(v["tag"], v["createdAt"], v["createdBy"]) for v in loaded["versions"]] == [
        (v["tag"], v["createdAt"], v["createdBy"]) for v in src_versions]
    assert await canvas(http, "copy") == await canvas(http, "src")  # annotations (ids, styles, z, groups), comments
    for tag in ("v1", "v2", "v3"):
        assert await canvas(http, "copy", tag) == await canvas(http, "src", tag)
    for sha in shas.values():
        img = await http.get(f"/v1/rooms/copy/image?sha256={sha}")
        assert img.status == 200 and hashlib.sha256(await img.read()).hexdigest() == sha
    # revert to a loaded tag: the v1 canvas and the v1 image (red) come back
    await post(http, "/v1/rooms/copy/versions/v1:revert", {})
    info = await ok(await http.get("/v1/rooms/copy"))
    assert info["image"]["sha256"] == shas["red"]
    anns, _ = await canvas(http, "copy")
    v1, _ = await canvas(http, "src", "v1")
    strip = ("updatedBy", "updatedAt")
    assert [{k: v for k, v in a.items() if k not in strip} for a in anns] == [
        {k: v for k, v in a.items() if k not in strip} for a in v1]


async def test_loaded_room_clients_see_the_saved_canvas(daemon: Daemon, http: aiohttp.ClientSession,
                                                         clients: Any) -> None:
    await build_room(http)
    data = await (await http.get("/v1/rooms/src/bundle")).read()
    await ok(await http.post("/v1/rooms/copy/bundle", data=data), 201)
    a, b = await clients("src", "alice"), await clients("copy", "bob")
    async with asyncio.timeout(T):
        await a.wait_for_seq(daemon.hub.rooms["src"].room.head)
        await b.wait_for_seq(daemon.hub.rooms["copy"].room.head)
    assert build_view(b.doc) == build_view(a.doc)
    versions = await b.call("versions.list")
    assert [v["tag"] for v in versions["versions"]] == ["v1", "v2", "v3"]


async def test_bundle_over_json_rpc_is_base64(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    await build_room(http)
    async with connect(f"{daemon.ws_url}/v1/ws", max_size=None) as ws:
        async def send(msg: dict[str, Any]) -> None:
            await ws.send(orjson.dumps(msg).decode())

        await send({"jsonrpc": "2.0", "id": 1, "method": "rooms.exportBundle",
                                    "params": {"roomId": "src"}})
        result = orjson.loads(await ws.recv())["result"]
        data = base64.b64decode(result["data"])
        assert result["encoding"] == "base64" and result["size"] == len(data)
        assert result["sha256"] == hashlib.sha256(data).hexdigest() and result["filename"] == "src.annotd"
        await send({"jsonrpc": "2.0", "id": 2, "method": "rooms.importBundle",
                                    "params": {"bundle": result["data"], "roomId": "viarpc"}})
        reply = orjson.loads(await ws.recv())
        assert reply["result"]["room"]["id"] == "viarpc"
        await send({"jsonrpc": "2.0", "id": 3, "method": "rooms.importBundle",
                                    "params": {"bundle": "not base64!", "roomId": "bad"}})
        err = orjson.loads(await ws.recv())["error"]
        assert err["code"] == -32602 and err["data"]["field"] == "bundle"
    assert await canvas(http, "viarpc") == await canvas(http, "src")


async def test_bad_bundles_are_refused_and_rooms_untouched(make_daemon: DaemonFactory) -> None:
    d = await make_daemon(limits={"max_bundle_bytes": 200_000, "max_bundle_uncompressed_bytes": 50_000_000,
                                  "max_bundle_entries": 20})
    async with aiohttp.ClientSession(base_url=d.http_url) as http:
        await build_room(http)
        data = await (await http.get("/v1/rooms/src/bundle")).read()
        before = await canvas(http, "src")
        rooms_before = (await ok(await http.get("/v1/rooms")))["rooms"]

        async def refused(body: bytes, status: int, path: str = "/v1/rooms/new/bundle") -> dict[str, Any]:
            resp = await http.post(path, data=body, headers={"Content-Type": "application/octet-stream"})
            assert resp.status == status, await resp.text()
            return (await resp.json())["error"]  # type: ignore[no-any-return]

        assert (await refused(b"\0" * 200_001, 413))["code"] == "payload_too_large"
        assert (await refused(b'{"type": "AnnotationPage"}', 422))["data"]["field"] == "bundle"
        assert (await refused(data[: len(data) // 2], 422))["data"]["field"].startswith("bundle")
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
            for name in src.namelist():
                body = src.read(name)
                if name == "manifest.json":
                    m = orjson.loads(body)
                    m["formatVersion"] = 99
                    body = orjson.dumps(m)
                dst.writestr(name, body)
        err = await refused(out.getvalue(), 422)
        assert err["data"]["field"] == "bundle.manifest.formatVersion" and "99" in err["message"]
        assert (await refused(data, 409, "/v1/bundles"))["code"] == "conflict"  # the saved id "src" is taken
        assert (await refused(data, 409, "/v1/rooms/src/bundle"))["code"] == "conflict"
        bomb = io.BytesIO()
        with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("manifest.json", b"{}")
            zf.writestr("steps/x.yupdate", b"\0" * 100_000_000)
        assert len(bomb.getvalue()) < 200_000
        assert "inflate" in (await refused(bomb.getvalue(), 413))["message"]
        many = io.BytesIO()
        with zipfile.ZipFile(many, "w") as zf:
            for i in range(21):
                zf.writestr(f"f{i}", b"")
        assert "entries" in (await refused(many.getvalue(), 413))["message"]
        assert await canvas(http, "src") == before
        assert (await ok(await http.get("/v1/rooms")))["rooms"] == rooms_before


async def test_w3c_and_coco_round_trips_over_rest(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    await build_room(http)
    resp = await http.get("/v1/rooms/src/formats/w3c?baseUrl=http://example.org:8766")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("application/ld+json")
    page = await resp.json(content_type=None)
    assert page["type"] == "AnnotationPage" and page["items"][0]["id"].startswith("http://example.org:8766/v1/rooms/src/")
    await create_room(http, "w")
    result = await ok(await http.post("/v1/rooms/w/formats/w3c", data=orjson.dumps(page),
                                      headers={"Content-Type": "application/ld+json"}), 201)
    assert result["skipped"] == [] and len(result["created"]) == 5 and len(result["threads"]) == 2
    src, dst = build_view(daemon.hub.rooms["src"].room.doc), build_view(daemon.hub.rooms["w"].room.doc)
    assert [(a.type, a.x, a.y, a.w, a.h, a.style) for a in dst.annotations] == [
        (a.type, a.x, a.y, a.w, a.h, a.style) for a in src.annotations]
    assert sorted((t.status, [m.body for m in t.messages]) for t in dst.threads) == sorted(
        (t.status, [m.body for m in t.messages]) for t in src.threads)

    coco = await ok(await http.get('/v1/rooms/src/formats/coco?tag=v2&categories={"%23e03131":"red thing"}'))
    names = sorted(c["name"] for c in coco["categories"])
    assert names == ["label", "red thing"]  # v2: the grouped rect takes its label, the red stroke the mapping
    await create_room(http, "c")
    result = await ok(await http.post("/v1/rooms/c/formats/coco?labels=true", json=coco), 201)
    again = await ok(await http.get("/v1/rooms/c/formats/coco"))
    assert [a["bbox"] for a in again["annotations"]] == [a["bbox"] for a in coco["annotations"]]
    bad = await http.get("/v1/rooms/src/formats/coco?categories=not-json")
    assert bad.status == 422 and (await bad.json())["error"]["data"]["field"] == "categories"


async def test_import_errors_are_4xx_and_change_nothing(make_daemon: DaemonFactory) -> None:
    d = await make_daemon(limits={"max_http_body_bytes": 100_000})
    async with aiohttp.ClientSession(base_url=d.http_url) as http:
        await build_room(http)
        before = await canvas(http, "src")
        huge = {"type": "AnnotationPage", "items": [{"type": "Annotation", "bodyValue": "x" * 1000}] * 200}
        resp = await http.post("/v1/rooms/src/formats/w3c", json=huge)
        assert resp.status == 413
        resp = await http.post("/v1/rooms/src/formats/w3c", json={"type": "Nope"})
        assert resp.status == 422 and (await resp.json())["error"]["data"]["field"] == "page.type"
        resp = await http.post("/v1/rooms/src/formats/coco", json={"images": "x", "annotations": []})
        assert resp.status == 422 and (await resp.json())["error"]["data"]["field"] == "coco.images"
        resp = await http.post("/v1/rooms/src/formats/coco", json=[1, 2])
        assert resp.status == 422 and (await resp.json())["error"]["data"]["field"] == "coco"
        resp = await http.post("/v1/rooms/src/formats/coco?imageId=x", json={"images": [], "annotations": []})
        assert resp.status == 422 and (await resp.json())["error"]["data"]["field"] == "imageId"
        resp = await http.post("/v1/rooms/nope/formats/w3c", json={"type": "AnnotationPage", "items": []})
        assert resp.status == 404
        # the body is parsed by the state worker, not on the loop: not JSON is still a 400
        for fmt, text in (("w3c", b'{"type": "AnnotationPage", "items": [}'), ("coco", b'{"images": [] ,')):
            resp = await http.post(f"/v1/rooms/src/formats/{fmt}", data=text,
                                   headers={"Content-Type": "application/json"})
            err = (await resp.json())["error"]
            assert resp.status == 400 and err["code"] == "bad_request", err
            assert err["message"].startswith("request body is not valid JSON")
        assert await canvas(http, "src") == before


async def test_cli_save_load_export_import(daemon: Daemon, http: aiohttp.ClientSession, tmp_path: Path) -> None:
    await build_room(http)
    out, err = tmp_path / "src.annotd", io.StringIO()
    url = daemon.http_url
    assert await asyncio.to_thread(save_room, url, "src", out, stderr=err) == 0, err.getvalue()
    assert await asyncio.to_thread(load_room, url, out, "again", stderr=err) == 0, err.getvalue()
    assert "loaded room again at seq 4; versions: v1 (seq" in err.getvalue()
    assert await canvas(http, "again") == await canvas(http, "src")
    assert await asyncio.to_thread(load_room, url, out, "again", stderr=err) == 1  # 409: exists
    assert await asyncio.to_thread(load_room, url, tmp_path / "missing.annotd", None, stderr=err) == 2
    (tmp_path / "junk.annotd").write_bytes(b"junk")
    err = io.StringIO()
    assert await asyncio.to_thread(load_room, url, tmp_path / "junk.annotd", "x", stderr=err) == 2
    assert "not an annotd bundle" in err.getvalue()
    coco, page = tmp_path / "c.json", tmp_path / "p.jsonld"
    opts: dict[str, Any] = {"tag": "v3", "seq": None, "category": ("#e03131=red",)}
    assert await asyncio.to_thread(export_data, url, "src", coco, "coco", opts, stderr=err) == 0, err.getvalue()
    assert {c["name"] for c in orjson.loads(coco.read_bytes())["categories"]} == {"label", "red"}
    assert await asyncio.to_thread(export_data, url, "src", page, "wadm", {"tag": None, "seq": None}, stderr=err) == 0
    assert await asyncio.to_thread(export_data, url, "src", tmp_path / "b.annotd", "bundle", {}, stderr=err) == 0
    assert await asyncio.to_thread(export_data, url, "src", coco, "coco", {"category": ("nocolour",)}, stderr=err) == 2
    await create_room(http, "imp")
    err = io.StringIO()
    assert await asyncio.to_thread(import_data, url, "imp", page, "w3c", None, True, stderr=err) == 0
    assert "imported 5 annotation(s) and 2 thread(s) into imp" in err.getvalue()
    assert await asyncio.to_thread(import_data, url, "imp", coco, "coco", None, False, stderr=err) == 0


async def test_the_click_commands(daemon: Daemon, http: aiohttp.ClientSession, tmp_path: Path) -> None:
    await build_room(http)
    url = ("--url", daemon.http_url)
    bundle, coco = tmp_path / "r.annotd", tmp_path / "r.coco.json"
    assert (await run_annotd("room", "save", "src", "--out", str(bundle), *url))[0] == 0
    code, err = await run_annotd("room", "load", str(bundle), "--id", "fromcli", *url)
    assert code == 0 and "loaded room fromcli" in err, err
    code, err = await run_annotd("export", "--room", "src", "--format", "coco", "--category", "#e03131=red",
                                 "--out", str(coco), *url)
    assert code == 0 and "coco" in err, err
    assert (await run_annotd("import", "--room", "fromcli", "--format", "coco", "--no-labels", str(coco), *url))[0] == 0
    code, err = await run_annotd("export", "--room", "src", "--format", "bundle", "--tag", "v1",
                                 "--out", str(tmp_path / "x.annotd"), *url)
    assert code == 2 and "whole room" in err
