"""The CLI as a user runs it: start-up lines, graceful shutdown, bad config."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import pytest
from pycrdt import Doc, Map
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from annotd.core import yproto

from ..helpers import T


async def start_serve(*args: str, env: dict[str, str] | None = None,
                      new_session: bool = False) -> tuple[asyncio.subprocess.Process, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "annotd", "serve", "--ws-port", "0", "--http-port", "0", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env={**os.environ, **(env or {})},
        start_new_session=new_session,
    )
    assert proc.stdout is not None
    async with asyncio.timeout(T):
        line = (await proc.stdout.readline()).decode()
    m = re.search(r"(ws://\S+)/v1/ws\s+(http://\S+)", line)
    assert m, line
    return proc, m.group(1), m.group(2)


async def test_sigterm_graceful_shutdown() -> None:
    proc, ws_url, http_url = await start_serve("--log-format", "json", "--config", "config.toml",
                                              env={"ANNOTD_SERVE_LOG_LEVEL": "debug"})
    try:
        import aiohttp

        async with aiohttp.ClientSession() as http:
            r = await http.post(f"{http_url}/v1/rooms", json={"id": "r"})
            assert r.status == 201
        async with connect(f"{ws_url}/v1/ws/rooms/r") as ws:
            await ws.recv()  # joined
            doc = Doc()
            doc.get("annotations", type=Map)["k"] = 1
            await ws.send(yproto.sync_update(doc.get_update()))
            await ws.send(yproto.sync_step1(b"\x00"))  # answered after the update was sequenced
            while (await ws.recv())[:2] != b"\x00\x01":
                pass
            proc.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed):
                async with asyncio.timeout(T):
                    while True:
                        await ws.recv()
        assert ws.close_code == 1001
        async with asyncio.timeout(T):
            _, err = await proc.communicate()
        assert proc.returncode == 0
        text = err.decode()
        assert "Traceback" not in text and '"msg":"stopped"' in text
        # ANNOTD_SERVE_LOG_LEVEL reached the logger: the update is logged with room, seq, user, latency, size
        assert re.search(r'"level":"debug".*"msg":"update","roomId":"r","seq":2,"userId":"[^"]+",'
                         r'"latency_ms":[0-9.]+,"bytes":[1-9][0-9]*\}', text)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_sigint_graceful_shutdown() -> None:
    proc, _, _ = await start_serve()
    proc.send_signal(signal.SIGINT)
    async with asyncio.timeout(T):
        _, err = await proc.communicate()
    assert proc.returncode == 0 and b"Traceback" not in err


async def test_non_loopback_warning() -> None:
    proc, _, _ = await start_serve("--host", "0.0.0.0", "--allowed-host", "annotd.internal")
    proc.send_signal(signal.SIGTERM)
    async with asyncio.timeout(T):
        _, err = await proc.communicate()
    assert b"no authentication" in err and proc.returncode == 0
    assert b"Host names: localhost, *.localhost, IP addresses, annotd.internal" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[limits]\nmax_rooms = 'many'\n", "limits.max_rooms: expected an integer"),
        ("[limits]\nmax_roomz = 3\n", "unknown key 'max_roomz'"),
        ("[nope]\n", "unknown section [nope]"),
        ("this is not toml", "invalid TOML"),
        ("[log]\nlevel = 'loud'\n", "log.level"),
        ("[server]\nping_timeout_s = 0\n", "server.ping_timeout_s: must be > 0"),
    ],
)
async def test_bad_config_exit_2(tmp_path: Path, content: str, message: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(content)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "annotd", "serve", "--config", str(cfg),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(T):
        _, err = await proc.communicate()
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and message in lines[0], lines


async def test_missing_config_file_exit_2(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "annotd", "serve", "--config", str(tmp_path / "absent.toml"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(T):
        _, err = await proc.communicate()
    assert proc.returncode == 2 and b"cannot read config file" in err


async def test_help_explains_options() -> None:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "annotd", "serve", "--help",
                                                stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    for opt in ("--config", "--host", "--ws-port", "--http-port", "--log-level", "--log-format"):
        assert opt.encode() in out


async def test_second_signal_forces_exit() -> None:
    """A peer that never answers the closing handshake holds the graceful shutdown; a second
    SIGTERM ends the process at once with status 3."""
    proc, ws_url, _ = await start_serve()
    host, port = ws_url.removeprefix("ws://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(
            b"GET /v1/ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        async with asyncio.timeout(T):
            assert b"101" in await reader.readuntil(b"\r\n\r\n")
        proc.send_signal(signal.SIGTERM)
        assert proc.stderr is not None
        async with asyncio.timeout(T):
            while b"shutting down" not in await proc.stderr.readline():
                pass
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(T):
            while b"second signal" not in await proc.stderr.readline():
                pass
            await proc.wait()
            rest = await proc.stderr.read()  # to EOF: the resource tracker reports leaks when it ends
        assert proc.returncode == 3
        assert b"leaked" not in rest and b"resource_tracker" not in rest, rest
    finally:
        writer.close()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_killed_daemon_leaves_no_process_behind() -> None:
    """SIGKILL runs no cleanup: the render workers and the forkserver must still end (they
    watch the daemon), or they would keep its stdout/stderr open and anyone waiting for
    EOF on them (asyncio's communicate()) would hang."""
    proc, _, _ = await start_serve(new_session=True)
    assert _session_members(proc.pid) - {proc.pid}, "the render worker processes are running"
    proc.kill()
    async with asyncio.timeout(T):
        await proc.communicate()  # EOF: nothing holds the pipes any more
    assert proc.returncode == -signal.SIGKILL
    async with asyncio.timeout(T):
        for pid in _session_members(proc.pid):
            await _ended(pid)


async def _ended(pid: int) -> None:
    """Return when process ``pid`` has ended (its pidfd becomes readable)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    ended = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_reader(fd, ended.set)
    try:
        await ended.wait()
    finally:
        loop.remove_reader(fd)
        os.close(fd)


def _session_members(sid: int) -> set[int]:
    """Processes of session ``sid``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:
            found.add(int(entry.name))
    return found
