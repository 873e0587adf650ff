"""Socket teardowns are spread over loop turns (annotd.net.pacing) and a closed socket is
freed by reference counting alone (WsServer._unlink): a mass disconnect leaves neither one
long turn nor a heap of cycles for one long collection."""

from __future__ import annotations

import asyncio
import gc
import weakref

from websockets.asyncio.client import connect

from annotd.net.pacing import Pacer
from annotd.process.daemon import Daemon

from ..helpers import within


async def test_deferred_items_run_a_few_per_turn_in_order() -> None:
    ran: list[int] = []
    pacer: Pacer[int] = Pacer(ran.append, per_turn=32)
    for i in range(100):
        pacer.defer(i)
    assert ran == [] and len(pacer) == 100  # nothing runs in the turn that deferred
    await asyncio.sleep(0)  # one loop turn
    assert ran == list(range(32))
    await asyncio.sleep(0)
    assert ran == list(range(64))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert ran == list(range(100)) and pacer.turns == 4 and len(pacer) == 0
    pacer.defer(100)  # a lone item after the burst: the next turn
    await asyncio.sleep(0)
    assert ran[-1] == 100 and pacer.turns == 5


async def test_a_failing_teardown_does_not_strand_the_others() -> None:
    ran: list[int] = []

    def run(i: int) -> None:
        if i == 1:
            raise RuntimeError("boom")
        ran.append(i)

    pacer: Pacer[int] = Pacer(run, per_turn=2)
    for i in range(4):
        pacer.defer(i)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert ran == [0, 2, 3] and len(pacer) == 0


async def test_a_closed_socket_is_freed_without_the_collector(daemon: Daemon) -> None:
    """With the collector off, a room socket's server-side objects (websockets' connection
    and protocol, annotd's connection) are freed as soon as its handler is done."""
    daemon.hub.create_room("r1")
    async with connect(f"{daemon.ws_url}/v1/ws/rooms/r1?userId=a") as ws:
        await ws.send(b"\x00\x00\x01\x00")  # sync step 1 of an empty doc
        await within(ws.recv())
        (conn,) = daemon.ws.conns.values()
        protocol = conn.ws.protocol  # (the keepalive keeps the emptied connection shell until due)
        gone = asyncio.Event()
        weakref.finalize(protocol, gone.set)
        refs = [weakref.ref(conn), weakref.ref(conn.outbox)]
        del conn, protocol
        gc.collect()
        gc.disable()
    try:
        await within(gone.wait(), "the closed socket freed by reference counting")
        assert all(r() is None for r in refs)
        assert daemon.ws.unlinked == 1
    finally:
        gc.enable()
