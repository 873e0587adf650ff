"""The store on bad days, with real processes: killed with SIGKILL mid-write, a disk that
refuses writes (``RLIMIT_FSIZE``), damaged bytes in the file, a second process on the folder."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from pycrdt import Doc

from annotd.base.config import StorageConfig
from annotd.base.errors import StorageFull
from annotd.core.history import Event, Snapshot
from annotd.storage import RoomDamaged, RoomRecord, SqliteStore, StoreLocked

from .. import storage_crash

ROOT = Path(__file__).resolve().parents[2]
T = 60.0


def empty() -> Snapshot:
    return Snapshot.of(0, 1.0, Doc().get_update())


def test_kill_9_at_random_moments_loses_no_acknowledged_append(tmp_path: Path) -> None:
    """30 writers killed at seeded random moments (some while opening the store), each
    round reopened and checked: every acknowledged seq is there, whole, and the file is sound."""
    seed = 1907
    out = storage_crash.run(tmp_path / "d", kills=30, seed=seed, max_delay_s=0.25)
    print(f"seed {seed}: {out.kills} kills ({out.killed_before_ready} before ready), {out.acked} acks, "
          f"lost {len(out.lost)}")
    assert out.kills == 30
    assert out.lost == [], out.lost[:5]
    assert out.acked > 100  # the kills landed among acknowledged writes, not only at start-up


def _diskfull_child(folder: str) -> None:
    """In a child process: appends until the file-size limit refuses one, checks the room
    still reads, lifts the limit, and checks writing resumes (printing what happened)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    path = Path(folder)
    heard: list[int] = []
    caught_up = threading.Event()

    def listener(newest: dict[str, int]) -> None:
        heard.append(newest["r1"])
        if refused and newest["r1"] >= refused + 1:
            caught_up.set()

    refused, reason = 0, ""
    store = SqliteStore(path, StorageConfig(sync="full", retry_s=0.05), on_commit=listener)
    store.create_room(RoomRecord("r1", "r1", 1.0, "e"), empty()).result(T)
    for seq in range(1, 21):
        store.append("r1", Event(seq, 1.0, "u", _update(seq))).result(T)
    size = max(p.stat().st_size for p in path.iterdir() if p.is_file())
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 64_000, hard))
    seq = 21
    while not refused:
        try:
            store.append("r1", Event(seq, 1.0, "u", _update(seq))).result(T)
            seq += 1
        except StorageFull as exc:
            refused, reason = seq, (exc.data or {}).get("reason", "")
    writable_while_full = store.writable
    also_refused = False
    try:
        store.append("r1", Event(refused + 1, 1.0, "u", _update(refused + 1))).result(T)
    except StorageFull:
        also_refused = True
    readable = [e.seq for e in store.events("r1", 0, refused - 1)] == list(range(1, refused))
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    retried = caught_up.wait(T)  # the writer's retry alone, every retry_s, writes the held appends
    resumed = store.append("r1", Event(refused + 2, 1.0, "u", _update(refused + 2))).result(T)
    print(json.dumps({"refused": refused, "reason": reason, "writableWhileFull": writable_while_full,
                      "alsoRefused": also_refused, "readable": readable, "retried": retried, "resumed": resumed,
                      "writableAfter": store.writable}))
    store.close()


def _update(seq: int) -> bytes:
    return hashlib.sha256(b"%d" % seq).digest() * 256  # 8 KB, different per seq


def test_disk_full_refuses_with_storage_full_keeps_the_file_sound_and_resumes(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    code = f"from tests.storage.test_storage_faults import _diskfull_child; _diskfull_child({str(folder)!r})"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    refused = got["refused"]
    assert refused > 21 and got["reason"].startswith("SQLITE_")
    assert got["writableWhileFull"] is False and got["alsoRefused"] is True and got["readable"] is True
    assert got["retried"] is True and got["resumed"] == refused + 2 and got["writableAfter"] is True
    # the refused appends were held, not dropped: once space was back they went first, in order
    with SqliteStore(folder, StorageConfig(quick_check=True)) as store:
        assert store.problems == []
        events = store.events("r1", 0, refused + 2)
    assert [e.update for e in events] == [_update(s) for s in range(1, refused + 3)]


def _store_with_two_rooms(folder: Path, payload: bytes) -> None:
    with SqliteStore(folder, StorageConfig()) as store:
        for room in ("bad", "good"):
            store.create_room(RoomRecord(room, room, 1.0, "e"), empty())
            store.append(room, Event(1, 1.0, "u", payload if room == "bad" else b"fine")).result(T)


def test_a_checksum_mismatch_fails_that_room_only(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    payload = os.urandom(3000)
    _store_with_two_rooms(folder, payload)
    db = folder / "rooms.sqlite3"
    data = bytearray(db.read_bytes())
    at = data.find(payload[1000:1100])
    assert at > 0
    data[at:at + 10] = bytes(10)
    db.write_bytes(bytes(data))
    with SqliteStore(folder, StorageConfig()) as store:
        assert [r.id for r in store.list_rooms()] == ["bad", "good"]
        assert store.load_room("good", 5).events[0].update == b"fine"
        with pytest.raises(RoomDamaged, match="crc32"):
            store.load_room("bad", 5)
        assert set(store.check_rooms()) == {"bad"}


def test_a_bad_page_fails_that_room_only_and_quick_check_reports_it(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    payload = os.urandom(20_000)  # spills onto overflow pages
    _store_with_two_rooms(folder, payload)
    db = folder / "rooms.sqlite3"
    data = bytearray(db.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    at = data.find(payload[10_000:10_100])
    page = at // page_size
    data[page * page_size: page * page_size + 4] = b"\x7f\xff\xff\xff"  # the overflow chain's next page
    db.write_bytes(bytes(data))
    with SqliteStore(folder, StorageConfig(quick_check=True)) as store:
        assert store.problems, "quick_check saw nothing"
        assert [r.id for r in store.list_rooms()] == ["bad", "good"]
        assert store.load_room("good", 5).events[0].update == b"fine"
        with pytest.raises(RoomDamaged, match="SQLite"):
            store.load_room("bad", 5)


def test_a_second_process_is_refused_naming_the_holder_until_it_dies(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, pathlib\nfrom annotd.base.config import StorageConfig\n"
         "from annotd.storage import SqliteStore\n"
         f"s = SqliteStore(pathlib.Path({str(folder)!r}), StorageConfig())\nprint('ready', flush=True)\nsys.stdin.read()"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreLocked) as info:
            SqliteStore(folder, StorageConfig())
        assert info.value.pid == holder.pid
        assert f"in use by process {holder.pid}" in str(info.value)
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait(T)
        for pipe in (holder.stdin, holder.stdout):
            if pipe is not None:
                pipe.close()
    SqliteStore(folder, StorageConfig()).close()  # the kernel dropped the lock with the process
