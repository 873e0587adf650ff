"""What one inline snapshot costs as a room's document grows under moves, and what that is
per update under the ops rule alone (every ``snapshot_every_ops``) and amortized
(``history.snapshot_tail_ratio``, :meth:`annotd.core.history.History.snapshot_due`).

The document is bench_relay's saturation room: 10 writers each moving one annotation
(every move leaves a tombstone, so the encoded state grows ~24 bytes per update). A snapshot
is what ``Room.snapshot`` does inline: encode the document, hash it, read its state vector.

    .venv/bin/python -m bench.bench_snapshot_cost [--updates 30000] [--every 5000]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from pycrdt import Doc

from annotd.base.config import HistoryConfig
from annotd.base.docstate import encode_doc
from annotd.core.history import AMORTIZE_FROM
from bench.bench_relay import _payload, move_updates


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--updates", type=int, default=30_000)
    p.add_argument("--every", type=int, default=5_000, help="measure after this many more updates")
    args = p.parse_args()
    cfg = HistoryConfig()
    writers = [move_updates(args.updates // 10 + 1, f"m{i}", f"u{i}") for i in range(10)]
    doc: Doc[Any] = Doc()
    logged = 0
    print(f"{'updates':>8} {'state KB':>9} {'snapshot ms':>12} {'every N ops':>12} {'us/update':>10}"
          f" {'amortized N':>12} {'us/update':>10}")
    for step in range(args.updates // 10):
        for frames in writers:
            update = _payload(frames[step])
            doc.apply_update(update)
            logged += len(update)
        done = 10 * (step + 1)
        if done % args.every:
            continue
        runs = []
        for _ in range(5):
            t = time.perf_counter()
            enc = encode_doc(doc, done)
            runs.append(time.perf_counter() - t)
        cost = sorted(runs)[2]
        size = len(enc.blob)
        per_update = logged / done
        amortized = max(cfg.snapshot_every_ops,
                        int(max(0, size - AMORTIZE_FROM) / cfg.snapshot_tail_ratio / per_update) + 1)
        print(f"{done:8d} {size / 1000:9.1f} {cost * 1e3:12.2f} {cfg.snapshot_every_ops:12d}"
              f" {cost / cfg.snapshot_every_ops * 1e6:10.2f} {amortized:12d} {cost / amortized * 1e6:10.2f}")


if __name__ == "__main__":
    main()
