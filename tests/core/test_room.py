"""Room logic without sockets or an event loop: sequencing, ack, replay, resync, presence."""

from __future__ import annotations

import dataclasses

import orjson
import pytest
from pycrdt import Decoder, Doc, Map

from annotd.base.config import Config
from annotd.base.errors import InvalidParams, LimitReached, MalformedFrame
from annotd.core import yproto
from annotd.core.limits import RoomLimits
from annotd.core.outbound import Outbound
from annotd.core.room import Room


def edit(doc: Doc, key: str, value: object) -> bytes:
    """Make a change in ``doc`` and return the update it produced."""
    before = doc.get_state()
    doc.get("annotations", type=Map)[key] = value
    return doc.get_update(before)


def frames_for(out: list[Outbound], session: str) -> list[bytes | str]:
    return [o.frame for o in out if session in o.to and o.exclude != session]


def unwrap(frame: bytes) -> tuple[int, bytes]:
    assert frame[0] == yproto.MSG_SEQ
    d = Decoder(frame[1:])
    seq = d.read_var_uint()
    return seq, frame[1 + d.i0 :]


def new_room(**limits: object) -> Room:
    return Room("r", "r", 0.0, dataclasses.replace(RoomLimits.of(Config()), **limits))


def test_join_v1_sends_room_info_then_step1() -> None:
    room = new_room()
    out = room.join("s1", "alice", v1=True, last_seq=None, epoch=None, now=0)
    info = orjson.loads(out[0].frame)
    assert info["type"] == "roomInfo" and info["sync"] == "fresh" and info["seq"] == 0
    assert info["epoch"] == room.epoch and info["userId"] == "alice"
    assert yproto.parse(out[1].frame).kind is yproto.Kind.SYNC_STEP1  # type: ignore[arg-type]


def test_stock_join_gets_no_text() -> None:
    room = new_room()
    room.join("v", "a", v1=True, last_seq=None, epoch=None, now=0)
    room.receive_presence("v", {"type": "presence", "cursor": {"x": 1, "y": 2}}, now=0)
    out = room.join("s", "b", v1=False, last_seq=None, epoch=None, now=0)
    assert all(isinstance(f, bytes) for f in frames_for(out, "s"))


def test_sequencing_relay_and_ack() -> None:
    room = new_room()
    room.join("a", "alice", v1=True, last_seq=None, epoch=None, now=0)
    room.join("b", "bob", v1=True, last_seq=None, epoch=None, now=0)
    room.join("c", "carol", v1=False, last_seq=None, epoch=None, now=0)
    doc = Doc()
    for i in range(1, 4):
        ev, out = room.receive("a", yproto.sync_update(edit(doc, f"k{i}", i)), now=i)
        assert ev is not None and ev.seq == i and ev.user_id == "alice"
        to_b = frames_for(out, "b")
        assert len(to_b) == 1 and unwrap(to_b[0])[0] == i  # type: ignore[arg-type]
        to_c = frames_for(out, "c")
        assert to_c == [yproto.sync_update(ev.update)]
        to_a = frames_for(out, "a")
        assert to_a == [f'{{"type":"ack","seq":{i},"changed":true}}']  # never its own data back
    assert room.head == 3


def test_duplicate_update_gets_no_seq() -> None:
    room = new_room()
    room.join("a", "alice", v1=True, last_seq=None, epoch=None, now=0)
    update = edit(Doc(), "k", 1)
    room.receive("a", yproto.sync_update(update), now=0)
    ev, out = room.receive("a", yproto.sync_update(update), now=0)
    assert ev is None and room.head == 1
    assert out == [Outbound(("a",), '{"type":"ack","seq":1,"changed":false}', ack=True)]


def test_malformed_update_changes_nothing() -> None:
    room = new_room()
    room.join("a", "alice", v1=False, last_seq=None, epoch=None, now=0)
    room.receive("a", yproto.sync_update(edit(Doc(), "k", 1)), now=0)
    state = room.doc.get_update()
    for bad in (b"\x00\x02\x03\xff\xff\xff", b"\x00\x09\x00", b"\x05", b"", b"\x00\x02\x10abc"):
        with pytest.raises(MalformedFrame):
            room.receive("a", bad, now=0)
    assert room.doc.get_update() == state and room.head == 1


def test_replay_inside_log_sends_exactly_missing_events() -> None:
    room = new_room()
    room.join("w", "writer", v1=False, last_seq=None, epoch=None, now=0)
    doc = Doc()
    for i in range(10):
        room.receive("w", yproto.sync_update(edit(doc, f"k{i}", i)), now=0)
    out = room.join("r", "reader", v1=True, last_seq=6, epoch=room.epoch, now=0)
    assert orjson.loads(out[0].frame)["sync"] == "replay"
    seqs = [unwrap(f)[0] for f in frames_for(out, "r") if isinstance(f, bytes) and f[0] == yproto.MSG_SEQ]
    assert seqs == [7, 8, 9, 10]


@pytest.mark.parametrize(
    ("last_seq", "epoch_ok", "why"),
    [(3, False, "other epoch"), (99, True, "future seq")],
)
def test_resync_when_replay_impossible(last_seq: int, epoch_ok: bool, why: str) -> None:
    room = new_room()
    room.join("w", "writer", v1=False, last_seq=None, epoch=None, now=0)
    doc = Doc()
    for i in range(5):
        room.receive("w", yproto.sync_update(edit(doc, f"k{i}", i)), now=0)
    out = room.join("r", "reader", v1=True, last_seq=last_seq, epoch=room.epoch if epoch_ok else "old", now=0)
    assert orjson.loads(out[0].frame)["sync"] == "resync", why
    assert not any(isinstance(f, bytes) and f[0] == yproto.MSG_SEQ for f in frames_for(out, "r"))


def test_an_epoch_a_crash_ended_is_replayed_only_up_to_the_seq_it_shares() -> None:
    """After a crash the room's numbering goes on from its durable head (3 here) under a new
    epoch; a client of the old epoch at or below 3 has the same events as the room and is
    replayed, one past it had seen an update the crash lost, whose seq now names another
    event: it resyncs, even though the head has grown past its lastSeq."""
    room = new_room()
    room.earlier_epochs = {"before-crash": 3}
    room.join("w", "writer", v1=False, last_seq=None, epoch=None, now=0)
    doc = Doc()
    for i in range(5):
        room.receive("w", yproto.sync_update(edit(doc, f"k{i}", i)), now=0)
    for last_seq, sync, replayed in [(2, "replay", [3, 4, 5]), (3, "replay", [4, 5]), (4, "resync", []),
                                     (5, "resync", [])]:
        out = room.join(f"r{last_seq}", "reader", v1=True, last_seq=last_seq, epoch="before-crash", now=0)
        info = orjson.loads(out[0].frame)
        assert (info["sync"], info["epoch"]) == (sync, room.epoch), last_seq
        seqs = [unwrap(f)[0] for f in frames_for(out, f"r{last_seq}") if isinstance(f, bytes) and f[0] == yproto.MSG_SEQ]
        assert seqs == replayed
    assert room.replays_from(5, room.epoch) and not room.replays_from(2, "unknown")
    assert not room.replays_from(2, None)


def test_resync_when_log_pruned() -> None:
    room = new_room(snapshot_every_ops=2, snapshots_kept=1)
    room.join("w", "writer", v1=False, last_seq=None, epoch=None, now=0)
    doc = Doc()
    for i in range(6):
        room.receive("w", yproto.sync_update(edit(doc, f"k{i}", i)), now=0)
        room.tick(now=0)
    assert room.history.oldest_seq == 6
    out = room.join("r", "reader", v1=True, last_seq=2, epoch=room.epoch, now=0)
    assert orjson.loads(out[0].frame)["sync"] == "resync"


def test_step1_reply_carries_head_for_v1() -> None:
    room = new_room()
    room.join("w", "writer", v1=False, last_seq=None, epoch=None, now=0)
    room.receive("w", yproto.sync_update(edit(Doc(), "k", 1)), now=0)
    room.join("r", "reader", v1=True, last_seq=None, epoch=None, now=0)
    _, out = room.receive("r", yproto.sync_step1(Doc().get_state()), now=0)
    seq, inner = unwrap(out[0].frame)  # type: ignore[arg-type]
    assert seq == 1
    assert yproto.parse(inner).kind is yproto.Kind.SYNC_STEP2
    fresh = Doc()
    fresh.apply_update(yproto.parse(inner).payload)
    assert fresh.get("annotations", type=Map).to_py() == {"k": 1.0}


def test_client_limit() -> None:
    room = new_room(max_clients=1)
    room.join("a", "alice", v1=False, last_seq=None, epoch=None, now=0)
    with pytest.raises(LimitReached):
        room.join("b", "bob", v1=False, last_seq=None, epoch=None, now=0)


def test_presence_relay_rate_ttl_and_leave() -> None:
    room = new_room(presence_min_interval_s=0.1, presence_ttl_s=5, presence_rebroadcast_s=100)
    room.join("a", "alice", v1=True, last_seq=None, epoch=None, now=0)
    room.join("b", "bob", v1=True, last_seq=None, epoch=None, now=0)
    out = room.receive_presence("a", {"type": "presence", "cursor": {"x": 1, "y": 2}, "selection": ["x"]}, now=1.0)
    msg = orjson.loads(frames_for(out, "b")[0])
    assert msg == {"type": "presence", "userId": "alice", "session": "a", "cursor": {"x": 1, "y": 2}, "selection": ["x"]}
    assert frames_for(out, "a") == []
    # Too soon: held back, then sent by the tick with the latest state.
    assert room.receive_presence("a", {"type": "presence", "cursor": {"x": 5, "y": 6}}, now=1.05) == []
    _, ticked = room.tick(now=1.2)
    assert orjson.loads(frames_for(ticked, "b")[0])["cursor"] == {"x": 5, "y": 6}
    # TTL: no refresh for 5 s → removed and announced.
    _, ticked = room.tick(now=6.3)
    assert orjson.loads(frames_for(ticked, "b")[0]) == {"type": "presenceLeft", "userId": "alice", "session": "a"}
    room.receive_presence("a", {"type": "presence", "cursor": None}, now=7)
    out = room.leave("a")
    assert orjson.loads(frames_for(out, "b")[0])["type"] == "presenceLeft"


def test_presence_validation_names_field() -> None:
    room = new_room()
    room.join("a", "alice", v1=True, last_seq=None, epoch=None, now=0)
    with pytest.raises(InvalidParams) as err:
        room.receive_presence("a", {"type": "presence", "cursor": {"x": "left", "y": 0}}, now=0)
    assert err.value.field == "cursor.x"
    with pytest.raises(InvalidParams) as err:
        room.receive_presence("a", {"type": "presence", "userId": "mallory"}, now=0)
    assert err.value.field == "userId"


def test_awareness_removed_when_owner_leaves() -> None:
    from pycrdt import Awareness

    room = new_room()
    room.join("a", "alice", v1=False, last_seq=None, epoch=None, now=0)
    room.join("b", "bob", v1=False, last_seq=None, epoch=None, now=0)
    mine = Awareness(Doc())
    mine.set_local_state({"user": "alice"})
    update = mine.encode_awareness_update([mine.client_id])
    _, out = room.receive("a", yproto.awareness(update), now=0)
    assert frames_for(out, "b") == [yproto.awareness(update)] and out[0].noisy
    assert frames_for(out, "a") == [yproto.awareness(update)]  # echoed: y-websocket relies on it
    assert mine.client_id in room.presence.awareness.states
    out = room.leave("a")
    theirs = Awareness(Doc())
    theirs.apply_awareness_update(update, "x")
    theirs.apply_awareness_update(yproto.parse(frames_for(out, "b")[0]).payload, "x")  # type: ignore[arg-type]
    assert mine.client_id not in theirs.states


def test_apply_local_is_one_event() -> None:
    room = new_room()
    room.join("a", "alice", v1=True, last_seq=None, epoch=None, now=0)

    def two_changes(doc: Doc) -> str:
        m = doc.get("annotations", type=Map)
        m["x"] = 1
        m["y"] = 2
        return "done"

    result, ev, out = room.apply_local("api", two_changes, now=0)
    assert result == "done" and ev is not None and ev.seq == 1
    assert len(frames_for(out, "a")) == 1  # the API's change reaches the socket client
    _, ev2, out2 = room.apply_local("api", lambda d: None, now=0)
    assert ev2 is None and out2 == []


@pytest.mark.parametrize("n", [0, 1, 127, 128, 300, 16383, 16384, 2**21, 2**35 + 7])
def test_frames_equal_pycrdts_own_encoding(n: int) -> None:
    """The relay builds its frames itself (yproto.varuint, sync_update, with_seq); the bytes
    are exactly what pycrdt's encoders give, for every varint length."""
    from pycrdt import create_update_message, write_var_uint

    assert yproto.varuint(n) == write_var_uint(n)
    update = bytes(i % 251 for i in range(min(n, 70_000)))
    assert yproto.sync_update(update) == create_update_message(update)
    assert yproto.with_seq(n, b"msg") == bytes((yproto.MSG_SEQ,)) + write_var_uint(n) + b"msg"
