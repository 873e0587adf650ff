"""Relay benchmark: latency, throughput, loss, server CPU and memory of annotd rooms.

Not a test: it prints figures (and ``--json`` prints them machine-readable). The server runs
in its own process pinned to core 0; this load generator is one asyncio (uvloop) process
pinned to core 1, speaking plain ``websockets`` with the annotd.v1 subprotocol. Every update
is a real Yjs update (moving an annotation's x/y) encoded with pycrdt *before* the run.

How latency is measured, exactly and cheaply: a sender appends its send time to a FIFO and
pops it when its ``ack`` arrives (a connection's frames are sequenced in order, so the n-th
ack answers the n-th update); that gives ``seq -> send time``. Receivers only record
``(seq, receive time)`` from the ``varuint(100) varuint(seq)`` wrapper of each relayed
frame (no pycrdt decode). Both are joined after the run, which also checks that every
receiver got every other client's update exactly once.

    .venv/bin/python -m bench.bench_relay                      # every scenario, uvloop on
    .venv/bin/python -m bench.bench_relay --no-uvloop --scenario room10,saturation
    .venv/bin/python -m bench.bench_relay --json > relay.json
    .venv/bin/python -m bench.bench_relay --scenario room10 --py-spy /tmp/prof   # profile

See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import select
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from pycrdt import Doc, Map, create_update_message
from pycrdt._sync import create_sync_step1_message
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from .relay_node import NodeServer, ProcessFigures, client_offset, encode_varuint, update_key

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SERVER_CORE = 0
GEN_CORE = 1
V1 = [Subprotocol("annotd.v1")]
EMPTY_SV = b"\x00"
SCENARIOS = ("room10", "rooms50", "saturation", "join", "idle", "idlecpu")
PLAIN_SCENARIOS = ("room10", "rooms50", "saturation")
TARGETS = {
    "room10.p50_ms": 1.0,
    "room10.p99_ms": 2.0,
    "rooms50.p99_ms": 5.0,
    "rooms50.server_cpu_pct": 50.0,
    "cpu_us_per_delivery": 20.0,
    "saturation.deliveries_per_s": 27_000,
    "join_ms": 100.0,
}
pc = time.perf_counter


# --------------------------------------------------------------------------------------
# The server process
# --------------------------------------------------------------------------------------
class Server(ProcessFigures):
    """``annotd serve`` in its own process on core 0, optionally under py-spy or cProfile.

    ``root`` is the tree the server runs from (another worktree gives "before" figures with
    the same venv: ``python -m annotd`` imports the package from the working directory;
    ``python`` another venv, for a tree whose dependencies differ).

    ``plain``: clients connect without ``annotd.v1`` (no seq frames, no acks); ``echoes``:
    the server sends an update back to its sender (the node server does, annotd never)."""

    plain = False
    echoes = False
    label = "annotd"

    def __init__(self, *, uvloop: bool, extra_toml: str = "", cprofile: Path | None = None, nice: int = 0,
                 cores: str = str(SERVER_CORE), root: Path = ROOT, python: str = PYTHON) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="annotd-bench-")
        cfg = Path(self.tmp.name) / "config.toml"
        cfg.write_text(f"[server]\nuse_uvloop = {'true' if uvloop else 'false'}\n{extra_toml}", encoding="utf-8")
        self.stderr_path = Path(self.tmp.name) / "server.log"
        cmd = [python]
        if cprofile is not None:
            cmd += ["-m", "cProfile", "-o", str(cprofile)]
        cmd += ["-m", "annotd", "serve", "--ws-port", "0", "--http-port", "0", "--config", str(cfg)]
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 - closed in stop()
        prio = ["nice", "-n", str(nice)] if nice else []
        self.proc = subprocess.Popen([*prio, "taskset", "-c", cores, *cmd], cwd=root,
                                     stdout=subprocess.PIPE, stderr=self._stderr)
        self.ws_url, self.http_url = self._wait_listening()
        self.rooms_url = f"{self.ws_url}/v1/ws/rooms"
        self.pid = self.proc.pid
        self._spy: subprocess.Popen[bytes] | None = None

    def _wait_listening(self, timeout: float = 20.0) -> tuple[str, str]:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline().decode() if ready else ""
        if not line.startswith("annotd listening:"):
            self.proc.kill()
            raise RuntimeError(f"server did not start: {line!r}\n{self.stderr_path.read_text()[-2000:]}")
        ws, http = line.split(":", 1)[1].split()
        return ws.removesuffix("/v1/ws"), http

    # -- HTTP ----------------------------------------------------------------------------
    def create_room(self, room_id: str) -> dict[str, Any]:
        req = urllib.request.Request(f"{self.http_url}/v1/rooms", data=orjson.dumps({"id": room_id}),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return orjson.loads(resp.read())

    def get_room(self, room_id: str) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.http_url}/v1/rooms/{room_id}", timeout=10) as resp:
            return orjson.loads(resp.read())

    # -- profiling -------------------------------------------------------------------------
    def spy_start(self, out: Path, native: bool = False) -> None:
        spy = Path(PYTHON).with_name("py-spy")
        mode = ["--native"] if native else ["--nonblocking"]  # --native has to pause the process
        self._spy = subprocess.Popen(
            ["taskset", "-c", str(GEN_CORE), str(spy), "record", "--pid", str(self.pid), "--format", "raw",
             "--rate", "250", *mode, "--output", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def spy_stop(self) -> None:
        if self._spy is not None:
            self._spy.send_signal(signal.SIGINT)
            try:
                self._spy.wait(15)
            except subprocess.TimeoutExpired:
                self._spy.kill()
            self._spy = None

    def warnings(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for line in self.stderr_path.read_text(errors="replace").splitlines():
            parts = line.split(None, 3)
            if len(parts) >= 4 and parts[1] in ("warning", "error"):
                counts[f"{parts[2]} {parts[3].split('=', 1)[0].rsplit(' ', 1)[0]}"] += 1
        return counts

    def stop(self) -> None:
        self.spy_stop()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()
        self.tmp.cleanup()


# --------------------------------------------------------------------------------------
# Updates, encoded up front
# --------------------------------------------------------------------------------------
def annotation(i: int, user: str) -> Map:
    rnd = random.Random(i)
    return Map({
        "id": f"a{i}", "type": "rect", "x": rnd.uniform(0, 1500), "y": rnd.uniform(0, 900),
        "w": rnd.uniform(20, 300), "h": rnd.uniform(20, 200), "rotation": 0.0, "z": f"a{i:05d}",
        "locked": False, "createdBy": user, "updatedBy": user, "updatedAt": 1.7e9,
        "style": Map({"stroke": "#e03131", "fill": "none", "strokeWidth": 2.0, "strokeStyle": "solid",
                      "opacity": 1.0}),
    })


def move_updates(n: int, ann_id: str, user: str) -> list[bytes]:
    """``n`` sync-update frames from one fresh client: create annotation ``ann_id``, then move it.

    Each update is a real Yjs update (one transaction setting x and y) that only depends on
    this client's previous updates, so the server integrates every one at once.
    """
    doc: Doc[Any] = Doc()
    frames: list[bytes] = []
    doc.observe(lambda e: frames.append(create_update_message(e.update)))
    anns = doc.get("annotations", type=Map)
    anns[ann_id] = annotation(hash(ann_id) & 0xFFFF, user)
    a = anns[ann_id]
    for k in range(n - 1):
        with doc.transaction():
            a["x"] = 100.0 + (k % 1000) * 0.5
            a["y"] = 200.0 + (k % 700) * 0.25
    return frames


def load_updates(n: int, every_new: int = 50) -> list[bytes]:
    """``n`` small updates from one client: every ``every_new``-th creates an annotation,
    the others move a random existing one (so the document holds ``n / every_new``)."""
    doc: Doc[Any] = Doc()
    frames: list[bytes] = []
    doc.observe(lambda e: frames.append(create_update_message(e.update)))
    anns = doc.get("annotations", type=Map)
    rnd = random.Random(7)
    ids: list[str] = []
    for k in range(n):
        if k % every_new == 0:
            ids.append(f"j{k}")
            anns[ids[-1]] = annotation(k, "loader")
        else:
            a = anns[rnd.choice(ids)]
            with doc.transaction():
                a["x"] = rnd.uniform(0, 1500)
                a["y"] = rnd.uniform(0, 900)
    return frames


def _varuint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def _payload(message: bytes) -> bytes:
    """The update inside a plain y-protocols sync message ``0, sub, varuint(len), update``."""
    length, i = _varuint(message, 2)
    return message[i:i + length]


# --------------------------------------------------------------------------------------
# A benchmark client: plain websockets, annotd.v1
# --------------------------------------------------------------------------------------
@dataclass(eq=False)
class Client:
    idx: int
    room: str
    ws: ClientConnection
    frames: list[bytes] = field(default_factory=list)
    pending: deque[float] = field(default_factory=deque)     # send times awaiting their ack
    ack_seq: list[int] = field(default_factory=list)
    ack_sent: list[float] = field(default_factory=list)
    ack_recv: list[float] = field(default_factory=list)
    unchanged: int = 0
    r_seq: list[int] = field(default_factory=list)            # relayed updates received
    r_time: list[float] = field(default_factory=list)
    step2_seq: int | None = None
    step2_time: float = 0.0
    step2_frame: bytes = b""
    info: dict[str, Any] = field(default_factory=dict)
    info_time: float = 0.0
    close_code: int | None = None
    window: asyncio.Semaphore | None = None
    sent: int = 0
    max_lag: float = 0.0
    synced: asyncio.Event = field(default_factory=asyncio.Event)
    all_acked: asyncio.Event = field(default_factory=asyncio.Event)  # set when pending empties
    reader: asyncio.Task[None] | None = None
    plain: bool = False                                      # no annotd.v1: see bench/relay_node.py
    own_tag: bytes = b""                                     # plain: varuint(own Yjs client id)
    r_msg: list[bytes] = field(default_factory=list)          # plain: updates received from others
    sent_times: list[float] = field(default_factory=list)     # send time of frames[k]

    async def read(self) -> None:
        if self.plain:
            await self.read_plain()
            return
        ws = self.ws
        r_seq, r_time = self.r_seq, self.r_time
        try:
            async for m in ws:
                t = pc()
                if m.__class__ is bytes:
                    if m[0] != 100:
                        continue  # the server's sync step 1, awareness
                    b = m[1]
                    if b < 0x80:
                        seq, off = b, 2
                    else:
                        seq, off = _varuint(m, 1)
                    if m[off] == 0:
                        sub = m[off + 1]
                        if sub == 2:
                            r_seq.append(seq)
                            r_time.append(t)
                        elif sub == 1:
                            self.step2_seq, self.step2_time, self.step2_frame = seq, t, m[off:]
                            self.synced.set()
                else:
                    msg = orjson.loads(m)
                    kind = msg.get("type")
                    if kind == "ack":
                        self.ack_seq.append(msg["seq"])
                        self.ack_sent.append(self.pending.popleft())
                        self.ack_recv.append(t)
                        if not self.pending:
                            self.all_acked.set()
                        if not msg["changed"]:
                            self.unchanged += 1
                        if self.window is not None:
                            self.window.release()
                    elif kind == "roomInfo":
                        self.info, self.info_time = msg, t
        except ConnectionClosed:
            pass
        finally:
            self.close_code = ws.close_code

    async def read_plain(self) -> None:
        """Plain y-protocols: keep other clients' updates whole (identified after the run);
        the sender's own update coming back (node's echo) counts as its ack."""
        ws, r_msg, r_time = self.ws, self.r_msg, self.r_time
        try:
            async for m in ws:
                t = pc()
                if m.__class__ is not bytes or m[0] != 0:
                    continue  # awareness
                sub = m[1]
                if sub == 2:
                    if m.startswith(self.own_tag, client_offset(m)):
                        self.ack_sent.append(self.pending.popleft())
                        self.ack_recv.append(t)
                        if not self.pending:
                            self.all_acked.set()
                        if self.window is not None:
                            self.window.release()
                    else:
                        r_msg.append(m)
                        r_time.append(t)
                elif sub == 1:
                    self.step2_time, self.step2_frame = t, m
                    self.synced.set()
        except ConnectionClosed:
            pass
        finally:
            self.close_code = ws.close_code

    async def send(self, frame: bytes) -> None:
        self.sent_times.append(pc())
        self.pending.append(pc())
        await self.ws.send(frame)
        self.sent += 1

    async def paced(self, start: float, period: float, stop: float) -> None:
        """Send ``frames`` on the fixed schedule ``start + k * period`` until ``stop``."""
        k = 0
        ws, pending, frames, sent_times = self.ws, self.pending, self.frames, self.sent_times
        try:
            while k < len(frames):
                due = start + k * period
                if due >= stop:
                    break
                now = pc()
                if due > now:
                    await asyncio.sleep(due - now)
                else:
                    self.max_lag = max(self.max_lag, now - due)
                ts = pc()
                pending.append(ts)
                sent_times.append(ts)
                await ws.send(frames[k])
                k += 1
        except ConnectionClosed:
            pass
        self.sent = k

    async def windowed(self, stop: float) -> None:
        """Send as fast as ``window`` un-acked updates allow, until ``stop``."""
        assert self.window is not None
        k = 0
        try:
            while k < len(self.frames) and pc() < stop:
                await self.window.acquire()
                ts = pc()
                self.pending.append(ts)
                self.sent_times.append(ts)
                await self.ws.send(self.frames[k])
                k += 1
        except ConnectionClosed:
            pass
        self.sent = k

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        if self.reader is not None:
            with contextlib.suppress(BaseException):
                await self.reader


async def open_client(base: str, room: str, idx: int, query: str = "", *, step1: bytes = EMPTY_SV,
                      plain: bool = False) -> Client:
    """A client of ``{base}/{room}`` (``base``: the server's ``rooms_url``)."""
    ws = await connect(f"{base}/{room}?userId=u{idx}{query}", subprotocols=None if plain else V1,
                       compression=None, max_size=None, ping_interval=None, open_timeout=30)
    client = Client(idx, room, ws, plain=plain)
    client.reader = asyncio.create_task(client.read())
    # A y-websocket client sends its sync step 1 right after opening.
    await ws.send(create_sync_step1_message(step1))
    return client


async def open_many(base: str, rooms: list[str], per_room: int, plain: bool = False) -> list[Client]:
    sem = asyncio.Semaphore(32)

    async def one(room: str, idx: int) -> Client:
        async with sem:
            return await open_client(base, room, idx, plain=plain)

    clients = await asyncio.gather(*(one(r, i * per_room + j) for i, r in enumerate(rooms) for j in range(per_room)))
    async with asyncio.timeout(30):
        await asyncio.gather(*(c.synced.wait() for c in clients))
    return list(clients)


# --------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------
def core_times() -> dict[int, tuple[int, int]]:
    """Per-core (busy, total) jiffies from /proc/stat: shows other load sharing our cores."""
    out: dict[int, tuple[int, int]] = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                name, *vals = line.split()
                v = [int(x) for x in vals]
                total = sum(v[:8])
                out[int(name[3:])] = (total - v[3] - v[4], total)
    return out


def core_busy_pct(a: dict[int, tuple[int, int]], b: dict[int, tuple[int, int]], core: int) -> float:
    if core not in a or core not in b:
        return float("nan")
    busy, total = b[core][0] - a[core][0], b[core][1] - a[core][1]
    return round(100 * busy / total, 1) if total else float("nan")


async def wait_quiet(limit_s: float, busy_max: float = 15.0) -> float:
    """Wait (at most ``limit_s``) until both benchmark cores were < ``busy_max`` % busy for
    one second: other work on a shared machine skews every figure. Returns seconds waited."""
    t0 = pc()
    while True:
        a = core_times()
        await asyncio.sleep(1.0)
        b = core_times()
        busy = [core_busy_pct(a, b, c) for c in (SERVER_CORE, GEN_CORE)]
        if all(x != x or x < busy_max for x in busy) or pc() - t0 >= limit_s:
            return round(pc() - t0, 1)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))]


def ms(x: float) -> float:
    return round(x * 1000, 3)


@dataclass
class LoadResult:
    rooms: int
    clients_per_room: int
    rate_per_client: float | None
    window: int | None
    seconds: float
    sent: int = 0
    acked: int = 0
    deliveries: int = 0
    deliveries_per_s: float = 0.0
    updates_per_s: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    p999_ms: float = 0.0
    max_ms: float = 0.0
    ack_p50_ms: float = 0.0
    ack_p99_ms: float = 0.0
    lost: int = 0
    duplicated: int = 0
    echoed: int = 0
    unknown: int = 0
    unchanged_acks: int = 0
    kicked: int = 0
    server_cpu_pct: float = 0.0
    server_user_pct: float = 0.0
    server_sys_pct: float = 0.0
    server_cpu_us_per_delivery: float = 0.0
    server_cpu_us_per_update: float = 0.0
    gen_cpu_pct: float = 0.0
    gen_max_lag_ms: float = 0.0
    core0_busy_pct: float = 0.0
    core1_busy_pct: float = 0.0
    other_on_server_core_pct: float = 0.0
    server_rss_mib: float = 0.0
    drained: bool = True


async def run_load(server: Server, *, tag: str, rooms: int, per_room: int, rate: float | None, seconds: float,
                   warmup: float, window: int | None = None, spy: Path | None = None,
                   spy_native: bool = False) -> LoadResult:
    """Open ``rooms * per_room`` clients and let each send ``rate``/s (or ``window`` in flight)."""
    room_ids = [f"{tag}-{i}" for i in range(rooms)]
    for r in room_ids:
        server.create_room(r)
    n = rooms * per_room
    total = warmup + seconds
    count = int(total * rate) + 2 if rate else int(total * 2500) + 2
    frames = [move_updates(count, f"m{i}", f"u{i}") for i in range(n)]
    plain = server.plain
    clients = await open_many(server.rooms_url, room_ids, per_room, plain)
    for c, f in zip(clients, frames, strict=True):
        c.frames = f
        c.own_tag = encode_varuint(update_key(f[0])[0])
        if window:
            c.window = asyncio.Semaphore(window)
    await asyncio.sleep(0.2)

    t0 = pc() + 0.05
    t_meas, t_stop = t0 + warmup, t0 + total
    if rate:
        period = 1.0 / rate
        tasks = [asyncio.create_task(c.paced(t0 + (i / n) * period, period, t_stop)) for i, c in enumerate(clients)]
    else:
        await asyncio.sleep(t0 - pc())
        tasks = [asyncio.create_task(c.windowed(t_stop)) for c in clients]
    await asyncio.sleep(t_meas - pc())
    (ua, sa), gen_a, wall_a, cores_a = server.cpu_split(), time.process_time(), pc(), core_times()
    if spy is not None:
        server.spy_start(spy, spy_native)
    await asyncio.sleep(max(0.0, t_stop - pc()))
    (ub, sb), gen_b, wall_b, cores_b = server.cpu_split(), time.process_time(), pc(), core_times()
    if spy is not None:
        server.spy_stop()
    await asyncio.gather(*tasks)

    # Drain: every update acked and relayed to every other member (or give up after 10 s).
    by_room: dict[str, list[Client]] = {}
    for c in clients:
        by_room.setdefault(c.room, []).append(c)
    deadline = pc() + 10
    drained = False
    acks = not plain or server.echoes
    while pc() < deadline:
        if not acks or all(not c.pending or c.close_code is not None for c in clients):
            done = True
            for members in by_room.values():
                if plain:
                    sent = sum(c.sent for c in members)
                    behind = any(len(c.r_msg) < sent - c.sent and c.close_code is None for c in members)
                else:
                    acked = sum(len(c.ack_seq) for c in members)
                    behind = any(len(c.r_seq) < acked - len(c.ack_seq) and c.close_code is None for c in members)
                if behind:
                    done = False
                    break
            if done:
                drained = True
                break
        await asyncio.sleep(0.005)
    rss = server.rss_bytes()
    for c in clients:
        await c.close()

    res = LoadResult(rooms, per_room, rate, window, wall_b - wall_a, drained=drained)
    lat: list[float] = []
    ack_rt: list[float] = []
    in_window = 0
    for members in by_room.values():
        if plain:
            in_window += _join_plain(members, res, lat, ack_rt, t_meas, t_stop)
            continue
        sent_at: dict[int, tuple[int, float]] = {}
        for c in members:
            res.sent += c.sent
            res.acked += len(c.ack_seq)
            res.unchanged_acks += c.unchanged
            res.gen_max_lag_ms = max(res.gen_max_lag_ms, ms(c.max_lag))
            if c.close_code not in (None, 1000):
                res.kicked += 1
            for s, ts, tr in zip(c.ack_seq, c.ack_sent, c.ack_recv, strict=True):
                sent_at[s] = (c.idx, ts)
                if ts >= t_meas:
                    ack_rt.append(tr - ts)
        for c in members:
            expected = {s for s, (who, _) in sent_at.items() if who != c.idx}
            got = Counter(c.r_seq)
            res.duplicated += sum(k - 1 for k in got.values() if k > 1)
            res.lost += len(expected - got.keys())
            for s, tr in zip(c.r_seq, c.r_time, strict=True):
                who_ts = sent_at.get(s)
                if who_ts is None:
                    res.unknown += 1
                    continue
                if who_ts[0] == c.idx:
                    res.echoed += 1
                    continue
                res.deliveries += 1
                if t_meas <= tr < t_stop:
                    in_window += 1
                if who_ts[1] >= t_meas:
                    lat.append(tr - who_ts[1])
    wall = wall_b - wall_a
    res.deliveries_per_s = round(in_window / wall, 1)
    res.updates_per_s = round(sum(1 for c in clients for ts in c.sent_times if t_meas <= ts < t_stop) / wall, 1)
    res.p50_ms, res.p99_ms, res.p999_ms, res.max_ms = (ms(pct(lat, 50)), ms(pct(lat, 99)), ms(pct(lat, 99.9)),
                                                       ms(max(lat) if lat else float("nan")))
    res.ack_p50_ms, res.ack_p99_ms = ms(pct(ack_rt, 50)), ms(pct(ack_rt, 99))
    cpu = (ub + sb) - (ua + sa)
    res.server_cpu_pct = round(100 * cpu / wall, 1)
    res.server_user_pct = round(100 * (ub - ua) / wall, 1)
    res.server_sys_pct = round(100 * (sb - sa) / wall, 1)
    res.server_cpu_us_per_delivery = round(cpu / in_window * 1e6, 2) if in_window else float("nan")
    res.server_cpu_us_per_update = round(cpu / (res.updates_per_s * wall) * 1e6, 2) if res.updates_per_s else float("nan")
    res.gen_cpu_pct = round(100 * (gen_b - gen_a) / wall, 1)
    res.server_rss_mib = round(rss / 2**20, 1)
    res.core0_busy_pct = core_busy_pct(cores_a, cores_b, SERVER_CORE)
    res.core1_busy_pct = core_busy_pct(cores_a, cores_b, GEN_CORE)
    res.other_on_server_core_pct = round(res.core0_busy_pct - res.server_cpu_pct, 1)
    return res


def _join_plain(members: list[Client], res: LoadResult, lat: list[float], ack_rt: list[float],
                t_meas: float, t_stop: float) -> int:
    """Plain mode's join for one room: name every update by :func:`update_key`, then as the
    seq join does (loss, duplicates, latency); the sender's echo, if any, gave ``ack_rt``.
    Returns the deliveries received inside the measured window."""
    sent_at: dict[tuple[int, int], tuple[int, float]] = {}
    in_window = 0
    for c in members:
        res.sent += c.sent
        res.acked += len(c.ack_sent)
        res.gen_max_lag_ms = max(res.gen_max_lag_ms, ms(c.max_lag))
        if c.close_code not in (None, 1000):
            res.kicked += 1
        for f, ts in zip(c.frames, c.sent_times, strict=False):
            sent_at[update_key(f)] = (c.idx, ts)
        ack_rt.extend(tr - ts for ts, tr in zip(c.ack_sent, c.ack_recv, strict=True) if ts >= t_meas)
    for c in members:
        got = Counter(update_key(m) for m in c.r_msg)
        res.duplicated += sum(k - 1 for k in got.values() if k > 1)
        res.lost += sum(1 for key, (who, _) in sent_at.items() if who != c.idx and key not in got)
        for m, tr in zip(c.r_msg, c.r_time, strict=True):
            who_ts = sent_at.get(update_key(m))
            if who_ts is None:
                res.unknown += 1
                continue
            res.deliveries += 1
            if t_meas <= tr < t_stop:
                in_window += 1
            if who_ts[1] >= t_meas:
                lat.append(tr - who_ts[1])
    return in_window


# --------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------
async def scenario_room10(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    res = await run_load(server, tag="room10", rooms=1, per_room=10, rate=30, seconds=args.duration,
                         warmup=1.0, spy=_spy(args, "room10"), spy_native=args.py_spy_native)
    return vars(res)


async def scenario_rooms50(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    res = await run_load(server, tag="rooms50", rooms=50, per_room=4, rate=10, seconds=args.duration,
                         warmup=1.0, spy=_spy(args, "rooms50"), spy_native=args.py_spy_native)
    return vars(res)


async def scenario_saturation(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    """Stepped per-writer rates (10 writers, 1 room) until p99 >= 100 ms or any loss; then
    a flat-out run where each writer keeps ``window`` un-acked updates in flight."""
    step_s = max(2.0, args.duration / 2)
    steps: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    for i, rate in enumerate(args.sat_rates):
        res = vars(await run_load(server, tag=f"sat{i}", rooms=1, per_room=10, rate=rate, seconds=step_s,
                                  warmup=0.5))
        ok = res["p99_ms"] < 100 and res["lost"] == 0 and res["duplicated"] == 0 and res["kicked"] == 0
        res["ok"] = ok
        steps.append(res)
        _progress(f"  saturation {rate}/s per writer: {res['deliveries_per_s']:.0f} deliveries/s "
                  f"p99 {res['p99_ms']} ms, server CPU {res['server_cpu_pct']} %, gen CPU {res['gen_cpu_pct']} % "
                  f"other on core0 {res['other_on_server_core_pct']} % "
                  f"{'ok' if ok else 'FAIL'}")
        if ok:
            best = res
        else:
            break
    flat = None
    if not server.plain or server.echoes:  # the window needs an ack (or the echo) per update
        flat = vars(await run_load(server, tag="satw", rooms=1, per_room=10, rate=None, window=args.window,
                                   seconds=step_s, warmup=0.5, spy=_spy(args, "saturation"),
                                   spy_native=args.py_spy_native))
        _progress(f"  saturation flat-out (window {args.window}): {flat['deliveries_per_s']:.0f} deliveries/s "
                  f"p99 {flat['p99_ms']} ms, server CPU {flat['server_cpu_pct']} %, gen CPU {flat['gen_cpu_pct']} %")
    return {"step_s": step_s, "steps": steps, "best": best, "flat_out": flat,
            "max_ok_deliveries_per_s": best["deliveries_per_s"] if best else 0.0}


async def _timed_join(server: Server, room: str, idx: int, head: int, query: str = "",
                      doc_state: bytes = EMPTY_SV) -> dict[str, Any]:
    t0 = pc()
    c = await open_client(server.rooms_url, room, idx, query, step1=doc_state)
    t_open = pc()
    async with asyncio.timeout(30):
        await c.synced.wait()
    replayed = [s for s in c.r_seq if s <= head]
    await c.close()
    out = {"sync": c.info.get("sync"), "open_ms": ms(t_open - t0), "roomInfo_ms": ms(c.info_time - t0),
           "in_sync_ms": ms(c.step2_time - t0), "step2_seq": c.step2_seq, "step2_bytes": len(c.step2_frame),
           "replayed": len(replayed), "replay_complete": replayed == list(range(head - len(replayed) + 1, head + 1)),
           "oldestSeq": c.info.get("oldestSeq")}
    # What a real client does next: apply what it got (client-side cost, reported apart).
    doc: Doc[Any] = Doc()
    t1 = pc()
    doc.apply_update(_payload(c.step2_frame))
    out["apply_step2_ms"] = ms(pc() - t1)
    return out


async def scenario_join(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    n_events, repeats = args.join_events, 5
    server.create_room("join")
    frames = load_updates(n_events)
    loader = await open_client(server.rooms_url, "join", 0)
    async with asyncio.timeout(30):
        await loader.synced.wait()
    base_update = _payload(loader.step2_frame)  # the room before loading (schema init)
    loader.frames, loader.window = frames, asyncio.Semaphore(64)
    t0 = pc()
    await loader.windowed(pc() + 300)
    async with asyncio.timeout(60):
        if loader.pending:
            loader.all_acked.clear()
            await loader.all_acked.wait()
    load_s = pc() - t0
    await loader.close()
    head = loader.ack_seq[-1]
    info = server.get_room("join")
    epoch = info["epoch"]
    _progress(f"  join: loaded {n_events} updates in {load_s:.2f} s (head {head}, oldestSeq {info.get('oldestSeq')})")

    def state_at(seq: int) -> bytes:
        doc: Doc[Any] = Doc()
        doc.apply_update(base_update)
        for s, f in zip(loader.ack_seq, frames, strict=True):
            if s <= seq:
                doc.apply_update(_payload(f))
        return doc.get_state()

    result: dict[str, Any] = {"events": n_events, "head": head, "load_s": round(load_s, 2),
                              "oldestSeq": info.get("oldestSeq"), "runs": {}}
    cases = [("fresh", None)]
    wanted = max(0, head - 1000)
    cases.append((f"lastSeq=head-1000 ({wanted})", wanted))
    oldest = info.get("oldestSeq")
    if isinstance(oldest, int) and oldest > wanted:
        cases.append((f"lastSeq=oldestSeq ({oldest}, head-{head - oldest})", oldest))
    idx = 1000
    for name, last in cases:
        sv = EMPTY_SV if last is None else state_at(last)
        query = "" if last is None else f"&lastSeq={last}&epoch={epoch}"
        runs = []
        for _ in range(repeats):
            idx += 1
            runs.append(await _timed_join(server, "join", idx, head, query, sv))
        key = ("in_sync_ms", "roomInfo_ms", "open_ms", "apply_step2_ms")
        summary = {k: {"median": round(sorted(r[k] for r in runs)[len(runs) // 2], 3),
                       "max": max(r[k] for r in runs)} for k in key}
        summary.update(sync=runs[0]["sync"], replayed=runs[0]["replayed"], replay_complete=runs[0]["replay_complete"],
                       step2_bytes=runs[0]["step2_bytes"], step2_seq=runs[0]["step2_seq"], last_seq=last)
        result["runs"][name] = summary
    return result


async def scenario_idle(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    n_rooms, n_ann = 100, 5
    await asyncio.sleep(1.0)
    rss0, cpu0, w0 = server.rss_bytes(), server.cpu_s(), pc()
    await asyncio.sleep(3.0)
    idle_cpu0 = (server.cpu_s() - cpu0) / (pc() - w0)
    for i in range(n_rooms):
        server.create_room(f"idle-{i}")
    await asyncio.sleep(0.5)
    rss_empty = server.rss_bytes()

    async def visit(i: int) -> None:
        c = await open_client(server.rooms_url, f"idle-{i}", i)
        async with asyncio.timeout(10):
            await c.synced.wait()
        await c.close()

    # One connect/sync/close per room first, so that what sockets leave behind in the
    # allocator is in the baseline and the annotation delta below is the rooms' own.
    for i in range(0, n_rooms, 10):
        await asyncio.gather(*(visit(j) for j in range(i, i + 10)))
    await asyncio.sleep(0.5)
    rss_visited = server.rss_bytes()

    async def fill(i: int) -> None:
        doc: Doc[Any] = Doc()
        frames: list[bytes] = []
        doc.observe(lambda e: frames.append(create_update_message(e.update)))
        anns = doc.get("annotations", type=Map)
        for j in range(n_ann):
            anns[f"a{j}"] = annotation(i * 100 + j, f"u{i}")
        c = await open_client(server.rooms_url, f"idle-{i}", i)
        for f in frames:
            await c.send(f)
        async with asyncio.timeout(10):
            if c.pending:
                c.all_acked.clear()
                await c.all_acked.wait()
        await c.close()

    for i in range(0, n_rooms, 10):
        await asyncio.gather(*(fill(j) for j in range(i, i + 10)))
    await asyncio.sleep(1.0)  # let snapshots (every_s) and closes settle
    rss1, cpu1, w1 = server.rss_bytes(), server.cpu_s(), pc()
    await asyncio.sleep(3.0)
    idle_cpu1 = (server.cpu_s() - cpu1) / (pc() - w1)
    return {"rooms": n_rooms, "annotations_per_room": n_ann,
            "rss_0_rooms_mib": round(rss0 / 2**20, 2), "rss_empty_rooms_mib": round(rss_empty / 2**20, 2),
            "rss_after_visits_mib": round(rss_visited / 2**20, 2), "rss_filled_rooms_mib": round(rss1 / 2**20, 2),
            "per_empty_room_kib": round((rss_empty - rss0) / n_rooms / 1024, 1),
            "per_room_kib": round((rss1 - rss0) / n_rooms / 1024, 1),
            "annotations_per_room_kib": round((rss1 - rss_visited) / n_rooms / 1024, 1),
            "idle_cpu_pct_0_rooms": round(100 * idle_cpu0, 2), "idle_cpu_pct_100_rooms": round(100 * idle_cpu1, 2)}


def sched_cpu_s(pid: int) -> float:
    """CPU seconds of every thread of ``pid`` from the scheduler's nanosecond counts
    (/proc/PID/task/*/schedstat): idle figures are too small for utime's 10 ms ticks."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


async def scenario_idlecpu(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    """The server's CPU with nothing happening, with ``--idle-rooms`` rooms (created through
    REST, never joined), each level measured over ``--idle-seconds`` after ``--idle-settle``
    seconds: a new room has work until its first snapshot (``history.snapshot_every_s``,
    30 s by default), and only then is it idle."""
    levels: list[dict[str, Any]] = []
    created = 0
    for n in args.idle_rooms:
        while created < n:
            server.create_room(f"idle-{created}")
            created += 1
        await asyncio.sleep(args.idle_settle if n else 1.0)
        cpu0, w0, cores0 = sched_cpu_s(server.pid), pc(), core_times()
        await asyncio.sleep(args.idle_seconds)
        cpu1, w1, cores1 = sched_cpu_s(server.pid), pc(), core_times()
        wall = w1 - w0
        levels.append({"rooms": n, "seconds": round(wall, 1), "cpu_pct": round(100 * (cpu1 - cpu0) / wall, 3),
                       "server_core_busy_pct": core_busy_pct(cores0, cores1, SERVER_CORE)})
        _progress(f"  idle CPU with {n} rooms: {levels[-1]['cpu_pct']} % over {wall:.1f} s")
    return {"levels": levels}


RUNNERS = {"room10": scenario_room10, "rooms50": scenario_rooms50, "saturation": scenario_saturation,
           "join": scenario_join, "idle": scenario_idle, "idlecpu": scenario_idlecpu}


def _spy(args: argparse.Namespace, name: str) -> Path | None:
    if args.py_spy is None:
        return None
    suffix = ("uvloop" if args.uvloop else "asyncio") + ("-native" if args.py_spy_native else "")
    return Path(args.py_spy) / f"{name}-{suffix}.txt"


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------
def _mark(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def _load_rows(name: str, r: dict[str, Any]) -> list[str]:
    return [
        f"  server, start, 1-min load       : {r.get('server', 'annotd')}, {r.get('start', '?')}, {r.get('load_1min', '?')}",
        f"  latency p50 / p99 / p99.9 / max : {r['p50_ms']} / {r['p99_ms']} / {r['p999_ms']} / {r['max_ms']} ms",
        f"  ack round trip p50 / p99        : {r['ack_p50_ms']} / {r['ack_p99_ms']} ms",
        f"  updates/s, deliveries/s         : {r['updates_per_s']}, {r['deliveries_per_s']}",
        f"  lost / duplicated / echoed      : {r['lost']} / {r['duplicated']} / {r['echoed']}"
        f"   (unknown seq {r['unknown']}, unchanged acks {r['unchanged_acks']}, kicked {r['kicked']})",
        f"  server CPU                      : {r['server_cpu_pct']} % of one core "
        f"(user {r['server_user_pct']} + sys {r['server_sys_pct']}), "
        f"{r['server_cpu_us_per_delivery']} us/delivery, {r['server_cpu_us_per_update']} us/update",
        f"  generator CPU, max send lag     : {r['gen_cpu_pct']} %, {r['gen_max_lag_ms']} ms",
        f"  server RSS at end               : {r['server_rss_mib']} MiB",
        f"  core busy: server core {r['core0_busy_pct']} % (other processes {r['other_on_server_core_pct']} %), "
        f"generator core {r['core1_busy_pct']} %",
    ]


def render(results: dict[str, Any], meta: dict[str, Any]) -> str:
    out = [f"annotd relay benchmark  {meta['date']}  server loop: {meta['loop']}  "
           f"duration {meta['duration']} s  nice {meta.get('nice', 0)}  "
           f"({meta['cpus']} cores; server core {SERVER_CORE}, generator core {GEN_CORE})"]
    if "room10" in results:
        r = results["room10"]
        out.append("\nroom10: 1 room x 10 clients x 30 updates/s")
        out += _load_rows("room10", r)
        out.append(f"  targets: p50 <= 1 ms {_mark(r['p50_ms'] <= 1)}; p99 <= 2 ms {_mark(r['p99_ms'] <= 2)}; "
                   f"<= 20 us/delivery {_mark(r['server_cpu_us_per_delivery'] <= 20)}; "
                   f"0 lost/dup {_mark(r['lost'] == r['duplicated'] == 0)}")
    if "rooms50" in results:
        r = results["rooms50"]
        out.append("\nrooms50: 50 rooms x 4 clients x 10 updates/s")
        out += _load_rows("rooms50", r)
        out.append(f"  targets: p99 <= 5 ms {_mark(r['p99_ms'] <= 5)}; CPU <= 50 % {_mark(r['server_cpu_pct'] <= 50)}; "
                   f"<= 20 us/delivery {_mark(r['server_cpu_us_per_delivery'] <= 20)}; "
                   f"0 lost/dup {_mark(r['lost'] == r['duplicated'] == 0)}")
    if "saturation" in results:
        s = results["saturation"]
        out.append(f"\nsaturation: 1 room x 10 writers, stepped rates ({s['step_s']} s each), then flat-out")
        out.append("  rate/writer  deliveries/s  p50 ms   p99 ms   max ms   lost dup kicked  srv CPU %  us/deliv  gen CPU %  other core0 %")
        for st in s["steps"]:
            out.append(f"  {st['rate_per_client']:>11.0f}  {st['deliveries_per_s']:>12.0f}  {st['p50_ms']:>6.2f}  "
                       f"{st['p99_ms']:>7.2f}  {st['max_ms']:>7.2f}  {st['lost']:>4} {st['duplicated']:>3} "
                       f"{st['kicked']:>6}  {st['server_cpu_pct']:>9}  {st['server_cpu_us_per_delivery']:>8}  "
                       f"{st['gen_cpu_pct']:>9}  {st['other_on_server_core_pct']:>12}")
        f = s["flat_out"] or {}
        out.append("  flat-out: not run (plain clients get no ack to pace a window by)" if not f else
                   f"  flat-out (window {f['window']}/writer): {f['deliveries_per_s']:.0f} deliveries/s, "
                   f"p50 {f['p50_ms']} ms, p99 {f['p99_ms']} ms, lost {f['lost']}, dup {f['duplicated']}, "
                   f"server CPU {f['server_cpu_pct']} %, {f['server_cpu_us_per_delivery']} us/delivery, "
                   f"gen CPU {f['gen_cpu_pct']} %")
        best = s["max_ok_deliveries_per_s"]
        out.append(f"  highest rate with p99 < 100 ms and no loss: {best:.0f} deliveries/s  "
                   f"(target >= 27000: {_mark(best >= 27_000)})")
    if "join" in results:
        j = results["join"]
        out.append(f"\njoin: room with {j['events']} events (head {j['head']}, oldestSeq {j['oldestSeq']}, "
                   f"loaded in {j['load_s']} s)")
        out.append("  case                                   sync     in sync ms (med/max)  roomInfo ms  "
                   "replayed  step2 bytes  client apply ms")
        for name, r in j["runs"].items():
            out.append(f"  {name:<38} {r['sync']:<8} {r['in_sync_ms']['median']:>8} / {r['in_sync_ms']['max']:<8}  "
                       f"{r['roomInfo_ms']['median']:>10}  {r['replayed']:>5} {'ok' if r['replay_complete'] else '--'}"
                       f"  {r['step2_bytes']:>11}  "
                       f"{r['apply_step2_ms']['median']:>14}")
        worst = max(r["in_sync_ms"]["max"] for r in j["runs"].values())
        out.append(f"  target < 100 ms: {_mark(worst < 100)} (worst {worst} ms)")
    if "idle" in results:
        i = results["idle"]
        out.append(f"\nidle: {i['rooms']} rooms, {i['annotations_per_room']} annotations each, no clients")
        out.append(f"  RSS: 0 rooms {i['rss_0_rooms_mib']} MiB; 100 empty rooms {i['rss_empty_rooms_mib']} MiB; "
                   f"after one connect+sync+close per room {i['rss_after_visits_mib']} MiB; "
                   f"with annotations {i['rss_filled_rooms_mib']} MiB")
        out.append(f"  per room: {i['per_empty_room_kib']} KiB empty; {i['per_room_kib']} KiB all-in "
                   f"(of which {i['annotations_per_room_kib']} KiB after the visit baseline)")
        out.append(f"  idle server CPU: {i['idle_cpu_pct_0_rooms']} % (0 rooms), {i['idle_cpu_pct_100_rooms']} % (100 rooms)")
    if "idlecpu" in results:
        out.append(f"\nidlecpu: server CPU with nothing happening (started {results['idlecpu'].get('start')}, "
                   f"1-min load {results['idlecpu'].get('load_1min')})")
        for lv in results["idlecpu"]["levels"]:
            out.append(f"  {lv['rooms']:>5} rooms: {lv['cpu_pct']:.3f} % of a core over {lv['seconds']} s; "
                       f"server core busy {lv['server_core_busy_pct']} %")
    return "\n".join(out)


# --------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenario", default="all",
                   help=f"comma-separated list of {', '.join(SCENARIOS)}, or 'all' (default)")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per load scenario (default 10)")
    p.add_argument("--uvloop", action=argparse.BooleanOptionalAction, default=True,
                   help="run the server with server.use_uvloop on/off (default on)")
    p.add_argument("--wait-quiet", type=float, default=60.0, metavar="S",
                   help="before each scenario wait up to S s for both cores to be < 15 %% busy (0: don't)")
    p.add_argument("--nice", type=int, default=-10 if os.geteuid() == 0 else 0,
                   help="run server and generator at this nice value so that other work on a shared "
                        "machine does not preempt them (default -10 as root, else 0)")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of the table")
    p.add_argument("--sat-rates", type=lambda s: [float(x) for x in s.split(",")],
                   default=[100, 200, 300, 400, 500, 600, 800, 1000],
                   help="saturation: per-writer update rates to step through (default 100,...,1000)")
    p.add_argument("--window", type=int, default=16, help="saturation flat-out: un-acked updates per writer (16)")
    p.add_argument("--join-events", type=int, default=10_000, help="join: events in the room's log (10000)")
    p.add_argument("--idle-rooms", type=lambda s: [int(x) for x in s.split(",")], default=[0, 100, 1000],
                   help="idlecpu: room counts to measure at, ascending (default 0,100,1000)")
    p.add_argument("--idle-seconds", type=float, default=10.0, help="idlecpu: seconds measured per room count (10)")
    p.add_argument("--idle-settle", type=float, default=35.0,
                   help="idlecpu: seconds to wait after creating rooms before measuring (35: past the first snapshot)")
    p.add_argument("--py-spy", metavar="DIR", help="record the server with py-spy (raw format) into DIR "
                   "during room10, rooms50 and the saturation flat-out run (figures then include its overhead)")
    p.add_argument("--py-spy-native", action="store_true",
                   help="with --py-spy: also sample native frames (uvloop, pycrdt); pauses the server per sample")
    p.add_argument("--cprofile", metavar="DIR", help="run the server under cProfile, one .prof per scenario in DIR")
    p.add_argument("--data-dir", metavar="DIR", help="run the server with rooms.data_dir in a new folder "
                   "under DIR per scenario (acks then wait for the commit); default: rooms in memory")
    p.add_argument("--sync", choices=("full", "batch", "off"), default="full", help="with --data-dir: storage.sync")
    p.add_argument("--commit-interval-ms", type=float, help="with --data-dir: storage.commit_interval_ms "
                   "(default: the server's default)")
    p.add_argument("--root", type=Path, default=ROOT, metavar="TREE",
                   help="run the server from another checkout (\"before\" figures; default: this one), "
                        "with TREE/.venv if it has one, else this venv")
    p.add_argument("--root-python", metavar="PYTHON", help="the Python that runs the server (overrides the above)")
    p.add_argument("--server", default="annotd",
                   help="comma-separated servers to run each scenario against, alternately, in this order: "
                        "annotd, node (@y/websocket-server from bench/node; run bench/setup-node first)")
    p.add_argument("--config-extra", default="", metavar="TOML",
                   help="TOML appended to the server's config, e.g. '[history]\\nsnapshot_every_ops = 100000000' "
                        "(experiments: what a setting costs)")
    p.add_argument("--plain", action="store_true",
                   help="annotd's clients connect without annotd.v1, as stock y-websocket clients and as "
                        "against node (no acks: no ack latency, no saturation flat-out run)")
    args = p.parse_args(argv)
    args.config_extra = args.config_extra.replace("\\n", "\n")
    names = SCENARIOS if args.scenario == "all" else tuple(s.strip() for s in args.scenario.split(","))
    bad = [n for n in names if n not in SCENARIOS]
    if bad:
        p.error(f"unknown scenario {bad[0]!r}")
    args.scenarios = names
    args.servers = tuple(s.strip() for s in args.server.split(","))
    if any(s not in ("annotd", "node") for s in args.servers):
        p.error("--server takes annotd and/or node")
    if ("node" in args.servers or args.plain) and set(names) - set(PLAIN_SCENARIOS):
        p.error(f"plain clients (node, --plain) run only {', '.join(PLAIN_SCENARIOS)}")
    if args.root_python is None:
        venv = args.root / ".venv" / "bin" / "python"
        args.root_python = str(venv) if args.root != ROOT and venv.exists() else PYTHON
    return args


def start_server(kind: str, args: argparse.Namespace, prof: Path | None, extra: str) -> Server | NodeServer:
    if kind == "node":
        return NodeServer(nice=args.nice, cores=str(SERVER_CORE))
    server = Server(uvloop=args.uvloop, cprofile=prof, nice=args.nice, extra_toml=extra, root=args.root,
                    python=args.root_python)
    server.plain = args.plain
    return server


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    """Each scenario against each of ``args.servers`` in turn; results by server when more
    than one (else the scenarios at the top, as before)."""
    by_server: dict[str, dict[str, Any]] = {kind: {} for kind in args.servers}
    for name in args.scenarios:
        for kind in args.servers:
            by_server[kind][name] = await run_scenario(name, kind, args)
    return by_server[args.servers[0]] if len(args.servers) == 1 else by_server


async def run_scenario(name: str, kind: str, args: argparse.Namespace) -> dict[str, Any]:
    _progress(f"[{name}] {kind} ...")
    prof = None
    if args.cprofile:
        await asyncio.to_thread(Path(args.cprofile).mkdir, parents=True, exist_ok=True)
        prof = Path(args.cprofile) / f"{name}-{'uvloop' if args.uvloop else 'asyncio'}.prof"
    if args.py_spy:
        await asyncio.to_thread(Path(args.py_spy).mkdir, parents=True, exist_ok=True)
    waited = await wait_quiet(args.wait_quiet) if args.wait_quiet > 0 else 0.0
    extra = args.config_extra + "\n" if args.config_extra else ""
    if args.data_dir:  # a fresh store per scenario, in the given folder (its disk is what is measured)
        folder = Path(args.data_dir) / f"{name}-{time.time_ns()}"
        extra += f'[rooms]\ndata_dir = "{folder}"\n[storage]\nsync = "{args.sync}"\n'
        if args.commit_interval_ms is not None:
            extra += f"commit_interval_ms = {args.commit_interval_ms}\n"
    load, start = os.getloadavg()[0], time.strftime("%H:%M:%S")
    server = start_server(kind, args, prof, extra)
    try:
        result = await RUNNERS[name](server, args)  # type: ignore[arg-type]
        result.update(waited_for_quiet_s=waited, load_1min=round(load, 2), start=start,
                      server=kind + (" plain" if server.plain and kind == "annotd" else ""))
        warnings = server.warnings()
        if warnings:
            result["server_warnings"] = dict(warnings)
    finally:
        await asyncio.to_thread(server.stop)
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with contextlib.suppress(OSError):
        if os.cpu_count() and os.cpu_count() > GEN_CORE:  # type: ignore[operator]
            os.sched_setaffinity(0, {GEN_CORE})
    if args.nice:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, args.nice)
        except OSError:
            args.nice = 0  # not permitted: run at normal priority (and the server too)
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()
    t0 = time.time()
    with runner:
        results = runner.run(amain(args))
    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "loop": "uvloop" if args.uvloop else "asyncio", "nice": args.nice,
            "duration": args.duration, "cpus": os.cpu_count(), "elapsed_s": round(time.time() - t0, 1),
            "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
            "root": str(args.root), "root_python": args.root_python, "servers": list(args.servers),
            "plain": args.plain}
    if args.json:
        print(json.dumps({"meta": meta, "results": results}, indent=2, default=str))
    elif len(args.servers) == 1:
        print(render(results, meta))
    else:
        for kind in args.servers:
            print(f"\n===== server: {kind} =====")
            print(render(results[kind], meta))
        print(f"\n(total {meta['elapsed_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
