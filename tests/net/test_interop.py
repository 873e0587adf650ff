"""Interoperability with stock npm Yjs clients (``y-websocket``'s ``WebsocketProvider``).

annotd promises that an *unmodified* browser client syncs documents and awareness with it
over ``ws://host:port/v1/ws/rooms/<room>``. Only the real npm packages can prove that, so
these tests drive ``tests/interop/peer.mjs`` (pinned versions in
``tests/interop/package-lock.json``; see ``tests/nodepeer.py``) next to the Python
annotd.v1 :class:`~annotd.client.roomclient.RoomClient`, against a real daemon on port 0.

Synchronisation is by awaiting specific lines or document states (``asyncio.timeout``),
never by sleeping. Node and the npm packages are a hard requirement (see ``tests/nodepeer.py``).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson
from PIL import Image
from pycrdt import Decoder, Doc, Encoder, Map

from annotd.core import yproto
from annotd.process.daemon import Daemon

from ..conftest import DaemonFactory
from ..helpers import Open, annotations_of, create_room, until_doc
from ..nodepeer import Event, Peers, stock_peer


# -- helpers ----------------------------------------------------------------------------
def state_vector(doc: Doc[Any]) -> dict[int, int]:
    """Decode a pycrdt document's state vector: client id -> number of integrated ops."""
    decoder = Decoder(doc.get_state())
    return {decoder.read_var_uint(): decoder.read_var_uint() for _ in range(decoder.read_var_uint())}


def tiny_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (3, 2), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


# -- tests ------------------------------------------------------------------------------
async def test_stock_client_and_v1_client_converge(daemon: Daemon, http: aiohttp.ClientSession, clients: Open,
                                                    peers: Peers) -> None:
    """Both directions, then concurrent writes from both sides, end equal to the server doc."""
    await create_room(http)
    room = daemon.hub.rooms["r1"].room
    py = await clients("r1", "py")
    node = await stock_peer(peers, "r1", "node")
    # The initial step 2 carried the server's state; the ?userId= param named the session.
    assert (await node.request("dump", map="meta"))["map"] == {"schemaVersion": 1}
    assert sorted(room.info()["users"]) == ["node", "py"]

    # node -> Python
    a1 = {"type": "rect", "x": 1.5, "y": 2, "label": "Ünïcode ✓", "tags": ["a", "b"], "z": None}
    await node.request("set", key="a1", value=a1)
    await until_doc(py.doc, lambda: annotations_of(py.doc).get("a1") == a1, "node's a1 at the Python client")

    # Python -> node
    a2 = {"type": "point", "x": 7, "y": -3.25, "label": "from python"}
    py.doc.get("annotations", type=Map)["a2"] = a2
    await node.until(a2, key="a2")

    # Concurrent writes from both sides, including to the same keys, without waiting.
    ops: list[asyncio.Future[Event]] = []
    pmap = py.doc.get("annotations", type=Map)
    for i in range(10):
        ops.append(node.send("set", key=f"n{i}", value={"i": i, "by": "node"}))
        ops.append(node.send("set", key="shared", value=f"node-{i}"))
        pmap[f"p{i}"] = {"i": i, "by": "py"}
        pmap["shared"] = f"py-{i}"
        if i % 3 == 0:
            ops.append(node.send("setMany", entries={f"m{i}-{j}": j for j in range(3)}))
            ops.append(node.send("delete", key="a1"))
            if "a2" in pmap:
                del pmap["a2"]
    await node.flush()
    for fut in ops:
        await node.reply(fut, "concurrent write")

    # The server has integrated everything both sides wrote once its state vector covers
    # each writer's own clock; from then on the server document is final.
    node_stats = await node.request("stats")
    node_id, node_clock = node_stats["clientID"], node_stats["clock"]
    py_id, py_clock = py.doc.client_id, state_vector(py.doc)[py.doc.client_id]
    await until_doc(room.doc, lambda: state_vector(room.doc).get(node_id, 0) >= node_clock
                    and state_vector(room.doc).get(py_id, 0) >= py_clock, "the server to integrate both writers")
    final = annotations_of(room.doc)
    assert {f"n{i}" for i in range(10)} | {f"p{i}" for i in range(10)} <= final.keys()
    assert "a1" not in final and "a2" not in final
    assert final["shared"] in {"node-9", "py-9"}
    await until_doc(py.doc, lambda: annotations_of(py.doc) == final, "the Python client to converge")
    assert await node.until(final) == final
    assert state_vector(py.doc) == state_vector(room.doc)
    assert (await node.request("stats"))["textFrames"] == 0


async def test_awareness_between_stock_clients_and_no_ghosts(daemon: Daemon, http: aiohttp.ClientSession,
                                                             peers: Peers) -> None:
    """States reach a late joiner and live peers; a killed peer's state is removed at once."""
    await create_room(http)
    alice = await stock_peer(peers, "r1", "alice")
    alice_id = (await alice.request("stats"))["clientID"]
    first = {"user": {"name": "Alice", "color": "#f00"}, "cursor": {"x": 1, "y": 2}}
    await alice.request("awareness", state=first)
    room = daemon.hub.rooms["r1"].room
    presence = room.presence
    # The join snapshot below must include alice's state. The server handles one socket's
    # frames in order, so once alice's next document change is in the server doc, her
    # awareness frame (sent before it) has been applied.
    await alice.request("set", key="alice-was-here", value=True)
    await until_doc(room.doc, lambda: "alice-was-here" in annotations_of(room.doc), "alice's barrier write at the server")
    assert presence.awareness.states.get(alice_id) == first

    bob = await stock_peer(peers, "r1", "bob")

    def alice_state(state: Any) -> Callable[[Event], bool]:
        return lambda e: e.get("event") == "awareness" and {"clientID": alice_id, "state": state} in e["states"]

    await bob.wait_event(alice_state(first), "alice's state at bob (join snapshot)")

    second = {"user": {"name": "Alice", "color": "#f00"}, "cursor": {"x": 10, "y": 20}}
    mark = bob.mark()
    await alice.request("awareness", state=second)
    await bob.wait_event(alice_state(second), "alice's updated state at bob (live)", after=mark)

    # bob -> alice too
    bob_id = (await bob.request("stats"))["clientID"]
    await bob.request("awareness", state={"user": {"name": "Bob"}})
    await alice.wait_event(lambda e: e.get("event") == "awareness"
                           and {"clientID": bob_id, "state": {"user": {"name": "Bob"}}} in e["states"], "bob's state at alice")

    mark = bob.mark()
    await alice.kill()
    i = await bob.wait_event(lambda e: e.get("event") == "awareness" and alice_id in e["removed"],
                             "removal of alice's state at bob after alice was killed", after=mark)
    assert all(s["clientID"] != alice_id for s in bob.events[i]["states"])
    assert alice_id not in presence.awareness.states
    # A late joiner gets no ghost either: its join snapshot holds only bob.
    carol = await stock_peer(peers, "r1", "carol")
    carol_id = (await carol.request("stats"))["clientID"]
    await carol.wait_event(lambda e: e.get("event") == "awareness"
                           and {"clientID": bob_id, "state": {"user": {"name": "Bob"}}} in e["states"], "bob's state at carol")
    seen = {s["clientID"] for e in carol.events if e.get("event") == "awareness" for s in e["states"]}
    assert seen == {carol_id, bob_id}


async def test_stock_client_receives_no_text_frames(daemon: Daemon, http: aiohttp.ClientSession, clients: Open,
                                                     peers: Peers) -> None:
    """v1-only traffic (acks, presence, JSON-RPC replies and notifications) never reaches a
    stock socket: y-websocket would crash decoding a text frame, and ws counts them raw."""
    await create_room(http)
    node = await stock_peer(peers, "r1", "node")
    await node.request("awareness", state={"user": {"name": "node"}})
    py = await clients("r1", "py")
    other = await clients("r1", "py2")
    await py.send_presence(cursor={"x": 1, "y": 1}, selection=["a1"], name="Py")
    await other.send_presence(cursor={"x": 2, "y": 2}, selection=[], name="Py2")
    await py.call("snapshots.create", roomId="r1")          # reply + snapshots.created notification
    await py.call("rooms.get", roomId="r1")
    r = await http.post("/v1/rooms/r1/snapshots")
    assert r.status == 201, await r.text()
    r = await http.post("/v1/rooms/r1/image", data=tiny_png(), headers={"Content-Type": "image/png"})
    assert r.status == 201, await r.text()
    await py.ws.send(yproto.awareness(_awareness_update(4242, {"user": {"name": "raw"}})))  # type: ignore[union-attr]
    py.doc.get("annotations", type=Map)["a1"] = {"by": "py"}  # -> ack (text) to py, update (binary) to node
    # Barrier: the server queues document frames per socket in order, so once node has the
    # last change everything the server sent it before that has arrived too.
    py.doc.get("annotations", type=Map)["barrier"] = True
    await node.until(True, key="barrier")
    await node.wait_event(lambda e: e.get("event") == "awareness"
                          and any(s["clientID"] == 4242 for s in e["states"]), "raw awareness at node")
    stats = await node.request("stats")
    assert stats["textFrames"] == 0, [e for e in node.events if e.get("event") == "textFrame"]
    assert stats["binaryFrames"] > 0
    assert stats["sockets"] == 1 and stats["wsconnected"], node.diagnostics()
    assert not [e for e in node.events if e.get("event") in ("error", "close", "closed")]


def _awareness_update(client_id: int, state: dict[str, Any], clock: int = 1) -> bytes:
    """A y-protocols awareness update for one client, byte for byte what a stock client sends."""
    enc = Encoder()
    enc.write_var_uint(1)
    enc.write_var_uint(client_id)
    enc.write_var_uint(clock)
    enc.write_var_string(orjson.dumps(state).decode())
    return enc.to_bytes()


async def test_offline_edits_of_stock_client_reach_v1_client(daemon: Daemon, http: aiohttp.ClientSession, clients: Open,
                                                              peers: Peers) -> None:
    """provider.disconnect(), edit offline, provider.connect(): the standard handshake carries
    the offline edits to the server (sequenced and relayed) and the missed edits back."""
    await create_room(http)
    py = await clients("r1", "py")
    node = await stock_peer(peers, "r1", "node")
    pmap = py.doc.get("annotations", type=Map)
    pmap["before"] = {"v": 1}
    await node.until({"v": 1}, key="before")

    mark = node.mark()
    await node.request("disconnect")
    await node.wait_event(lambda e: e.get("event") == "close", "socket close", after=mark)
    room = daemon.hub.rooms["r1"].room

    await node.request("set", key="offline1", value={"v": "x"})
    await node.request("setMany", entries={"offline2": 2, "offline3": [1, 2, 3]})
    await node.request("delete", key="before")
    pmap["while-away"] = {"v": "py"}
    await until_doc(room.doc, lambda: "while-away" in annotations_of(room.doc), "python's edit at the server")
    assert "offline1" not in annotations_of(room.doc)

    mark = node.mark()
    await node.request("connect")
    await node.synced(after=mark)
    want = {"offline1": {"v": "x"}, "offline2": 2, "offline3": [1, 2, 3], "while-away": {"v": "py"}}
    await until_doc(py.doc, lambda: annotations_of(py.doc) == want, "the node's offline edits at the Python client")
    await node.until(want)
    assert annotations_of(room.doc) == want
    assert (await node.request("stats"))["sockets"] == 2


async def test_rest_image_upload_reaches_stock_client(daemon: Daemon, http: aiohttp.ClientSession,
                                                      peers: Peers) -> None:
    """A server-side change (REST image upload writes ``meta.image``) is relayed as a plain
    sync update that a stock client integrates."""
    await create_room(http)
    node = await stock_peer(peers, "r1", "node")
    r = await http.post("/v1/rooms/r1/image", data=tiny_png(), headers={"Content-Type": "image/png"})
    assert r.status == 201, await r.text()
    body = await r.json()
    ref = {"sha256": body["sha256"], "width": 3, "height": 2, "mime": "image/png"}
    assert await node.until(ref, map="meta", key="image") == ref
    assert daemon.hub.rooms["r1"].image_ref() == ref
    assert (await node.request("dump", map="meta"))["map"] == {"schemaVersion": 1, "image": ref}


async def test_stock_client_stops_on_missing_or_deleted_room(daemon: Daemon, http: aiohttp.ClientSession,
                                                             peers: Peers) -> None:
    """annotd's permanent close codes are in 4400-4499, which y-websocket treats as "do not
    reconnect": a stock client neither hammers a missing room nor a deleted one."""
    missing = await peers("nope", "node")
    i = await missing.wait_event(lambda e: e.get("event") == "closed", "'closed' (no reconnect) for a missing room")
    assert missing.events[i]["code"] == 4404

    await create_room(http)
    node = await stock_peer(peers, "r1", "node")
    r = await http.delete("/v1/rooms/r1")
    assert r.status == 200, await r.text()
    i = await node.wait_event(lambda e: e.get("event") == "closed", "'closed' (no reconnect) after room deletion")
    assert node.events[i]["code"] == 4410
    assert (await node.request("stats"))["sockets"] == 1


async def test_awareness_update_is_echoed_to_its_sender(make_daemon: DaemonFactory, peers: Peers) -> None:
    """y-websocket closes a socket that received no message for 30 s ("not even your own
    awareness updates (which are updated every 15 seconds)", y-websocket.js), because the
    reference server broadcasts each applied awareness update to *every* connection, the
    sender included. annotd must echo too, or a client alone in a room churns.

    Deterministic without waiting 30 s: with ``batch_window_ms=0`` a pending awareness frame
    is flushed by the socket's writer no later than the next document frame it sends, so
    after two step-1/step-2 round trips (the second sent only once the first reply arrived)
    an echo would have been received.
    """
    d = await make_daemon(rooms={"batch_window_ms": 0})
    d.hub.create_room("solo")
    node = await stock_peer(peers, "solo", "alone", on=d)
    me = (await node.request("stats"))["clientID"]

    def step2(e: Event) -> bool:
        return e.get("event") == "frame" and e.get("kind") == "step2"

    mark = node.mark()
    await node.request("awareness", state={"user": {"name": "alone"}})
    await node.request("resync")
    first = await node.wait_event(step2, "step 2 reply to the first resync", after=mark)
    await node.request("resync")
    second = await node.wait_event(step2, "step 2 reply to the second resync", after=first + 1)
    echoed = [e for e in node.events[mark:second]
              if e.get("event") == "frame" and e.get("kind") == "awareness"
              and any(c["clientID"] == me for c in e["clients"])]
    assert echoed, "the server did not echo the client's own awareness update back to it"
