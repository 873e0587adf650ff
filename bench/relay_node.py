"""The reference server for ``bench_relay --server node``: y-websocket's own node server.

Why: annotd's relay cost only means something next to what the stock Yjs server costs for the
same work on the same machine, measured by the same load generator. y-websocket 3.x ships
only the client; its server is the ``@y/websocket-server`` package, pinned with the Yjs it
runs on in ``bench/node/package-lock.json`` and installed by ``bench/setup-node`` (benchmarks
are not part of CI, so ``bin/test`` does not install it).

The node server speaks plain y-protocols on ``ws://HOST:PORT/{room}`` (the room name is the
whole path; rooms are created on first connect). It has no seq numbers and no acks, and it
sends every update to *every* connection of the room, the sender included. So the load
generator runs in "plain" mode against it (also usable against annotd without the
``annotd.v1`` subprotocol): an update is identified by the client id and clock of its first
struct (unique per update, and the same after Yjs re-encodes it), the sender's own echo
stands in for the ack, and receivers keep the frames they got to join them after the run.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "node"
SERVER_JS = NODE_DIR / "node_modules" / "@y" / "websocket-server" / "src" / "server.js"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def varuint(data: bytes, i: int) -> tuple[int, int]:
    """The unsigned LEB128 at ``data[i]`` and the offset after it."""
    value = shift = 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def encode_varuint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def client_offset(message: bytes) -> int:
    """Offset of the first struct's client id in a sync message ``0, sub, varBytes(update)``
    (a v1 update starts: varuint clients, varuint structs of the first client, varuint client)."""
    _, i = varuint(message, 2)   # the update's length
    _, i = varuint(message, i)   # number of clients
    _, i = varuint(message, i)   # structs of the first client
    return i


def update_key(message: bytes) -> tuple[int, int]:
    """(client id, clock) of the first struct of the update in a sync message: what names an
    update in plain mode (a client's updates never share a start clock)."""
    client, i = varuint(message, client_offset(message))
    clock, _ = varuint(message, i)
    return client, clock


def free_port() -> int:
    """A port the kernel has just handed out (the stock server cannot listen on port 0 and
    say which port it got)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ProcessFigures:
    """A server process's CPU and memory from ``/proc`` (every thread), for ``pid``."""

    pid: int

    def cpu_s(self) -> float:
        """utime + stime in seconds (resolution 1/CLK_TCK)."""
        user, system = self.cpu_split()
        return user + system

    def cpu_split(self) -> tuple[float, float]:
        """(utime, stime) in seconds: user-space vs kernel (socket) time."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK

    def rss_bytes(self) -> int:
        with open(f"/proc/{self.pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE


class NodeServer(ProcessFigures):
    """``@y/websocket-server`` (its own ``server.js``, unmodified) in a node process pinned to
    ``cores``; the same /proc figures as :class:`bench.bench_relay.Server`."""

    plain = True
    echoes = True
    label = "node"

    def __init__(self, *, nice: int = 0, cores: str = "0") -> None:
        node = shutil.which("node")
        if node is None or not SERVER_JS.exists():
            raise RuntimeError(f"no node server: run bench/setup-node first ({SERVER_JS} missing)")
        self.tmp = tempfile.TemporaryDirectory(prefix="annotd-bench-node-")
        self.stderr_path = Path(self.tmp.name) / "server.log"
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 - closed in stop()
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("YPERSISTENCE", "CALLBACK_URL")}
        env.update(HOST="127.0.0.1", PORT=str(port))
        prio = ["nice", "-n", str(nice)] if nice else []
        self.proc = subprocess.Popen([*prio, "taskset", "-c", cores, node, str(SERVER_JS)], cwd=NODE_DIR, env=env,
                                     stdout=subprocess.PIPE, stderr=self._stderr)
        self.pid = self.proc.pid
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 20)
        line = self.proc.stdout.readline().decode() if ready else ""
        if not line.startswith("running at"):
            self.proc.kill()
            raise RuntimeError(f"node server did not start: {line!r}\n{self.stderr_path.read_text()[-2000:]}")
        self.ws_url = f"ws://127.0.0.1:{port}"
        self.rooms_url = self.ws_url
        self.http_url = ""

    def create_room(self, room_id: str) -> dict[str, Any]:
        return {"id": room_id}  # rooms exist once someone connects

    def get_room(self, room_id: str) -> dict[str, Any]:
        raise NotImplementedError("the node server has no REST side")

    def spy_start(self, out: Path, native: bool = False) -> None:
        pass  # py-spy profiles Python only

    def spy_stop(self) -> None:
        pass

    def warnings(self) -> Counter[str]:
        lines = [ln for ln in self.stderr_path.read_text(errors="replace").splitlines() if ln.strip()]
        return Counter({"stderr lines": len(lines)}) if lines else Counter()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()
        self.tmp.cleanup()
