"""Where the server's time per relayed update goes, part by part, without a profiler.

Each part of the relay path is timed alone in this process (pinned to core 0, like the
server in bench_relay), so the figures carry no profiler overhead:

1. ``Room.receive`` of one client update in a room of 10 annotd.v1 sessions
   (parse, pycrdt apply, sequence + log append, ack JSON) -- once per update;
2. ``WsServer.deliver`` of its outbounds to 9 connection queues -- per recipient;
3. websockets' frame building for one relayed frame (``protocol.send_binary`` +
   ``data_to_send``), the pure-Python part of ``ServerConnection.send``;
4. one ``send()`` syscall of a 40-byte frame on loopback TCP to a reader on core 1
   (the floor for "one write per delivery"), and ``sendmsg`` of 9 such frames at once.

    .venv/bin/python -m bench.relay_parts
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

from websockets.protocol import State
from websockets.server import ServerProtocol

from annotd.base.config import Config
from annotd.core.limits import RoomLimits
from annotd.core.room import Room
from annotd.live.hub import Hub
from annotd.live.liveroom import LiveRoom
from annotd.net.wsconn import WRITE_LIMIT, Connection
from annotd.net.wsserver import WsServer
from bench.bench_relay import move_updates

N = 3000


def best_of(fn: Any, n: int, repeat: int = 5) -> float:
    """Median over ``repeat`` runs of the per-call time of ``fn(i)`` for ``i in range(n)``, in us."""
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        for i in range(n):
            fn(i)
        runs.append((time.perf_counter() - t) / n * 1e6)
    return statistics.median(runs)


def room_receive() -> tuple[float, Room, list[tuple[str, bytes]]]:
    room = Room("r", "r", time.time(), RoomLimits.of(Config()))
    for k in range(10):
        room.join(f"c{k}", f"u{k}", v1=True, last_seq=None, epoch=None, now=time.time())
    per = 6 * N // 10 + 1
    frames = [move_updates(per, f"m{k}", f"u{k}") for k in range(10)]
    seq = [(f"c{i % 10}", frames[i % 10][i // 10]) for i in range(per * 10)]
    now = time.time()
    it = iter(seq)

    def one(_: int) -> None:
        sid, data = next(it)
        room.receive(sid, data, now)

    return best_of(one, N), room, seq[5 * N:6 * N]


class _NullWs:
    """No socket: a closed protocol, so every frame is queued (deliver's cost alone)."""

    class protocol:  # noqa: N801 - stands in for websockets' attribute
        extensions: list[object] = []
        state = State.CLOSED


def deliver_cost(room: Room, rest: list[tuple[str, bytes]]) -> float:
    hub = Hub(Config())
    ws = WsServer(hub)
    conns = {}
    for k in range(10):
        conns[f"c{k}"] = Connection(_NullWs(), f"c{k}", max_frames=10**9, window_s=0.012, high_water=WRITE_LIMIT)  # type: ignore[arg-type]
    live = LiveRoom(room, hub.services)
    live.peers.update(conns)
    now = time.time()
    outs = [room.receive(sid, data, now)[1] for sid, data in rest]
    t = time.perf_counter()
    for out in outs:
        ws.deliver(live, out)
    elapsed = time.perf_counter() - t
    pushed = sum(len(c.outbox.queue) for c in conns.values())
    return elapsed / pushed * 1e6


def frame_build_cost() -> float:
    proto = ServerProtocol()
    proto.state = proto.state.__class__.OPEN  # skip the handshake: only framing is timed
    msg = b"\x64\x85\x4e" + move_updates(3, "x", "u")[2]

    def one(_: int) -> None:
        proto.send_binary(msg)
        proto.data_to_send()

    return best_of(one, 20_000)


READER = """
import os, socket, sys
os.sched_setaffinity(0, {1})
s = socket.socket(); s.connect(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
while s.recv(1 << 16):
    pass
"""


def syscall_floor() -> tuple[float, float, float, float]:
    """(wall us, CPU us) per send() of 40 bytes, and per sendmsg() of 9 x 40 bytes, paced."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    reader = subprocess.Popen([sys.executable, "-c", READER, str(lsock.getsockname()[1])])
    conn, _ = lsock.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    frame = b"\x82\x26" + bytes(38)
    out = []
    for batch in (1, 9):
        bufs = [frame] * batch
        cpu0, t0 = time.process_time(), time.perf_counter()
        n = 20_000
        for i in range(n):
            if batch == 1:
                conn.send(frame)
            else:
                conn.sendmsg(bufs)
            if i % 8 == 7:
                time.sleep(0)  # let the reader drain: a wake-up per few sends, like a relay
        out += [(time.perf_counter() - t0) / n * 1e6, (time.process_time() - cpu0) / n * 1e6]
    conn.close()
    reader.wait(5)
    lsock.close()
    return out[0], out[1], out[2], out[3]


def main() -> None:
    os.sched_setaffinity(0, {0})
    recv_us, room, rest = room_receive()
    print(f"Room.receive (parse + apply + sequence + ack), 10 v1 sessions: {recv_us:7.2f} us / update")
    print(f"WsServer.deliver, per queued frame (relays + ack):             {deliver_cost(room, rest):7.2f} us / frame")
    print(f"websockets frame building (send_binary + data_to_send):        {frame_build_cost():7.2f} us / frame")
    w1, c1, w9, c9 = syscall_floor()
    print(f"send() of one 40-byte frame on loopback TCP (reader on core 1): {c1:6.2f} us CPU ({w1:.2f} us wall) / call")
    print(f"sendmsg() of 9 such frames in one call:                         {c9:6.2f} us CPU ({w9:.2f} us wall) / call"
          f" = {c9 / 9:.2f} us / frame")
    asyncio.run(asyncio.sleep(0))


if __name__ == "__main__":
    main()
