"""Summarise a ``py-spy record --format raw`` file: top functions by inclusive and self samples.

    .venv/bin/python -m bench.pyspy_top /tmp/prof/room10-uvloop.txt [--top 30] [--idle]

Each raw line is ``frame;frame;...;leaf COUNT`` with frames ``func (file:line)``. Lines are
folded to ``func (file)`` so that one function counts once per stack (cumulative time, like
cProfile's ``cumtime``). Samples where the process was idle (the event loop waiting in
``select``/``epoll``) and samples of background threads (the export pool) are excluded unless ``--idle`` is given; percentages are
of the non-idle samples, i.e. of the time the server was actually working.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]+)(?::\d+)?\)$")
IDLE_LEAVES = ("select (selectors.py)", "run_forever (uvloop", "_run_once (asyncio/base_events.py)",
               "epoll_pwait (", "epoll_wait (", "poll (libc")
BACKGROUND = "Thread._bootstrap (threading.py)"  # worker threads (export pool, executors)


def short(frame: str) -> str:
    m = FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m["file"]
    for marker in ("site-packages/", "python3.11/", "/work/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{m['func']} ({path})"


def load(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        stack, _, count = line.rpartition(" ")
        stacks.append(([short(f) for f in stack.split(";")], int(count)))
    return stacks


def is_idle(frames: list[str]) -> bool:
    if BACKGROUND in frames:
        return True
    leaf = frames[-1]
    return any(leaf.startswith(p) for p in IDLE_LEAVES) or leaf.startswith("<module> (annotd/__main__.py)") \
        and len(frames) <= 6


def summarise(path: Path, top: int, include_idle: bool) -> str:
    stacks = load(path)
    total_all = sum(c for _, c in stacks)
    busy = [(f, c) for f, c in stacks if include_idle or not is_idle(f)]
    total = sum(c for _, c in busy) or 1
    incl: Counter[str] = Counter()
    self_: Counter[str] = Counter()
    for frames, count in busy:
        for name in set(frames):
            incl[name] += count
        self_[frames[-1]] += count
    lines = [f"{path.name}: {total_all} samples, {total} non-idle ({100 * total / max(total_all, 1):.1f} %)",
             "", f"{'incl %':>7} {'self %':>7}  function"]
    for name, count in incl.most_common(top):
        lines.append(f"{100 * count / total:7.1f} {100 * self_[name] / total:7.1f}  {name}")
    lines += ["", "top self time:", f"{'self %':>7}  function"]
    for name, count in self_.most_common(top):
        lines.append(f"{100 * count / total:7.1f}  {name}")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--idle", action="store_true", help="keep idle (event loop waiting) samples")
    args = p.parse_args()
    for f in args.files:
        print(summarise(f, args.top, args.idle))
        print()


if __name__ == "__main__":
    main()
