"""Renaming a room (``rooms.update``): validated like ``rooms.create``'s name, announced to
everyone in the room at once (``rooms.renamed``), seen by later joiners and the rooms list,
kept by ``rooms.save_dir`` bundles (the ``rooms.data_dir`` case is in test_durable.py)."""

from __future__ import annotations

import aiohttp
import pytest

from annotd.client.roomclient import RoomClient
from annotd.process.daemon import Daemon

from ..conftest import DaemonFactory
from ..helpers import Open, create_room, ok, rest, within


async def test_a_rename_reaches_everyone_in_the_room_at_once(daemon: Daemon, http: aiohttp.ClientSession,
                                                              clients: Open) -> None:
    await create_room(http, "r1")
    alice = await clients("r1", "alice")
    bob = await clients("r1", "bob")
    assert alice.room_info["name"] == "r1"  # made without a name: its id stands in
    info = await within(alice.call("rooms.update", roomId="r1", name="Weld inspection, batch 7"))
    assert info["id"] == "r1" and info["name"] == "Weld inspection, batch 7"
    for c in (alice, bob):
        n = await within(c.wait_notification("rooms.renamed"))
        assert n["params"] == {"roomId": "r1", "name": "Weld inspection, batch 7", "renamedBy": "alice"}
        assert c.room_info["name"] == "Weld inspection, batch 7"  # the clients keep roomInfo current
    assert (await ok(http, "GET", "/v1/rooms/r1"))["name"] == "Weld inspection, batch 7"
    assert [r["name"] for r in (await ok(http, "GET", "/v1/rooms"))["rooms"]] == ["Weld inspection, batch 7"]
    later = await clients("r1", "carol")
    assert later.room_info["name"] == "Weld inspection, batch 7"
    # the name is metadata: no seq, nothing in the document's history
    assert info["headSeq"] == alice.last_seq


async def test_rename_over_rest_and_back_to_no_name(daemon: Daemon, http: aiohttp.ClientSession, clients: Open) -> None:
    await create_room(http, "r1")
    watcher = await clients("r1", "w")
    body = await ok(http, "PATCH", "/v1/rooms/r1", {"name": "Garden"}, user="bob")
    assert body["name"] == "Garden"
    n = await within(watcher.wait_notification("rooms.renamed"))
    assert n["params"]["renamedBy"] == "bob"
    assert (await ok(http, "PATCH", "/v1/rooms/r1", {"name": ""}))["name"] == "r1"  # as rooms.create with no name


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "x" * 201}, "name"),
    ({}, "name"),
    ({"name": 7}, "name"),
])
async def test_a_bad_name_is_refused_naming_the_field_and_nothing_changes(
        daemon: Daemon, http: aiohttp.ClientSession, body: dict[str, object], field: str) -> None:
    r = await http.post("/v1/rooms", json={"id": "r1", "name": "Kept"})
    assert r.status == 201
    status, data = await rest(http, "PATCH", "/v1/rooms/r1", body)
    assert status == 422, data
    assert data["error"]["code"] == "invalid_params"
    assert data["error"]["data"]["field"] == field
    assert (await ok(http, "GET", "/v1/rooms/r1"))["name"] == "Kept"


async def test_renaming_an_unknown_room_is_404(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    status, data = await rest(http, "PATCH", "/v1/rooms/nope", {"name": "X"})
    assert status == 404 and data["error"]["code"] == "room_not_found"


async def test_save_dir_keeps_the_new_name(make_daemon: DaemonFactory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    d1 = await make_daemon(rooms={"save_dir": str(tmp_path)})
    async with aiohttp.ClientSession(base_url=d1.http_url) as http:
        await create_room(http, "r1")
        await ok(http, "PATCH", "/v1/rooms/r1", {"name": "After the rename"})
    await d1.stop()
    d2 = await make_daemon(rooms={"save_dir": str(tmp_path)})
    async with aiohttp.ClientSession(base_url=d2.http_url) as http:
        assert (await ok(http, "GET", "/v1/rooms/r1"))["name"] == "After the rename"
    async with RoomClient(d2.ws_url, "r1", user_id="a") as c:
        assert c.room_info["name"] == "After the rename"
