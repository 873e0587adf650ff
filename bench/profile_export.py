"""Run a worker's ``render_export`` on the bench scene over and over, in this process: the
thing to put under py-spy to see where an export's time goes.

    .venv/bin/py-spy record -r 250 --format raw -o /tmp/w.txt -- \\
        .venv/bin/python -m bench.profile_export --format png --scale 1 --n 20
    .venv/bin/python -m bench.pyspy_top /tmp/w.txt

The scene is ``bench_render``'s (500 annotations, 20 comment badges, 1600x1000 PNG base)
encoded as the room would hold it (``bench_memory.state``).
"""

from __future__ import annotations

import argparse
import hashlib
import io

from annotd.base.docstate import StateParts, sha256
from annotd.render import RenderOptions
from annotd.services.renders.worker import render_export

from .bench_memory import state
from .bench_render import base_image


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--format", default="png", choices=("png", "jpg", "svg"))
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--n", type=int, default=20)
    args = ap.parse_args()
    buf = io.BytesIO()
    base_image().save(buf, format="PNG", compress_level=1)
    data = buf.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    blob = state(1600, 1000, sha, "image/png", False)
    opts = RenderOptions(format=args.format, scale=args.scale, include_comments=True)
    for _ in range(args.n + 1):  # the first one warms fonts and caches
        render_export(StateParts(1, blob, sha256(blob)), (sha, data), opts, {"seq": "1"})


if __name__ == "__main__":
    main()
