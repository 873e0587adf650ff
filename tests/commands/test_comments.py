"""Comment threads seen by every client: the lifecycle over REST, JSON-RPC and a stock Yjs
client, and detaching a thread where its pin last was when its annotation is deleted."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from pycrdt import Map

from annotd.client.roomclient import RpcError
from annotd.process.daemon import Daemon

from ..conftest import DaemonFactory
from ..helpers import (
    J,
    Open,
    T,
    annotations_of,
    clients_on,
    comments_of,
    control_call,
    create_room,
    nested,
    ok,
    rest,
    settle,
    wait_doc,
    within,
)
from ..nodepeer import Peers, stock_peer


async def test_comment_lifecycle_and_detach(make_daemon: DaemonFactory, peers: Peers) -> None:
    # Daemon.next_tick: the periodic tick (which detaches orphaned threads and records every
    # pin) ran after the awaited state.
    d = await make_daemon()
    async with aiohttp.ClientSession(base_url=d.http_url) as http, clients_on(d) as clients:
        await create_room(http)
        await ok(http, "POST", "/v1/rooms/r1/annotations", {"id": "c1", "type": "rect", "x": 100, "y": 80, "w": 300, "h": 200})
        alice = await clients("r1", "alice")
        bob = await clients("r1", "bob")
        node = await stock_peer(peers, "r1", "carol", on=d)
        room = d.hub.rooms["r1"].room

        async def everyone_agrees() -> list[J]:
            """All clients at the head; comments.list equal on every surface; every
            replica's comments map equal to the server's. Returns the threads."""
            await settle(d, "r1", alice, bob)
            server_doc = comments_of(room.doc)
            assert comments_of(alice.doc) == server_doc
            assert comments_of(bob.doc) == server_doc
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

        answer = await alice.call("comments.update", commentId="th1", action="edit", body="Is this the weld crack?")
        edited = answer["message"]
        assert answer["thread"]["messages"][0] == edited
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

        gone = (await bob.call("comments.update", commentId="th1", action="delete", messageId=m2["id"]))["message"]
        assert (gone["id"], gone["deleted"], gone["body"]) == (m2["id"], True, "")
        [t] = await everyone_agrees()
        assert t["messages"][1] == gone and len(t["messages"]) == 2  # soft: keeps its place
        assert comments_of(alice.doc)["th1"]["messages"][m2["id"]]["deleted"] is True
        with pytest.raises(RpcError) as err:
            await bob.call("comments.update", commentId="th1", action="edit", messageId=m2["id"], body="back")
        assert err.value.code == -32009

        resolved = (await ok(http, "PATCH", "/v1/rooms/r1/comments/th1", {"action": "resolve"}, user="alice"))["thread"]
        assert (resolved["status"], resolved["resolvedBy"]) == ("resolved", "alice")
        [t] = await everyone_agrees()
        assert t["status"] == "resolved" and comments_of(bob.doc)["th1"]["resolvedBy"] == "alice"
        assert (await bob.call("comments.list", state="open"))["threads"] == []
        assert [x["id"] for x in (await bob.call("comments.list", state="resolved"))["threads"]] == ["th1"]

        reopened = (await bob.call("comments.update", commentId="th1", action="reopen"))["thread"]
        assert (reopened["status"], reopened["resolvedBy"], reopened["resolvedAt"]) == ("open", None, None)
        [t] = await everyone_agrees()
        assert "resolvedBy" not in comments_of(alice.doc)["th1"]
        assert await node.request("untilPath", map="comments", path=["th1", "status"], equals="open")

        # the pin follows its annotation (move, resize, rotate)
        await ok(http, "PATCH", "/v1/rooms/r1/annotations/c1", {"x": 200})
        [t] = await everyone_agrees()
        assert t["pin"] == {"x": 500, "y": 80} and t["anchor"]["kind"] == "annotation"
        await node.request("patch", key="c1", fields={"w": 400, "h": 100})
        await wait_doc(alice, lambda: annotations_of(alice.doc)["c1"]["w"] == 400, "node's resize")
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
        await wait_doc(bob, lambda: annotations_of(bob.doc)["c2"]["x"] == 40, "node's move of c2")
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
        await wait_doc(alice, lambda: annotations_of(alice.doc).get("c3", {}).get("x") == 300, "node's move of c3")
        moved = await settle(d, "r1", alice, bob)
        await wait_doc(alice, lambda: any(n["method"] == "snapshots.created" and n["params"]["seq"] >= moved
                                          for n in alice.notifications), "a tick after the move")
        await node.request("delete", key="c3")
        want = {"kind": "point", "x": 300, "y": 420, "detachedFrom": "c3"}
        try:
            async with asyncio.timeout(T):
                await alice.wait_until(lambda: comments_of(alice.doc)["th3"]["anchor"] == want)
        except TimeoutError:
            raise AssertionError(f"th3 not detached after a raw delete: {comments_of(alice.doc)['th3']['anchor']}") from None
        await node.request("untilPath", map="comments", path=["th3", "anchor"], equals=want)
        threads = await everyone_agrees()
        th3 = next(x for x in threads if x["id"] == "th3")
        assert th3["anchor"] == want and th3["pin"] == {"x": 300, "y": 420}
        assert [x["id"] for x in threads] == ["th1", "th2", "th3"]
        assert (await alice.call("comments.list", anchorKind="annotation"))["threads"] == [threads[0]]
        view = await ok(http, "GET", "/v1/rooms/r1/annotations")
        assert [a["id"] for a in view["annotations"]] == ["c1"] and view["issues"] == []


async def test_raw_delete_right_after_anchoring_detaches(daemon: Daemon, http: aiohttp.ClientSession,
                                                         clients: Open) -> None:
    """protocol.md (Anchors): a thread whose annotation a Yjs client deleted is detached
    within one server tick. One anchored through the API and whose annotation a raw client
    deletes before the daemon's next tick must be detached too, not left anchored to a
    missing annotation forever."""
    await create_room(http)
    await ok(http, "POST", "/v1/rooms/r1/annotations", {"id": "a", "type": "rect", "x": 0, "y": 0, "w": 10, "h": 10})
    py = await clients("r1", "py")
    await py.call("comments.create", id="t", body="here", anchor={"kind": "annotation", "annotationId": "a"})
    del py.doc.get("annotations", type=Map)["a"]
    await within(py.flush())
    want = {"kind": "point", "x": 5, "y": 5, "detachedFrom": "a"}
    try:
        async with asyncio.timeout(T):
            await py.wait_until(lambda: comments_of(py.doc)["t"]["anchor"] == want)
    except TimeoutError:
        [t] = (await py.call("comments.list"))["threads"]
        raise AssertionError(f"thread never detached after a raw delete right after anchoring: anchor={t['anchor']}") from None


async def test_raw_delete_right_after_move_detaches_at_moved_pin(make_daemon: DaemonFactory) -> None:
    """protocol.md (Anchors): the anchor becomes a point "at the position its pin last had". A raw client
    that moves an annotation (sequenced and acknowledged) and then deletes it must leave the
    thread where the pin was after the move."""
    d = await make_daemon()
    async with aiohttp.ClientSession(base_url=d.http_url) as http, clients_on(d) as clients:
        await create_room(http)
        await ok(http, "POST", "/v1/rooms/r1/annotations", {"id": "a", "type": "rect", "x": 0, "y": 0, "w": 10, "h": 10})
        py = await clients("r1", "py")
        await py.call("comments.create", id="t", body="here", anchor={"kind": "annotation", "annotationId": "a"})
        await within(d.next_tick(), "a tick after anchoring")
        nested(py, "a")["x"] = 100.0
        moved = await within(py.flush())
        assert (await py.call("comments.list"))["threads"][0]["pin"] == {"x": 105, "y": 5}
        del py.doc.get("annotations", type=Map)["a"]
        assert await within(py.flush()) == moved + 1
        await wait_doc(py, lambda: comments_of(py.doc)["t"]["anchor"]["kind"] == "point", "the thread to detach")
        [t] = (await py.call("comments.list"))["threads"]
        assert t["anchor"] == {"kind": "point", "x": 105, "y": 5, "detachedFrom": "a"}
