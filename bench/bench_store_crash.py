"""The store's crash test at length: a writer process killed with SIGKILL at seeded random
moments, the store reopened and checked after every kill (tests/storage_crash.py; CI runs
30 kills in tests/storage/test_storage_faults.py). Prints kills, acknowledged appends and what was
lost (must be nothing).

    .venv/bin/python bench/bench_store_crash.py --kills 300 --seed 7
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import storage_crash  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--max-delay", type=float, default=1.0, help="longest run before a kill, seconds")
    ap.add_argument("--sync", default="full,batch,off", help="levels used in turn")
    args = ap.parse_args()
    print("load:", os.getloadavg())
    folder = Path(tempfile.mkdtemp(prefix="bench-store-crash-"))
    t0 = time.monotonic()
    try:
        out = storage_crash.run(folder / "d", kills=args.kills, seed=args.seed, max_delay_s=args.max_delay,
                                levels=tuple(args.sync.split(",")))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"seed {args.seed}: {out.kills} kills ({out.killed_before_ready} while opening), {out.acked} acknowledged "
          f"appends, lost {len(out.lost)} in {time.monotonic() - t0:.0f} s")
    for problem in out.lost[:20]:
        print("  LOST:", problem)
    print("load:", os.getloadavg())
    sys.exit(1 if out.lost else 0)


if __name__ == "__main__":
    main()
