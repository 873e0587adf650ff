"""Rooms that survive ``kill -9`` (``rooms.data_dir``): a real daemon process, ten writers in
two rooms, killed at seeded random moments; after each restart every acknowledged key is in
the room, a reconnecting client is replayed what it missed in the same epoch, and at the end
every writer's document and the server's agree."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from pycrdt import Doc, Map
from websockets.protocol import State

from annotd.client.roomclient import RoomClient

from ..cli.test_cli import start_serve
from ..helpers import T

ROOMS = ("a", "b")
WRITERS_PER_ROOM = 5


@dataclass
class Writer:
    """One writer: its document (kept across restarts, as a page keeps it), the keys it
    wrote and the keys the server acknowledged (one ack per update, in order)."""

    room: str
    name: str
    doc: Doc = field(default_factory=Doc)
    client: RoomClient | None = None
    acks: int = 0
    written: int = 0
    acked: set[str] = field(default_factory=set)

    def on_seq(self, seq: int, why: str) -> None:
        if why == "ack":
            self.acks += 1

    async def join(self, ws_url: str) -> dict[str, Any]:
        """Connect (again) and wait for the ack of this client's own sync step 2, so that
        from then on the n-th ack answers the n-th update."""
        c = self.client
        if c is None:
            c = self.client = RoomClient(ws_url, self.room, user_id=self.name, doc=self.doc)
            c.on_seq = self.on_seq
        c.base_url = ws_url
        self.acks = 0
        info = await c.connect()
        await c.wait_until(lambda: self.acks >= 1)
        return info

    async def write_until_closed(self) -> None:
        """Write keys one by one, each counted as acknowledged when its ack arrives; stops
        when the connection dies (the key in flight is not counted)."""
        c = self.client
        assert c is not None and c.ws is not None
        ws = c.ws
        keys = self.doc.get("keys", type=Map)
        while ws.state is State.OPEN:
            key = f"{self.name}-{self.written}"
            self.written += 1
            target = self.acks + 1
            keys[key] = self.written
            await c.wait_until(lambda t=target: self.acks >= t or ws.state is State.CLOSED)
            if self.acks >= target:
                self.acked.add(key)


async def server_keys(ws_url: str, room: str) -> tuple[set[str], dict[str, Any]]:
    """The keys the server holds in ``room``, read by a fresh client (a full resync)."""
    async with RoomClient(ws_url, room, user_id="checker") as c:
        head = c.room_info["headSeq"]
        await c.wait_for_seq(head)
        return set(c.doc.get("keys", type=Map).keys()), c.room_info


async def until(awaitable: Awaitable[Any]) -> Any:
    async with asyncio.timeout(T):
        return await awaitable


async def test_kill_9_loses_no_acknowledged_update_and_a_restart_is_a_reconnect(tmp_path: Path) -> None:
    seed, kills = 1919, 30
    rng = random.Random(seed)
    data = tmp_path / "data"
    writers = [Writer(room, f"w{room}{i}") for room in ROOMS for i in range(WRITERS_PER_ROOM)]
    epochs: dict[str, str] = {}
    replays = resyncs = acked_total = 0
    proc, ws_url, http_url = await start_serve("--data-dir", str(data), "--log-level", "warning")
    try:
        async with aiohttp.ClientSession() as http:
            for room in ROOMS:
                r = await http.post(f"{http_url}/v1/rooms", json={"id": room})
                assert r.status == 201, await r.text()
                epochs[room] = (await r.json())["epoch"]
        for w in writers:
            await until(w.join(ws_url))
        for round_ in range(kills):
            tasks = [asyncio.create_task(w.write_until_closed()) for w in writers]
            await asyncio.sleep(rng.uniform(0.02, 0.3))  # the random moment of the kill, not a sync
            proc.kill()
            await until(proc.wait())
            await until(asyncio.gather(*tasks))
            for w in writers:
                assert w.client is not None
                await w.client.close()
            proc, ws_url, http_url = await start_serve("--data-dir", str(data), "--log-level", "warning")
            for room in ROOMS:
                held, info = await until(server_keys(ws_url, room))
                assert info["epoch"] == epochs[room]
                for w in writers:
                    if w.room == room:
                        lost = w.acked - held
                        assert not lost, f"round {round_}: acknowledged keys lost in room {room}: {sorted(lost)[:5]}"
            for w in writers:
                assert w.client is not None
                last = w.client.last_seq
                info = await until(w.join(ws_url))
                assert info["epoch"] == epochs[w.room]
                # Relaying never waits for the disk, so a client may have seen an update that
                # died with the process; a seq beyond the restarted head is a resync, any other
                # is an exact replay.
                expected = "replay" if last is not None and last <= info["headSeq"] else "resync"
                assert info["sync"] == expected, (round_, w.name, last, info["headSeq"])
                replays += expected == "replay"
                resyncs += expected == "resync"
        acked_total = sum(len(w.acked) for w in writers)
        # every writer's document converges with the server's (unacknowledged keys included:
        # they came back with the writer's sync step 2)
        for room in ROOMS:
            mine = [w for w in writers if w.room == room]
            held, _ = await until(server_keys(ws_url, room))
            assert held == {f"{w.name}-{n}" for w in mine for n in range(w.written)}
            for w in mine:
                assert w.client is not None
                await until(w.client.wait_until(lambda w=w, h=held: set(w.doc.get("keys", type=Map).keys()) == h))
        print(f"seed {seed}: {kills} kills, {acked_total} acknowledged keys, lost 0; "
              f"{replays} replays, {resyncs} resyncs (seen beyond the durable head)")
        assert replays > 0 and acked_total > kills
    finally:
        for w in writers:
            if w.client is not None:
                await w.client.close()
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()

