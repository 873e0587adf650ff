"""Crash injection for the room store, shared by tests/storage/test_storage_faults.py (CI-sized)
and bench/bench_store_crash.py (long): a writer process is killed with SIGKILL at seeded
random moments, and after each kill every append it saw acknowledged must be on disk.

Why a launcher that forks: starting Python and importing the package takes ~0.3-1.5 s on
a loaded machine; the launcher pays it once and forks one writer per round (the writer
opens the store after the fork, so no thread or SQLite handle crosses it). Each writer
calls ``setsid`` and is killed as a whole process group, as a real crash would take it.

Lines on the launcher's stdout (one ``os.write`` each, atomic on a pipe):
``start <pid>`` (launcher), ``ready`` (writer opened the store), ``ack <room> <seq>``
(a future resolved: the commit is done), ``fail <room> <error>`` (a future failed: a
bug here), ``dead <pid>`` (launcher reaped it: every line
the writer wrote is before this one).
"""

from __future__ import annotations

import hashlib
import os
import random
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOMS = ("crash-a", "crash-b", "crash-c")
IN_FLIGHT = 64
SNAPSHOT_EVERY = 50
ROOT = Path(__file__).resolve().parent.parent


def update_bytes(room: str, seq: int) -> bytes:
    """A deterministic update, 16-400 bytes, so a reader can tell any damage."""
    seed = hashlib.sha256(f"{room}/{seq}".encode()).digest()
    return (seed * 13)[: 16 + seed[0] + seed[1] % 145]


def snapshot_blob(room: str, seq: int) -> bytes:
    return b"snapshot " + f"{room}/{seq}".encode() * 20


# -- the launcher and its writers (child processes) --------------------------------------
def _writer(path: Path, sync: str) -> None:
    """Append to every room, ``IN_FLIGHT`` at a time, printing each acknowledged seq, until killed."""
    import threading
    from concurrent.futures import Future

    from annotd.base.config import StorageConfig
    from annotd.core.history import Event, Snapshot
    from annotd.storage import RoomRecord, SqliteStore

    store = SqliteStore(path, StorageConfig(sync=sync))
    heads = {r.id: r.head_seq for r in store.list_rooms()}
    for room in ROOMS:
        if room not in heads:
            store.create_room(RoomRecord(room, room, time.time(), "e" * 12), Snapshot.of(0, time.time(), b"\x00\x00"))
            heads[room] = 0
    os.write(1, b"ready\n")
    slots = threading.Semaphore(IN_FLIGHT)

    def acked(room: str, fut: Future[int]) -> None:
        exc = fut.exception()
        line = f"ack {room} {fut.result()}" if exc is None else f"fail {room} {type(exc).__name__}: {exc}"
        os.write(1, (line.replace("\n", " ") + "\n").encode())
        slots.release()

    while True:
        for room in ROOMS:
            seq = heads[room] + 1
            heads[room] = seq
            slots.acquire()
            fut = store.append(room, Event(seq, time.time(), "writer", update_bytes(room, seq)))
            fut.add_done_callback(lambda f, room=room: acked(room, f))
            if seq % SNAPSHOT_EVERY == 0:
                blob = snapshot_blob(room, seq)
                store.put_snapshot(room, Snapshot(seq, time.time(), blob, hashlib.sha256(blob).hexdigest(), b""))


def launcher() -> None:
    """Read ``<dir> <sync>`` lines; fork a writer for each; report its pid and its death."""
    import annotd.storage  # noqa: F401  (paid once, inherited by every writer)

    for line in sys.stdin:
        folder, sync = line.split()
        session_r, session_w = os.pipe()
        go_r, go_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(session_r)
            os.close(go_w)
            os.setsid()
            os.close(session_w)  # tells the launcher: this process group exists now
            os.read(go_r, 1)  # EOF once "start" is written: it comes before any line of ours
            os.close(go_r)
            try:
                _writer(Path(folder), sync)
            finally:
                os._exit(1)
        os.close(session_w)
        os.close(go_r)
        os.read(session_r, 1)  # EOF once the writer is in its own session (it can be killed as a group)
        os.close(session_r)
        os.write(1, f"start {pid}\n".encode())
        os.close(go_w)
        os.waitpid(pid, 0)
        os.write(1, f"dead {pid}\n".encode())


# -- the parent ------------------------------------------------------------------------------
@dataclass
class Outcome:
    kills: int = 0
    acked: int = 0
    lost: list[str] = field(default_factory=list)
    killed_before_ready: int = 0
    seeds: list[float] = field(default_factory=list)


class Launcher:
    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", "from tests.storage_crash import launcher; launcher()"],
                                     cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        self._buf = b""

    def line(self, deadline: float | None = None) -> str | None:
        """The next line, or ``None`` when ``deadline`` (monotonic) passes first."""
        assert self.proc.stdout is not None
        while b"\n" not in self._buf:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
            if not ready:
                return None
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise RuntimeError("the launcher exited")
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line.decode()

    def close(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


def verify(folder: Path, acked: dict[str, int], checked: dict[str, int]) -> list[str]:
    """Reopen the store; every acknowledged seq must be there, whole; returns what is not.
    The file is checked whole (``quick_check``) and each room's loadable tail by its
    checksums; event contents are compared from ``checked`` on (what earlier rounds
    compared is covered by the checksums and contiguity checks of ``load_room``)."""
    from annotd.base.config import StorageConfig
    from annotd.storage import SqliteStore

    problems: list[str] = []
    with SqliteStore(folder, StorageConfig(quick_check=True)) as store:
        problems += [f"quick_check: {p}" for p in store.problems]
        heads = {r.id: r.head_seq for r in store.list_rooms()}
        for room, seq in acked.items():
            head = heads.get(room, -1)
            if head < seq:
                problems.append(f"{room}: acknowledged {seq}, the disk has {head}")
                continue
            for ev in store.events(room, checked.get(room, 0), head):
                if ev.update != update_bytes(room, ev.seq):
                    problems.append(f"{room}: event {ev.seq} differs")
            checked[room] = head
            store.load_room(room, 5)
    return problems


def run(folder: Path, kills: int, seed: int, max_delay_s: float, levels: tuple[str, ...] = ("full", "batch", "off"),
        ) -> Outcome:
    """``kills`` rounds: start a writer, kill it after a seeded random delay, verify."""
    rng = random.Random(seed)
    out = Outcome()
    acked: dict[str, int] = {}
    checked: dict[str, int] = {}
    launch = Launcher()
    pid = 0
    try:
        for i in range(kills):
            assert launch.proc.stdin is not None
            launch.proc.stdin.write(f"{folder} {levels[i % len(levels)]}\n".encode())
            start = launch.line()
            assert start is not None and start.startswith("start "), start
            pid = int(start.split()[1])
            # one round in five dies while the store is opening (WAL recovery, schema, first commits)
            delay = rng.uniform(0, 0.01) if rng.random() < 0.2 else rng.uniform(0, max_delay_s)
            out.seeds.append(delay)
            deadline = time.monotonic() + delay
            ready = False
            while (line := launch.line(deadline)) is not None:
                ready = ready or line == "ready"
                _note(line, acked, out)
            os.killpg(pid, signal.SIGKILL)
            out.kills += 1
            out.killed_before_ready += not ready
            while (line := launch.line()) != f"dead {pid}":
                assert line is not None
                _note(line, acked, out)
            pid = 0
            out.lost += verify(folder, acked, checked)
    finally:
        if pid:  # a failure mid-round: never leave a writer running
            os.killpg(pid, signal.SIGKILL)
        launch.close()
    return out


def _note(line: str, acked: dict[str, int], out: Outcome) -> None:
    if line.startswith("fail "):
        out.lost.append(f"an append failed: {line}")
    if line.startswith("ack "):
        _, room, seq = line.split()
        acked[room] = max(acked.get(room, 0), int(seq))
        out.acked += 1
