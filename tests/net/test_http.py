"""The side port: REST mirror, images, errors, health, metrics, OpenAPI, CORS."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from typing import Any

import aiohttp
import orjson
import pytest
from PIL import Image
from websockets.asyncio.client import connect

from annotd.commands import REGISTRY
from annotd.process.daemon import Daemon


def png(w: int = 40, h: int = 30, color: tuple[int, int, int] = (200, 10, 10)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (w, h), color).save(out, "PNG")
    return out.getvalue()


def jpeg_with_orientation(w: int, h: int, orientation: int) -> bytes:
    img = Image.new("RGB", (w, h), (0, 128, 255))
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    return out.getvalue()


async def error_of(resp: aiohttp.ClientResponse) -> dict[str, Any]:
    body = await resp.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    return body["error"]  # type: ignore[no-any-return]


async def test_room_crud(http: aiohttp.ClientSession) -> None:
    r = await http.post("/v1/rooms", json={"id": "a", "name": "First"})
    assert r.status == 201 and (await r.json())["id"] == "a"
    r = await http.post("/v1/rooms", json={})
    generated = (await r.json())["id"]
    assert r.status == 201 and generated
    r = await http.post("/v1/rooms", json={"id": "a"})
    assert r.status == 409 and (await error_of(r))["code"] == "conflict"
    r = await http.get("/v1/rooms")
    assert sorted(x["id"] for x in (await r.json())["rooms"]) == sorted(["a", generated])
    r = await http.get("/v1/rooms/a")
    meta = await r.json()
    assert meta["name"] == "First" and meta["headSeq"] == 1 and meta["image"] is None and meta["users"] == []
    r = await http.delete("/v1/rooms/a")
    assert r.status == 200
    r = await http.get("/v1/rooms/a")
    assert r.status == 404 and (await error_of(r))["code"] == "room_not_found"


async def test_rooms_list_is_paged_in_id_order(http: aiohttp.ClientSession) -> None:
    """rooms.list answers ``limit`` rooms at a time; walking ``nextCursor`` gives each room once,
    in id order, also when rooms are created and deleted between pages."""
    ids = [f"p{i:02d}" for i in range(7)]
    for i in reversed(ids):
        assert (await http.post("/v1/rooms", json={"id": i})).status == 201
    r = await http.get("/v1/rooms", params={"limit": "3"})
    page = await r.json()
    assert [x["id"] for x in page["rooms"]] == ids[:3] and page["nextCursor"] == "p02"
    assert (await http.delete("/v1/rooms/p03")).status == 200  # between two pages
    assert (await http.post("/v1/rooms", json={"id": "p99"})).status == 201
    seen = [x["id"] for x in page["rooms"]]
    while page["nextCursor"] is not None:
        r = await http.get("/v1/rooms", params={"limit": "3", "cursor": page["nextCursor"]})
        page = await r.json()
        seen += [x["id"] for x in page["rooms"]]
    assert seen == [*ids[:3], *ids[4:], "p99"]
    default = await (await http.get("/v1/rooms")).json()
    assert len(default["rooms"]) == 7 and default["nextCursor"] is None
    for bad in ({"limit": "0"}, {"limit": "1001"}, {"cursor": "has space"}):
        r = await http.get("/v1/rooms", params=bad)
        assert r.status == 422 and (await error_of(r))["data"]["field"] == next(iter(bad))


@pytest.mark.parametrize(
    ("body", "field"),
    [({"id": "has space"}, "id"), ({"id": 5}, "id"), ({"name": "x" * 201}, "name"), ({"bogus": 1}, "bogus")],
)
async def test_bad_params_name_the_field(http: aiohttp.ClientSession, body: dict[str, Any], field: str) -> None:
    r = await http.post("/v1/rooms", json=body)
    err = await error_of(r)
    assert r.status == 422 and err["data"]["field"] == field


async def test_bad_json_body(http: aiohttp.ClientSession) -> None:
    r = await http.post("/v1/rooms", data=b"{nope", headers={"Content-Type": "application/json"})
    assert r.status == 400 and (await error_of(r))["code"] == "bad_request"
    r = await http.get("/v1/nothing-here")
    assert r.status == 404 and (await error_of(r))["code"] == "not_found"


async def test_room_limit(make_daemon: Any) -> None:
    d: Daemon = await make_daemon(limits={"max_rooms": 2})
    async with aiohttp.ClientSession(base_url=d.http_url) as http:
        for i in range(2):
            assert (await http.post("/v1/rooms", json={"id": f"r{i}"})).status == 201
        r = await http.post("/v1/rooms", json={"id": "r3"})
        assert r.status == 429 and (await error_of(r))["code"] == "limit_reached"


async def test_image_upload_download_and_doc_reference(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    await http.post("/v1/rooms", json={"id": "r"})
    data = png()
    r = await http.post("/v1/rooms/r/image", data=data, headers={"Content-Type": "image/png"})
    ref = await r.json()
    assert r.status == 201 and ref["width"] == 40 and ref["height"] == 30 and ref["mime"] == "image/png"
    # the reference lives in the Yjs document, so every client learns of it through sync
    assert daemon.hub.rooms["r"].image_ref() == {k: ref[k] for k in ("sha256", "width", "height", "mime")}
    assert ref["seq"] == daemon.hub.rooms["r"].room.head
    r = await http.get("/v1/rooms/r/image")
    assert r.status == 200 and r.headers["Content-Type"] == "image/png" and await r.read() == data
    etag = r.headers["ETag"]
    r = await http.get("/v1/rooms/r/image", headers={"If-None-Match": etag})
    assert r.status == 304


async def test_multipart_upload(http: aiohttp.ClientSession) -> None:
    await http.post("/v1/rooms", json={"id": "r"})
    form = aiohttp.FormData()
    form.add_field("image", png(10, 10), filename="a.png", content_type="image/png")
    r = await http.post("/v1/rooms/r/image", data=form)
    assert r.status == 201 and (await r.json())["width"] == 10


async def test_exif_orientation_applied(http: aiohttp.ClientSession) -> None:
    await http.post("/v1/rooms", json={"id": "r"})
    r = await http.post("/v1/rooms/r/image", data=jpeg_with_orientation(60, 20, 6), headers={"Content-Type": "image/jpeg"})
    ref = await r.json()
    assert (ref["width"], ref["height"]) == (20, 60)  # rotated 90°: what a browser shows
    stored = Image.open(io.BytesIO(await (await http.get("/v1/rooms/r/image")).read()))
    assert stored.size == (20, 60) and stored.getexif().get(0x0112, 1) == 1


@pytest.mark.parametrize(
    ("data", "ctype", "status", "code"),
    [
        (b"GIF89a" + b"\x00" * 30, "image/png", 415, "unsupported_media"),
        (png()[:60], "image/png", 422, "invalid_image"),  # truncated
        (b"", "image/png", 422, "invalid_image"),
        (png(), "text/plain", 415, "unsupported_media"),
        (png(3000, 3000), "image/png", 422, "invalid_image"),  # over max_image_pixels below
    ],
)
async def test_bad_images_refused_previous_kept(
    make_daemon: Any, data: bytes, ctype: str, status: int, code: str
) -> None:
    d: Daemon = await make_daemon(limits={"max_image_pixels": 1_000_000})
    async with aiohttp.ClientSession(base_url=d.http_url) as http:
        await http.post("/v1/rooms", json={"id": "r"})
        good = png()
        await http.post("/v1/rooms/r/image", data=good, headers={"Content-Type": "image/png"})
        head = d.hub.rooms["r"].room.head
        r = await http.post("/v1/rooms/r/image", data=data, headers={"Content-Type": ctype})
        assert r.status == status and (await error_of(r))["code"] == code
        assert await (await http.get("/v1/rooms/r/image")).read() == good
        assert d.hub.rooms["r"].room.head == head


async def test_image_byte_limit(make_daemon: Any) -> None:
    d: Daemon = await make_daemon(limits={"max_image_bytes": 100})
    async with aiohttp.ClientSession(base_url=d.http_url) as http:
        await http.post("/v1/rooms", json={"id": "r"})
        r = await http.post("/v1/rooms/r/image", data=png() + b"\x00" * 200, headers={"Content-Type": "image/png"})
        assert r.status == 413 and (await error_of(r))["code"] == "payload_too_large"


async def test_image_unknown_room(http: aiohttp.ClientSession) -> None:
    r = await http.post("/v1/rooms/ghost/image", data=png(), headers={"Content-Type": "image/png"})
    assert r.status == 404
    r = await http.get("/v1/rooms/ghost/image")
    assert r.status == 404


async def test_rest_and_jsonrpc_parity(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    """The same command answers the same way on both surfaces, success and error alike."""
    await http.post("/v1/rooms", json={"id": "p"})
    async with connect(f"{daemon.ws_url}/v1/ws") as ws:
        async def rpc(method: str, params: dict[str, Any]) -> dict[str, Any]:
            import orjson

            await ws.send(orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).decode())
            return orjson.loads(await ws.recv())  # type: ignore[no-any-return]

        rest = await (await http.get("/v1/rooms/p")).json()
        assert (await rpc("rooms.get", {"roomId": "p"}))["result"] == rest
        rest_err = await error_of(await http.get("/v1/rooms/missing"))
        rpc_err = (await rpc("rooms.get", {"roomId": "missing"}))["error"]
        assert rpc_err["message"] == rest_err["message"] and rpc_err["data"]["code"] == rest_err["code"]
        snap_rest = await (await http.post("/v1/rooms/p/snapshots")).json()
        snap_rpc = (await rpc("snapshots.create", {"roomId": "p"}))["result"]
        assert snap_rest == snap_rpc == {"seq": 1}


async def test_every_command_has_a_route_and_schema(http: aiohttp.ClientSession) -> None:
    spec = await (await http.get("/openapi.json")).json()
    ops = {op["x-jsonrpc-method"] for path in spec["paths"].values() for op in path.values() if "x-jsonrpc-method" in op}
    assert ops == set(REGISTRY)
    create = spec["paths"]["/v1/rooms"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert create["properties"]["id"]["anyOf"][0]["pattern"] == "^[A-Za-z0-9_-]{1,64}$"


async def test_health_and_metrics(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    assert (await (await http.get("/healthz")).json())["status"] == "ok"
    m = await (await http.get("/metrics")).json()
    for key in ("connected_clients", "rooms_active", "ops_broadcast_per_sec", "export_jobs_pending", "export_time_ms"):
        assert key in m
    text = await (await http.get("/metrics", params={"format": "prometheus"})).text()
    assert "# TYPE annotd_connected_clients gauge" in text and "annotd_rooms_active 0.0" in text


async def test_cors(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    r = await http.options("/v1/rooms", headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"})
    assert r.status == 204 and r.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    r = await http.options("/v1/rooms", headers={"Origin": "https://evil.example"})
    assert r.status == 403
    r = await http.post("/v1/rooms", json={"id": "x"}, headers={"Origin": "https://evil.example"})
    assert r.status == 403 and "x" not in daemon.hub.rooms


async def test_http_body_limit(make_daemon: Any) -> None:
    d: Daemon = await make_daemon(limits={"max_http_body_bytes": 1000})
    async with aiohttp.ClientSession(base_url=d.http_url) as http:
        r = await http.post("/v1/rooms", json={"id": "r", "name": "x" * 5000})
        assert r.status == 413 and (await error_of(r))["code"] == "payload_too_large"
        assert "r" not in d.hub.rooms


async def test_command_body_limit_spares_imports(make_daemon: Any) -> None:
    """A command's JSON body is parsed on the loop: it is refused past
    ``limits.max_command_body_bytes`` (before it is read whole); an import's body, parsed in
    the state worker, may still be as large as ``limits.max_http_body_bytes``."""
    d: Daemon = await make_daemon(limits={"max_command_body_bytes": 1000})
    async with aiohttp.ClientSession(base_url=d.http_url) as http:
        r = await http.post("/v1/rooms", json={"id": "r", "name": "x" * 5000})
        err = await error_of(r)
        assert r.status == 413 and err["code"] == "payload_too_large" and "limits.max_command_body_bytes" in err["message"]
        assert "r" not in d.hub.rooms
        r = await http.post("/v1/rooms", json={"id": "r", "name": "x" * 100})
        assert r.status == 201
        page = {"type": "AnnotationPage", "items": [
            {"type": "Annotation", "target": {"source": "http://example.org/a.png", "selector": {
                "type": "FragmentSelector", "value": f"xywh={i},{i},8,8"}}} for i in range(40)]}
        r = await http.post("/v1/rooms/r/formats/w3c", json=page)
        assert r.status == 201, await r.text()
        assert len(orjson.dumps(page)) > 1000 and len((await r.json())["created"]) == 40


async def test_rpc_batch_limit(make_daemon: Any) -> None:
    import orjson

    d: Daemon = await make_daemon(limits={"max_rpc_batch": 2})
    async with connect(f"{d.ws_url}/v1/ws") as ws:
        batch = [{"jsonrpc": "2.0", "id": i, "method": "rooms.list"} for i in range(3)]
        await ws.send(orjson.dumps(batch).decode())
        reply = orjson.loads(await ws.recv())
        assert reply["error"]["code"] == -32600 and "batch larger than 2" in reply["error"]["message"]
        await ws.send(orjson.dumps(batch[:2]).decode())
        assert [r["id"] for r in orjson.loads(await ws.recv())] == [0, 1]


def test_deliveries_rate_from_samples() -> None:
    from annotd.base.metrics import Metrics

    m = Metrics()
    m.sample(100.0)
    m.deliveries = 500
    m.sample(105.0)
    assert m.deliveries_per_second(110.0) == 50.0  # 500 deliveries over the 10 s since the first sample
    m.deliveries = 1500
    m.sample(111.0)
    m.sample(116.0)  # the 100 s sample is now older than the window and dropped
    assert m.deliveries_per_second(116.0) == (1500 - 500) / (116.0 - 105.0)


async def test_snapshots_list_shows_pins_and_retention(make_daemon: Any) -> None:
    d: Daemon = await make_daemon(history={"snapshots_kept": 2})
    async with aiohttp.ClientSession(base_url=d.http_url) as http:
        await http.post("/v1/rooms", json={"id": "r"})
        base = "/v1/rooms/r"
        r = await http.post(f"{base}/versions", json={"tag": "first"})
        assert r.status == 201 and (await r.json())["seq"] == 1
        for i in range(3):
            await http.post(f"{base}/annotations", json={"type": "rect", "x": i, "y": 0, "w": 5, "h": 5})
            await http.post(f"{base}/snapshots")
        listing = await (await http.get(f"{base}/snapshots")).json()
        seqs = [s["seq"] for s in listing["snapshots"]]
        assert seqs == [1, 3, 4]  # the two newest, plus the one the tag pins
        assert listing["snapshots"][0]["pinnedBy"] == ["first"]
        assert listing["oldestSeq"] == 3 and listing["headSeq"] == 4
        assert all(len(s["sha256"]) == 64 and s["bytes"] > 0 for s in listing["snapshots"])


# -- malformed requests, multi-delete, bodies ------------------------------------------
async def raw_request(d: Daemon, data: bytes) -> tuple[bytes, bytes]:
    """Send ``data`` as is to the side port; the response's head and body (read to EOF)."""
    host, port = d.http_url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(data)
    try:
        async with asyncio.timeout(30):
            answer = await reader.read()
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return head, body


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /v1/rooms/\x01\xff\xfe HTTP/1.1\r\nHost: localhost\r\n\r\n",  # raw control and non-ASCII bytes in the path
        b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n",  # request line over 8,190 bytes
        b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Bad\x01: y\r\n\r\n",  # a bad header character
        b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Long: " + b"b" * 9000 + b"\r\n\r\n",  # header over 8,190 bytes
    ],
    ids=["bytes-in-path", "long-line", "bad-header-char", "long-header"],
)
async def test_malformed_requests_get_json_and_one_warning(
    daemon: Daemon, http: aiohttp.ClientSession, request_bytes: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(3):
        head, body = await raw_request(daemon, request_bytes)
        assert re.match(rb"HTTP/1\.[01] 400 ", head), head
        assert b"content-type: application/json" in head.lower()
        error = orjson.loads(body)["error"]
        assert error["code"] == "bad_request" and error["message"].startswith("malformed HTTP request")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "Error handling request" not in caplog.text and "Traceback" not in caplog.text
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name.startswith("annotd")]
    assert len(warnings) == 1 and "\n" not in warnings[0].getMessage()  # one line, rate-limited
    assert (await http.get("/healthz")).status == 200  # and the server is fine


async def test_multi_delete_over_rest_as_openapi_declares(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    r = await http.post("/v1/rooms", json={"id": "r1"})
    for name in "abcdefg":
        r = await http.post("/v1/rooms/r1/annotations", json={"id": name, "type": "rect"})
        assert r.status == 200
    r = await http.delete("/v1/rooms/r1/annotations/a", params=[("ids", "b"), ("ids", "c")])
    assert r.status == 200 and (await r.json())["deleted"] == ["a", "b", "c"]
    r = await http.delete("/v1/rooms/r1/annotations", params=[("ids", "d"), ("ids", "e")])
    assert r.status == 200 and (await r.json())["deleted"] == ["d", "e"]
    # a body is never ignored: refused, and nothing is deleted
    r = await http.delete("/v1/rooms/r1/annotations/f", json={"ids": ["g"]})
    err = await error_of(r)
    assert r.status == 400 and err["code"] == "bad_request" and "query string" in err["message"]
    r = await http.get("/v1/rooms/r1/annotations", data=b"{}")
    assert r.status == 400
    r = await http.delete("/v1/rooms/r1/annotations", params={"ids": "f,g"})  # not a list syntax
    assert r.status == 422 and (await error_of(r))["data"]["field"] == "ids[0]"
    r = await http.get("/v1/rooms/r1/annotations", params=[("seq", "1"), ("seq", "2")])
    assert r.status == 422 and (await error_of(r))["data"]["field"] == "seq"
    r = await http.delete("/v1/rooms/r1/annotations")
    assert r.status == 422 and (await error_of(r))["data"]["field"] == "ids"
    assert sorted(a["id"] for a in (await (await http.get("/v1/rooms/r1/annotations")).json())["annotations"]) == ["f", "g"]
    spec = await (await http.get("/openapi.json")).json()
    for path in ("/v1/rooms/{roomId}/annotations/{id}", "/v1/rooms/{roomId}/annotations"):
        params = {p["name"]: p for p in spec["paths"][path]["delete"]["parameters"]}
        assert params["ids"]["in"] == "query"
        array = params["ids"]["schema"]
        assert array["type"] == "array" and array["items"]["type"] == "string"
