"""Event log, snapshots, pruning, versions and reconstruction, without sockets."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Map

from annotd.base.config import Config
from annotd.base.errors import Conflict, Gone, InvalidParams, NotFound
from annotd.core import yproto
from annotd.core.history import AMORTIZE_FROM, History, Snapshot
from annotd.core.limits import RoomLimits
from annotd.core.room import Room


def room_with_writer(**limits: object) -> Room:
    """A room (no sockets) with limits ``limits`` and one stock session ``w`` to write."""
    room = Room("r", "r", 0.0, dataclasses.replace(RoomLimits.of(Config()), **limits))
    room.join("w", "writer", v1=False, last_seq=None, epoch=None, now=0)
    return room


def write(room: Room, doc: Doc, key: str, value: object, now: float = 0.0) -> None:
    before = doc.get_state()
    doc.get("annotations", type=Map)[key] = value
    room.receive("w", yproto.sync_update(doc.get_update(before)), now)


def content(blob: bytes) -> dict[str, object]:
    d = Doc()
    d.apply_update(blob)
    return d.get("annotations", type=Map).to_py() or {}


def test_snapshot_policy_ops_and_time() -> None:
    room = room_with_writer(snapshot_every_ops=3, snapshot_every_s=10.0)
    doc = Doc()
    write(room, doc, "a", 1)
    write(room, doc, "b", 2)
    assert room.tick(now=1)[0] is None  # 2 ops, 1 s: not yet
    write(room, doc, "c", 3)
    snap = room.tick(now=2)[0]
    assert snap is not None and snap.seq == 3
    assert room.tick(now=50)[0] is None  # nothing changed since
    room2 = room_with_writer(snapshot_every_ops=3, snapshot_every_s=10.0)
    write(room2, Doc(), "d", 4, now=1)
    assert room2.tick(now=5)[0] is None  # 1 op, 5 s
    snap = room2.tick(now=10)[0]  # 10 s since the room's first snapshot
    assert snap is not None and snap.seq == 1


def test_log_bounded_over_100k_ops() -> None:
    """The log holds at most the snapshot window: ``kept`` times the ops rule's interval, which
    for a document past ``AMORTIZE_FROM`` is the bytes that make up ``1/tail_ratio`` of its
    excess (so the log stays proportional to the document, never to the number of changes)."""
    every, kept = 200, 5
    room = room_with_writer(snapshot_every_ops=every, snapshots_kept=kept)
    ratio = room.history.tail_ratio
    assert ratio > 0
    doc = Doc()
    m = doc.get("annotations", type=Map)
    updates: list[bytes] = []
    doc.observe(lambda e: updates.append(e.update))  # O(change), unlike get_update(state)
    peak = peak_bytes = biggest = 0
    for i in range(100_000):
        m[f"k{i % 50}"] = i
        update = updates.pop()
        biggest = max(biggest, len(update))
        room.receive("w", yproto.sync_update(update), 0)
        room.tick(now=0)
        peak = max(peak, len(room.history.log))
        peak_bytes = max(peak_bytes, room.history.log.byte_size())
    assert room.head == 100_000
    size = len(room.history.latest.blob)
    assert size > AMORTIZE_FROM  # the amortized rule was in play
    assert peak > every * kept  # ...and spaced the snapshots out
    assert peak_bytes <= kept * (every * biggest + (size - AMORTIZE_FROM) // ratio + biggest)
    assert len(room.history.snapshots) == kept
    assert content(room.history.state_at(room.head)) == m.to_py()


def test_ops_rule_alone_up_to_amortize_from() -> None:
    """A document under ``AMORTIZE_FROM`` is snapshotted every ``snapshot_every_ops`` changes
    exactly, whatever its updates' sizes; with ``snapshot_tail_ratio = 0`` any document is."""
    for ratio, blob in ((16, b"x" * (AMORTIZE_FROM - 1)), (0, b"x" * (4 * AMORTIZE_FROM))):
        history = History(every_ops=3, every_s=1e9, every_bytes=4 << 20, keep=5, cache_size=2,
                          cache_bytes=16 << 20, now=0, tail_ratio=ratio)
        history.add(dataclasses.replace(history.latest, blob=blob))
        history.append(0, "u", b"1")
        history.append(0, "u", b"2")
        assert not history.snapshot_due()
        history.append(0, "u", b"3")
        assert history.snapshot_due()


def test_ops_rule_amortized_past_amortize_from() -> None:
    """Past ``AMORTIZE_FROM`` the ops rule waits until ``tail_ratio`` x the bytes logged since
    reach the snapshot's excess; the bytes and time rules are unchanged."""
    history = History(every_ops=3, every_s=30, every_bytes=4 << 20, keep=5, cache_size=2,
                      cache_bytes=16 << 20, now=0, tail_ratio=16)
    history.add(dataclasses.replace(history.latest, blob=b"x" * (AMORTIZE_FROM + 1600)))
    for _ in range(9):  # 9 ops of 10 bytes: 90 x 16 < 1600
        history.append(0, "u", b"0123456789")
    assert not history.snapshot_due()
    assert history.snapshot_due(now=30)  # the time rule
    history.append(0, "u", b"0123456789")  # 100 bytes x 16 = 1600
    assert history.snapshot_due()
    bytes_rule = History(every_ops=10**6, every_s=1e9, every_bytes=100, keep=5, cache_size=2,
                         cache_bytes=16 << 20, now=0, tail_ratio=16)
    bytes_rule.add(dataclasses.replace(bytes_rule.latest, blob=b"x" * (8 * AMORTIZE_FROM)))
    bytes_rule.append(0, "u", b"y" * 100)
    assert bytes_rule.snapshot_due()


def test_reconstruct_checks_checksum() -> None:
    room = room_with_writer(snapshot_every_ops=2)
    doc = Doc()
    for i in range(4):
        write(room, doc, f"k{i}", i)
        room.tick(0)
    history = room.history
    snap = history.snapshots[-1]
    history._snapshots[-1] = dataclasses.replace(snap, blob=snap.blob + b"\x00")  # corrupt it
    with pytest.raises(RuntimeError, match="checksum"):
        history.state_at(snap.seq)


def test_seq_bounds() -> None:
    room = room_with_writer(snapshot_every_ops=2, snapshots_kept=1)
    doc = Doc()
    for i in range(6):
        write(room, doc, f"k{i}", i)
        room.tick(0)
    with pytest.raises(InvalidParams) as err:
        room.history.state_at(99)
    assert err.value.field == "seq"
    with pytest.raises(Gone):
        room.history.state_at(2)


def test_version_pins_state_against_pruning() -> None:
    room = room_with_writer(snapshot_every_ops=2, snapshots_kept=1)
    doc = Doc()
    write(room, doc, "a", 1)
    v = room.history.add_version("v1", room.head, 0, "alice")
    for i in range(20):
        write(room, doc, f"k{i}", i)
        room.tick(0)
    assert room.history.oldest_seq > v.seq
    assert content(room.history.state_at(v.seq)) == {"a": 1.0}  # still exact
    with pytest.raises(Gone):
        room.history.state_at(v.seq + 1)  # only the pinned seq itself, not its neighbours
    with pytest.raises(Conflict):
        room.history.add_version("v1", room.head, 0, "alice")
    with pytest.raises(InvalidParams):
        room.history.add_version("bad tag!", room.head, 0, "alice")
    with pytest.raises(NotFound):
        room.history.version("nope")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["write", "snapshot", "tag head", "tag back"]), max_size=60),
       st.integers(min_value=1, max_value=4))
def test_retention_keeps_the_newest_and_every_pinned_snapshot(steps: list[str], kept: int) -> None:
    """:meth:`History.add` drops snapshots without a pass over them (a bundle pins one per
    version, thousands): what it keeps is still exactly the newest ``kept`` and every
    version's, and each version's state is still exact."""
    room = room_with_writer(snapshot_every_ops=1000, snapshots_kept=kept)
    doc = Doc()
    history = room.history
    expected: dict[str, dict[str, object]] = {}
    for n, step in enumerate(steps):
        if step == "write":
            write(room, doc, f"k{n}", n)
        elif step == "snapshot" and history.snapshot_seq < room.head:
            history.add(Snapshot.of(room.head, 0, history.state_at(room.head)))
        elif step.startswith("tag"):
            seq = room.head if step == "tag head" else history.oldest_seq
            history.add_version(f"v{n}", seq, 0, "alice")
            expected[f"v{n}"] = content(history.state_at(seq))
        seqs = [s.seq for s in history.snapshots]
        pinned = {v.seq for v in history.versions}
        assert seqs == sorted(set(seqs))
        assert [q for q in seqs[:-kept] if q not in pinned] == []  # only the newest or pinned
        assert pinned <= set(seqs)
        assert all(history.snapshot(q) is not None for q in seqs)
    for tag, state in expected.items():
        assert content(history.state_at(history.version(tag).seq)) == state


def test_reconstruction_cache_serves_repeats() -> None:
    history = History(every_ops=1000, every_s=1e9, every_bytes=4 << 20, keep=5, cache_size=2, cache_bytes=16 << 20, now=0)
    doc = Doc()
    m = doc.get("annotations", type=Map)
    for i in range(10):
        before = doc.get_state()
        m[f"k{i}"] = i
        history.log.append(0, "u", doc.get_update(before))
    first = history.state_at(5)
    assert history.state_at(5) is first  # the same object: served from the cache


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    ops=st.lists(st.tuples(st.sampled_from("abcdef"), st.integers(0, 9), st.booleans()), min_size=1, max_size=80),
    every=st.integers(1, 12),
    kept=st.integers(1, 4),
)
def test_reconstructed_state_equals_live_state(ops: list[tuple[str, int, bool]], every: int, kept: int) -> None:
    """For random histories, the state rebuilt at every retained seq is what the live document had then."""
    room = room_with_writer(snapshot_every_ops=every, snapshots_kept=kept)
    doc = Doc()
    m = doc.get("annotations", type=Map)
    live: dict[int, dict[str, object]] = {room.head: {}}
    for key, value, delete in ops:
        before = doc.get_state()
        if delete and key in m:
            del m[key]
        else:
            m[key] = value
        room.receive("w", yproto.sync_update(doc.get_update(before)), 0)
        live[room.head] = room.doc.get("annotations", type=Map).to_py() or {}
        room.tick(0)
    history = room.history
    for seq in range(history.oldest_seq, room.head + 1):
        assert content(history.state_at(seq)) == live[seq], seq
