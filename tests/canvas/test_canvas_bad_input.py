"""Bad canvas input: malformed annotations written by a raw Yjs client leave the room
working (the view repairs and reports), and API input is refused naming the field."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from annotd.client.roomclient import RoomClient, RpcError
from annotd.process.daemon import Daemon

from ..helpers import (
    Open,
    annotations_of,
    control_call,
    create_room,
    nested,
    ok,
    rest,
    settle,
    stored,
    wait_doc,
)
from ..nodepeer import Peers, stock_peer


async def test_malformed_annotations_leave_room_working(daemon: Daemon, http: aiohttp.ClientSession, clients: Open,
                                                        peers: Peers) -> None:
    await create_room(http)
    good = (await ok(http, "POST", "/v1/rooms/r1/annotations",
                     {"id": "good", "type": "rect", "x": 1, "y": 2, "w": 3, "h": 4}))["annotation"]
    await ok(http, "POST", "/v1/rooms/r1/comments", {"id": "th", "body": "on good",
                                                     "anchor": {"kind": "annotation", "annotationId": "good"}}, status=201)
    py = await clients("r1", "py")
    node = await stock_peer(peers, "r1", "vandal")
    huge = [float(i % 97) for i in range(2 * 10_000 + 5_000)]  # 12,500 points, over the 10,000 limit
    junk: dict[str, Any] = {
        "blob": {"type": "blob", "x": "NaN"},
        "strx": {"type": "rect", "x": "12", "y": 5, "w": 10, "h": 10},
        "huge": {"type": "freehand", "x": 0, "y": 0, "points": huge},
        "scalar": "not an object",
        "number": 42,
        "bad key!": {"type": "rect", "x": 0, "y": 0, "w": 1, "h": 1},
    }
    for key, value in junk.items():
        await node.request("set", key=key, value=value)
    await wait_doc(py, lambda: all(k in annotations_of(py.doc) for k in junk), "the junk at the Python client")

    status, body = await rest(http, "GET", "/v1/rooms/r1/annotations")
    assert status == 200, body
    by_id = {a["id"]: a for a in body["annotations"]}
    assert set(by_id) == {"good", "strx", "huge"}
    assert stored(by_id["good"]) == stored(good) and by_id["good"]["issues"] == []
    assert by_id["strx"]["x"] == 0 and any(i.startswith("x:") for i in by_id["strx"]["issues"])
    assert len(by_id["huge"]["points"]) == 2 * 10_000 and any("points" in i for i in by_id["huge"]["issues"])
    issues = " | ".join(body["issues"])
    for needle in ("annotations.blob.type", "annotations.scalar", "annotations.number", "bad key!"):
        assert needle in issues, (needle, body["issues"])
    rpc = await py.call("annotations.list")
    assert rpc["annotations"] == body["annotations"] and rpc["issues"] == body["issues"]
    assert (await ok(http, "GET", "/v1/rooms/r1/comments"))["threads"][0]["pin"] == {"x": 2.5, "y": 4}
    status, body = await rest(http, "GET", "/v1/rooms/r1/annotations/blob")
    assert status == 404

    # the room keeps relaying, and the API keeps writing, for everyone
    await node.request("setAnnotation", key="n1", value={"id": "n1", "type": "rect", "x": 7, "y": 7, "w": 7, "h": 7})
    await wait_doc(py, lambda: "n1" in annotations_of(py.doc), "node's annotation after the junk")
    nested(py, "good")["x"] = 50.0
    await node.request("untilPath", path=["good", "x"], equals=50)
    res = await ok(http, "PATCH", "/v1/rooms/r1/annotations/strx", {"y": 6})  # repaired, rewritten as a nested map
    assert res["annotation"]["issues"] == [] and (res["annotation"]["x"], res["annotation"]["y"]) == (0, 6)
    await node.request("untilPath", path=["strx", "y"], equals=6)
    assert (await node.request("dumpAnnotations"))["kinds"]["strx"] == {"entry": "Y.Map", "style": "Y.Map"}
    late = RoomClient(daemon.ws_url, "r1", user_id="late")
    async with late:
        await settle(daemon, "r1", py, late)
        assert annotations_of(late.doc) == annotations_of(py.doc) == annotations_of(daemon.hub.rooms["r1"].room.doc)
    assert await py.call("annotations.upsert", annotation={"id": "n2", "type": "ellipse"})
    await node.request("untilPath", path=["n2", "type"], equals="ellipse")
    assert (await node.request("stats"))["textFrames"] == 0


async def test_validation_errors_name_the_field(daemon: Daemon, http: aiohttp.ClientSession, clients: Open) -> None:
    await create_room(http)
    await ok(http, "POST", "/v1/rooms/r1/annotations", {"id": "a1", "type": "rect"})
    py = await clients("r1", "py")
    head = daemon.hub.rooms["r1"].room.head
    cases = [
        ({"type": "rect", "style": {"strokeWidth": -1}}, "annotation.style.strokeWidth"),
        ({"id": "a1", "style": {"strokeWidth": 1e9}}, "annotation.style.strokeWidth"),
        ({"id": "a1", "style": {"stroke": "red"}}, "annotation.style.stroke"),
        ({"type": "line", "points": [0, 0, 1, "x"]}, "annotation.points[3]"),
        ({"type": "rect", "x": 2e6}, "annotation.x"),
        ({"id": "a1", "type": "ellipse"}, "annotation.type"),
        ({"type": "rect", "text": "no"}, "annotation.text"),
        ({"type": "rect", "createdBy": "me"}, "annotation.createdBy"),
    ]
    for annotation, field in cases:
        status, body = await rest(http, "POST", "/v1/rooms/r1/annotations", annotation)
        assert status == 422 and body["error"]["code"] == "invalid_params", (annotation, body)
        assert body["error"]["data"]["field"] == field, (annotation, body)
        with pytest.raises(RpcError) as err:
            await py.call("annotations.upsert", annotation=annotation)
        assert err.value.code == -32602 and err.value.data["field"] == field, (annotation, err.value.error)
        reply = await control_call(daemon, "annotations.upsert", roomId="r1", annotation=annotation)
        assert reply["error"]["code"] == -32602 and reply["error"]["data"]["field"] == field, reply
    status, body = await rest(http, "PATCH", "/v1/rooms/r1/annotations/a1", {"style": {"strokeWidth": -1}})
    assert status == 422 and body["error"]["data"]["field"] == "annotation.style.strokeWidth"
    status, body = await rest(http, "PUT", "/v1/rooms/r1/annotations/a1", {"id": "zz"})
    assert status == 422 and body["error"]["data"]["field"] == "annotation.id"
    with pytest.raises(RpcError) as err:
        await py.call("comments.create", body="x", anchor={"kind": "point", "x": "1", "y": 0})
    assert err.value.code == -32602 and err.value.data["field"] == "anchor.x"
    status, body = await rest(http, "POST", "/v1/rooms/r1/annotations/a1/reorder", {"direction": "up"})
    assert status == 422 and body["error"]["data"]["field"] == "direction"
    assert daemon.hub.rooms["r1"].room.head == head, "a refused request must not write"
