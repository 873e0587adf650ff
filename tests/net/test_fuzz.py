"""Seeded fuzzing of the room socket: valid and invalid frames from several
clients, random disconnects; afterwards the room is healthy and every client equals the
server. ``bench/bench_fuzz.py`` runs the same for 10,000+ frames and prints the counts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from annotd.process.daemon import Daemon

from ..fuzzing import Fuzzer, content

DaemonFactory = Callable[..., Awaitable[Daemon]]
FRAMES = 6_000
"""About 10-20 s on the loaded 2-core CI machine."""


@pytest.mark.parametrize("seed", [20261201])
async def test_fuzzed_room_stays_healthy_and_converges(make_daemon: DaemonFactory, seed: int) -> None:
    d = await make_daemon(limits={"max_frame_bytes": 64 * 1024}, history={"snapshot_every_ops": 25, "snapshots_kept": 2})
    d.hub.create_room("r1")
    fuzzer = Fuzzer(d.ws_url, "r1", seed, max_frame_bytes=64 * 1024)
    await fuzzer.start()
    try:
        async with asyncio.timeout(300):  # a hang is a failure, not a stuck CI job
            await fuzzer.run(FRAMES)
        async with asyncio.timeout(120):
            fresh = await fuzzer.converge()
        server = content(d.hub.rooms["r1"].room.doc)
        assert content(fresh) == server
        for w in fuzzer.writers:
            assert content(w.doc) == server, w.user_id
        counts = fuzzer.counts
        assert counts.closes[1002] > 0 and counts.closes[1009] > 0 and counts.closes[1003] > 0
        assert counts.frames["edit"] > 100 and counts.frames["abrupt-disconnect"] > 0
        m = d.hub.metrics
        assert m.total(m.frames_rejected, reason="malformed") == counts.closes[1002]
        assert d.hub.rooms["r1"].room.history.oldest_seq > 0  # snapshots and pruning ran under fire
    finally:
        await fuzzer.close()
