"""The keepalive (annotd.net.keepalive): a silent socket is pinged every interval and closed
when it does not answer within the timeout; one that spoke lately is not pinged."""

from __future__ import annotations

import asyncio

from annotd.net.keepalive import PER_CHECK, PER_TURN, KeepAlive


class FakeSocket:
    def __init__(self, heard: float) -> None:
        self.heard = heard
        self.open = True
        self.pings: list[bytes] = []
        self.closed_dead = False

    def send_ping(self, data: bytes) -> None:
        self.pings.append(data)

    def close_dead(self) -> None:
        self.closed_dead = True
        self.open = False


def make(now: list[float]) -> KeepAlive:
    return KeepAlive(20.0, 10.0, clock=lambda: now[0])


def test_a_socket_that_spoke_lately_is_not_pinged() -> None:
    now = [100.0]
    ka = make(now)
    ws = FakeSocket(heard=100.0)
    ka.add(ws)
    now[0] = 115.0
    ws.heard = 114.0  # a frame arrived
    now[0] = 120.0
    ka.check()
    assert ws.pings == [] and len(ka) == 1  # due again at 134 (20 s after it spoke)
    now[0] = 133.9
    ka.check()
    assert ws.pings == []
    now[0] = 134.0
    ka.check()
    assert len(ws.pings) == 1 and ka.pings == 1


def test_a_silent_socket_is_pinged_and_closed_without_an_answer() -> None:
    now = [0.0]
    ka = make(now)
    ws = FakeSocket(heard=0.0)
    ka.add(ws)
    now[0] = 19.9
    ka.check()
    assert ws.pings == []
    now[0] = 20.0
    ka.check()
    assert len(ws.pings) == 1 and len(ws.pings[0]) == 4 and not ws.closed_dead
    now[0] = 29.9
    ka.check()
    assert not ws.closed_dead
    now[0] = 30.0
    ka.check()
    assert ws.closed_dead and ka.dead == 1 and len(ka) == 0


def test_an_answered_ping_keeps_the_socket() -> None:
    now = [0.0]
    ka = make(now)
    ws = FakeSocket(heard=0.0)
    ka.add(ws)
    now[0] = 20.0
    ka.check()
    ws.heard = 20.05  # the pong
    now[0] = 30.0
    ka.check()
    assert not ws.closed_dead and len(ws.pings) == 1
    now[0] = 40.1  # silent again for an interval: pinged again
    ka.check()
    assert len(ws.pings) == 2 and not ws.closed_dead


async def test_closed_sockets_leave_and_a_backlog_is_spread() -> None:
    now = [0.0]
    ka = make(now)
    socks = [FakeSocket(heard=0.0) for _ in range(PER_CHECK + 10)]
    for ws in socks:
        ka.add(ws)
    socks[0].open = False
    now[0] = 20.0

    def pinged() -> int:
        return sum(len(ws.pings) for ws in socks)

    sweep = asyncio.create_task(ka.sweep())
    await asyncio.sleep(0)  # the sweep's first turn ran; it yielded before going on
    assert pinged() == PER_TURN - 1  # the closed one is forgotten, not pinged
    await sweep
    assert pinged() == PER_CHECK - 1  # one check looks at PER_CHECK at most
    await ka.sweep()
    assert pinged() == PER_CHECK + 9 and len(ka) == PER_CHECK + 9
