"""Named versions and history over the API: reading at a seq or a tag, pruned seqs, and a
revert that converges while clients keep editing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp
import pytest

from annotd.client.roomclient import RoomClient, RpcError
from annotd.process.daemon import Daemon

from ..conftest import DaemonFactory
from ..helpers import (
    J,
    Open,
    annotations_of,
    clients_on,
    comments_of,
    create_room,
    nested,
    ok,
    rest,
    settle,
    stored,
    unstamped,
    within,
)


async def test_list_at_seq_and_tag_and_pruned(make_daemon: DaemonFactory) -> None:
    d = await make_daemon(history={"snapshot_every_ops": 2, "snapshots_kept": 1})
    async with aiohttp.ClientSession(base_url=d.http_url) as http, clients_on(d) as clients:
        await create_room(http, "h1")
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


async def test_revert_while_clients_edit_converges(daemon: Daemon, http: aiohttp.ClientSession,
                                                   clients: Open) -> None:
    await create_room(http)
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
    assert v1["tag"] == "v1" and v1["seq"] == daemon.hub.rooms["r1"].room.head and v1["createdBy"] == "ann"
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
    server = daemon.hub.rooms["r1"].room.doc
    for c in (a, b):
        assert annotations_of(c.doc) == annotations_of(server), c.user_id
        assert comments_of(c.doc) == comments_of(server), c.user_id
    now = (await ok(http, "GET", f"{base}/annotations"))["annotations"]
    assert {x["id"]: stored(x) for x in now} == annotations_of(server)
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
