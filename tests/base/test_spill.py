"""Big byte strings cross to and from worker processes through files (annotd.base.spill): the
pool's pipe pickled them holding the GIL (a 200 MB state held the event loop ~125 ms)."""

from __future__ import annotations

import asyncio
import copy
import errno
import glob
import os
import pickle
from multiprocessing.reduction import ForkingPickler
from pathlib import Path

import pytest
from pycrdt import Doc, Text

from annotd.base import spill
from annotd.base.docstate import Encoded, StateParts, encode, sha256
from annotd.services.renders.worker import Rendered
from annotd.services.states import StateWorker

BIG = spill.SPILL_BYTES


def spill_files() -> set[str]:
    return {p for d in spill._directories() for p in glob.glob(os.path.join(d, "annotd-*.bytes"))}


def test_big_fields_travel_as_files_and_the_reader_removes_them() -> None:
    before = spill_files()
    parts = StateParts(7, b"b" * (2 * BIG), "sha", (b"small", b"u" * BIG))
    wire = ForkingPickler.dumps(parts)
    assert len(wire) < 1000
    assert len(spill_files() - before) == 2  # the base and the big update, not the small one
    assert pickle.loads(wire) == parts
    assert spill_files() == before
    for obj in (Encoded(3, b"e" * BIG, "sha", b"\x00"), Rendered(b"p" * BIG, 1.5)):
        wire = ForkingPickler.dumps(obj)
        assert len(wire) < 1000 and pickle.loads(wire) == obj
    assert spill_files() == before


def test_small_states_and_other_pickles_are_untouched() -> None:
    before = spill_files()
    small = StateParts(1, b"b" * (BIG - 1), "sha", (b"u",))
    assert len(ForkingPickler.dumps(small)) > BIG - 1
    big = StateParts(1, b"b" * BIG, "sha")
    assert len(pickle.dumps(big)) > BIG and copy.copy(big) == big  # only multiprocessing spills
    assert spill_files() == before


def test_files_nobody_read_are_removed() -> None:
    before = spill_files()
    ForkingPickler.dumps(StateParts(1, b"b" * BIG, "sha"))  # a job cancelled before it ran
    assert len(spill_files() - before) == 1
    assert spill.remove_unread() == 1
    assert spill_files() == before


async def test_a_big_state_through_the_state_worker() -> None:
    """Both directions in a real worker process: the state goes out as files, the encoded
    state comes back as one, and no file is left."""
    before = spill_files()
    doc: Doc = Doc()
    text = doc.get("t", type=Text)
    text += "x" * (3 * BIG)
    base = doc.get_update()
    state = doc.get_state()
    text += "y" * BIG
    parts = StateParts(2, base, sha256(base), (doc.get_update(state),))
    worker = StateWorker()
    try:
        result = await asyncio.wait_for(worker.encode(parts), 120)
    finally:
        await worker.close()
    assert result == encode(parts) and len(result.blob) > 4 * BIG
    assert spill_files() == before


def test_a_full_dev_shm_falls_back_to_the_temp_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    full = tmp_path / "full"
    full.mkdir()
    real_write = spill._write

    def write(directory: str, data: bytes) -> str:
        if directory == str(full):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(directory, data)

    monkeypatch.setattr(spill, "_directories", lambda: [str(full), str(tmp_path)])
    monkeypatch.setattr(spill, "_write", write)
    parts = StateParts(1, b"b" * BIG, "sha")
    wire = ForkingPickler.dumps(parts)
    assert [p.name for p in tmp_path.glob("annotd-*.bytes")] and not list(full.iterdir())
    assert pickle.loads(wire) == parts
    assert not list(tmp_path.glob("annotd-*.bytes"))


def test_threads_spill_at_once() -> None:
    """Two pools' feeder threads can pickle big states at the same time."""
    from concurrent.futures import ThreadPoolExecutor

    before = spill_files()
    parts = [StateParts(i, bytes([i]) * BIG, "sha") for i in range(16)]
    with ThreadPoolExecutor(4) as pool:
        wires = list(pool.map(ForkingPickler.dumps, parts))
    assert [pickle.loads(w) for w in wires] == parts
    assert spill_files() == before
    assert spill.remove_unread() == 0
