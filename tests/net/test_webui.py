"""The web UI on the side port (annotd/net/webui.py), the origin rules it needs, presence
viewports and the rooms' lastChangeAt."""

from __future__ import annotations

import asyncio
import base64
import os
import re
from pathlib import Path

import aiohttp
import pytest

from annotd.base import origins
from annotd.base.errors import InvalidParams
from annotd.core.presence import validate_presence
from annotd.process import datadir
from annotd.process.daemon import Daemon
from annotd.render.fonts import font_path

from ..conftest import DaemonFactory, daemon_config
from ..helpers import T, create_room


async def test_rooms_page_and_bundle(http: aiohttp.ClientSession) -> None:
    r = await http.get("/")
    assert r.status == 200 and r.content_type == "text/html"
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    page = await r.text()
    assert 'data-page="rooms"' in page
    js = re.search(r'src="/static/app\.js\?v=([0-9a-f]{12})"', page)
    css = re.search(r'href="/static/app\.css\?v=([0-9a-f]{12})"', page)
    assert js and css
    versioned = await http.get(f"/static/app.js?v={js.group(1)}")
    assert versioned.status == 200 and versioned.content_type == "text/javascript"
    assert versioned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    body = await versioned.read()
    assert len(body) > 10_000
    plain = await http.get("/static/app.js")
    assert plain.headers["Cache-Control"] == "no-cache"
    again = await http.get("/static/app.js", headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status == 304
    sheet = await http.get(f"/static/app.css?v={css.group(1)}")
    assert sheet.content_type == "text/css" and "--" in await sheet.text()
    assert 'href="/fonts/faces.css"' in page
    for bad in ("/static/nope.js", "/static/..%2Fwebui.py", "/static/app.ts"):
        r = await http.get(bad)
        assert r.status == 404, bad
        assert (await r.json())["error"]["code"] == "not_found"
    icon = await http.get("/favicon.svg")
    assert icon.status == 200 and icon.content_type == "image/svg+xml"


async def test_room_page_and_unknown_room(http: aiohttp.ClientSession) -> None:
    await create_room(http, "r1")
    r = await http.get("/r/r1")
    assert r.status == 200 and 'data-page="room" data-room-id="r1"' in await r.text()
    missing = await http.get("/r/nope")
    assert missing.status == 404 and missing.content_type == "text/html"
    text = await missing.text()
    assert "This room does not exist" in text and "nope" in text
    odd = await http.get("/r/%3Cscript%3E")
    assert odd.status == 404 and "<script>" not in await odd.text()


async def test_fonts_are_the_exports_own_files(http: aiohttp.ClientSession) -> None:
    for family in ("sans", "serif", "mono"):
        r = await http.get(f"/fonts/{family}.ttf")
        assert r.status == 200 and r.content_type == "font/ttf"
        assert await r.read() == font_path(family).read_bytes()
    assert (await http.get("/fonts/comic.ttf")).status == 404


async def test_every_face_is_served_as_the_export_draws_it(http: aiohttp.ClientSession) -> None:
    """The page declares every face of the export's fallback list at both weights and gets
    the very bytes the export draws with (variable faces pinned, the CJK face cut out)."""
    from annotd.render.fonts import FALLBACK, all_faces, face_bytes

    r = await http.get("/fonts/faces.css")
    assert r.status == 200 and r.content_type == "text/css"
    css = await r.text()
    for face in all_faces():
        for weight in (400, 700):
            assert f'font-family:"annotd-{face.key}";font-weight:{weight};' in css
            assert f'url("/fonts/{face.key}-{weight}.ttf")' in css
    for face, name in ((FALLBACK[1], "arabic-700"), (FALLBACK[2], "hebrew-400")):
        got = await http.get(f"/fonts/{name}.ttf")
        assert got.status == 200 and await got.read() == face_bytes(face, "bold" if name.endswith("700") else "normal")
    assert (await http.get("/fonts/arabic-500.ttf")).status == 404
    assert (await http.get("/fonts/klingon-400.ttf")).status == 404


async def test_client_config(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    cfg = await (await http.get("/v1/client-config")).json()
    assert cfg["wsPort"] == int(daemon.ws_url.rsplit(":", 1)[1])
    assert cfg["limits"]["maxImageBytes"] == daemon.config.limits.max_image_bytes
    assert cfg["limits"]["presenceMaxHz"] == daemon.config.limits.presence_max_hz
    assert cfg["limits"]["maxExportPixels"] == daemon.config.export.max_output_pixels
    assert cfg["limits"]["maxDocumentBytes"] == daemon.config.limits.max_document_bytes
    assert cfg["fontFamilies"]["serif"][:3] == ["annotd-serif", "annotd-sans", "annotd-arabic"]
    assert cfg["fontFamilies"]["sans"][-1] == "annotd-emoji"
    assert set(cfg["imageTypes"]) == {"image/png", "image/jpeg", "image/webp"}
    for family in ("sans", "serif", "mono"):
        for weight in ("normal", "bold"):
            m = cfg["fonts"][family][weight]
            assert 0 < m["descent"] < m["ascent"] < 1024
    assert cfg["persistence"] == "memory"


async def test_client_config_and_the_missing_room_page_say_how_rooms_are_kept(
        make_daemon: DaemonFactory, tmp_path: Path) -> None:
    """The page repeats what the server reports, so the report must match the configuration:
    in memory by default, saved at a clean shutdown with rooms.save_dir, and durable only
    when the daemon writes its rooms through an open store: a rooms.data_dir in the
    configuration alone (no store handed to the daemon) writes nothing and says so."""
    plain = await make_daemon()
    saving = await make_daemon(rooms={"save_dir": str(tmp_path / "saved")})
    unopened = await make_daemon(rooms={"data_dir": str(tmp_path / "unopened")})
    cfg = daemon_config(rooms={"data_dir": str(tmp_path / "data")})
    store = datadir.open_store(cfg)
    stored = Daemon(cfg, store=store)
    await stored.start()
    try:
        for d, expected, words in ((plain, "memory", "keeps rooms in memory only"),
                                   (saving, "save_on_shutdown", "saves rooms to disk only when it shuts down cleanly"),
                                   (unopened, "memory", "keeps rooms in memory only"),
                                   (stored, "durable", "It may have been deleted.")):
            async with aiohttp.ClientSession(base_url=d.http_url) as http:
                got = await (await http.get("/v1/client-config")).json()
                assert got["persistence"] == expected
                missing = await http.get("/r/gone")
                assert missing.status == 404 and words in await missing.text()
    finally:
        await stored.stop()
        assert store is not None
        store.close()


async def test_rooms_report_their_last_change(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    await create_room(http, "r1")
    first = (await (await http.get("/v1/rooms/r1")).json())["lastChangeAt"]
    created = (await (await http.get("/v1/rooms/r1")).json())["createdAt"]
    assert first >= created
    daemon.hub.clock = lambda: first + 100.0
    r = await http.post("/v1/rooms/r1/annotations", json={"type": "rect", "x": 1, "y": 1, "w": 5, "h": 5})
    assert r.status == 200
    listed = (await (await http.get("/v1/rooms")).json())["rooms"]
    assert listed[0]["lastChangeAt"] == first + 100.0


def test_presence_viewport_is_validated() -> None:
    ok = validate_presence({"cursor": None, "selection": [], "viewport": {"x": -10, "y": 5.5, "w": 800, "h": 600}})
    assert ok["viewport"] == {"x": -10, "y": 5.5, "w": 800, "h": 600}
    assert validate_presence({"viewport": None})["viewport"] is None
    assert "viewport" not in validate_presence({})
    for bad, field in [
        ({"viewport": [1, 2, 3, 4]}, "viewport"),
        ({"viewport": {"x": 0, "y": 0, "w": 0, "h": 5}}, "viewport.w"),
        ({"viewport": {"x": "0", "y": 0, "w": 1, "h": 5}}, "viewport.x"),
        ({"viewport": {"x": 0, "y": float("inf"), "w": 1, "h": 5}}, "viewport.y"),
        ({"viewport": {"x": 0, "y": 0, "w": 1, "h": True}}, "viewport.h"),
    ]:
        with pytest.raises(InvalidParams) as err:
            validate_presence(bad)
        assert err.value.data["field"] == field  # type: ignore[index]


def test_own_origin_rules() -> None:
    assert origins.is_own_origin("http://192.0.2.7:8766", "192.0.2.7:8765", (8766,))
    assert origins.is_own_origin("http://annotd.lan:8766", "ANNOTD.lan:8765", (8766,))
    assert origins.is_own_origin("http://[2001:db8::1]:8766", "[2001:db8::1]:8765", (8766,))
    assert not origins.is_own_origin("http://192.0.2.7:8080", "192.0.2.7:8765", (8766,))  # another port
    assert not origins.is_own_origin("https://192.0.2.7:8766", "192.0.2.7:8765", (8766,))  # another scheme
    assert not origins.is_own_origin("http://evil.example:8766", "192.0.2.7:8765", (8766,))  # another host
    assert not origins.is_own_origin("http://192.0.2.7:8766", None, (8766,))
    assert not origins.is_own_origin("http://192.0.2.7:8766", "192.0.2.7:bad", (8766,))
    assert not origins.is_own_origin("http://192.0.2.7:8766", "192.0.2.7:8765", ())
    assert origins.same_origin("http://192.0.2.7:8766", "http", "192.0.2.7:8766")
    assert not origins.same_origin("http://evil.example", "http", "192.0.2.7:8766")
    assert not origins.same_origin(None, "http", "192.0.2.7:8766")


async def _handshake(port: int, host: str, origin: str) -> int:
    """A raw WebSocket handshake with a chosen Host header (what a browser on a LAN sends)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /v1/ws/rooms/r1 HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: annotd.v1\r\n"
                  f"Origin: {origin}\r\n\r\n").encode())
    await writer.drain()
    async with asyncio.timeout(T):
        status = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return int(status.split()[1])


async def test_room_socket_accepts_the_side_ports_own_origin(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    await create_room(http, "r1")
    ws_port = int(daemon.ws_url.rsplit(":", 1)[1])
    http_port = int(daemon.http_url.rsplit(":", 1)[1])
    host = f"192.0.2.7:{ws_port}"  # what a browser on the LAN sends after --host 0.0.0.0
    assert await _handshake(ws_port, host, f"http://192.0.2.7:{http_port}") == 101
    assert await _handshake(ws_port, host, "http://192.0.2.7:1") == 403
    assert await _handshake(ws_port, host, f"http://evil.example:{http_port}") == 403


async def test_side_port_accepts_same_origin_writes(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    http_port = int(daemon.http_url.rsplit(":", 1)[1])
    host = f"192.0.2.7:{http_port}"
    r = await http.post("/v1/rooms", json={"id": "lan"}, headers={"Host": host, "Origin": f"http://{host}"})
    assert r.status == 201
    r = await http.post("/v1/rooms", json={"id": "evil"}, headers={"Host": host, "Origin": "http://evil.example"})
    assert r.status == 403
