"""Shared fixtures: a real daemon on port 0 inside the test's event loop, clients of it,
and stock node peers (tests/nodepeer.py).

Every test that starts a daemon runs twice, once on the stock asyncio loop and once on
uvloop (the daemon's default loop, ``server.use_uvloop``): the two loops' transports differ
(uvloop's are not ``asyncio.Transport`` instances, their timers round to whole
milliseconds), and a socket-level assumption that holds on one only must fail a test.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import pytest
import uvloop

from annotd.base.config import Config
from annotd.client.roomclient import RoomClient
from annotd.process.daemon import Daemon

from .helpers import Open
from .nodepeer import NodePeer, Peers, node_binary

DaemonFactory = Callable[..., Awaitable[Daemon]]

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {"asyncio": asyncio.new_event_loop,
                                                              "uvloop": uvloop.new_event_loop}
DAEMON_FIXTURES = frozenset({"daemon", "make_daemon", "stored_daemon", "stored_daemons"})


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Both loops for a test with a daemon (its sockets are the loop's), asyncio for the rest."""
    if DAEMON_FIXTURES & set(getattr(item, "fixturenames", ())):
        return LOOPS
    return {"asyncio": asyncio.new_event_loop}


def daemon_config(**sections: dict[str, Any]) -> Config:
    cfg = Config().replace("server", ws_port=0, http_port=0, use_uvloop=False, shutdown_timeout_s=3.0)
    for name, changes in sections.items():
        cfg = cfg.replace(name, **changes)
    return cfg


@pytest.fixture
async def make_daemon() -> AsyncIterator[DaemonFactory]:
    started: list[Daemon] = []

    async def factory(**sections: dict[str, Any]) -> Daemon:
        d = Daemon(daemon_config(**sections))
        await d.start()
        started.append(d)
        return d

    yield factory
    for d in started:
        await d.stop()


@pytest.fixture
async def daemon(make_daemon: DaemonFactory) -> Daemon:
    return await make_daemon()


@pytest.fixture
async def http(daemon: Daemon) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=daemon.http_url) as session:
        yield session


@pytest.fixture
async def clients(daemon: Daemon) -> AsyncIterator[Open]:
    opened: list[RoomClient] = []

    async def open_client(room_id: str, user_id: str = "u", **kw: Any) -> RoomClient:
        c = RoomClient(daemon.ws_url, room_id, user_id=user_id, **kw)
        await c.connect()
        opened.append(c)
        return c

    yield open_client
    for c in opened:
        await c.close()


@pytest.fixture
async def peers(daemon: Daemon) -> AsyncIterator[Peers]:
    """Start node peers against ``daemon`` (or ``on=``another); every one is killed and
    reaped at teardown, whatever the test did."""
    started: list[NodePeer] = []

    async def start(room: str, user_id: str, *, on: Daemon | None = None) -> NodePeer:
        # Checked here, in the test body, so a missing install is a FAILED test, not an ERROR.
        peer = await NodePeer.start(node_binary(), (on or daemon).ws_url, room, user_id)
        started.append(peer)
        return peer

    try:
        yield start
    finally:
        for peer in started:
            await peer.kill()
