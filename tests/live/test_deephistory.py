"""History deeper than memory (``rooms.data_dir``): reads at a seq older than memory's
window are built from the disk's nearest snapshot and the events after it, as far back as
``storage.keep_events``/``keep_days`` keep; below that, the same ``gone`` as always.

Memory retention is made tiny here (a snapshot every 3 changes, 1 kept), so a few changes
push a seq out of memory while the disk still holds it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from annotd.client.roomclient import RoomClient, RpcError
from annotd.process import datadir
from annotd.process.daemon import Daemon
from annotd.storage import SqliteStore

from ..conftest import daemon_config
from ..helpers import T

TINY_MEMORY = {"snapshot_every_ops": 3, "snapshots_kept": 1}
NOW = 1_800_000_000.0
Started = Callable[..., Awaitable[Daemon]]


@pytest.fixture
async def stored_daemons() -> AsyncIterator[Started]:
    """In-process daemons: with ``folder``, on an opened data_dir (as ``annotd serve`` does)."""
    running: list[tuple[Daemon, SqliteStore | None]] = []

    async def started(folder: Path | None, **sections: dict[str, Any]) -> Daemon:
        if folder is not None:
            sections["rooms"] = {"data_dir": str(folder)}
        cfg = daemon_config(**sections)
        store = datadir.open_store(cfg)
        d = Daemon(cfg, store=store)
        await d.start()
        d.hub.clock = lambda: NOW  # the same ts in every daemon: answers compare whole
        running.append((d, store))
        return d

    yield started
    for d, store in running:
        await d.stop()
        if store is not None:
            store.close()


def rect(i: int) -> dict[str, Any]:
    return {"id": f"a{i}", "type": "rect", "x": i, "y": 1, "w": 5, "h": 5}


async def work(c: RoomClient, first: int, n: int) -> list[int]:
    """Changes ``first..first+n-1`` of several kinds (create, delete, update, comment, each
    with a fixed id, so two daemons make the same steps); the seq after each."""
    seqs = []
    for i in range(first, first + n):
        kind = i % 6
        if kind == 3:
            r = await c.call("annotations.delete", roomId="r", id=f"a{i - 2}")
        elif kind == 4:
            r = await c.call("annotations.upsert", roomId="r", id=f"a{i - 4}", annotation={"x": 100 + i})
        elif kind == 5:
            r = await c.call("comments.create", roomId="r", id=f"th{i}", body=f"note {i}",
                             anchor={"kind": "point", "x": i, "y": 2})
        else:
            r = await c.call("annotations.upsert", roomId="r", annotation=rect(i))
        seqs.append(r["seq"])
    return seqs


def ids(listing: dict[str, Any]) -> list[str]:
    return sorted(a["id"] for a in listing["annotations"])


@pytest.mark.parametrize("big", [False, True], ids=["on-the-loop", "state-worker"])
async def test_an_export_a_version_and_a_revert_at_a_seq_only_the_disk_holds(
        stored_daemons: Started, tmp_path: Path, big: bool) -> None:
    history = {**TINY_MEMORY, **({"inline_encode_bytes": 1} if big else {})}
    d = await stored_daemons(tmp_path / "data", history=history)
    d.hub.create_room("r")
    live = d.hub.live("r")
    async with asyncio.timeout(T * 2), RoomClient(d.ws_url, "r", user_id="alice") as c:
        seqs = await work(c, 0, 3)
        early = seqs[1]  # a0 and a1 exist here
        at_early = await c.call("annotations.list", roomId="r", seq=early)
        assert ids(at_early) == ["a0", "a1"]
        await work(c, 3, 12)
        assert live.room.history.oldest_seq > early  # memory no longer holds it...
        info = await c.call("rooms.get", roomId="r")
        assert info["oldestSeq"] == 0  # ...the disk does, and the room says so
        assert (await c.call("annotations.list", roomId="r", seq=early)) == at_early

        job = await c.call("exports.create", roomId="r", format="svg", seq=early)
        assert job["seq"] == early
        done = await d.hub.exports.wait(job["jobId"])
        assert done.status == "done", done.to_json()
        _, svg = d.hub.exports.result(job["jobId"])
        assert b'data-id="a0"' in svg and b'data-id="a1"' in svg and b'data-id="a6"' not in svg

        version = await c.call("versions.create", roomId="r", tag="early", seq=early)
        assert version["seq"] == early
        tagged = await c.call("exports.create", roomId="r", format="svg", tag="early")
        assert (await d.hub.exports.wait(tagged["jobId"])).status == "done"
        tag_entry = b'<entry key="tag">early</entry>'
        assert d.hub.exports.result(tagged["jobId"])[1].replace(tag_entry, b"") == svg  # the same picture
        reverted = await c.call("versions.revert", roomId="r", tag="early")
        head = await c.call("annotations.list", roomId="r")
        assert head["seq"] == reverted["seq"] and ids(head) == ["a0", "a1"]
        assert [(a["id"], a["x"]) for a in head["annotations"]] == [(a["id"], a["x"]) for a in at_early["annotations"]]


async def test_a_seq_older_than_the_disk_keeps_is_gone_with_the_oldest_seq_it_keeps(
        stored_daemons: Started, tmp_path: Path) -> None:
    d = await stored_daemons(tmp_path / "data", history=TINY_MEMORY, storage={"keep_events": 9})
    d.hub.create_room("r")
    store = d.store
    assert store is not None
    async with asyncio.timeout(T), RoomClient(d.ws_url, "r", user_id="alice") as c:
        await work(c, 0, 30)
        assert (await c.call("rooms.get", roomId="r"))["oldestSeq"] == 0
        await asyncio.wrap_future(store.prune_now())
        info = await c.call("rooms.get", roomId="r")
        oldest = info["oldestSeq"]
        memory = d.hub.live("r").room.history.oldest_seq
        assert 0 < oldest < memory <= info["headSeq"] - 1  # the disk keeps more than memory, less than all
        assert oldest <= info["headSeq"] - 9  # and at least the newest keep_events events
        assert (await c.call("annotations.list", roomId="r", seq=oldest))["seq"] == oldest
        for method, params in [("annotations.list", {"seq": oldest - 1}),
                               ("exports.create", {"format": "svg", "seq": oldest - 1}),
                               ("versions.create", {"tag": "too-old", "seq": oldest - 1})]:
            with pytest.raises(RpcError) as err:
                await c.call(method, roomId="r", **params)
            assert err.value.code == -32010  # gone
            assert err.value.data == {"code": "gone", "field": "seq", "oldestSeq": oldest}
            assert err.value.error["message"] == f"seq {oldest - 1} was pruned; the oldest retained seq is {oldest}"
        async with aiohttp.ClientSession(base_url=d.http_url) as http:
            r = await http.get("/v1/rooms/r/annotations", params={"seq": str(oldest - 1)})
            assert r.status == 410
            assert (await r.json())["error"] == {
                "code": "gone", "message": f"seq {oldest - 1} was pruned; the oldest retained seq is {oldest}",
                "data": {"field": "seq", "oldestSeq": oldest}}
        with pytest.raises(RpcError) as err:
            await c.call("history.events", roomId="r", fromSeq=oldest, toSeq=oldest + 2)
        assert err.value.code == -32010 and err.value.data == {"code": "gone", "field": "fromSeq", "oldestSeq": oldest}
        page = await c.call("history.events", roomId="r", fromSeq=oldest + 1, toSeq=oldest + 2)
        assert [e["seq"] for e in page["events"]] == [oldest + 1, oldest + 2] and page["oldestSeq"] == oldest
        assert [v["tag"] for v in (await c.call("versions.list", roomId="r"))["versions"]] == []


async def test_history_events_across_memory_and_disk_match_an_all_in_memory_room(
        stored_daemons: Started, tmp_path: Path) -> None:
    deep = await stored_daemons(tmp_path / "data", history=TINY_MEMORY)
    whole = await stored_daemons(None)  # default retention: every step below is in memory
    answers = []
    for d in (deep, whole):
        d.hub.create_room("r")
        async with asyncio.timeout(T), RoomClient(d.ws_url, "r", user_id="alice") as c:
            await work(c, 0, 40)
            info = await c.call("rooms.get", roomId="r")
            assert info["oldestSeq"] == 0
            pages = [await c.call("history.events", roomId="r", fromSeq=f, toSeq=min(f + 6, info["headSeq"]))
                     for f in range(1, info["headSeq"] + 1, 7)]  # pages as a scrubber asks, across the boundary
            whole_range = await c.call("history.events", roomId="r", fromSeq=1)
            answers.append((pages, whole_range))
    assert deep.hub.live("r").room.history.oldest_seq > 30  # most of it came from the disk
    # the disk kept every snapshot memory dropped: any seq is a snapshot + fewer than 3 events
    store = deep.store
    assert store is not None
    head = deep.hub.live("r").head
    replayed = [len((await asyncio.to_thread(store.parts_at, "r", seq)).updates) for seq in range(head + 1)]
    assert max(replayed) == TINY_MEMORY["snapshot_every_ops"] - 1
    assert whole.hub.live("r").room.history.oldest_seq == 0
    assert answers[0] == answers[1]
    pages, whole_range = answers[0]
    assert [e for p in pages for e in p["events"]] == whole_range["events"]
    assert [e["seq"] for e in whole_range["events"]] == list(range(1, whole_range["headSeq"] + 1))
    assert {e["userId"] for e in whole_range["events"]} == {"annotd", "alice"}
    assert any(e["comments"] for e in whole_range["events"]) and any(e["annotations"]["deleted"] for e in whole_range["events"])


async def test_the_room_info_frame_advertises_the_disk_s_reach_to_a_scrubber(stored_daemons: Started, tmp_path: Path) -> None:
    d = await stored_daemons(tmp_path / "data", history=TINY_MEMORY)
    d.hub.create_room("r")
    async with asyncio.timeout(T), RoomClient(d.ws_url, "r", user_id="alice") as c:
        await work(c, 0, 10)
    async with asyncio.timeout(T), RoomClient(d.ws_url, "r", user_id="bob") as b:
        assert d.hub.live("r").room.history.oldest_seq > 1
        assert b.room_info["oldestSeq"] == 0
        listed = await b.call("snapshots.list", roomId="r")
        assert listed["oldestSeq"] == 0


async def test_the_disk_s_oldest_seq_moves_when_it_prunes(tmp_path: Path) -> None:
    from annotd.base.config import StorageConfig
    from annotd.core.history import Event, Snapshot
    from annotd.storage import RoomRecord

    with SqliteStore(tmp_path / "s", StorageConfig(keep_events=4)) as store:
        store.create_room(RoomRecord("r", "r", 0.0, "e"), Snapshot.of(0, 0.0, b"\x00\x00")).result(T)
        for seq in range(1, 11):
            store.append("r", Event(seq, 0.0, "u", b"\x00\x00"))
            if seq % 3 == 0:
                store.put_snapshot("r", Snapshot.of(seq, 0.0, b"\x00\x00"))
        store.append("r", Event(11, 0.0, "u", b"\x00\x00")).result(T)
        assert store.oldest_seq("r") == 0
        assert store.prune_now().result(T) == 6
        assert store.oldest_seq("r") == 6  # the newest snapshot leaving the newest 4 events
        assert store.oldest_seq("gone") is None
