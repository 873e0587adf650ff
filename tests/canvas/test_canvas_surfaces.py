"""One room, three kinds of client, one document: the JSON API (REST on the side port and
JSON-RPC on room sockets), an *unmodified* npm ``y-websocket`` client (``tests/nodepeer.py``)
writing the document the way protocol.md's "Document schema" tells frontend developers to
(nested ``Y.Map`` per annotation, nested ``Y.Map`` style), and the Python
:class:`~annotd.client.roomclient.RoomClient` (annotd.v1), whose ``Doc`` is a replica. Whatever one of
them creates or changes, the other two see exactly.

Synchronisation is by awaited events only (``flush``, ``wait_for_seq``, ``wait_until``,
the node peer's ``until``/``untilPath``), each bounded by ``T``; there is no sleep anywhere.
"""

from __future__ import annotations

import aiohttp
from pycrdt import Map

from annotd.canvas.fractional import key_between
from annotd.client.roomclient import RoomClient
from annotd.process.daemon import Daemon

from ..helpers import J, Open, annotations_of, create_room, expect_fields, nested, ok, rest, settle, stored, wait_doc, within
from ..nodepeer import NodePeer, Peers, stock_peer

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


async def create_primitives_everywhere(daemon: Daemon, http: aiohttp.ClientSession, clients: Open,
                                       peers: Peers) -> tuple[RoomClient, NodePeer, dict[str, J], dict[str, J]]:
    """Room r1 with every primitive created through the API (REST and JSON-RPC alternating)
    and again by the node peer, each checked on the two other surfaces. Returns the Python
    client, the node peer, and the annotations by id as created by each."""
    await create_room(http)
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
        assert annotations_of(py.doc)[ann_id] == stored(ann)
        assert isinstance(nested(py, ann_id)["style"], Map)
    listed = (await ok(http, "GET", "/v1/rooms/r1/annotations"))["annotations"]
    assert [a["id"] for a in listed] == list(api)  # created in order: each at the front

    # node (nested Y.Maps, as protocol.md shows) -> annotations.list and Python.
    by_node: dict[str, J] = {}
    z = listed[-1]["z"]
    for kind in PRIMITIVES:
        z = key_between(z, None)
        value = {**stored(api[f"api-{kind}"]), "id": f"node-{kind}", "createdBy": "node", "updatedBy": "node",
                 "updatedAt": 1764160000000, "z": z}
        value["x"] += 1000
        by_node[value["id"]] = value
        await node.request("setAnnotation", key=value["id"], value=value)
    await wait_doc(py, lambda: all(annotations_of(py.doc).get(k) == v for k, v in by_node.items()),
                   "node's annotations at the Python client")
    assert all(isinstance(nested(py, k)["style"], Map) for k in by_node)
    listed = (await ok(http, "GET", "/v1/rooms/r1/annotations"))["annotations"]
    assert [a["id"] for a in listed] == list(api) + list(by_node)
    for a in listed[len(api):]:
        assert a["issues"] == [], a
        assert stored(a) == by_node[a["id"]]
        assert await py.call("annotations.get", id=a["id"]) == a
    return py, node, api, by_node


async def assert_all_agree(daemon: Daemon, http: aiohttp.ClientSession, py: RoomClient, node: NodePeer) -> None:
    """All three surfaces hold the same annotations (and the stock client got no text frame)."""
    await settle(daemon, "r1", py)
    final = {a["id"]: stored(a) for a in (await ok(http, "GET", "/v1/rooms/r1/annotations"))["annotations"]}
    assert annotations_of(py.doc) == final
    assert await node.until(final) == final
    assert (await node.request("stats"))["textFrames"] == 0


async def test_primitives_round_trip_between_api_stock_client_and_python(
        daemon: Daemon, http: aiohttp.ClientSession, clients: Open, peers: Peers) -> None:
    py, node, _, _ = await create_primitives_everywhere(daemon, http, clients, peers)
    await assert_all_agree(daemon, http, py, node)


async def test_move_resize_rotate_restyle_by_each_surface_reach_the_others(
        daemon: Daemon, http: aiohttp.ClientSession, clients: Open, peers: Peers) -> None:
    py, node, _, by_node = await create_primitives_everywhere(daemon, http, clients, peers)
    # move
    res = await ok(http, "PATCH", "/v1/rooms/r1/annotations/api-rect", {"x": 150, "y": 90})
    assert (res["annotation"]["x"], res["annotation"]["y"]) == (150, 90)
    await node.request("untilPath", path=["api-rect", "x"], equals=150)
    res = await py.call("annotations.upsert", annotation={"id": "api-freehand", "x": 60, "y": 610})
    assert res["annotation"]["points"] == PRIMITIVES["freehand"]["points"]  # offsets: a move rewrites x, y only
    assert res["annotation"]["pressures"] == PRIMITIVES["freehand"]["pressures"]
    assert await node.request("untilPath", path=["api-freehand"], equals=stored(res["annotation"]))
    await within(py.wait_for_seq(res["seq"]))
    assert annotations_of(py.doc)["api-rect"]["y"] == 90
    await node.request("patch", key="node-ellipse", fields={"x": 11, "y": 12})
    await wait_doc(py, lambda: annotations_of(py.doc)["node-ellipse"]["x"] == 11, "node's move")
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
    assert annotations_of(py.doc)["api-rect"]["h"] == 210
    await node.request("patch", key="node-ellipse", fields={"w": 70, "h": 35})
    await wait_doc(py, lambda: annotations_of(py.doc)["node-ellipse"]["h"] == 35, "node's resize")
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
    await wait_doc(py, lambda: annotations_of(py.doc)["node-polygon"]["rotation"] == 45, "node's rotation")
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
    await wait_doc(py, lambda: annotations_of(py.doc)["node-ellipse"]["style"]["strokeStyle"] == "dotted", "node's restyle")
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
    await wait_doc(py, lambda: annotations_of(py.doc)["api-rect"]["style"] == want_style, "both style edits")
    assert (await ok(http, "GET", "/v1/rooms/r1/annotations/api-rect"))["style"] == want_style
    assert (await node.request("dumpAnnotations"))["kinds"]["api-rect"] == {"entry": "Y.Map", "style": "Y.Map"}
    await assert_all_agree(daemon, http, py, node)


async def test_reorder_and_groups_by_each_surface_reach_the_others(
        daemon: Daemon, http: aiohttp.ClientSession, clients: Open, peers: Peers) -> None:
    py, node, _, _ = await create_primitives_everywhere(daemon, http, clients, peers)
    # reorder: by the API, by node (writing z), by Python (writing z)
    res = await ok(http, "POST", "/v1/rooms/r1/annotations/api-rect/reorder", {"direction": "front"})
    await node.request("untilPath", path=["api-rect", "z"], equals=res["z"])
    await within(py.wait_for_seq(res["seq"]))
    listed = (await py.call("annotations.list"))["annotations"]
    assert listed[-1]["id"] == "api-rect" and annotations_of(py.doc)["api-rect"]["z"] == res["z"]
    bottom = key_between(None, listed[0]["z"])
    await node.request("patch", key="node-freehand", fields={"z": bottom})
    await wait_doc(py, lambda: annotations_of(py.doc)["node-freehand"]["z"] == bottom, "node's reorder")
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
    await wait_doc(py, lambda: annotations_of(py.doc)["api-freehand"]["groupIds"] == ["g2"], "node's grouping")
    res = await ok(http, "DELETE", "/v1/rooms/r1/groups/g2")
    assert res["members"] == ["api-freehand", "node-polygon"]
    await node.request("untilPath", path=["node-polygon", "groupIds"], equals=[])
    await node.request("untilPath", path=["api-freehand", "groupIds"], equals=[])
    res = await ok(http, "DELETE", "/v1/rooms/r1/groups/g1")
    assert res["members"] == ["api-rect", "node-ellipse"]
    await node.request("untilPath", path=["api-rect", "groupIds"], equals=[])
    status, err = await rest(http, "DELETE", "/v1/rooms/r1/groups/g1")
    assert status == 404 and err["error"]["code"] == "not_found"
    await assert_all_agree(daemon, http, py, node)
