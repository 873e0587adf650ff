"""Rooms on disk (``rooms.data_dir``) are listed at start-up and loaded on first use; idle
ones go back to disk; a deletion is answered once it is durable; ``save_dir`` bundles are
imported into the store once.

Each daemon here is opened on its folder as ``annotd serve`` does (the store first, its lock
held) and runs under both event loops."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pycrdt import Map
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from annotd.client.roomclient import RoomClient
from annotd.process import datadir
from annotd.process.daemon import Daemon
from annotd.storage.schema import key

from ..conftest import daemon_config
from ..helpers import T, ok, rest, within
from ..net.test_http import png
from ..process.test_durable import hold_commits
from ..services.test_exports import gate

Started = Callable[..., Awaitable[Daemon]]
PNG = png()


@pytest.fixture
async def stored_daemon() -> AsyncIterator[Started]:
    """Start daemons, each on an opened data_dir; ``stop`` them (and close their stores)
    in the test to restart on the same folder."""
    running: list[Daemon] = []

    async def start(folder: Path, **sections: dict[str, Any]) -> Daemon:
        rooms = {"data_dir": str(folder), **sections.pop("rooms", {})}
        cfg = daemon_config(rooms=rooms, storage={"retry_s": 0.05}, **sections)
        store = datadir.open_store(cfg)
        assert store is not None
        d = Daemon(cfg, store=store)
        await d.start()
        running.append(d)
        return d

    yield start
    for d in running:
        await stop(d)


async def stop(d: Daemon) -> None:
    await d.stop()
    assert d.store is not None
    d.store.close()


async def listing(d: Daemon) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession(base_url=d.http_url) as http:
        rooms: list[dict[str, Any]] = (await ok(http, "GET", "/v1/rooms"))["rooms"]
        return rooms


async def fill(d: Daemon, room_id: str, n: int, *, image: bool = False) -> tuple[str, int]:
    """Create ``room_id`` with ``n`` keys written by a client (and a base image); its epoch and head."""
    async with aiohttp.ClientSession(base_url=d.http_url) as http:
        await ok(http, "POST", "/v1/rooms", {"id": room_id, "name": f"Room {room_id}"}, status=201)
        if image:
            async with http.post(f"/v1/rooms/{room_id}/image", data=PNG, headers={"Content-Type": "image/png"}) as r:
                assert r.status == 201, await r.text()
    async with asyncio.timeout(T), RoomClient(d.ws_url, room_id, user_id="w") as c:
        for i in range(n):
            c.doc.get("keys", type=Map)[f"k{i}"] = i
        head = await c.flush()
        assert c.epoch is not None
        return c.epoch, head


async def ticks_until(d: Daemon, done: Callable[[], bool], what: str) -> None:
    """Await periodic ticks until ``done()`` holds."""
    try:
        async with asyncio.timeout(T):
            while not done():
                await d.next_tick()
    except TimeoutError:
        raise AssertionError(f"timed out after {T}s waiting for {what}") from None


async def idle_out(d: Daemon, now: list[float], room_id: str) -> None:
    """Move the clock an idle period (61 s) on before each tick until ``room_id`` is
    unloaded: a room that cannot go yet is looked at again after another period."""
    try:
        async with asyncio.timeout(T):
            while room_id in d.hub.rooms:
                now[0] += 61
                await d.next_tick()
    except TimeoutError:
        raise AssertionError(f"timed out after {T}s waiting for {room_id} to be unloaded") from None


async def test_start_up_lists_rooms_from_metadata_and_a_room_lists_the_same_loaded_or_not(
        stored_daemon: Started, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    d = await stored_daemon(folder, history={"snapshot_every_ops": 7, "snapshots_kept": 2})
    await fill(d, "a", 30, image=True)
    await fill(d, "b", 3)
    await fill(d, "c", 0)
    before = await listing(d)
    assert [r["id"] for r in before] == ["a", "b", "c"] and before[0]["image"]["sha256"]
    await stop(d)

    again = await stored_daemon(folder, history={"snapshot_every_ops": 7, "snapshots_kept": 2})
    assert again.hub.rooms == {} and again.hub.room_count() == 3  # listed, none loaded
    assert await listing(again) == before
    async with aiohttp.ClientSession(base_url=again.http_url) as http:
        assert await ok(http, "GET", "/v1/rooms/a") == before[0]
        assert "a" not in again.hub.rooms  # rooms.get answers from the metadata
        await ok(http, "GET", "/v1/rooms/a/annotations")  # a command loads it
        assert "a" in again.hub.rooms and "b" not in again.hub.rooms
        async with http.get("/v1/rooms/a/image") as r:  # the image came back with the room
            assert r.status == 200 and await r.read() == PNG
    assert await listing(again) == before  # loaded or not, the same answer
    for room_id in ("b", "c"):
        await again.hub.open(room_id)
    assert await listing(again) == before


async def test_concurrent_first_uses_share_one_load(stored_daemon: Started, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    d = await stored_daemon(folder)
    epoch, head = await fill(d, "r", 40)
    await stop(d)
    again = await stored_daemon(folder)
    hub = again.hub
    assert hub.shelf is not None
    async with aiohttp.ClientSession(base_url=again.http_url) as http:
        joiner = RoomClient(again.ws_url, "r", user_id="j")
        joiner.epoch, joiner.last_seq = epoch, head - 5
        first, second, listed, _ = await within(asyncio.gather(
            hub.open("r"), hub.open("r"), ok(http, "GET", "/v1/rooms/r/annotations"), joiner.connect()))
    try:
        assert first is second is hub.rooms["r"]
        assert hub.shelf.loads == 1
        assert listed["seq"] == head
        assert joiner.room_info["sync"] == "replay"
        await within(joiner.wait_for_seq(head))
        assert dict(joiner.doc.get("keys", type=Map)) == {f"k{i}": i for i in range(40)}
    finally:
        await joiner.close()


def damage(folder: Path, room_id: str, seq: int) -> None:
    """Flip one stored event's checksum (the daemon is stopped)."""
    conn = sqlite3.connect(folder / "rooms.sqlite3")
    try:
        (rid,) = conn.execute("SELECT rid FROM rooms WHERE id = ?", (room_id,)).fetchone()
        changed = conn.execute("UPDATE events SET crc = crc + 1 WHERE key = ?", (key(rid, seq),)).rowcount
        assert changed == 1
        conn.commit()
    finally:
        conn.close()


async def test_a_damaged_room_is_refused_precisely_and_the_others_are_untouched(
        stored_daemon: Started, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    d = await stored_daemon(folder)
    await fill(d, "bad", 5)
    await fill(d, "good", 5)
    before = await listing(d)
    await stop(d)
    damage(folder, "bad", 3)
    again = await stored_daemon(folder)
    assert await listing(again) == before  # still listed: listing reads no document
    async with aiohttp.ClientSession(base_url=again.http_url) as http:
        for _ in range(2):  # the second is refused from memory, without reading the disk again
            status, body = await rest(http, "GET", "/v1/rooms/bad/annotations")
            assert status == 500 and body["error"]["code"] == "room_damaged"
            assert body["error"]["data"] == {"roomId": "bad", "reason": "event 3 does not match its crc32"}
        async with connect(f"{again.ws_url}/v1/ws/rooms/bad?userId=u") as ws:
            with pytest.raises(ConnectionClosed):
                await within(ws.recv())
            assert ws.close_code == 1011 and "damaged" in (ws.close_reason or "")
        assert (await ok(http, "GET", "/v1/rooms/good/annotations"))["seq"] == before[1]["headSeq"]
        await ok(http, "DELETE", "/v1/rooms/bad")  # an operator can still delete it
        assert [r["id"] for r in await listing(again)] == ["good"]
    assert again.store is not None
    assert [r.id for r in await asyncio.to_thread(again.store.list_rooms)] == ["good"]


async def test_an_idle_room_is_unloaded_released_and_a_reconnect_is_a_replay(
        stored_daemon: Started, tmp_path: Path) -> None:
    now = [1_000_000.0]
    d = await stored_daemon(tmp_path / "data", rooms={"unload_idle_s": 60.0})
    d.hub.clock = lambda: now[0]
    epoch, _ = await fill(d, "r", 25)
    doc = weakref.ref(d.hub.rooms["r"].room.doc)
    async with asyncio.timeout(T), RoomClient(d.ws_url, "r", user_id="stay") as stay:
        now[0] += 3600
        await d.next_tick()
        await d.next_tick()
        assert "r" in d.hub.rooms  # someone is connected: never unloaded
        stay.doc.get("keys", type=Map)["last"] = 1
        head = await stay.flush()
    await ticks_until(d, lambda: not d.hub.rooms["r"].peers, "the last session to leave")
    await idle_out(d, now, "r")
    gc.collect()
    assert doc() is None  # the document's memory is released
    unloaded = (await listing(d))[0]
    assert unloaded["headSeq"] == head and unloaded["epoch"] == epoch and unloaded["clients"] == 0
    c = RoomClient(d.ws_url, "r", user_id="back")
    c.epoch, c.last_seq = epoch, head - 4
    async with asyncio.timeout(T), c:
        assert c.room_info["sync"] == "replay" and c.room_info["epoch"] == epoch
        await c.wait_for_seq(head)
        assert dict(c.doc.get("keys", type=Map)) == {**{f"k{i}": i for i in range(25)}, "last": 1}
        loaded = (await listing(d))[0]
    assert {**loaded, "users": [], "clients": 0} == unloaded  # the same room, loaded or not
    assert d.hub.shelf is not None and d.hub.shelf.loads == 1


async def test_without_a_data_dir_rooms_are_never_unloaded(make_daemon: Callable[..., Awaitable[Daemon]]) -> None:
    now = [1_000_000.0]
    d = await make_daemon(rooms={"unload_idle_s": 1.0})
    d.hub.clock = lambda: now[0]
    d.hub.create_room("r")
    for _ in range(3):
        now[0] += 3600
        await within(d.next_tick(), "a tick")
    assert "r" in d.hub.rooms


async def test_a_room_in_use_by_a_command_is_not_unloaded(stored_daemon: Started, tmp_path: Path) -> None:
    now = [1_000_000.0]
    d = await stored_daemon(tmp_path / "data", rooms={"unload_idle_s": 60.0})
    d.hub.clock = lambda: now[0]
    await fill(d, "r", 3)
    async with d.hub.using("r"):
        now[0] += 3600
        await d.next_tick()
        await d.next_tick()
        assert "r" in d.hub.rooms
    await idle_out(d, now, "r")
    async with d.hub.using("r"):  # the next use loads it again
        assert d.hub.rooms["r"].head == d.hub.about("r").info()["headSeq"]


async def test_a_room_with_an_export_job_is_not_unloaded_until_the_job_ends(stored_daemon: Started,
                                                                           tmp_path: Path) -> None:
    now = [1_000_000.0]
    d = await stored_daemon(tmp_path / "data", rooms={"unload_idle_s": 60.0})
    d.hub.clock = lambda: now[0]
    await fill(d, "r", 3)
    entered, release = gate(d)
    async with aiohttp.ClientSession(base_url=d.http_url) as http:
        job = await ok(http, "POST", "/v1/rooms/r/exports", {"format": "svg"}, status=202)
    await within(entered.wait(), "the job to run")
    for _ in range(3):  # idle long past unload_idle_s, but its export is running
        now[0] += 3600
        await within(d.next_tick(), "a tick")
    assert "r" in d.hub.rooms
    release.set()
    assert (await within(d.hub.exports.wait(job["jobId"]))).status == "done"
    await idle_out(d, now, "r")


async def test_a_deletion_is_answered_once_it_is_durable(stored_daemon: Started, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    d = await stored_daemon(folder)
    await fill(d, "loaded", 2)
    await fill(d, "ondisk", 2)
    await stop(d)
    again = await stored_daemon(folder)
    store = again.store
    assert store is not None
    await again.hub.open("loaded")
    async with aiohttp.ClientSession(base_url=again.http_url) as http:
        for room_id in ("loaded", "ondisk"):
            gate = hold_commits(store)
            try:
                task = asyncio.ensure_future(ok(http, "DELETE", f"/v1/rooms/{room_id}"))
                await ticks_until(again, lambda rid=room_id: not again.hub.exists(rid), f"{room_id} to go")  # type: ignore[misc]
                assert not task.done()  # gone from memory, but not answered before the commit
                assert room_id in [r.id for r in await asyncio.to_thread(store.list_rooms)]
            finally:
                gate.set()
            assert await within(task) == {"id": room_id, "deleted": True}
            assert room_id not in [r.id for r in await asyncio.to_thread(store.list_rooms)]


async def test_save_dir_bundles_are_imported_into_the_store_once_and_never_over_a_stored_room(
        make_daemon: Callable[..., Awaitable[Daemon]], stored_daemon: Started, tmp_path: Path) -> None:
    saves, aside, folder = tmp_path / "saves", tmp_path / "aside", tmp_path / "data"
    memory = await make_daemon(rooms={"save_dir": str(saves)})
    for room_id in ("a", "b", "c"):
        await fill(memory, room_id, 4)
    await memory.stop()  # writes a.annotd, b.annotd, c.annotd
    aside.mkdir()
    (saves / "c.annotd").rename(aside / "c.annotd")
    files = {p.name: p.read_bytes() for p in saves.iterdir()}

    d = await stored_daemon(folder)
    await fill(d, "a", 1)  # the store's own room a: never overwritten by the bundle
    a_head = d.hub.rooms["a"].head
    await stop(d)

    d = await stored_daemon(folder, rooms={"save_dir": str(saves)})
    assert [r["id"] for r in await listing(d)] == ["a", "b"]
    assert (await d.hub.open("a")).head == a_head
    b = await d.hub.open("b")
    assert dict(b.room.doc.get("keys", type=Map)) == {f"k{i}": i for i in range(4)}
    await d.hub.delete_room("b")
    await stop(d)
    assert {p.name: p.read_bytes() for p in saves.iterdir()} == files  # nothing written back

    (aside / "c.annotd").rename(saves / "c.annotd")
    d = await stored_daemon(folder, rooms={"save_dir": str(saves)})
    assert [r["id"] for r in await listing(d)] == ["a", "c"]  # b was imported once: deleted, it stays deleted


async def test_a_folder_of_schema_1_is_upgraded_in_place_and_lists_the_same(stored_daemon: Started,
                                                                           tmp_path: Path) -> None:
    folder = tmp_path / "data"
    d = await stored_daemon(folder)
    await fill(d, "r", 3, image=True)
    before = await listing(d)
    await stop(d)
    conn = sqlite3.connect(folder / "rooms.sqlite3")  # back to what schema 1 had
    conn.executescript("ALTER TABLE rooms DROP COLUMN image_json; ALTER TABLE rooms DROP COLUMN last_change_at; "
                       "DROP TABLE imported_bundles; ALTER TABLE versions DROP COLUMN name; DROP TABLE meta; DROP TABLE epochs; "
                       "PRAGMA user_version = 1;")
    conn.close()
    again = await stored_daemon(folder)
    after = await listing(again)

    def but_epoch(rooms: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k != "epoch"} for r in rooms]

    assert but_epoch(after) == but_epoch(before)
    # a file from before the clean-stop mark cannot vouch for its last stop: a new epoch
    assert [r["epoch"] for r in after] != [r["epoch"] for r in before]
    assert (await again.hub.open("r")).image_ref() == before[0]["image"]


async def test_a_big_room_is_built_by_the_state_worker_when_loaded(stored_daemon: Started, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    big = {"history": {"inline_encode_bytes": 1, "snapshot_every_ops": 1000}}
    d = await stored_daemon(folder, **big)
    epoch, head = await fill(d, "r", 30)
    await stop(d)
    again = await stored_daemon(folder, **big)
    assert not again.hub.states.started
    live = await again.hub.open("r")
    assert again.hub.states.started  # the state worker built the document
    assert live.room.is_big and live.head == head
    assert dict(live.room.doc.get("keys", type=Map)) == {f"k{i}": i for i in range(30)}


async def test_a_room_on_disk_only_is_joined_not_created_again_and_its_id_stays_taken(
        stored_daemon: Started, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    d = await stored_daemon(folder)
    epoch, head = await fill(d, "r", 5)
    await stop(d)
    again = await stored_daemon(folder, rooms={"auto_create": True}, limits={"max_rooms": 1})
    async with aiohttp.ClientSession(base_url=again.http_url) as http:
        status, body = await rest(http, "POST", "/v1/rooms", {"id": "r"})
        assert status == 409 and body["error"]["code"] == "conflict"  # taken, though not loaded
        status, body = await rest(http, "POST", "/v1/rooms", {"id": "other"})
        assert status == 429 and body["error"]["code"] == "limit_reached"  # max_rooms counts it
    assert "r" not in again.hub.rooms
    async with asyncio.timeout(T), RoomClient(again.ws_url, "r", user_id="j") as c:  # auto_create: loads it
        assert c.room_info["epoch"] == epoch
        await c.wait_for_seq(head)
        assert dict(c.doc.get("keys", type=Map)) == {f"k{i}": i for i in range(5)}
