"""The room-socket fuzzer of ``tests/net/test_fuzz.py`` at length: 10,000+ frames per seed
against a server in its own process, then the convergence check. Prints what was sent,
how sockets were closed and whether every client ended equal to the server.

    .venv/bin/python -m bench.bench_fuzz [--frames 12000] [--seeds 1,2,3] [--root /tmp/harden-base]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

from tests.fuzzing import Fuzzer, content

from .bench_relay import ROOT, Server
from .probes import load_avg

CONFIG = "[limits]\nmax_frame_bytes = 65536\n[history]\nsnapshot_every_ops = 25\nsnapshots_kept = 2\n"


async def run(seed: int, frames: int, root: Path) -> dict[str, Any]:
    server = Server(uvloop=True, root=root, extra_toml=CONFIG)
    try:
        server.create_room("r1")
        fuzzer = Fuzzer(server.ws_url, "r1", seed, max_frame_bytes=65536)
        await fuzzer.start()
        t0 = time.perf_counter()
        await fuzzer.run(frames)
        elapsed = time.perf_counter() - t0
        async with asyncio.timeout(120):
            fresh = await fuzzer.converge()
        reference = content(fresh)
        equal = [content(w.doc) == reference for w in fuzzer.writers]
        await fuzzer.close()
        alive = server.proc.poll() is None
        return {"seed": seed, "frames": fuzzer.counts.total, "seconds": round(elapsed, 1), "load_1min": load_avg(),
                "server_alive": alive, "clients_equal_server": all(equal), "closes": dict(fuzzer.counts.closes),
                "sent": dict(sorted(fuzzer.counts.frames.items())), "warnings": dict(server.warnings())}
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=12_000)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--root", type=Path, default=ROOT)
    args = ap.parse_args()
    for seed in (int(s) for s in args.seeds.split(",")):
        print(json.dumps(asyncio.run(run(seed, args.frames, args.root))), flush=True)


if __name__ == "__main__":
    main()
