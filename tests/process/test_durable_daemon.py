"""Rooms that survive ``kill -9`` (``rooms.data_dir``): a real daemon process, ten writers in
two rooms, killed at seeded random moments; after each restart every acknowledged key is in
the room, a reconnecting client is replayed exactly what it missed when its ``lastSeq`` is
within the durable head (its seq names the same event: the bytes are compared) and resyncs
when it had seen an update the crash lost, and at the end every writer's document and the
server's agree. And the case the random run only meets by chance, built on purpose: a seq
relayed but never durable, then taken by a new event before its client comes back."""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
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
    events: dict[int, bytes] = field(default_factory=dict)
    """What each seq of the client's numbering named (relayed or replayed events)."""

    def on_seq(self, seq: int, why: str) -> None:
        if why == "ack":
            self.acks += 1

    def on_event(self, seq: int, message: bytes) -> None:
        self.events[seq] = message

    async def join(self, ws_url: str) -> dict[str, Any]:
        """Connect (again) and wait for the ack of this client's own sync step 2, so that
        from then on the n-th ack answers the n-th update."""
        c = self.client
        if c is None:
            c = self.client = RoomClient(ws_url, self.room, user_id=self.name, doc=self.doc)
            c.on_seq = self.on_seq
            c.on_event = self.on_event
        c.base_url = ws_url
        self.acks = 0
        info = await c.connect()
        if info["sync"] != "replay":
            self.events.clear()
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


async def server_events(ws_url: str, room: str, after: int, epoch: str) -> dict[int, bytes]:
    """What the server's seqs after ``after`` name now (a probe replayed from there)."""
    got: dict[int, bytes] = {}
    c = RoomClient(ws_url, room, user_id="probe")
    c.last_seq, c.epoch = after, epoch
    c.on_event = got.__setitem__
    async with c:
        if c.room_info["sync"] != "replay":  # the log no longer reaches back there
            return {}
        await c.wait_for_seq(c.room_info["headSeq"])
    return got


async def test_kill_9_loses_no_acknowledged_update_and_a_restart_is_a_reconnect(tmp_path: Path) -> None:
    seed, kills = 1919, 30
    rng = random.Random(seed)
    data = tmp_path / "data"
    writers = [Writer(room, f"w{room}{i}") for room in ROOMS for i in range(WRITERS_PER_ROOM)]
    epochs: dict[str, str] = {}
    replays = resyncs = acked_total = compared = 0
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
            durable: dict[str, int] = {}
            for room in ROOMS:
                held, info = await until(server_keys(ws_url, room))
                # every kill is an unclean stop: a new epoch, sharing the durable head with the old
                assert info["epoch"] != epochs[room]
                epochs[room], durable[room] = info["epoch"], info["headSeq"]
                for w in writers:
                    if w.room == room:
                        lost = w.acked - held
                        assert not lost, f"round {round_}: acknowledged keys lost in room {room}: {sorted(lost)[:5]}"
            replayed: list[tuple[Writer, int, bytes]] = []
            for w in writers:
                assert w.client is not None
                last = w.client.last_seq
                named = w.events.get(last) if last is not None else None
                info = await until(w.join(ws_url))
                assert info["epoch"] == epochs[w.room]
                # Relaying never waits for the disk, so a client may have seen an update that
                # died with the process; its seq past the durable head may name another event
                # by now (writers that rejoined first sent their offline edits): a resync.
                # Any seq within the durable head is an exact replay.
                expected = "replay" if last is not None and last <= durable[w.room] else "resync"
                assert info["sync"] == expected, (round_, w.name, last, durable[w.room], info["headSeq"])
                replays += expected == "replay"
                resyncs += expected == "resync"
                if expected == "replay" and last and named is not None:
                    replayed.append((w, last, named))
            # the seq each replayed writer came back with names, on the server now, the very
            # event the writer had under it
            for room in ROOMS:
                mine = [(w, last, named) for w, last, named in replayed if w.room == room]
                if mine:
                    now = await until(server_events(ws_url, room, min(last for _, last, _ in mine) - 1, epochs[room]))
                    for w, last, named in mine:
                        if last in now:
                            assert now[last] == named, (round_, w.name, last)
                            compared += 1
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
              f"{replays} replays ({compared} checked byte for byte), {resyncs} resyncs (seen beyond the durable head)")
        assert replays > 0 and compared > 0 and acked_total > kills
    finally:
        for w in writers:
            if w.client is not None:
                await w.client.close()
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()



async def test_a_seq_relayed_but_lost_in_a_crash_is_never_replayed_from_once_another_event_took_it(tmp_path: Path) -> None:
    """The disk is held (a write transaction open on the store's file, as a stalled disk
    would), Alice's edit is relayed to Bob but never committed, the daemon is killed: the
    restarted room's head is below Bob's lastSeq, and Carol's new edits give that seq to
    another event before Bob comes back. Bob must resync (a replay from it would skip
    Carol's event), Alice (whose lastSeq is durable) is replayed, and everybody ends with
    every edit: Alice's unacknowledged one comes back with the sync exchange."""
    data = tmp_path / "data"
    proc, ws_url, http_url = await start_serve("--data-dir", str(data), "--log-level", "error")
    alice, bob, carol = Writer("r", "alice"), Writer("r", "bob"), Writer("r", "carol")
    try:
        async with aiohttp.ClientSession() as http:
            r = await http.post(f"{http_url}/v1/rooms", json={"id": "r"})
            assert r.status == 201, await r.text()
            first_epoch = (await r.json())["epoch"]
        for w in (alice, bob):
            await until(w.join(ws_url))
        assert alice.client is not None and bob.client is not None
        bob_keys = bob.doc.get("keys", type=Map)
        disk = sqlite3.connect(data / "rooms.sqlite3", isolation_level=None, timeout=T)
        try:
            disk.execute("BEGIN IMMEDIATE")  # the daemon's writer now waits: nothing commits
            acks = alice.acks
            alice.doc.get("keys", type=Map)["lost"] = 1
            await until(bob.client.wait_until(lambda: "lost" in bob_keys))
            seen = bob.client.last_seq
            assert seen is not None and bob.events.get(seen) is not None
            assert alice.acks == acks  # relayed, not acknowledged: it is not on disk
            proc.kill()
            await until(proc.wait())
        finally:
            disk.close()
        for w in (alice, bob):
            await w.client.close()  # type: ignore[union-attr]
        proc, ws_url, http_url = await start_serve("--data-dir", str(data), "--log-level", "error")
        held, info = await until(server_keys(ws_url, "r"))
        assert "lost" not in held and info["headSeq"] < seen and info["epoch"] != first_epoch
        durable = info["headSeq"]
        await until(carol.join(ws_url))
        assert carol.client is not None
        carol_keys = carol.doc.get("keys", type=Map)
        for n in range(seen - durable + 1):
            target = carol.acks + 1
            carol_keys[f"carol-{n}"] = n
            await until(carol.client.wait_until(lambda t=target: carol.acks >= t))
        assert carol.client.last_seq is not None and carol.client.last_seq > seen  # Bob's seq names Carol's edit now
        info = await until(bob.join(ws_url))
        assert info["sync"] == "resync" and info["epoch"] != first_epoch, info
        alice_last = alice.client.last_seq
        assert alice_last is not None and alice_last <= durable
        info = await until(alice.join(ws_url))
        assert info["sync"] == "replay" and info["replayFrom"] == alice_last
        everything = {"lost"} | {f"carol-{n}" for n in range(seen - durable + 1)}
        held, _ = await until(server_keys(ws_url, "r"))
        assert held == everything
        for w in (alice, bob, carol):
            keys = w.doc.get("keys", type=Map)
            await until(w.client.wait_until(lambda k=keys: set(k.keys()) == everything))  # type: ignore[union-attr]
    finally:
        for w in (alice, bob, carol):
            if w.client is not None:
                await w.client.close()
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
