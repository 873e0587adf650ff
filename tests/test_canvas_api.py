"""End-to-end tests of the canvas API (issue "Canvas model, comments and history").

Three kinds of client look at one room at the same time and must agree:

* the JSON API: REST on the side port and JSON-RPC on room sockets and ``/v1/ws``;
* an *unmodified* npm ``y-websocket`` client (``tests/interop/peer.mjs``) that writes the
  document the way ``annotd/canvas/SCHEMA.md`` tells frontend developers to (nested
  ``Y.Map`` per annotation, nested ``Y.Map`` style);
* the Python :class:`~annotd.client.RoomClient` (annotd.v1), whose ``Doc`` is a replica.

Synchronisation is by awaited events only (``flush``, ``wait_for_seq``, ``wait_until``,
the node peer's ``until``/``untilPath``, notifications), each bounded by
``asyncio.timeout(T)``; there is no sleep anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import aiohttp
import orjson
import pytest
from pycrdt import Doc, Map
from websockets.asyncio.client import connect

from annotd.canvas.fractional import key_between
from annotd.client import RoomClient, RpcError
from annotd.daemon import Daemon
from tests.conftest import DaemonFactory
from tests.test_interop import NodePeer, Peers, peers, stock_peer  # noqa: F401  (peers is a fixture)

from .helpers import make_room, settle

T = 20.0  # generous: a loaded 2-core machine running node peers next to the daemon
Open = Callable[..., Awaitable[RoomClient]]
J = dict[str, Any]

# One of each primitive, with non-default values for the fields of its type.
PRIMITIVES: dict[str, J] = {
    "text": {"type": "text", "x": 110, "y": 300, "w": 280, "h": 40, "text": "Crack in the weld ✓", "wrap": False,
             "style": {"stroke": "#1e1e1e", "fontFamily": "serif", "fontSize": 24, "fontWeight": "bold",
                       "textAlign": "center"}},
    "line": {"type": "line", "x": 5, "y": 6, "points": [0, 0, 30.5, 40.25], "startArrowhead": "dot",
             "style": {"strokeStyle": "dotted"}},
    "arrow": {"type": "arrow", "x": 500, "y": 120, "points": [0, 0, 90, 60], "endArrowhead": "triangle"},
    "rect": {"type": "rect", "x": 100, "y": 80, "w": 300, "h": 200,
             "style": {"fill": "#ffec9933", "strokeWidth": 3, "strokeStyle": "dashed"}},
    "ellipse": {"type": "ellipse", "x": 40, "y": 50, "w": 60, "h": 30, "rotation": -30, "style": {"opacity": 0.5}},
    "polygon": {"type": "polygon", "x": 700, "y": 400, "points": [0, 0, 120, 10, 60, 100], "closed": False,
                "rotation": 15},
    "freehand": {"type": "freehand", "x": 50, "y": 600, "points": [0, 0, 10.5, 4.25, 25, 12.25, 42.5, 8],
                 "pressures": [0.3, 0.5, 0.625, 0.4]},
}


# -- helpers ----------------------------------------------------------------------------


async def rest(http: aiohttp.ClientSession, method: str, path: str, body: Any = None, *,
               user: str = "rest", params: dict[str, Any] | None = None) -> tuple[int, Any]:
    kw: dict[str, Any] = {"headers": {"X-Annotd-User": user}}
    if body is not None:
        kw["json"] = body
    if params is not None:
        kw["params"] = params
    async with http.request(method, path, **kw) as r:
        return r.status, await r.json()


async def ok(http: aiohttp.ClientSession, method: str, path: str, body: Any = None, *, status: int = 200,
             user: str = "rest", params: dict[str, Any] | None = None) -> Any:
    got, data = await rest(http, method, path, body, user=user, params=params)
    assert got == status, (method, path, got, data)
    return data


async def within(aw: Awaitable[Any], what: str = "") -> Any:
    try:
        async with asyncio.timeout(T):
            return await aw
    except TimeoutError:
        raise AssertionError(f"timed out after {T}s waiting for {what}") from None


async def wait_doc(c: RoomClient, pred: Callable[[], bool], what: str) -> None:
    """``RoomClient.wait_until`` bounded by ``T``, with a readable failure."""
    try:
        async with asyncio.timeout(T):
            await c.wait_until(pred)
    except TimeoutError:
        raise AssertionError(f"{c.user_id}: timed out after {T}s waiting for {what}; "
                             f"annotations={ann_map(c.doc)!r} comments={comments_map(c.doc)!r}") from None


def ann_map(doc: Doc[Any]) -> J:
    return doc.get("annotations", type=Map).to_py() or {}


def comments_map(doc: Doc[Any]) -> J:
    return doc.get("comments", type=Map).to_py() or {}


def stored(a: J) -> J:
    """An annotation's API JSON as it is stored in the document (the API adds ``issues``)."""
    return {k: v for k, v in a.items() if k != "issues"}


def unstamped(a: J) -> J:
    return {k: v for k, v in stored(a).items() if k not in ("updatedBy", "updatedAt")}


def paint_order(anns: Iterable[J]) -> list[tuple[str, str]]:
    return sorted((a["z"], a["id"]) for a in anns)


def expect_fields(ann: J, spec: J) -> None:
    """Every field of ``spec`` (style property by property) is in ``ann`` as the API stores it."""
    for k, v in spec.items():
        if k == "style":
            for sk, sv in v.items():
                assert ann["style"][sk] == sv, (ann["id"], sk)
        elif k == "rotation":
            assert ann[k] == v % 360, ann["id"]
        else:
            assert ann[k] == v, (ann["id"], k, ann[k], v)




def nested(c: RoomClient, ann_id: str) -> Map:
    m = c.doc.get("annotations", type=Map)[ann_id]
    assert isinstance(m, Map), f"{ann_id} is not a nested map at {c.user_id}"
    return m


@contextlib.asynccontextmanager
async def clients_on(d: Daemon) -> AsyncIterator[Open]:
    opened: list[RoomClient] = []

    async def open_client(room_id: str, user_id: str = "u") -> RoomClient:
        c = RoomClient(d.ws_url, room_id, user_id=user_id)
        await within(c.connect(), f"{user_id} to join {room_id}")
        opened.append(c)
        return c

    try:
        yield open_client
    finally:
        for c in opened:
            await c.close()


async def control_call(d: Daemon, method: str, **params: Any) -> J:
    """One JSON-RPC call on the ``/v1/ws`` control socket; the whole reply object."""
    async with connect(f"{d.ws_url}/v1/ws?userId=ctl") as ws:
        await ws.send(orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).decode())
        reply: J = orjson.loads(await within(ws.recv(), f"reply to {method}"))
    assert reply["id"] == 1
    return reply


# -- 1. primitives and transforms across the three surfaces -----------------------------------
async def test_primitives_and_transforms_round_trip(daemon: Daemon, http: aiohttp.ClientSession, clients: Open,
                                                    peers: Peers) -> None:  # noqa: F811
    await make_room(http)
    py = await clients("r1", "py")
    node = await stock_peer(peers, "r1", "node")

    # API -> node and Python: REST and JSON-RPC alternate.
    api: dict[str, J] = {}
    last_seq = 0
    for i, (kind, spec) in enumerate(PRIMITIVES.items()):
        body = {"id": f"api-{kind}", **spec}
        if i % 2:
            res = await py.call("annotations.upsert", annotation=body)
            assert res["annotation"]["createdBy"] == "py"
        else:
            res = await ok(http, "POST", "/v1/rooms/r1/annotations", body)
            assert res["annotation"]["createdBy"] == "rest"
        ann = res["annotation"]
        expect_fields(ann, body)
        assert ann["issues"] == [], ann
        if kind in ("line", "arrow", "polygon", "freehand"):
            xs, ys = spec["points"][0::2], spec["points"][1::2]
            assert (ann["w"], ann["h"]) == (max(xs) - min(xs), max(ys) - min(ys))
        api[ann["id"]] = ann
        last_seq = res["seq"]
    assert api["api-text"]["style"]["strokeWidth"] == 2 and api["api-rect"]["style"]["fontSize"] == 16  # defaults
    assert api["api-arrow"]["startArrowhead"] == "none" and api["api-line"]["endArrowhead"] == "none"
    for ann_id, ann in api.items():
        assert await node.until(stored(ann), key=ann_id) == stored(ann)
    dump = await node.request("dumpAnnotations")
    assert all(dump["kinds"][a] == {"entry": "Y.Map", "style": "Y.Map"} for a in api), dump["kinds"]
    await within(py.wait_for_seq(last_seq), "the Python client to reach the last create")
    for ann_id, ann in api.items():
        assert ann_map(py.doc)[ann_id] == stored(ann)
        assert isinstance(nested(py, ann_id)["style"], Map)
    listed = (await ok(http, "GET", "/v1/rooms/r1/annotations"))["annotations"]
    assert [a["id"] for a in listed] == list(api)  # created in order: each at the front

    # node (nested Y.Maps, as SCHEMA.md shows) -> annotations.list and Python.
    by_node: dict[str, J] = {}
    z = listed[-1]["z"]
    for kind in PRIMITIVES:
        z = key_between(z, None)
        value = {**stored(api[f"api-{kind}"]), "id": f"node-{kind}", "createdBy": "node", "updatedBy": "node",
                 "updatedAt": 1764160000000, "z": z}
        value["x"] += 1000
        by_node[value["id"]] = value
        await node.request("setAnnotation", key=value["id"], value=value)
    await wait_doc(py, lambda: all(ann_map(py.doc).get(k) == v for k, v in by_node.items()),
                   "node's annotations at the Python client")
    assert all(isinstance(nested(py, k)["style"], Map) for k in by_node)
    listed = (await ok(http, "GET", "/v1/rooms/r1/annotations"))["annotations"]
    assert [a["id"] for a in listed] == list(api) + list(by_node)
    for a in listed[len(api):]:
        assert a["issues"] == [], a
        assert stored(a) == by_node[a["id"]]
        assert await py.call("annotations.get", id=a["id"]) == a

    # -- transforms: each surface acts, the other two see it ------------------------------
    # move
    res = await ok(http, "PATCH", "/v1/rooms/r1/annotations/api-rect", {"x": 150, "y": 90})
    assert (res["annotation"]["x"], res["annotation"]["y"]) == (150, 90)
    await node.request("untilPath", path=["api-rect", "x"], equals=150)
    res = await py.call("annotations.upsert", annotation={"id": "api-freehand", "x": 60, "y": 610})
    assert res["annotation"]["points"] == PRIMITIVES["freehand"]["points"]  # offsets: a move rewrites x, y only
    assert res["annotation"]["pressures"] == PRIMITIVES["freehand"]["pressures"]
    assert await node.request("untilPath", path=["api-freehand"], equals=stored(res["annotation"]))
    await within(py.wait_for_seq(res["seq"]))
    assert ann_map(py.doc)["api-rect"]["y"] == 90
    await node.request("patch", key="node-ellipse", fields={"x": 11, "y": 12})
    await wait_doc(py, lambda: ann_map(py.doc)["node-ellipse"]["x"] == 11, "node's move")
    got = await ok(http, "GET", "/v1/rooms/r1/annotations/node-ellipse")
    assert (got["x"], got["y"], got["issues"]) == (11, 12, [])
    nested(py, "node-polygon")["x"] = 1234.5
    await within(py.flush())
    assert (await ok(http, "GET", "/v1/rooms/r1/annotations/node-polygon"))["x"] == 1234.5
    await node.request("untilPath", path=["node-polygon", "x"], equals=1234.5)

    # resize
    res = await ok(http, "PATCH", "/v1/rooms/r1/annotations/api-rect", {"w": 320, "h": 210})
    await node.request("untilPath", path=["api-rect", "w"], equals=320)
    await within(py.wait_for_seq(res["seq"]))
    assert ann_map(py.doc)["api-rect"]["h"] == 210
    await node.request("patch", key="node-ellipse", fields={"w": 70, "h": 35})
    await wait_doc(py, lambda: ann_map(py.doc)["node-ellipse"]["h"] == 35, "node's resize")
    got = await py.call("annotations.get", id="node-ellipse")
    assert (got["w"], got["h"]) == (70, 35)
    res = await py.call("annotations.upsert", annotation={"id": "api-line", "points": [0, 0, 60, 80.5]})
    assert (res["annotation"]["w"], res["annotation"]["h"]) == (60, 80.5)  # bbox follows the points
    await node.request("untilPath", path=["api-line"], equals=stored(res["annotation"]))

    # rotate (the API normalizes to [0, 360))
    res = await py.call("annotations.upsert", annotation={"id": "api-text", "rotation": 390})
    assert res["annotation"]["rotation"] == 30
    await node.request("untilPath", path=["api-text", "rotation"], equals=30)
    await node.request("patch", key="node-polygon", fields={"rotation": 45})
    await wait_doc(py, lambda: ann_map(py.doc)["node-polygon"]["rotation"] == 45, "node's rotation")
    assert (await ok(http, "GET", "/v1/rooms/r1/annotations/node-polygon"))["rotation"] == 45
    nested(py, "api-rect")["rotation"] = 10.0
    await within(py.flush())
    await node.request("untilPath", path=["api-rect", "rotation"], equals=10)
    assert (await ok(http, "GET", "/v1/rooms/r1/annotations/api-rect"))["rotation"] == 10

    # restyle, one nested style field at a time
    before = (await ok(http, "GET", "/v1/rooms/r1/annotations/api-rect"))["style"]
    res = await ok(http, "PATCH", "/v1/rooms/r1/annotations/api-rect", {"style": {"stroke": "#00ff00"}})
    assert res["annotation"]["style"] == {**before, "stroke": "#00ff00"}
    await node.request("untilPath", path=["api-rect", "style"], equals={**before, "stroke": "#00ff00"})
    await node.request("patch", key="node-ellipse", style={"strokeStyle": "dotted"})
    await wait_doc(py, lambda: ann_map(py.doc)["node-ellipse"]["style"]["strokeStyle"] == "dotted", "node's restyle")
    got = await ok(http, "GET", "/v1/rooms/r1/annotations/node-ellipse")
    assert got["style"] == {**by_node["node-ellipse"]["style"], "strokeStyle": "dotted"} and got["issues"] == []
    nested(py, "api-rect")["style"]["opacity"] = 0.25
    await within(py.flush())
    assert (await py.call("annotations.get", id="api-rect"))["style"]["opacity"] == 0.25
    # concurrent edits of two style properties of one annotation both survive
    fut = node.send("patch", key="api-rect", style={"strokeWidth": 7})
    await node.flush()
    res = await ok(http, "PATCH", "/v1/rooms/r1/annotations/api-rect", {"style": {"fill": "#112233"}})
    await node.reply(fut, "patch strokeWidth")
    want_style = {**before, "stroke": "#00ff00", "opacity": 0.25, "strokeWidth": 7, "fill": "#112233"}
    await node.request("untilPath", path=["api-rect", "style"], equals=want_style)
    await wait_doc(py, lambda: ann_map(py.doc)["api-rect"]["style"] == want_style, "both style edits")
    assert (await ok(http, "GET", "/v1/rooms/r1/annotations/api-rect"))["style"] == want_style
    assert (await node.request("dumpAnnotations"))["kinds"]["api-rect"] == {"entry": "Y.Map", "style": "Y.Map"}

    # reorder: by the API, by node (writing z), by Python (writing z)
    res = await ok(http, "POST", "/v1/rooms/r1/annotations/api-rect/reorder", {"direction": "front"})
    await node.request("untilPath", path=["api-rect", "z"], equals=res["z"])
    await within(py.wait_for_seq(res["seq"]))
    listed = (await py.call("annotations.list"))["annotations"]
    assert listed[-1]["id"] == "api-rect" and ann_map(py.doc)["api-rect"]["z"] == res["z"]
    bottom = key_between(None, listed[0]["z"])
    await node.request("patch", key="node-freehand", fields={"z": bottom})
    await wait_doc(py, lambda: ann_map(py.doc)["node-freehand"]["z"] == bottom, "node's reorder")
    assert (await ok(http, "GET", "/v1/rooms/r1/annotations"))["annotations"][0]["id"] == "node-freehand"
    res = await py.call("annotations.reorder", id="api-rect", direction="backward")
    listed = (await ok(http, "GET", "/v1/rooms/r1/annotations"))["annotations"]
    assert listed[-2]["id"] == "api-rect"
    await node.request("untilPath", path=["api-rect", "z"], equals=res["z"])
    nested(py, "api-text")["z"] = key_between(listed[-1]["z"], None)
    await within(py.flush())
    assert (await ok(http, "GET", "/v1/rooms/r1/annotations"))["annotations"][-1]["id"] == "api-text"

    # group / ungroup: by the API, and a group written by node undone by the API
    res = await py.call("annotations.group", ids=["api-rect", "node-ellipse"], groupId="g1")
    assert res["groupId"] == "g1"
    await node.request("untilPath", path=["node-ellipse", "groupIds"], equals=["g1"])
    await node.request("untilPath", path=["api-rect", "groupIds"], equals=["g1"])
    await node.request("patch", key="node-polygon", fields={"groupIds": ["g2"]})
    await node.request("patch", key="api-freehand", fields={"groupIds": ["g2"]})
    await wait_doc(py, lambda: ann_map(py.doc)["api-freehand"]["groupIds"] == ["g2"], "node's grouping")
    res = await ok(http, "DELETE", "/v1/rooms/r1/groups/g2")
    assert res["members"] == ["api-freehand", "node-polygon"]
    await node.request("untilPath", path=["node-polygon", "groupIds"], equals=[])
    await node.request("untilPath", path=["api-freehand", "groupIds"], equals=[])
    res = await ok(http, "DELETE", "/v1/rooms/r1/groups/g1")
    assert res["members"] == ["api-rect", "node-ellipse"]
    await node.request("untilPath", path=["api-rect", "groupIds"], equals=[])
    status, err = await rest(http, "DELETE", "/v1/rooms/r1/groups/g1")
    assert status == 404 and err["error"]["code"] == "not_found"

    # in the end all three surfaces hold the same annotations
    await settle(daemon, "r1", py)
    final = {a["id"]: stored(a) for a in (await ok(http, "GET", "/v1/rooms/r1/annotations"))["annotations"]}
    assert ann_map(py.doc) == final
    assert await node.until(final) == final
    assert (await node.request("stats"))["textFrames"] == 0


# -- 2. concurrent reorder and grouping from three clients -------------------------------------
async def test_concurrent_reorder_and_grouping_converge(daemon: Daemon, http: aiohttp.ClientSession,
                                                        clients: Open) -> None:
    await make_room(http)
    ids = [f"s{i}" for i in range(8)]
    for i, ann_id in enumerate(ids):
        await ok(http, "POST", "/v1/rooms/r1/annotations",
                 {"id": ann_id, "type": "rect", "x": i * 10, "y": 0, "w": 5, "h": 5})
    cs = [await clients("r1", f"u{i}") for i in range(3)]
    await settle(daemon, "r1", *cs)

    def write_z(c: RoomClient, ann_id: str, z: str) -> None:
        nested(c, ann_id)["z"] = z

    zs = [a["z"] for a in (await cs[0].call("annotations.list"))["annotations"]]
    mid = key_between(zs[3], zs[4])
    for round_ in range(3):
        calls = [
            cs[0].call("annotations.reorder", id="s0", direction="front"),
            cs[1].call("annotations.reorder", id="s0", direction="back"),
            cs[2].call("annotations.reorder", id="s7", direction="backward"),
            cs[0].call("annotations.reorder", id="s3", direction="forward"),
            cs[1].call("annotations.reorder", id=f"s{5 + round_}", direction="front"),
            cs[2].call("annotations.reorder", id="s1", direction="back"),
        ]
        # raw z writes at the same time: the same key on different annotations (a tie, broken
        # by id) and different keys on one annotation (last writer wins)
        write_z(cs[0], "s2", mid)
        write_z(cs[1], "s4", mid)
        write_z(cs[2], "s2", key_between(None, zs[0]))
        write_z(cs[1], "s6", key_between(zs[-1], None))
        await within(asyncio.gather(*calls), "concurrent reorders")
        groups = [
            cs[0].call("annotations.group", ids=["s1", "s2", "s3"], groupId=f"gA{round_}"),
            cs[1].call("annotations.group", ids=["s3", "s4"], groupId=f"gB{round_}"),
            cs[2].call("annotations.group", ids=["s5", "s6", "s7"], groupId=f"gC{round_}"),
        ]
        nested(cs[2], "s0")["groupIds"] = [f"raw{round_}"]
        nested(cs[0], "s7")["groupIds"] = [f"raw{round_}"]
        await within(asyncio.gather(*groups), "concurrent groupings")
        ungroups = [
            cs[1].call("annotations.ungroup", groupId=f"gA{round_}"),
            cs[0].call("annotations.reorder", id="s4", direction="front"),
            cs[2].call("annotations.ungroup", groupId=f"raw{round_}"),
            cs[0].call("annotations.group", ids=["s0", "s1"], groupId=f"gD{round_}"),
        ]
        write_z(cs[2], "s3", mid)  # ties with s5 (below): broken by id
        write_z(cs[1], "s5", mid)
        results = await within(asyncio.gather(*ungroups, return_exceptions=True), "concurrent ungroups")
        for r in results:  # a raw grouping may not have reached the server yet: NotFound is fine
            assert not isinstance(r, BaseException) or (isinstance(r, RpcError) and r.code == -32004), r

    head = await settle(daemon, "r1", *cs)
    listed = (await cs[0].call("annotations.list"))["annotations"]
    assert all(a["issues"] == [] for a in listed)
    order = [(a["z"], a["id"]) for a in listed]
    assert sorted(a["id"] for a in listed) == ids
    assert order == sorted(order), "annotations.list is not in (z, id) order"
    assert len({z for z, _ in order}) < len(order), "expected at least one tie on z (broken by id)"
    group_ids = {a["id"]: a["groupIds"] for a in listed}
    server = ann_map(daemon.hub.rooms["r1"].doc)
    for c in cs:
        doc = ann_map(c.doc)
        assert doc == server, c.user_id
        assert paint_order(doc.values()) == order, c.user_id
        assert {k: v["groupIds"] for k, v in doc.items()} == group_ids, c.user_id
        other = await c.call("annotations.list")
        assert other["seq"] == head and other["annotations"] == listed
    rest_list = await ok(http, "GET", "/v1/rooms/r1/annotations")
    assert rest_list["annotations"] == listed


# -- 3. a comment's lifecycle, seen by every client ----------------------------------------
async def test_comment_lifecycle_and_detach(make_daemon: DaemonFactory, peers: Peers) -> None:  # noqa: F811
    # snapshot_every_ops=1: the tick that detaches orphaned threads (hub.maintain) runs just
    # before the snapshot policy in the same loop iteration, so a "snapshots.created"
    # notification for seq S proves the tick has recorded every pin as of S.
    d = await make_daemon(history={"snapshot_every_ops": 1})
    async with aiohttp.ClientSession(base_url=d.http_url) as http, clients_on(d) as clients:
        await make_room(http)
        await ok(http, "POST", "/v1/rooms/r1/annotations", {"id": "c1", "type": "rect", "x": 100, "y": 80, "w": 300, "h": 200})
        alice = await clients("r1", "alice")
        bob = await clients("r1", "bob")
        node = await stock_peer(peers, "r1", "carol", on=d)
        room = d.hub.rooms["r1"]

        async def everyone_agrees() -> list[J]:
            """All clients at the head; comments.list equal on every surface; every
            replica's comments map equal to the server's. Returns the threads."""
            await settle(d, "r1", alice, bob)
            server_doc = comments_map(room.doc)
            assert comments_map(alice.doc) == server_doc
            assert comments_map(bob.doc) == server_doc
            assert await node.until(server_doc, map="comments") == server_doc
            threads = (await alice.call("comments.list"))["threads"]
            assert (await bob.call("comments.list"))["threads"] == threads
            assert (await ok(http, "GET", "/v1/rooms/r1/comments"))["threads"] == threads
            assert (await control_call(d, "comments.list", roomId="r1"))["result"]["threads"] == threads
            return threads

        res = await alice.call("comments.create", id="th1", body="Is this the crack?",
                               anchor={"kind": "annotation", "annotationId": "c1", "offsetX": 1, "offsetY": 0})
        th = res["thread"]
        assert th["anchor"] == {"kind": "annotation", "annotationId": "c1", "offsetX": 1, "offsetY": 0, "x": 400, "y": 80}
        assert th["pin"] == {"x": 400, "y": 80} and th["status"] == "open" and th["createdBy"] == "alice"
        m1 = th["messages"][0]
        assert (m1["author"], m1["body"], m1["editedAt"], m1["deleted"]) == ("alice", "Is this the crack?", None, False)
        [t] = await everyone_agrees()
        assert t == th
        assert isinstance(alice.doc.get("comments", type=Map)["th1"]["messages"], Map)

        m2 = (await bob.call("comments.reply", commentId="th1", body="Yes — marked."))["message"]
        assert m2["author"] == "bob"
        [t] = await everyone_agrees()
        assert [m["id"] for m in t["messages"]] == [m1["id"], m2["id"]]

        edited = (await alice.call("comments.update", commentId="th1", action="edit", body="Is this the weld crack?"))["result"]
        assert edited["id"] == m1["id"] and edited["body"] == "Is this the weld crack?" and edited["editedAt"] is not None
        [t] = await everyone_agrees()
        assert t["messages"][0] == edited

        # someone else's message: refused on both surfaces, with the same error
        head = room.head
        with pytest.raises(RpcError) as err:
            await bob.call("comments.update", commentId="th1", action="edit", messageId=m1["id"], body="mine now")
        assert err.value.code == -32003 and err.value.data["code"] == "forbidden"
        assert err.value.data["messageId"] == m1["id"]
        with pytest.raises(RpcError) as err:
            await bob.call("comments.update", commentId="th1", action="delete", messageId=m1["id"])
        assert err.value.code == -32003
        status, body = await rest(http, "PATCH", "/v1/rooms/r1/comments/th1",
                                  {"action": "edit", "messageId": m1["id"], "body": "mine now"}, user="bob")
        assert status == 403 and body["error"]["code"] == "forbidden"
        assert room.head == head, "a refused edit must not write"

        gone = (await bob.call("comments.update", commentId="th1", action="delete", messageId=m2["id"]))["result"]
        assert (gone["id"], gone["deleted"], gone["body"]) == (m2["id"], True, "")
        [t] = await everyone_agrees()
        assert t["messages"][1] == gone and len(t["messages"]) == 2  # soft: keeps its place
        assert comments_map(alice.doc)["th1"]["messages"][m2["id"]]["deleted"] is True
        with pytest.raises(RpcError) as err:
            await bob.call("comments.update", commentId="th1", action="edit", messageId=m2["id"], body="back")
        assert err.value.code == -32009

        resolved = (await ok(http, "PATCH", "/v1/rooms/r1/comments/th1", {"action": "resolve"}, user="alice"))["result"]
        assert (resolved["status"], resolved["resolvedBy"]) == ("resolved", "alice")
        [t] = await everyone_agrees()
        assert t["status"] == "resolved" and comments_map(bob.doc)["th1"]["resolvedBy"] == "alice"
        assert (await bob.call("comments.list", state="open"))["threads"] == []
        assert [x["id"] for x in (await bob.call("comments.list", state="resolved"))["threads"]] == ["th1"]

        reopened = (await bob.call("comments.update", commentId="th1", action="reopen"))["result"]
        assert (reopened["status"], reopened["resolvedBy"], reopened["resolvedAt"]) == ("open", None, None)
        [t] = await everyone_agrees()
        assert "resolvedBy" not in comments_map(alice.doc)["th1"]
        assert await node.request("untilPath", map="comments", path=["th1", "status"], equals="open")

        # the pin follows its annotation (move, resize, rotate)
        await ok(http, "PATCH", "/v1/rooms/r1/annotations/c1", {"x": 200})
        [t] = await everyone_agrees()
        assert t["pin"] == {"x": 500, "y": 80} and t["anchor"]["kind"] == "annotation"
        await node.request("patch", key="c1", fields={"w": 400, "h": 100})
        await wait_doc(alice, lambda: ann_map(alice.doc)["c1"]["w"] == 400, "node's resize")
        [t] = await everyone_agrees()
        assert t["pin"] == {"x": 600, "y": 80}
        await alice.call("annotations.upsert", annotation={"id": "c1", "rotation": 90})
        [t] = await everyone_agrees()
        # centre (400, 130); the top-right corner (+200, -50) turned 90° clockwise: (+50, +200)
        assert t["pin"]["x"] == pytest.approx(450) and t["pin"]["y"] == pytest.approx(330)
        assert (await alice.call("comments.list", annotationId="c1"))["threads"] == [t]

        # deleted through the API: the thread keeps its last pin and says detachedFrom
        await ok(http, "POST", "/v1/rooms/r1/annotations", {"id": "c2", "type": "ellipse", "x": 0, "y": 0, "w": 10, "h": 10})
        await bob.call("comments.create", id="th2", body="centre", anchor={"kind": "annotation", "annotationId": "c2"})
        await node.request("patch", key="c2", fields={"x": 40, "y": 60})  # pin is now (45, 65), not the stored (5, 5)
        await wait_doc(bob, lambda: ann_map(bob.doc)["c2"]["x"] == 40, "node's move of c2")
        res = await ok(http, "DELETE", "/v1/rooms/r1/annotations/c2")
        assert res["deleted"] == ["c2"]
        detached = {"kind": "point", "x": 45, "y": 65, "detachedFrom": "c2"}
        await node.request("untilPath", map="comments", path=["th2", "anchor"], equals=detached)
        threads = await everyone_agrees()
        th2 = next(x for x in threads if x["id"] == "th2")
        assert th2["anchor"] == detached and th2["pin"] == {"x": 45, "y": 65}
        assert [m["body"] for m in th2["messages"]] == ["centre"]
        assert (await alice.call("comments.list", anchorKind="point"))["threads"] == [th2]

        # deleted by a raw Yjs client: the daemon's tick detaches the thread at its last pin
        await ok(http, "POST", "/v1/rooms/r1/annotations", {"id": "c3", "type": "rect", "x": 0, "y": 0, "w": 20, "h": 20})
        await alice.call("comments.create", id="th3", body="corner",
                         anchor={"kind": "annotation", "annotationId": "c3", "offsetX": 0, "offsetY": 1})
        await node.request("patch", key="c3", fields={"x": 300, "y": 400})  # pin (300, 420)
        await wait_doc(alice, lambda: ann_map(alice.doc).get("c3", {}).get("x") == 300, "node's move of c3")
        moved = await settle(d, "r1", alice, bob)
        await wait_doc(alice, lambda: any(n["method"] == "snapshots.created" and n["params"]["seq"] >= moved
                                          for n in alice.notifications), "a tick after the move")
        await node.request("delete", key="c3")
        want = {"kind": "point", "x": 300, "y": 420, "detachedFrom": "c3"}
        try:
            async with asyncio.timeout(T):
                await alice.wait_until(lambda: comments_map(alice.doc)["th3"]["anchor"] == want)
        except TimeoutError:
            raise AssertionError(f"th3 not detached after a raw delete: {comments_map(alice.doc)['th3']['anchor']}") from None
        await node.request("untilPath", map="comments", path=["th3", "anchor"], equals=want)
        threads = await everyone_agrees()
        th3 = next(x for x in threads if x["id"] == "th3")
        assert th3["anchor"] == want and th3["pin"] == {"x": 300, "y": 420}
        assert [x["id"] for x in threads] == ["th1", "th2", "th3"]
        assert (await alice.call("comments.list", anchorKind="annotation"))["threads"] == [threads[0]]
        view = await ok(http, "GET", "/v1/rooms/r1/annotations")
        assert [a["id"] for a in view["annotations"]] == ["c1"] and view["issues"] == []


# -- 4. revert while two clients keep editing ---------------------------------------------
async def test_revert_while_clients_edit_converges(daemon: Daemon, http: aiohttp.ClientSession,
                                                   clients: Open) -> None:
    await make_room(http)
    base = "/v1/rooms/r1"
    await ok(http, "POST", f"{base}/annotations", {"id": "t1", "type": "rect", "x": 10, "y": 10, "w": 50, "h": 50})
    await ok(http, "POST", f"{base}/annotations", {"id": "t2", "type": "ellipse", "x": 100, "y": 10, "w": 30, "h": 30,
                                                   "style": {"stroke": "#0000ff"}})
    await ok(http, "POST", f"{base}/annotations", {"id": "t3", "type": "text", "x": 5, "y": 200, "text": "keep me"})
    await ok(http, "POST", f"{base}/annotations", {"id": "o1", "type": "rect", "x": 0, "y": 500, "w": 10, "h": 10})
    await ok(http, "POST", f"{base}/annotations", {"id": "o2", "type": "freehand", "x": 0, "y": 600, "points": [0, 0, 5, 5]})
    await ok(http, "POST", f"{base}/groups", {"ids": ["t1", "t2"], "groupId": "g1"}, status=201)
    await ok(http, "POST", f"{base}/comments", {"id": "th1", "body": "look",
                                               "anchor": {"kind": "annotation", "annotationId": "t1"}}, status=201)
    a = await clients("r1", "ann")
    b = await clients("r1", "ben")
    v1 = await a.call("versions.create", tag="v1")
    assert v1["tag"] == "v1" and v1["seq"] == daemon.hub.rooms["r1"].head and v1["createdBy"] == "ann"
    tagged = (await ok(http, "GET", f"{base}/annotations", params={"tag": "v1"}))["annotations"]
    assert [x["id"] for x in tagged] == ["t1", "t2", "t3", "o1", "o2"]
    await within(b.wait_until(lambda: any(n["method"] == "versions.created" for n in b.notifications)))

    # changes after the tag (all undone by the revert), and comments (all kept)
    await ok(http, "PATCH", f"{base}/annotations/t1", {"x": 400, "style": {"stroke": "#000000"}})
    await b.call("annotations.reorder", id="t2", direction="back")
    await ok(http, "DELETE", f"{base}/annotations/t3")
    await ok(http, "POST", f"{base}/annotations", {"id": "t4", "type": "arrow", "x": 1, "y": 1, "points": [0, 0, 9, 9]})
    await a.call("annotations.ungroup", groupId="g1")
    await a.call("annotations.upsert", annotation={"id": "o1", "y": 999})
    await ok(http, "POST", f"{base}/comments/th1/replies", {"body": "after the tag"}, status=201)
    await b.call("comments.create", id="th4", body="on t4", anchor={"kind": "annotation", "annotationId": "t4",
                                                                    "offsetX": 1, "offsetY": 1})
    await settle(daemon, "r1", a, b)

    # two clients keep editing their own annotations while someone reverts
    reverted = asyncio.Event()
    started = [asyncio.Event(), asyncio.Event()]
    last: dict[str, J] = {}

    async def editor(c: RoomClient, ann_id: str, n: int) -> None:
        i = after = 0
        while after < 3:
            ymap = nested(c, ann_id)
            with c.doc.transaction():
                ymap["x"] = 1000.0 + i
                ymap["style"]["stroke"] = f"#{i % 256:02x}{n:02x}00"
            last[ann_id] = {"x": 1000.0 + i, "stroke": f"#{i % 256:02x}{n:02x}00"}
            await c.flush()
            i += 1
            if i >= 2:
                started[n].set()
            if reverted.is_set():
                after += 1

    async def revert() -> J:
        await within(asyncio.gather(started[0].wait(), started[1].wait()), "both editors to start")
        try:
            return await ok(http, "POST", f"{base}/versions/v1:revert", {}, user="rev")
        finally:
            reverted.set()

    res, _, _ = await within(asyncio.gather(revert(), editor(a, "o1", 0), editor(b, "o2", 1)), "revert and edits")
    assert res["tag"] == "v1"
    assert res["changes"]["created"] == ["t3"] and res["changes"]["deleted"] == ["t4"]
    assert {"t1", "t2", "o1"} <= set(res["changes"]["updated"])
    head = await settle(daemon, "r1", a, b)
    assert head > res["seq"]

    # one state everywhere
    server = daemon.hub.rooms["r1"].doc
    for c in (a, b):
        assert ann_map(c.doc) == ann_map(server), c.user_id
        assert comments_map(c.doc) == comments_map(server), c.user_id
    now = (await ok(http, "GET", f"{base}/annotations"))["annotations"]
    assert {x["id"]: stored(x) for x in now} == ann_map(server)
    assert all(x["issues"] == [] for x in now)

    # = the tagged canvas + the edits sequenced after the revert
    expected = {x["id"]: unstamped(x) for x in tagged}
    for ann_id in ("o1", "o2"):
        expected[ann_id]["x"] = last[ann_id]["x"]
        expected[ann_id]["style"]["stroke"] = last[ann_id]["stroke"]
    assert {x["id"]: unstamped(x) for x in now} == expected
    assert [x["id"] for x in now] == [x["id"] for x in tagged]  # z-order restored too
    assert next(x for x in now if x["id"] == "t1")["groupIds"] == ["g1"]
    assert next(x for x in now if x["id"] == "t1")["updatedBy"] == "rev"

    # comments survive; the thread on the annotation the revert removed is detached
    threads = {t["id"]: t for t in (await b.call("comments.list"))["threads"]}
    assert [m["body"] for m in threads["th1"]["messages"]] == ["look", "after the tag"]
    assert threads["th1"]["anchor"]["kind"] == "annotation"
    assert threads["th4"]["anchor"] == {"kind": "point", "x": 10, "y": 10, "detachedFrom": "t4"}

    def reverted_note(c: RoomClient) -> Callable[[], bool]:
        return lambda: any(n["method"] == "versions.reverted" for n in c.notifications)

    for c in (a, b):
        await within(c.wait_until(reverted_note(c)), f"versions.reverted at {c.user_id}")
        [note] = [n for n in c.notifications if n["method"] == "versions.reverted"]
        assert note["params"] == {"roomId": "r1", "tag": "v1", "seq": res["seq"], "changes": res["changes"],
                                  "revertedBy": "rev"}

    # errors: a taken tag, an unknown tag, a seq in the future
    status, body = await rest(http, "POST", f"{base}/versions", {"tag": "v1"})
    assert status == 409 and body["error"]["code"] == "conflict" and body["error"]["data"]["field"] == "tag"
    with pytest.raises(RpcError) as err:
        await a.call("versions.create", tag="v1")
    assert err.value.code == -32009
    status, body = await rest(http, "POST", f"{base}/versions/nope:revert", {})
    assert status == 404 and body["error"]["code"] == "not_found"
    with pytest.raises(RpcError) as err:
        await a.call("versions.revert", tag="nope")
    assert err.value.code == -32004
    status, body = await rest(http, "POST", f"{base}/versions", {"tag": "v2", "seq": head + 100})
    assert status == 422 and body["error"]["data"]["field"] == "seq", body
    with pytest.raises(RpcError) as err:
        await a.call("versions.create", tag="v2", seq=head + 100)
    assert err.value.code == -32602 and err.value.data["field"] == "seq"
    versions = (await ok(http, "GET", f"{base}/versions"))["versions"]
    assert [v["tag"] for v in versions] == ["v1"]


# -- 5. malformed annotations from a raw Yjs client ---------------------------------------------
async def test_malformed_annotations_leave_room_working(daemon: Daemon, http: aiohttp.ClientSession, clients: Open,
                                                        peers: Peers) -> None:  # noqa: F811
    await make_room(http)
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
    await wait_doc(py, lambda: all(k in ann_map(py.doc) for k in junk), "the junk at the Python client")

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
    await wait_doc(py, lambda: "n1" in ann_map(py.doc), "node's annotation after the junk")
    nested(py, "good")["x"] = 50.0
    await node.request("untilPath", path=["good", "x"], equals=50)
    res = await ok(http, "PATCH", "/v1/rooms/r1/annotations/strx", {"y": 6})  # repaired, rewritten as a nested map
    assert res["annotation"]["issues"] == [] and (res["annotation"]["x"], res["annotation"]["y"]) == (0, 6)
    await node.request("untilPath", path=["strx", "y"], equals=6)
    assert (await node.request("dumpAnnotations"))["kinds"]["strx"] == {"entry": "Y.Map", "style": "Y.Map"}
    late = RoomClient(daemon.ws_url, "r1", user_id="late")
    async with late:
        await settle(daemon, "r1", py, late)
        assert ann_map(late.doc) == ann_map(py.doc) == ann_map(daemon.hub.rooms["r1"].doc)
    assert await py.call("annotations.upsert", annotation={"id": "n2", "type": "ellipse"})
    await node.request("untilPath", path=["n2", "type"], equals="ellipse")
    assert (await node.request("stats"))["textFrames"] == 0


# -- 6. validation errors name the field on both surfaces ------------------------------------
async def test_validation_errors_name_the_field(daemon: Daemon, http: aiohttp.ClientSession, clients: Open) -> None:
    await make_room(http)
    await ok(http, "POST", "/v1/rooms/r1/annotations", {"id": "a1", "type": "rect"})
    py = await clients("r1", "py")
    head = daemon.hub.rooms["r1"].head
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
    assert daemon.hub.rooms["r1"].head == head, "a refused request must not write"


# -- 7. history: list at a seq or a tag; pruned seqs are gone ---------------------------------
async def test_list_at_seq_and_tag_and_pruned(make_daemon: DaemonFactory) -> None:
    d = await make_daemon(history={"snapshot_every_ops": 2, "snapshots_kept": 1})
    async with aiohttp.ClientSession(base_url=d.http_url) as http, clients_on(d) as clients:
        await make_room(http, "h1")
        base = "/v1/rooms/h1"
        s1 = (await ok(http, "POST", f"{base}/annotations", {"id": "a1", "type": "rect", "x": 10}))["seq"]
        s2 = (await ok(http, "PATCH", f"{base}/annotations/a1", {"x": 20}))["seq"]
        await ok(http, "POST", f"{base}/comments", {"id": "th", "body": "v1 thread",
                                                   "anchor": {"kind": "point", "x": 1, "y": 1}}, status=201)
        v1 = await ok(http, "POST", f"{base}/versions", {"tag": "v1"}, status=201)
        await ok(http, "PATCH", f"{base}/annotations/a1", {"x": 30})
        await ok(http, "POST", f"{base}/annotations", {"id": "a2", "type": "ellipse"})
        # Pin the replay window: a snapshot at the head, then ONE edit (below the policy's 2 ops).
        snap = (await ok(http, "POST", f"{base}/snapshots", status=201))["seq"]
        head = (await ok(http, "PATCH", f"{base}/annotations/a1", {"x": 40}))["seq"]
        assert head == snap + 1

        c = await clients("h1", "py")
        at_snap = await c.call("annotations.list", seq=snap)
        assert at_snap["seq"] == snap
        assert [(a["id"], a["x"]) for a in at_snap["annotations"]] == [("a1", 30), ("a2", 0)]
        assert (await ok(http, "GET", f"{base}/annotations", params={"seq": str(snap)}))["annotations"] == at_snap["annotations"]
        now = await ok(http, "GET", f"{base}/annotations")
        assert now["seq"] == head and [(a["id"], a["x"]) for a in now["annotations"]] == [("a1", 40), ("a2", 0)]
        at_tag = await ok(http, "GET", f"{base}/annotations", params={"tag": "v1"})
        assert at_tag["seq"] == v1["seq"] and [(a["id"], a["x"]) for a in at_tag["annotations"]] == [("a1", 20)]
        assert (await c.call("annotations.list", tag="v1")) == at_tag
        assert [t["id"] for t in (await c.call("comments.list", tag="v1"))["threads"]] == ["th"]

        # older seqs than the window are gone (the tag's seq stays: it is pinned)
        for seq in (s1, s2):
            status, body = await rest(http, "GET", f"{base}/annotations", params={"seq": str(seq)})
            assert status == 410 and body["error"]["code"] == "gone", body
            assert body["error"]["data"]["field"] == "seq" and body["error"]["data"]["oldestSeq"] == snap
            with pytest.raises(RpcError) as err:
                await c.call("annotations.list", seq=seq)
            assert err.value.code == -32010 and err.value.data["field"] == "seq"
        # a new snapshot moves the window past `snap`
        await ok(http, "PATCH", f"{base}/annotations/a1", {"x": 50})
        newest = (await ok(http, "POST", f"{base}/snapshots", status=201))["seq"]
        status, body = await rest(http, "GET", f"{base}/annotations", params={"seq": str(snap)})
        assert status == 410 and body["error"]["data"]["oldestSeq"] == newest, body
        assert (await ok(http, "GET", f"{base}/annotations", params={"tag": "v1"}))["annotations"] == at_tag["annotations"]

        # a seq in the future, or seq and tag together, are invalid params
        status, body = await rest(http, "GET", f"{base}/annotations", params={"seq": str(newest + 5)})
        assert status == 422 and body["error"]["data"]["field"] == "seq", body
        with pytest.raises(RpcError) as err:
            await c.call("annotations.list", seq=newest + 5)
        assert err.value.code == -32602 and err.value.data["field"] == "seq"
        status, body = await rest(http, "GET", f"{base}/annotations", params={"seq": str(newest), "tag": "v1"})
        assert status == 422 and body["error"]["data"]["field"] == "tag", body
        status, body = await rest(http, "GET", f"{base}/annotations", params={"tag": "nope"})
        assert status == 404 and body["error"]["code"] == "not_found"


# -- 3b. raw deletes right after anchoring or moving (no tick in between) ------------------------
async def test_raw_delete_right_after_anchoring_detaches(daemon: Daemon, http: aiohttp.ClientSession,
                                                         clients: Open) -> None:
    """SCHEMA.md: the server detaches "right after any client update that deleted an
    annotation". A thread anchored through the API and whose annotation a raw client
    deletes before the daemon's next tick must be detached too, not left anchored to a
    missing annotation forever."""
    await make_room(http)
    await ok(http, "POST", "/v1/rooms/r1/annotations", {"id": "a", "type": "rect", "x": 0, "y": 0, "w": 10, "h": 10})
    py = await clients("r1", "py")
    await py.call("comments.create", id="t", body="here", anchor={"kind": "annotation", "annotationId": "a"})
    del py.doc.get("annotations", type=Map)["a"]
    await within(py.flush())
    want = {"kind": "point", "x": 5, "y": 5, "detachedFrom": "a"}
    try:
        async with asyncio.timeout(T):
            await py.wait_until(lambda: comments_map(py.doc)["t"]["anchor"] == want)
    except TimeoutError:
        [t] = (await py.call("comments.list"))["threads"]
        raise AssertionError(f"thread never detached after a raw delete right after anchoring: anchor={t['anchor']}") from None


async def test_raw_delete_right_after_move_detaches_at_moved_pin(make_daemon: DaemonFactory) -> None:
    """SCHEMA.md: the anchor becomes a point "at the position its pin last had". A raw client
    that moves an annotation (sequenced and acknowledged) and then deletes it must leave the
    thread where the pin was after the move."""
    d = await make_daemon(history={"snapshot_every_ops": 1})  # see test_comment_lifecycle_and_detach
    async with aiohttp.ClientSession(base_url=d.http_url) as http, clients_on(d) as clients:
        await make_room(http)
        await ok(http, "POST", "/v1/rooms/r1/annotations", {"id": "a", "type": "rect", "x": 0, "y": 0, "w": 10, "h": 10})
        py = await clients("r1", "py")
        res = await py.call("comments.create", id="t", body="here", anchor={"kind": "annotation", "annotationId": "a"})
        await wait_doc(py, lambda: any(n["method"] == "snapshots.created" and n["params"]["seq"] >= res["seq"]
                                       for n in py.notifications), "a tick after anchoring")
        nested(py, "a")["x"] = 100.0
        moved = await within(py.flush())
        assert (await py.call("comments.list"))["threads"][0]["pin"] == {"x": 105, "y": 5}
        del py.doc.get("annotations", type=Map)["a"]
        assert await within(py.flush()) == moved + 1
        await wait_doc(py, lambda: comments_map(py.doc)["t"]["anchor"]["kind"] == "point", "the thread to detach")
        [t] = (await py.call("comments.list"))["threads"]
        assert t["anchor"] == {"kind": "point", "x": 105, "y": 5, "detachedFrom": "a"}
