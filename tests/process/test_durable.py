"""The door with a store (``rooms.data_dir``), in process: a sender's ack and a command's
answer wait for the commit while relaying does not; a disk that refuses writes turns a
change into ``storage_full`` and the room stays readable; a restart brings rooms back."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from pycrdt import Doc, Map
from websockets.asyncio.client import ClientConnection, connect

from annotd.client.roomclient import RoomClient
from annotd.core import yproto
from annotd.process import datadir
from annotd.process.daemon import Daemon
from annotd.storage import SqliteStore
from annotd.storage.writer import Op

from ..conftest import daemon_config
from ..helpers import T

Started = Callable[[Path], Awaitable[Daemon]]


@pytest.fixture
async def stored_daemon() -> AsyncIterator[Started]:
    """Start in-process daemons, each on an opened data_dir (as ``annotd serve`` does)."""
    running: list[tuple[Daemon, SqliteStore]] = []

    async def start(folder: Path) -> Daemon:
        cfg = daemon_config(rooms={"data_dir": str(folder)}, storage={"retry_s": 0.05})
        store = datadir.open_store(cfg)
        assert store is not None
        d = Daemon(cfg, store=store)
        await d.start()
        running.append((d, store))
        return d

    yield start
    for d, store in running:
        await d.stop()
        store.close()


def hold_commits(store: SqliteStore) -> threading.Event:
    """Hold the writer inside a transaction until the returned gate is set."""
    entered, gate = threading.Event(), threading.Event()

    def held(_conn: sqlite3.Connection) -> None:
        entered.set()
        assert gate.wait(T)

    store._writer.submit(Op(held))
    assert entered.wait(T)
    return gate


def update(key: str, value: int = 1, doc: Doc | None = None) -> bytes:
    doc = doc if doc is not None else Doc()
    doc.get("keys", type=Map)[key] = value
    return doc.get_update()


async def recv_json(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """The next text frame of ``kind`` (other frames are skipped)."""
    while True:
        msg = await ws.recv()
        if isinstance(msg, str):
            parsed = orjson.loads(msg)
            if isinstance(parsed, dict) and parsed.get("type") == kind:
                return parsed


async def test_an_ack_waits_for_the_commit_while_the_others_already_have_the_update(
        stored_daemon: Started, tmp_path: Path) -> None:
    d = await stored_daemon(tmp_path / "data")
    assert d.hub.durable
    store = d.store
    assert store is not None
    d.hub.create_room("r")
    await d.hub.live("r").durable()
    acks: list[int] = []
    a = RoomClient(d.ws_url, "r", user_id="a")
    a.on_seq = lambda seq, why: acks.append(seq) if why == "ack" else None
    async with asyncio.timeout(T), a, RoomClient(d.ws_url, "r", user_id="b") as b:
        await a.wait_until(lambda: len(acks) >= 1)  # its own sync step 2, answered at once (head durable)
        gate = hold_commits(store)
        try:
            a.doc.get("keys", type=Map)["k"] = 1
            await b.wait_until(lambda: "k" in b.doc.get("keys", type=Map))  # relayed, not waiting for the disk
            await a.call("rooms.get", roomId="r")  # answered after the update was handled on a's socket
            assert len(acks) == 1  # ... but its ack is still held: the commit is
            info = await b.call("rooms.get", roomId="r")
            task = asyncio.ensure_future(
                b.call("annotations.upsert", roomId="r", annotation={"type": "rect", "x": 1, "y": 1, "w": 5, "h": 5}))
            await a.wait_for_seq(info["headSeq"] + 1)  # a sees the command's change relayed
            assert not task.done()  # its answer waits for the commit too
        finally:
            gate.set()
        await a.wait_until(lambda: len(acks) >= 2)
        assert acks[1] == info["headSeq"]
        created = await task
        assert created["seq"] == info["headSeq"] + 1


async def test_a_full_disk_refuses_changes_with_storage_full_and_the_room_stays_readable(
        stored_daemon: Started, tmp_path: Path) -> None:
    d = await stored_daemon(tmp_path / "data")
    store = d.store
    assert store is not None
    d.hub.create_room("r")
    live = d.hub.live("r")
    await live.durable()
    full = [True]

    def disk_full(conn: sqlite3.Connection, batch: Sequence[Op]) -> None:
        if full[0]:
            exc = sqlite3.OperationalError("database or disk is full")
            exc.sqlite_errorname = "SQLITE_FULL"  # type: ignore[attr-defined]
            raise exc

    store._writer.before_commit = disk_full  # the writer's own hook, as the disk would refuse
    async with asyncio.timeout(T), connect(f"{d.ws_url}/v1/ws/rooms/r?userId=a",
                                           subprotocols=["annotd.v1"]) as ws:  # type: ignore[list-item]
        await recv_json(ws, "roomInfo")
        await ws.send(yproto.sync_update(update("k1")))
        error = (await recv_json(ws, "error"))["error"]
        assert error["code"] == "storage_full"
        held_seq = live.head  # applied and relayed, but not durable: held by the writer
        assert not store.writable
        await ws.send(yproto.sync_update(update("k2")))  # refused before it touches the room
        assert (await recv_json(ws, "error"))["error"]["code"] == "storage_full"
        assert live.head == held_seq
        async with RoomClient(d.ws_url, "r", user_id="reader") as reader:  # still readable
            await reader.wait_for_seq(held_seq)
            assert "k1" in reader.doc.get("keys", type=Map)
            with pytest.raises(Exception, match="storage_full|disk refused"):
                await reader.call("annotations.upsert", roomId="r", annotation={"type": "rect", "x": 1, "y": 1, "w": 5, "h": 5})
        full[0] = False  # space is back: the writer's retry writes what it held
        await live.durable(held_seq)
        await ws.send(yproto.sync_update(update("k3")))
        ack = await recv_json(ws, "ack")
        assert ack["seq"] == held_seq + 1 and ack["changed"]


async def test_a_restart_brings_rooms_back_and_a_reconnect_is_a_replay(stored_daemon: Started, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    d = await stored_daemon(folder)
    d.hub.create_room("r", "Room R")
    async with asyncio.timeout(T), RoomClient(d.ws_url, "r", user_id="a") as a:
        for i in range(20):
            a.doc.get("keys", type=Map)[f"k{i}"] = i
        await a.flush()
        await a.call("versions.create", roomId="r", tag="v1")
        await a.call("snapshots.create", roomId="r")
        a.doc.get("keys", type=Map)["after"] = 1
        head = await a.flush()
        epoch, last = a.epoch, a.last_seq
    kept = ("roomId", "name", "createdAt", "headSeq", "snapshotSeq", "oldestSeq", "epoch", "image")
    before = {k: d.hub.live("r").info()[k] for k in kept}
    await d.stop()
    d.store.close()  # type: ignore[union-attr]
    again = await stored_daemon(folder)
    assert "r" not in again.hub.rooms  # listed from its metadata, not loaded yet
    assert {k: again.hub.about("r").info()[k] for k in kept} == before
    live = await again.hub.open("r")
    assert {k: live.info()[k] for k in kept} == before
    assert [v.tag for v in live.versions()] == ["v1"]
    b = RoomClient(again.ws_url, "r", user_id="a")
    b.epoch, b.last_seq = epoch, last - 3
    async with asyncio.timeout(T), b:
        assert b.room_info["sync"] == "replay" and b.room_info["epoch"] == epoch
        await b.wait_for_seq(head)
    async with asyncio.timeout(T), RoomClient(again.ws_url, "r", user_id="c") as fresh:
        await fresh.wait_for_seq(head)
        assert dict(fresh.doc.get("keys", type=Map)) == {**{f"k{i}": i for i in range(20)}, "after": 1}



async def test_a_rename_is_on_disk_when_answered_and_survives_a_restart(stored_daemon: Started, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    d = await stored_daemon(folder)
    d.hub.create_room("r", "Before")
    await d.hub.live("r").durable()
    store = d.store
    assert store is not None
    async with asyncio.timeout(T), RoomClient(d.ws_url, "r", user_id="a") as a:
        gate = hold_commits(store)
        try:
            task = asyncio.ensure_future(a.call("rooms.update", roomId="r", name="After"))
            n = await a.wait_notification("rooms.renamed")  # everyone hears it at once
            assert n["params"]["name"] == "After"
            assert not task.done()  # the answer waits for the disk
        finally:
            gate.set()
        assert (await task)["name"] == "After"
    assert [r.name for r in store.list_rooms()] == ["After"]
    await d.stop()
    store.close()
    again = await stored_daemon(folder)
    assert (await again.hub.open("r")).info()["name"] == "After"


async def test_a_disk_that_refuses_writes_refuses_a_rename_and_the_name_stays(
        stored_daemon: Started, tmp_path: Path) -> None:
    d = await stored_daemon(tmp_path / "data")
    store = d.store
    assert store is not None
    d.hub.create_room("r", "Kept")
    live = d.hub.live("r")
    await live.durable()
    full = [True]

    def disk_full(conn: sqlite3.Connection, batch: Sequence[Op]) -> None:
        if full[0]:
            exc = sqlite3.OperationalError("database or disk is full")
            exc.sqlite_errorname = "SQLITE_FULL"  # type: ignore[attr-defined]
            raise exc

    store._writer.before_commit = disk_full
    async with asyncio.timeout(T), RoomClient(d.ws_url, "r", user_id="a") as a:
        with pytest.raises(Exception, match="storage_full|disk refused"):
            await a.call("rooms.update", roomId="r", name="First")  # the write that finds the disk full
        assert not store.writable
        with pytest.raises(Exception, match="storage_full|disk refused"):
            await a.call("rooms.update", roomId="r", name="Second")  # refused before anything changes
        assert live.info()["name"] == "First"  # held by the store, written once space is back
    full[0] = False
    await d.stop()
    store.close()  # writes what it held
    again = await stored_daemon(tmp_path / "data")
    assert (await again.hub.open("r")).info()["name"] == "First"
