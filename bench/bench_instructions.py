"""Instructions executed per export render (valgrind), a figure the machine's load cannot move.

Runs the bench scene's render (``bench_render``: 500 annotations, 20 badges, 1600x1000
base) under ``valgrind --tool=cachegrind`` twice in fresh processes: once warming up only
(imports, fonts, one render), once warming up and then rendering ``--n`` more times; the
difference divided by ``n`` is the cost of one render+encode. ``--tree DIR`` runs another
checkout (e.g. ``git archive 44d1019 | tar -x -C /tmp/old``) with this venv, for before /
after comparisons. Slow: valgrind runs Python ~50x slower.

    .venv/bin/python -m bench.bench_instructions [--scale 1] [--format png] [--n 2] [--tree DIR]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CHILD = """
import sys
from annotd.render import RenderOptions, render, render_image
from bench.bench_render import base_image, scene
view, base = scene(), base_image()
opts = RenderOptions(format=sys.argv[2], scale=float(sys.argv[1]), include_comments=True)
fn = render_image if sys.argv[2] == "raster" else render
if sys.argv[2] == "raster":
    opts = RenderOptions(scale=float(sys.argv[1]), include_comments=True)
fn(view, base, opts)
for _ in range(int(sys.argv[3])):
    fn(view, base, opts)
"""


def instructions(tree: Path, scale: float, fmt: str, n: int) -> int:
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "cg.out"
        proc = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", f"--cachegrind-out-file={out}",
                               sys.executable, "-c", _CHILD, str(scale), fmt, str(n)],
                              cwd=tree, capture_output=True, text=True, env={"PYTHONPATH": str(tree)})
        m = re.search(r"I\s+refs:\s+([\d,]+)", proc.stderr)
        if proc.returncode != 0 or m is None:
            raise RuntimeError(proc.stderr[-2000:])
        return int(m.group(1).replace(",", ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--format", default="png", choices=("png", "jpg", "raster"))
    ap.add_argument("--n", type=int, default=2)
    ap.add_argument("--tree", type=Path, default=ROOT)
    args = ap.parse_args()
    base = instructions(args.tree, args.scale, args.format, 0)
    more = instructions(args.tree, args.scale, args.format, args.n)
    per = (more - base) / args.n
    print(f"{args.tree}: scale {args.scale:g} {args.format}: {per / 1e9:.3f} G instructions per render")


if __name__ == "__main__":
    main()
