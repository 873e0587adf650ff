"""A live room's door: every change (a prebuilt update too) is sequenced, delivered, counted
and handed to the snapshot policy in one place; nothing is delivered to a room nobody is in;
a refused change leaves the room untouched; a big room's past states are built in the state
worker, never on the loop; deleting a room is one call."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import types
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import aiohttp
import pytest
from pycrdt import Doc, Map

from annotd.base.config import Config
from annotd.base.errors import DocumentTooLarge, MalformedFrame, RoomNotFound
from annotd.canvas import ops
from annotd.core.outbound import Outbound
from annotd.live import liveroom
from annotd.live.hub import Hub
from annotd.live.liveroom import LiveRoom
from annotd.process.daemon import Daemon

from ..helpers import T, annotations_of, ok, room_and_client, within

DaemonFactory = Callable[..., Awaitable[Daemon]]


def update_setting(key: str, value: object) -> bytes:
    """A Yjs update made elsewhere: one key of the ``annotations`` root."""
    doc: Doc[Any] = Doc()
    doc.get("annotations", type=Map)[key] = value
    return doc.get_update()


class Recorded:
    """A delivery that records what the door hands it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[Outbound]]] = []

    def deliver(self, live: LiveRoom, outbounds: Iterable[Outbound]) -> None:
        self.calls.append((live.id, list(outbounds)))


class Peer:
    wire_frames = False

    def __init__(self) -> None:
        self.frames: list[Any] = []
        self.closed: tuple[int, str] | None = None

    def push(self, message: Any, framed: Any) -> bool:
        self.frames.append(message)
        return True

    def push_noisy(self, key: str, message: Any, framed: Any) -> None:
        self.frames.append(message)

    def close_soon(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


async def test_a_prebuilt_update_goes_through_the_door(make_daemon: DaemonFactory) -> None:
    d = await make_daemon()
    room, c = await room_and_client(d)
    live = d.hub.rooms["r1"]
    before = d.hub.metrics.updates_sequenced
    update = update_setting("imported", 7)
    done = await live.apply("importer", update)
    assert done.changed and done.value is None and done.seq == room.head
    assert room.history.log.after(done.seq - 1)[0].user_id == "importer"
    assert d.hub.metrics.updates_sequenced == before + 1
    await within(c.wait_for_seq(done.seq))
    assert annotations_of(c.doc)["imported"] == 7
    again = await live.apply("importer", update)  # already integrated: nothing changes
    assert not again.changed and again.seq == done.seq == room.head
    await c.close()


async def test_a_refused_update_leaves_the_room_untouched(make_daemon: DaemonFactory) -> None:
    d = await make_daemon(limits={"max_document_bytes": 4096})
    d.hub.create_room("r1")
    live = d.hub.rooms["r1"]
    head, state = live.head, live.room.doc.get_update()
    with pytest.raises(DocumentTooLarge):
        await live.apply("importer", update_setting("big", "x" * 8192))
    with pytest.raises(MalformedFrame):
        await live.apply("importer", b"\xff\x00garbage")
    assert live.head == head and live.room.doc.get_update() == state


async def test_nothing_is_delivered_to_a_room_nobody_is_in() -> None:
    hub = Hub(Config())
    recorded = Recorded()
    hub.delivery = recorded
    live = hub.create_room("r1")
    await live.apply("api", lambda doc: ops.upsert_annotation(
        doc, {"id": "a", "type": "rect", "x": 1, "y": 1, "w": 2, "h": 2}, "api", 1))
    assert live.head == 2 and recorded.calls == []
    peer = Peer()
    live.join(peer, "s1", "alice", v1=True, last_seq=None, epoch=None)
    recorded.calls.clear()
    await live.apply("api", lambda doc: ops.delete_annotations(doc, ["a"], "api", 2))
    assert [room_id for room_id, _ in recorded.calls] == ["r1"]
    assert recorded.calls[0][1][0].to == ("s1",)


async def test_a_sleeping_room_is_woken_for_its_snapshot_time_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """A room with changes not yet in a snapshot is not visited every tick while it waits for
    the time rule (``snapshot_every_s``): it sleeps until then, is ticked once, snapshotted."""
    now = [1000.0]
    hub = Hub(Config(), clock=lambda: now[0])
    live = hub.create_room("r1")
    visited: list[float] = []
    original = LiveRoom.tick

    def counting(self: LiveRoom, at: float) -> None:
        visited.append(at)
        original(self, at)

    monkeypatch.setattr(LiveRoom, "tick", counting)
    hub.tick()  # the thread check after the change; then it sleeps
    assert visited == [1000.0] and hub.awake == {} and live.room.history.snapshot_seq < live.head
    for t in (1001.0, 1020.0, 1029.9):
        now[0] = t
        hub.tick()
    assert visited == [1000.0]
    now[0] = 1030.0
    hub.tick()
    assert visited == [1000.0, 1030.0] and live.room.history.snapshot_seq == live.head
    now[0] = 1100.0
    hub.tick()
    assert visited == [1000.0, 1030.0]  # nothing due any more: no timer left
    await hub.delete_room("r1")


async def test_deleted_rooms_leave_no_timers() -> None:
    """A deleted room's timer entries go with it (once they are half of them), and a room
    asleep twice keeps one entry: nothing of a deleted room waits in the hub until it is due
    (those small objects kept the interpreter's arenas of deleted rooms alive)."""
    now = [1000.0]
    hub = Hub(Config(), clock=lambda: now[0])
    rooms = [hub.create_room(f"r{i}") for i in range(50)]
    hub.tick()  # each was just written: checked, then asleep until its snapshot's time rule
    assert len(hub._timers) == 50 and hub.awake == {}
    hub._wake(rooms[49])
    hub.tick()  # woken and asleep again: a second entry for the same room
    assert len(hub._timers) == 51
    for i in range(49):
        await hub.delete_room(f"r{i}")
        assert len(hub._timers) <= 2 * len(hub.rooms)
    assert [entry[2]() for entry in hub._timers].count(rooms[49]) == 1  # its earliest only
    await hub.delete_room("r49")
    assert hub._timers == []
    hub.tick()


class SlowDelivery:
    """A delivery that takes ``cost`` seconds of a made-up ``perf_counter`` clock."""

    def __init__(self, clock: list[float], cost: float) -> None:
        self.clock = clock
        self.cost = cost

    def deliver(self, live: LiveRoom, outbounds: Iterable[Outbound]) -> None:
        list(outbounds)
        self.clock[0] += self.cost


async def test_every_update_is_logged_with_its_latency_and_size(caplog: pytest.LogCaptureFixture,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(liveroom, "time", types.SimpleNamespace(perf_counter=lambda: clock[0]))
    hub = Hub(Config())
    hub.delivery = SlowDelivery(clock, 0.0025)
    live = hub.create_room("r1")
    live.join(Peer(), "s1", "alice", v1=True, last_seq=None, epoch=None)
    update = update_setting("imported", 7)
    with caplog.at_level(logging.INFO, logger="annotd.rooms"):
        await live.apply("importer", update_setting("quiet", 1))
    assert [r for r in caplog.records if r.getMessage() == "update"] == []  # debug off: no line
    with caplog.at_level(logging.DEBUG, logger="annotd.rooms"):
        done = await live.apply("importer", update)
    [record] = [r for r in caplog.records if r.getMessage() == "update"]
    fields = {k: getattr(record, k) for k in ("roomId", "seq", "userId", "latency_ms", "bytes")}
    logged = live.room.history.log.after(done.seq - 1)[0]
    assert fields == {"roomId": "r1", "seq": done.seq, "userId": "importer", "latency_ms": 2.5,
                      "bytes": len(logged.update)}
    assert record.levelno == logging.DEBUG and len(logged.update) > 0


async def test_deleting_a_room_is_one_call() -> None:
    hub = Hub(Config())
    live = hub.create_room("r1")
    peer = Peer()
    live.join(peer, "s1", "alice", v1=False, last_seq=None, epoch=None)
    await hub.delete_room("r1")
    assert live.closed and "r1" not in hub.rooms
    assert peer.closed is not None and peer.closed[0] == 4410
    assert hub.freed_bytes > 0
    with pytest.raises(RoomNotFound):  # a command that held the room across an await
        await live.apply("api", update_setting("late", 1))


async def test_a_bundle_is_not_listed_until_it_is_whole(make_daemon: DaemonFactory) -> None:
    """A room being built from a bundle is not in ``hub.rooms`` while its steps go through
    the door (each apply may await a measurement)."""
    d = await make_daemon()
    async with aiohttp.ClientSession(base_url=d.http_url) as http:
        await ok(http, "POST", "/v1/rooms", {"id": "src"}, status=201)
        await ok(http, "POST", "/v1/rooms/src/annotations", {"id": "a", "type": "rect", "x": 1, "y": 1, "w": 2, "h": 2})
        bundle = await http.get("/v1/rooms/src/bundle")
        data = await bundle.read()
        seen: list[bool] = []
        original = LiveRoom.apply

        async def spying(self: LiveRoom, user_id: str, change: Any) -> Any:
            seen.append(self.id in d.hub.rooms)
            return await original(self, user_id, change)

        LiveRoom.apply = spying  # type: ignore[method-assign]
        try:
            r = await http.post("/v1/rooms/copy/bundle", data=data, headers={"Content-Type": "application/octet-stream"})
        finally:
            LiveRoom.apply = original  # type: ignore[method-assign]
        assert r.status == 201, await r.text()
    assert seen and not any(seen)
    assert "copy" in d.hub.rooms


async def test_big_room_revert_and_history_are_built_in_the_worker(make_daemon: DaemonFactory) -> None:
    """``versions.revert`` and ``history.events`` on a big room never rebuild a past state on
    the loop (the history's rebuilding methods are forbidden here)."""
    d = await make_daemon(history={"snapshot_every_ops": 1000})
    d.hub.room_limits = dataclasses.replace(d.hub.room_limits, inline_encode_bytes=2048)
    async with aiohttp.ClientSession(base_url=d.http_url) as http:
        await ok(http, "POST", "/v1/rooms", {"id": "r1"}, status=201)
        for i in range(6):
            await ok(http, "POST", "/v1/rooms/r1/annotations",
                     {"id": f"a{i}", "type": "text", "x": i, "y": i, "w": 50, "h": 20, "text": "t" * 600})
        tagged = await ok(http, "POST", "/v1/rooms/r1/versions", {"tag": "v1"}, status=201)
        await ok(http, "DELETE", "/v1/rooms/r1/annotations/a0")
        live = d.hub.rooms["r1"]
        assert live.room.is_big

        def forbidden(*args: Any) -> Any:
            raise AssertionError("a big room's past state was rebuilt on the loop")

        live.room.history.doc_at = forbidden  # type: ignore[method-assign]
        live.room.history.state_at = forbidden  # type: ignore[method-assign]
        steps = await ok(http, "GET", "/v1/rooms/r1/history", params={"fromSeq": 2})
        assert [e["seq"] for e in steps["events"]] == list(range(2, live.head + 1))
        reverted = await ok(http, "POST", "/v1/rooms/r1/versions/v1:revert", {})
        assert reverted["changes"]["created"] == ["a0"]
        assert d.hub.states.started
        listed = await ok(http, "GET", "/v1/rooms/r1/annotations", params={"tag": "v1"})
        assert listed["seq"] == tagged["seq"] and len(listed["annotations"]) == 6


async def test_idle_rooms_cost_the_tick_nothing(make_daemon: DaemonFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The periodic tick visits only rooms with something to do: a room nobody is in whose
    changes are all in a snapshot is not visited until a change or a join wakes it."""
    d = await make_daemon(history={"snapshot_every_s": 0.0})
    for i in range(50):
        d.hub.create_room(f"idle{i}")
    assert len(d.hub.awake) == 50  # each was just written (its schema), not yet snapshotted
    while d.hub.awake:
        await within(d.next_tick())
    assert all(r.room.history.snapshot_seq == r.head for r in d.hub.rooms.values())
    visited: list[str] = []
    original = LiveRoom.tick

    def counting(self: LiveRoom, now: float) -> None:
        visited.append(self.id)
        original(self, now)

    monkeypatch.setattr(LiveRoom, "tick", counting)
    await within(d.next_tick())
    assert visited == []
    await d.hub.rooms["idle7"].apply("u", update_setting("k", 1))
    assert list(d.hub.awake) == ["idle7"]
    while d.hub.awake:
        await within(d.next_tick())
    assert set(visited) == {"idle7"}
    room, c = await room_and_client(d, room_id="busy")
    async with asyncio.timeout(T):
        while d.hub.awake:  # connected but silent: settles like an empty room
            await d.next_tick()
    visited.clear()
    await within(d.next_tick())
    assert visited == []
    await c.send_presence(cursor={"x": 1, "y": 2})
    async with asyncio.timeout(T):
        while not room.presence.entries:
            await d.next_tick()
    await within(d.next_tick())
    await within(d.next_tick())
    assert "busy" in visited and d.hub.awake.keys() == {"busy"}  # presence to expire and resend: visited
    await c.close()
