"""What one refresh of the collector policy costs as the rooms grow (in-process).

A refresh (:mod:`annotd.process.gcpolicy`) hands every frozen object back to the collector
for one full pass: the pause a room deletion, a churn of sockets or the trimmer's first pass
costs once something beyond the start-up objects has been frozen. For each N a ``Hub``
gets rooms up to N (no sockets), the policy freezes the growth, then this prints a plain
full collection (frozen objects skipped) and a refresh, in ms, with the frozen object count.

    .venv/bin/python -m bench.bench_gc_refresh [--rooms 1000,5000,10000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time

import annotd.process.daemon  # noqa: F401  the daemon's modules, as in a running server
from annotd.base.config import Config
from annotd.base.looplag import LagWindow
from annotd.live.hub import Hub
from annotd.process.gcpolicy import GcPolicy


async def run(sizes: list[int]) -> list[dict[str, float]]:
    hub = Hub(Config().replace("limits", max_rooms=max(sizes) + 10))
    policy = GcPolicy(LagWindow(), freeze=True, units=lambda: len(hub.rooms),
                      rooms_closed=lambda: hub.rooms_closed, sockets_closed=lambda: 0)
    policy.install()
    out = []
    try:
        for n in sizes:
            while len(hub.rooms) < n:
                hub.create_room(f"r{len(hub.rooms)}")
            policy.tick()  # the growth frozen
            t0 = time.perf_counter()
            gc.collect()
            plain = time.perf_counter() - t0
            t0 = time.perf_counter()
            policy.refresh("bench")
            refresh = time.perf_counter() - t0
            out.append({"rooms": n, "plain_full_pass_ms": round(plain * 1000, 1),
                        "refresh_ms": round(refresh * 1000, 1), "frozen_objects": gc.get_freeze_count()})
            print(json.dumps(out[-1]), flush=True)
    finally:
        policy.uninstall()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rooms", default="1000,5000,10000")
    args = ap.parse_args()
    asyncio.run(run(sorted(int(s) for s in args.rooms.split(","))))


if __name__ == "__main__":
    main()
