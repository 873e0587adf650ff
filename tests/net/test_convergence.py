"""Property: random concurrent edits with random disconnects and reconnects always converge
to the server's document (seeded, so CI runs the same examples every time)."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Map

from annotd.client.roomclient import RoomClient
from annotd.process.daemon import Daemon

from ..conftest import daemon_config

N_CLIENTS = 3
op = st.tuples(
    st.integers(0, N_CLIENTS - 1),
    st.sampled_from(["set", "set", "set", "delete", "disconnect", "reconnect"]),
    st.sampled_from(["a", "b", "c", "d"]),
    st.integers(0, 99),
)


async def scenario(ops: list[tuple[int, str, str, int]]) -> None:
    daemon = Daemon(daemon_config())
    await daemon.start()
    daemon.hub.create_room("r")
    clients = [RoomClient(daemon.ws_url, "r", user_id=f"u{i}") for i in range(N_CLIENTS)]
    online = [True] * N_CLIENTS
    try:
        for c in clients:
            await c.connect()
        for who, action, key, value in ops:
            c = clients[who]
            if action == "disconnect" and online[who]:
                await c.close()
                online[who] = False
            elif action == "reconnect" and not online[who]:
                await c.connect()
                online[who] = True
            elif action == "set":
                c.doc.get("annotations", type=Map)[key] = value
            elif action == "delete":
                m = c.doc.get("annotations", type=Map)
                if key in m:
                    del m[key]
            await asyncio.sleep(0)  # let sends and receives interleave like real traffic
        for i, c in enumerate(clients):
            if not online[i]:
                await c.connect()
        async with asyncio.timeout(30):
            for c in clients:
                await c.flush()
            head = daemon.hub.rooms["r"].room.head
            for c in clients:
                await c.wait_for_seq(head)
        server = daemon.hub.rooms["r"].room.doc.get("annotations", type=Map).to_py()
        for c in clients:
            assert c.doc.get("annotations", type=Map).to_py() == server
    finally:
        for c in clients:
            await c.close()
        await daemon.stop()


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, min_size=1, max_size=40))
def test_random_edits_and_reconnects_converge(ops: list[tuple[int, str, str, int]]) -> None:
    asyncio.run(scenario(ops))
