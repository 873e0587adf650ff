"""Snapshots are taken at the count even in bursts, and a big
room's snapshots, joins, exports and history reads never build its state on the loop.

Big rooms are made small here: ``inline_encode_bytes`` is lowered to 2 KiB on the hub
before the room is created, so a few KB of text take the big-room paths (the state
worker process, the snapshot-and-tail join) that a 16 MB room takes in production.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from pycrdt import Doc, Map, Text, create_update_message
from websockets.asyncio.client import connect

from annotd.client.roomclient import RoomClient
from annotd.core import yproto
from annotd.process.daemon import Daemon

from ..helpers import T, ok, rest, room_and_client, within

DaemonFactory = Callable[..., Awaitable[Daemon]]


async def burst(d: Daemon, room: str, n: int) -> None:
    """One stock client sends ``n`` updates back to back (no waiting), then waits until
    the server has sequenced them all (its sync step 1 is answered after them)."""
    doc: Doc[Any] = Doc()
    sent: list[bytes] = []
    doc.observe(lambda e: sent.append(e.update))
    m = doc.get("annotations", type=Map)
    for i in range(n):
        m[f"k{i % 7}"] = i
    async with connect(f"{d.ws_url}/v1/ws/rooms/{room}?userId=burst", compression=None) as ws:
        for update in sent:
            await ws.send(create_update_message(update))
        await ws.send(yproto.sync_step1(doc.get_state()))
        async with asyncio.timeout(T):
            while (await ws.recv())[:2] != b"\x00\x01":  # our step 2: every update before it is in
                pass


async def test_snapshots_at_the_count_in_a_burst(make_daemon: DaemonFactory) -> None:
    """The outside test's case: 20/2 and 400 back-to-back updates gave snapshots only at
    [0, 401] and oldestSeq 0; the log must stay within the window."""
    d = await make_daemon(history={"snapshot_every_ops": 20, "snapshots_kept": 2})
    d.hub.create_room("r1")
    await burst(d, "r1", 400)
    room = d.hub.rooms["r1"].room
    assert room.head == 401
    assert [s.seq for s in room.history.snapshots] == [380, 400]
    assert room.history.oldest_seq == 380 and len(room.history.log) == 21


async def test_snapshots_at_the_count_100_per_1100(make_daemon: DaemonFactory) -> None:
    d = await make_daemon(history={"snapshot_every_ops": 100})
    d.hub.create_room("r1")
    await burst(d, "r1", 1_100)
    room = d.hub.rooms["r1"].room
    assert room.head == 1_101
    assert [s.seq for s in room.history.snapshots] == [700, 800, 900, 1000, 1100]
    assert room.history.oldest_seq == 700


async def test_snapshot_by_bytes_bounds_a_flood_of_big_updates(make_daemon: DaemonFactory) -> None:
    d = await make_daemon(history={"snapshot_every_bytes": 100_000})
    room, c = await room_and_client(d)
    m = c.doc.get("m", type=Map)
    for i in range(20):  # 20 x 30 KB on one key: ~30 KB of state
        m["k"] = chr(97 + i) * 30_000
    await within(c.flush())
    assert room.history.log.byte_size() <= 5 * (100_000 + 30_100)  # snapshots_kept x (bytes + one update)
    assert room.history.snapshot_seq >= 17
    await c.close()


def big_rooms(d: Daemon, threshold: int = 2048) -> None:
    """Rooms created from now on take the big-room paths above ``threshold`` bytes."""
    d.hub.room_limits = dataclasses.replace(d.hub.room_limits, inline_encode_bytes=threshold)


async def test_big_room_snapshots_in_the_worker_at_the_exact_seq(make_daemon: DaemonFactory) -> None:
    d = await make_daemon(history={"snapshot_every_ops": 5})
    big_rooms(d)
    room, c = await room_and_client(d)
    text = c.doc.get("t", type=Text)
    for i in range(4):
        text += str(i) * 3_000
    await within(c.flush())
    assert room.head == 5 and room.is_big
    note = await within(c.wait_notification("snapshots.created", lambda n: n["params"]["seq"] == 5))
    assert note["params"] == {"roomId": "r1", "seq": 5}
    assert d.hub.states.started  # built by the worker process, not on the loop
    snap = room.history.latest
    check = Doc()
    check.apply_update(snap.blob)
    assert str(check.get("t", type=Text)) == "".join(str(i) * 3_000 for i in range(4))
    text += "x"
    await within(c.flush())
    async with aiohttp.ClientSession(base_url=d.http_url) as http:
        assert (await ok(http, "POST", "/v1/rooms/r1/snapshots", status=201))["seq"] == 6  # manual, off the loop too
    assert room.history.snapshot_seq == 6
    await c.close()


async def test_big_room_join_gets_snapshot_then_events(make_daemon: DaemonFactory) -> None:
    d = await make_daemon(history={"snapshot_every_ops": 1000})
    big_rooms(d)
    room, w = await room_and_client(d)
    text = w.doc.get("t", type=Text)
    text += "a" * 5_000
    await within(w.flush())
    await d.hub.rooms["r1"].snapshot()
    snap_seq = room.history.snapshot_seq
    text += "b" * 10
    w.doc.get("annotations", type=Map)["k"] = 1
    head = await within(w.flush())
    assert head == snap_seq + 2 and room.is_big
    # annotd.v1: step 2 of the snapshot wrapped with its seq, then the events after it
    seqs: list[tuple[int, str]] = []
    fresh = RoomClient(d.ws_url, "r1", user_id="fresh")
    fresh.on_seq = lambda seq, why: seqs.append((seq, why))
    await fresh.connect()
    await within(fresh.wait_for_seq(head))
    assert [x for x in seqs if x[1] != "ack"] == [(snap_seq, "sync"), (snap_seq + 1, "event"), (snap_seq + 2, "event")]
    assert fresh.doc.get("t", type=Text).to_py() == "a" * 5_000 + "b" * 10
    assert fresh.doc.get("annotations", type=Map).to_py() == {"k": 1.0}
    # a stock client gets the same, as a plain step 2 and sync updates
    doc = Doc()
    async with connect(f"{d.ws_url}/v1/ws/rooms/r1?userId=stock", compression=None) as ws:
        await ws.send(yproto.sync_step1(b"\x00"))
        async with asyncio.timeout(T):
            while doc.get("annotations", type=Map).to_py() != {"k": 1.0}:
                msg = await ws.recv()
                assert isinstance(msg, bytes) and msg[0] != yproto.MSG_SEQ
                if msg[:2] in (b"\x00\x01", b"\x00\x02"):
                    doc.apply_update(yproto.parse(msg).payload)
    assert doc.get("t", type=Text).to_py() == "a" * 5_000 + "b" * 10
    # a client that already has everything gets only the diff (no snapshot resent)
    frames: list[bytes] = []
    async with connect(f"{d.ws_url}/v1/ws/rooms/r1?userId=uptodate", compression=None) as ws:
        await ws.send(yproto.sync_step1(fresh.doc.get_state()))
        async with asyncio.timeout(T):
            while not frames or frames[-1][:2] != b"\x00\x01":
                msg = await ws.recv()
                assert isinstance(msg, bytes)
                frames.append(msg)
    assert len(frames[-1]) < 100
    await fresh.close()
    await w.close()


async def test_big_room_history_read_export_and_version_off_the_loop(make_daemon: DaemonFactory) -> None:
    d = await make_daemon(export={"max_output_pixels": 10_000})
    big_rooms(d)
    d.hub.create_room("r1")
    room = d.hub.rooms["r1"].room
    async with aiohttp.ClientSession(base_url=d.http_url) as http:
        rect = {"type": "rect", "x": 1, "y": 2, "w": 30, "h": 40, "id": "a1"}
        first = (await ok(http, "POST", "/v1/rooms/r1/annotations", rect))["seq"]
        c = RoomClient(d.ws_url, "r1", user_id="w")
        await c.connect()
        c.doc.get("t", type=Text).insert(0, "z" * 5_000)  # makes the room big
        await within(c.flush())
        await ok(http, "POST", "/v1/rooms/r1/annotations", {**rect, "id": "a2", "x": 50})
        assert room.is_big
        listed = await ok(http, "GET", "/v1/rooms/r1/annotations", params={"seq": str(first)})
        assert listed["seq"] == first and [a["id"] for a in listed["annotations"]] == ["a1"]
        assert d.hub.states.started
        head = await ok(http, "GET", "/v1/rooms/r1/annotations")
        assert [a["id"] for a in head["annotations"]] == ["a1", "a2"] and head["seq"] == room.head
        via_rpc = await c.call("annotations.list", seq=first)
        assert via_rpc == listed
        threads = await ok(http, "GET", "/v1/rooms/r1/comments", params={"seq": str(first)})
        assert threads == {"seq": first, "threads": []}
        version = await ok(http, "POST", "/v1/rooms/r1/versions", {"tag": "one", "seq": first}, status=201)
        assert version["seq"] == first
        reverted = await ok(http, "POST", "/v1/rooms/r1/versions/one:revert")
        assert reverted["changes"]["deleted"] == ["a2"]
        for fmt in ("svg", "png"):  # png: its output size is checked on the view first
            job = await ok(http, "POST", "/v1/rooms/r1/exports", {"format": fmt, "seq": first}, status=202)
            done = await within(d.hub.exports.wait(job["jobId"]))
            assert done.status == "done", done.error
        status, body = await rest(http, "POST", "/v1/rooms/r1/exports", {"format": "png", "scale": 8})
        assert status == 422 and body["error"]["data"]["field"] == "scale", body  # measured in the worker
        await c.close()


def test_big_frames_are_framed_without_a_copy() -> None:
    """A big message is written as (header, message): the same bytes websockets would frame."""
    from websockets.frames import Frame, Opcode

    from annotd.net.wsconn import BIG_FRAME, wire

    for size in (BIG_FRAME, 70_000 * 16, 5 * 2**20 + 3):
        message = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
        framed = wire(message)
        assert isinstance(framed, tuple) and framed[1] is message
        assert b"".join(framed) == Frame(Opcode.BINARY, message).serialize(mask=False)
    assert isinstance(wire(b"small"), bytes)


def test_every_frame_is_the_bytes_websockets_would_build() -> None:
    """The relay frames messages itself: each header length (7-bit, 16-bit, 64-bit), text and
    binary, byte for byte what websockets' own serializer makes (what clients parse)."""
    from websockets.frames import Frame, Opcode

    from annotd.net.wsconn import BIG_FRAME, wire

    for size in (0, 1, 125, 126, 127, 65_535, 65_536, BIG_FRAME - 1):
        binary = b"\x07" * size
        assert wire(binary) == Frame(Opcode.BINARY, binary).serialize(mask=False)
        text = "é" * (size // 2) + "a" * (size % 2)  # two bytes per character in UTF-8
        assert wire(text) == Frame(Opcode.TEXT, text.encode()).serialize(mask=False)
    parts = (b"\x00\x01", b"\x02" * 200)
    assert b"".join(wire(parts)) == Frame(Opcode.BINARY, b"".join(parts)).serialize(mask=False)


def test_join_parts_are_the_messages_they_stand_for() -> None:
    """A big room's joiner gets (header, update) parts: the same bytes as the copied messages."""
    update = bytes(range(256)) * 300
    for seq in (None, 0, 127, 128, 10**9):
        head, body = yproto.sync_update_parts(seq, update)
        assert body is update
        plain = yproto.sync_update(update)
        assert head + body == (plain if seq is None else yproto.with_seq(seq, plain))
        step2 = yproto.sync_step2(update)
        assert b"".join(yproto.sync_step2_parts(seq, update)) == (step2 if seq is None else yproto.with_seq(seq, step2))
