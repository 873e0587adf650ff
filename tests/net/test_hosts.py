"""The Host allow-list (DNS-rebinding defence) on both ports.

A rebinding page is same-origin with annotd, so only its ``Host`` header names it. These
tests send real requests and raw handshakes with chosen Host headers to a daemon on port 0.
"""

from __future__ import annotations

import asyncio
import io
import logging
from typing import Any

import aiohttp
import pytest
from PIL import Image

from annotd.base.config import Config, ConfigError
from annotd.base.hosts import HostPolicy, hostname
from annotd.process.daemon import Daemon
from tests.conftest import DaemonFactory

from ..helpers import T, create_room

EVIL = "evil.example"


# -- the policy alone ----------------------------------------------------------------------
@pytest.mark.parametrize("host", [
    "localhost", "localhost:8766", "LOCALHOST:1", "app.localhost:3000", "127.0.0.1:8766", "127.9.8.7",
    "[::1]:8766", "[::1]", "192.168.1.5:8766", "[fe80::1]:80", "localhost.:8766",
])
def test_policy_allows_loopback_names_and_ip_literals(host: str) -> None:
    assert HostPolicy("127.0.0.1").allows(host)


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8766", "localhost.evil.example", "127.0.0.1.nip.io:8766",
                                  "annotd.internal:8766", "", "[::1"])
def test_policy_refuses_other_names(host: str) -> None:
    assert not HostPolicy("127.0.0.1").allows(host)


def test_policy_configured_names_bind_host_and_wildcard() -> None:
    policy = HostPolicy("box.lan", ("annotd.internal", ".corp.example"))
    assert policy.allows("annotd.internal:8766") and policy.allows("Box.LAN:8765")
    assert policy.allows("corp.example") and policy.allows("a.b.corp.example:1")
    assert not policy.allows("evilcorp.example") and not policy.allows("annotd.internal.evil.example")
    assert HostPolicy("127.0.0.1", ("*",)).allows("anything.at.all:9") and HostPolicy("127.0.0.1", ("*",)).disabled
    assert HostPolicy("127.0.0.1").allows(None)  # HTTP/1.0 scripts send no Host; browsers always do
    assert "server.allowed_hosts" in policy.refusal("evil.example:1") and "'evil.example'" in policy.refusal("evil.example:1")


def test_hostname_parsing() -> None:
    assert hostname("Example.ORG:8080") == "example.org"
    assert hostname("[::1]:8766") == "::1" and hostname("::1") == "::1"


@pytest.mark.parametrize("bad", ["http://x.example", "x.example:80", "bad name", "-x.example"])
def test_config_refuses_malformed_entries(bad: str) -> None:
    with pytest.raises(ConfigError, match="server.allowed_hosts"):
        Config().replace("server", allowed_hosts=(bad,))


# -- the side port -----------------------------------------------------------------------
def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), "red").save(out, "PNG")
    return out.getvalue()


async def _populated(daemon: Daemon, http: aiohttp.ClientSession) -> dict[str, str]:
    """A room with an image, an annotation, a thread, a version and a finished export."""
    await create_room(http, "r1")
    r = await http.post("/v1/rooms/r1/image", data=_png(), headers={"Content-Type": "image/png"})
    assert r.status == 201, await r.text()
    r = await http.post("/v1/rooms/r1/annotations", json={"type": "rect", "x": 1, "y": 1, "w": 2, "h": 2})
    ann = (await r.json())["annotation"]["id"]
    r = await http.post("/v1/rooms/r1/comments", json={"anchor": {"kind": "point", "x": 1, "y": 1}, "body": "hi"})
    thread = (await r.json())["thread"]["id"]
    assert (await http.post("/v1/rooms/r1/versions", json={"tag": "v1"})).status == 201
    r = await http.post("/v1/rooms/r1/exports", json={"format": "png"})
    job = (await r.json())["jobId"]
    async with asyncio.timeout(T):
        assert (await daemon.hub.exports.wait(job)).status == "done"
    return {"ann": ann, "thread": thread, "job": job}


ROUTES = [  # (method, path, status when allowed); bodies come from _body()
    ("GET", "/v1/rooms", 200),
    ("GET", "/v1/rooms/r1", 200),
    ("GET", "/v1/rooms/r1/image", 200),
    ("GET", "/v1/rooms/r1/annotations", 200),
    ("GET", "/v1/rooms/r1/annotations/{ann}", 200),
    ("GET", "/v1/rooms/r1/comments", 200),
    ("PATCH", "/v1/rooms/r1/comments/{thread}", 200),  # body: resolve, then reopen
    ("GET", "/v1/rooms/r1/versions", 200),
    ("GET", "/v1/exports/{job}", 200),
    ("GET", "/v1/exports/{job}/download", 200),
    ("GET", "/openapi.json", 200),
    ("GET", "/metrics", 200),
    ("GET", "/metrics?format=prometheus", 200),
    ("GET", "/healthz", 200),
    ("GET", "/", 200),
    ("GET", "/r/r1", 200),
    ("GET", "/v1/client-config", 200),
    ("GET", "/no/such/route", 404),
    ("POST", "/v1/rooms", 201),
]


async def test_side_port_refuses_foreign_host_on_every_route(daemon: Daemon, http: aiohttp.ClientSession,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    ids = await _populated(daemon, http)
    port = daemon.http_url.rsplit(":", 1)[1]
    rooms_before = set(daemon.hub.rooms)
    caplog.set_level(logging.WARNING, "annotd.http")
    for method, path, _ in ROUTES:
        url = path.format(**ids)
        r = await http.request(method, url, headers={"Host": f"{EVIL}:{port}"}, json=_body(method, path, 0))
        assert r.status == 403, (method, url)
        body = await r.json()
        assert body["error"]["code"] == "forbidden" and "server.allowed_hosts" in body["error"]["message"], url
    assert set(daemon.hub.rooms) == rooms_before  # the POST never reached its handler
    refusals = [rec for rec in caplog.records if rec.getMessage() == "host refused"]
    assert len(refusals) == 1  # one line per foreign host, not one per request


def _body(method: str, path: str, n: int) -> dict[str, Any] | None:
    if method == "POST":
        return {"id": f"new{n}"}
    if method == "PATCH":
        return {"action": "resolve"}
    return None


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]"])
async def test_side_port_serves_loopback_hosts(daemon: Daemon, http: aiohttp.ClientSession, host: str) -> None:
    ids = await _populated(daemon, http)
    port = daemon.http_url.rsplit(":", 1)[1]
    for n, (method, path, status) in enumerate(ROUTES):
        url = path.format(**ids)
        r = await http.request(method, url, headers={"Host": f"{host}:{port}"}, json=_body(method, path, n))
        assert r.status == status, (method, url, await r.text())


async def test_configured_host_is_served(make_daemon: DaemonFactory) -> None:
    d = await make_daemon(server={"allowed_hosts": ("annotd.internal",), "ws_port": 0, "http_port": 0})
    async with aiohttp.ClientSession(base_url=d.http_url) as http:
        assert (await http.get("/healthz", headers={"Host": "annotd.internal:8766"})).status == 200
        assert (await http.get("/healthz", headers={"Host": "other.internal:8766"})).status == 403
    assert (await _handshake(d, "annotd.internal:1")).startswith("HTTP/1.1 101")


async def test_wildcard_admits_any_host_and_warns(make_daemon: DaemonFactory, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "annotd.daemon")
    d = await make_daemon(server={"allowed_hosts": ("*",), "ws_port": 0, "http_port": 0})
    assert any("Host check is off" in rec.getMessage() for rec in caplog.records)
    async with aiohttp.ClientSession(base_url=d.http_url) as http:
        assert (await http.get("/healthz", headers={"Host": f"{EVIL}:1"})).status == 200
    assert (await _handshake(d, f"{EVIL}:1")).startswith("HTTP/1.1 101")


# -- the ws port -------------------------------------------------------------------------
async def _handshake(d: Daemon, host: str, path: str = "/v1/ws/rooms/r1") -> str:
    """Send a raw WebSocket upgrade with ``Host: host``; return the status line and body."""
    if "r1" not in d.hub.rooms:
        d.hub.create_room("r1")
    hostport = d.ws_url.removeprefix("ws://")
    ip, port = hostport.rsplit(":", 1)
    async with asyncio.timeout(T):
        reader, writer = await asyncio.open_connection(ip, int(port))
        writer.write((f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await reader.readuntil(b"\r\n\r\n")
        body = b""
        if not head.startswith(b"HTTP/1.1 101"):
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
            body = await reader.readexactly(length)
        writer.close()
    return (head + body).decode()


@pytest.mark.parametrize("path", ["/v1/ws/rooms/r1", "/v1/ws"])
async def test_ws_handshake_refuses_foreign_host(daemon: Daemon, path: str) -> None:
    reply = await _handshake(daemon, f"{EVIL}:8765", path)
    assert reply.startswith("HTTP/1.1 403")
    assert '"code":"forbidden"' in reply and "server.allowed_hosts" in reply
    assert daemon.hub.metrics.connected_clients == 0


@pytest.mark.parametrize("host", ["localhost:8765", "127.0.0.1:8765", "[::1]:8765"])
async def test_ws_handshake_accepts_loopback_hosts(daemon: Daemon, host: str) -> None:
    assert (await _handshake(daemon, host)).startswith("HTTP/1.1 101")


def test_cli_option_and_env_replace_the_list(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    import annotd.process.app
    from annotd.cli.main import main

    seen: list[Config] = []
    monkeypatch.setattr(annotd.process.app, "run", lambda cfg: seen.append(cfg) or 0)
    runner = CliRunner()
    assert runner.invoke(main, ["serve", "--allowed-host", "a.example", "--allowed-host", ".b.example"]).exit_code == 0
    assert runner.invoke(main, ["serve"], env={"ANNOTD_SERVE_ALLOWED_HOST": "c.example d.example"}).exit_code == 0
    assert runner.invoke(main, ["serve"]).exit_code == 0
    assert [c.server.allowed_hosts for c in seen] == [("a.example", ".b.example"), ("c.example", "d.example"), ()]
    bad = runner.invoke(main, ["serve", "--allowed-host", "http://x.example"])
    assert bad.exit_code == 2 and "server.allowed_hosts" in bad.output
