"""Where an export is rendered: the entry a worker runs (picklable in, picklable out) and
the pool of worker processes.

Why processes: rendering holds the GIL long enough (Python glue around Skia and Pillow) to delay the
relay (the comparison, process vs thread, is in BENCHMARKS.md, "Figures the design rests on";
``export.executor = "thread"`` is kept for it).
The processes come from :mod:`annotd.base.procpool` (forkserver, ``export.worker_nice`` nicer
than the daemon so the relay loop wins a shared core, gone with the daemon) and import the
renderer once, before their first job. Scripts that embed the daemon need the usual
``if __name__ == "__main__":`` guard.

A job's document arrives as :class:`~annotd.base.docstate.StateParts` (the nearest snapshot and
the updates after it) and is built here, so an export never rebuilds a state on the loop.
"""

from __future__ import annotations

import io
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass

from ...base import procpool, spill
from ...base.docstate import StateParts, build_doc
from ...render.options import RenderOptions

RENDERER_MODULES = ("annotd.render.raster", "annotd.render.svg", "annotd.canvas.view")
"""Imported by each worker process before its first job (and preloaded by the forkserver)."""


@dataclass(frozen=True, slots=True)
class NeedImage:
    """The view at this seq shows another base image than the one passed in."""

    sha256: str


@dataclass(frozen=True, slots=True)
class Rendered:
    data: bytes
    cpu_ms: float


spill.register(Rendered, lambda r: (spill.spilled(r.data), r.cpu_ms))  # a big PNG comes back through a file


def render_export(
    state: StateParts,
    image: tuple[str, bytes | None] | None,
    options: RenderOptions,
    provenance: dict[str, str],
) -> Rendered | NeedImage:
    """Build ``state`` into a Doc, build its view and render it; CPU-heavy, never on the loop.

    ``image`` is ``(sha256, bytes)`` of the base image the caller expects (bytes ``None``
    when the store no longer has it: the canvas keeps its size and shows the background).
    Which base image a seq shows is only known after decoding, so a caller that guessed
    wrong gets :class:`NeedImage` and asks again with the right bytes.
    """
    from PIL import Image

    from ...canvas.view import build_view
    from ...render import render, render_svg

    t0 = time.process_time()
    view = build_view(build_doc(state))
    data: bytes | None = None
    if view.image is not None:
        if image is None or image[0] != view.image.sha256:
            return NeedImage(view.image.sha256)
        data = image[1]
    if options.format == "svg":
        png = data
        if data is not None and not data.startswith(b"\x89PNG"):
            buf = io.BytesIO()
            with Image.open(io.BytesIO(data)) as img:
                img.save(buf, format="PNG", compress_level=1)
            png = buf.getvalue()
        out = render_svg(view, png, options, provenance)
    else:
        base = None
        if data is not None:
            # Decoded as stored (RGB for photos): the renderer resizes it and paints on it
            # as RGB when it is opaque, so an RGBA copy would only cost memory.
            img = Image.open(io.BytesIO(data))
            img.load()
            base = img if img.mode in ("RGB", "RGBA") else img.convert("RGBA")
        out = render(view, base, options, provenance)
    return Rendered(out, (time.process_time() - t0) * 1000)


def new_executor(kind: str, workers: int, nice: int) -> Executor:
    """A pool of ``workers`` render workers (``kind``: ``process`` or ``thread``); process
    pools start their processes now, in the background, so the first export does not pay
    for process start and imports. Call on the running loop."""
    if kind == "thread":
        return ThreadPoolExecutor(workers, thread_name_prefix="annotd-export")
    return procpool.new_process_pool(workers, nice, (__name__, *RENDERER_MODULES))


terminate_processes = procpool.terminate_processes
