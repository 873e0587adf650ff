"""Helpers shared by the socket-level tests (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio

import aiohttp

from annotd.client import RoomClient
from annotd.daemon import Daemon

T = 20.0
"""Generous timeout for one awaited event: CI is a loaded 2-core machine."""


async def make_room(http: aiohttp.ClientSession, room_id: str = "r1") -> None:
    r = await http.post("/v1/rooms", json={"id": room_id})
    assert r.status == 201, await r.text()


async def settle(daemon: Daemon, room_id: str, *clients: RoomClient) -> int:
    """Wait until the server acked every client's updates and every client reached the head."""
    async with asyncio.timeout(T):
        for c in clients:
            await c.flush()
        head = daemon.hub.rooms[room_id].head
        for c in clients:
            await c.wait_for_seq(head)
    return head
