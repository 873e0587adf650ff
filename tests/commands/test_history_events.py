"""``history.events``: who changed what at each retained step (the web client's scrubber).

The summaries come from replaying logged updates, so they are checked against edits made
every way a room is edited: REST commands, JSON-RPC on a room socket, and a raw Yjs client
writing the document itself. Also: the image field of ``annotations.list`` at a seq.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from pycrdt import Doc, Map

from annotd.canvas.changes import describe
from annotd.client.roomclient import RoomClient, RpcError
from annotd.core.history import Event
from annotd.process.daemon import Daemon
from tests.conftest import DaemonFactory

from ..helpers import clients_on, create_room, ok, rest, within

PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc000000301010018dd8db00000000049454e44ae426082"
)


def _update(doc: Doc[Any], fn: Any) -> bytes:
    before = doc.get_state()
    with doc.transaction():
        fn()
    return doc.get_update(before)


def test_describe_replays_each_update_on_the_state_before_it() -> None:
    """Sans-I/O: created / updated (nested style too) / deleted ids with types, threads, image."""
    src: Doc[Any] = Doc()
    anns = src.get("annotations", type=Map)
    comments = src.get("comments", type=Map)
    meta = src.get("meta", type=Map)
    _update(src, lambda: anns.__setitem__("r", Map({"id": "r", "type": "rect", "style": Map({"stroke": "#000000"})})))
    base: Doc[Any] = Doc()
    base.apply_update(src.get_update())
    u2 = _update(src, lambda: (anns["r"]["style"].__setitem__("stroke", "#ffffff"),
                               anns.__setitem__("e", Map({"id": "e", "type": "ellipse"}))))
    u3 = _update(src, lambda: (anns.__delitem__("r"), comments.__setitem__("t", Map({"id": "t", "status": "open"})),
                               meta.__setitem__("image", {"sha256": "0" * 64, "width": 1, "height": 1, "mime": "image/png"})))
    u4 = _update(src, lambda: comments["t"].__setitem__("status", "resolved"))
    out = describe(base, [Event(2, 10.0, "bob", u2), Event(3, 11.5, "carol", u3), Event(4, 12.0, "bob", u4)])
    assert out[0] == {"seq": 2, "ts": 10.0, "userId": "bob", "annotations": {"created": ["e"], "updated": ["r"], "deleted": []},
                      "types": {"e": "ellipse", "r": "rect"}, "comments": [], "image": False}
    assert out[1]["annotations"] == {"created": [], "updated": [], "deleted": ["r"]}
    assert out[1]["types"] == {"r": "rect"} and out[1]["comments"] == ["t"] and out[1]["image"] is True
    assert out[2]["annotations"] == {"created": [], "updated": [], "deleted": []} and out[2]["comments"] == ["t"]
    assert out[2]["image"] is False
    # the observers are gone: the base document is a plain document again
    anns_after = base.get("annotations", type=Map)
    assert sorted(anns_after.keys()) == ["e"]


async def test_history_events_over_rest_rpc_and_raw_yjs(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    await create_room(http, "h")
    base = "/v1/rooms/h"
    async with clients_on(daemon) as clients:
        s_rect = (await ok(http, "POST", f"{base}/annotations", {"id": "a1", "type": "rect", "x": 1}, user="Alice#a"))["seq"]
        s_style = (await ok(http, "PATCH", f"{base}/annotations/a1", {"style": {"stroke": "#1971c2"}}, user="Bob#b"))["seq"]
        raw: RoomClient = await clients("h", "Raw#r")
        anns = raw.doc.get("annotations", type=Map)
        with raw.doc.transaction():
            anns["a2"] = Map({"id": "a2", "type": "arrow", "x": 5, "y": 5, "points": [0, 0, 10, 10],
                              "style": Map({"stroke": "#000000"})})
        s_raw = await within(raw.flush(), "raw edit acked")
        thread = await raw.call("comments.create", body="look", anchor={"kind": "annotation", "annotationId": "a1"})
        s_thread = thread["seq"]
        s_del = (await ok(http, "DELETE", f"{base}/annotations/a2", user="Alice#a"))["seq"]
        async with http.post(f"{base}/image", data=PNG_1x1, headers={"Content-Type": "image/png", "X-Annotd-User": "Bob#b"}) as r:
            assert r.status == 201, await r.text()
            s_img = (await r.json())["seq"]

        got = await ok(http, "GET", f"{base}/history", params={"fromSeq": str(s_rect)})
        assert got["fromSeq"] == s_rect and got["toSeq"] == got["headSeq"] == s_img and got["oldestSeq"] == 0
        by_seq = {e["seq"]: e for e in got["events"]}
        assert [e["seq"] for e in got["events"]] == list(range(s_rect, s_img + 1))
        assert by_seq[s_rect]["userId"] == "Alice#a" and by_seq[s_rect]["annotations"]["created"] == ["a1"]
        assert by_seq[s_rect]["types"] == {"a1": "rect"}
        assert by_seq[s_style]["userId"] == "Bob#b" and by_seq[s_style]["annotations"]["updated"] == ["a1"]
        assert by_seq[s_raw]["userId"] == "Raw#r" and by_seq[s_raw]["annotations"] == {"created": ["a2"], "updated": [], "deleted": []}
        assert by_seq[s_raw]["types"] == {"a2": "arrow"}
        assert by_seq[s_thread]["comments"] == [thread["thread"]["id"]] and by_seq[s_thread]["annotations"]["created"] == []
        assert by_seq[s_del]["annotations"]["deleted"] == ["a2"] and by_seq[s_del]["types"] == {"a2": "arrow"}
        assert by_seq[s_img]["image"] is True and by_seq[s_img]["userId"] == "Bob#b"
        assert all(isinstance(e["ts"], float) for e in got["events"])

        # JSON-RPC on the room socket answers the same (roomId defaults to the socket's room)
        rpc = await raw.call("history.events", fromSeq=s_style, toSeq=s_raw)
        assert rpc["events"] == [by_seq[s_style], by_seq[s_raw]]

        # annotations.list at a seq carries that step's image
        before_img = await raw.call("annotations.list", seq=s_del)
        after_img = await raw.call("annotations.list", seq=s_img)
        assert before_img["image"] is None
        assert after_img["image"]["width"] == 1 and after_img["image"]["mime"] == "image/png"

        # bad ranges name the field
        head = got["headSeq"]
        for params, field in (({"fromSeq": str(head), "toSeq": str(head + 1)}, "toSeq"),
                              ({"fromSeq": str(s_raw), "toSeq": str(s_style)}, "fromSeq"),
                              ({"fromSeq": "0"}, "fromSeq"), ({}, "fromSeq")):
            status, body = await rest(http, "GET", f"{base}/history", params=params)
            assert status == 422 and body["error"]["data"]["field"] == field, (params, body)
        with pytest.raises(RpcError) as err:
            await raw.call("history.events", fromSeq=head + 1)
        assert err.value.code == -32602


async def test_history_events_limits_and_pruned_steps(make_daemon: DaemonFactory) -> None:
    d = await make_daemon(history={"snapshot_every_ops": 1000, "snapshots_kept": 1, "max_events_per_request": 3})
    async with aiohttp.ClientSession(base_url=d.http_url) as http:
        await create_room(http, "p")
        base = "/v1/rooms/p"
        for i in range(4):
            await ok(http, "POST", f"{base}/annotations", {"id": f"a{i}", "type": "rect", "x": i})
        status, body = await rest(http, "GET", f"{base}/history", params={"fromSeq": "1"})
        assert status == 422 and body["error"]["data"]["field"] == "toSeq" and "at most 3" in body["error"]["message"]
        ok3 = await ok(http, "GET", f"{base}/history", params={"fromSeq": "2", "toSeq": "4"})
        assert [e["annotations"]["created"] for e in ok3["events"]] == [["a0"], ["a1"], ["a2"]]
        # a snapshot moves the window: the steps up to it can no longer be described
        snap = (await ok(http, "POST", f"{base}/snapshots", status=201))["seq"]
        await ok(http, "PATCH", f"{base}/annotations/a0", {"x": 9})
        status, body = await rest(http, "GET", f"{base}/history", params={"fromSeq": str(snap)})
        assert status == 410 and body["error"]["code"] == "gone" and body["error"]["data"]["oldestSeq"] == snap, body
        after = await ok(http, "GET", f"{base}/history", params={"fromSeq": str(snap + 1)})
        assert [e["annotations"]["updated"] for e in after["events"]] == [["a0"]]
        assert after["oldestSeq"] == snap
