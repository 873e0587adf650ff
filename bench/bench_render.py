"""Export benchmark: a 1600x1000 base with 500 annotations of every kind plus comment badges.

Prints p50 time of render+encode at scale 1 and 3 for PNG, JPEG and SVG, and the same scene
rasterised through resvg (the alternative considered, fed by our own SVG export). PNG
encoders are compared by ``bench/bench_png.py``. Figures go into annotd/render/DESIGN.md.

``--cpu`` measures the process's CPU time instead of wall time: on a machine shared with
other work it moves much less with the load (this process is single-threaded).

    .venv/bin/python -m bench.bench_render [--runs N] [--quick] [--cpu]
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import replace

from PIL import Image

from annotd.canvas.model import Anchor, Annotation, CanvasView, ImageRef, Point, Style, Thread
from annotd.render import RenderOptions, render, render_image, render_svg
from annotd.render.encode import encode_png
from annotd.render.fonts import all_font_paths

W, H = 1600, 1000
COLORS = ("#e03131", "#1971c2", "#2f9e44", "#f08c00", "#6741d9", "#000000")


def base_image(width: int = W, height: int = H) -> Image.Image:
    gx = Image.linear_gradient("L").rotate(90).resize((width, height))
    gy = Image.linear_gradient("L").resize((width, height))
    m = Image.effect_mandelbrot((width, height), (-2.0, -1.2, 1.0, 1.2), 60)
    return Image.merge("RGB", (gx, gy, m))


def scene(n: int = 500, threads: int = 20, width: int = W, height: int = H) -> CanvasView:
    """The bench scene; on a larger image (``width`` x ``height``) the same annotations are
    spread over it (same sizes)."""
    W, H = width, height  # noqa: N806
    rnd = random.Random(42)
    anns: list[Annotation] = []
    kinds = ("rect", "rect_rot", "ellipse_dashed", "arrow", "polygon", "freehand", "text_rot", "line_dotted")
    for i in range(n):
        kind = kinds[i % len(kinds)]
        x, y = rnd.uniform(0, W - 200), rnd.uniform(0, H - 150)
        w, h = rnd.uniform(40, 200), rnd.uniform(30, 150)
        color = COLORS[i % len(COLORS)]
        st = Style(stroke=color, strokeWidth=rnd.choice((1.0, 2.0, 4.0)), opacity=rnd.choice((1.0, 1.0, 0.6)))
        z = f"a{i:04d}"
        if kind in ("rect", "rect_rot"):
            anns.append(Annotation(f"a{i}", "rect", x, y, w, h, rotation=25.0 if kind == "rect_rot" else 0.0, z=z,
                                   style=replace(st, fill=color + "33")))
        elif kind == "ellipse_dashed":
            anns.append(Annotation(f"a{i}", "ellipse", x, y, w, h, z=z, style=replace(st, strokeStyle="dashed")))
        elif kind == "arrow":
            pts = (Point(0, h), Point(w / 2, 0), Point(w, h / 2))
            anns.append(Annotation(f"a{i}", "arrow", x, y, w, h, z=z, style=st, points=pts, endArrowhead="triangle",
                                   startArrowhead="dot"))
        elif kind == "polygon":
            pts = tuple(Point(rnd.uniform(0, w), rnd.uniform(0, h)) for _ in range(6))
            anns.append(Annotation(f"a{i}", "polygon", x, y, w, h, z=z, style=replace(st, fill=color + "22"), points=pts))
        elif kind == "freehand":
            count = 500 if i == 5 else 60
            px, py, pts_l = w / 2, h / 2, []
            for _ in range(count):
                px = min(max(px + rnd.uniform(-6, 6), 0), w)
                py = min(max(py + rnd.uniform(-6, 6), 0), h)
                pts_l.append(Point(px, py, rnd.uniform(0.3, 0.7)))
            anns.append(Annotation(f"a{i}", "freehand", x, y, w, h, z=z, style=st, points=tuple(pts_l)))
        elif kind == "text_rot":
            anns.append(Annotation(f"a{i}", "text", x, y, 160, 40, rotation=-20.0, z=z,
                                   style=replace(st, fontWeight="bold", fontSize=18, fontFamily=rnd.choice(("sans", "serif", "mono"))),
                                   text="Check this region, please"))
        else:
            anns.append(Annotation(f"a{i}", "line", x, y, w, h, z=z, style=replace(st, strokeStyle="dotted"),
                                   points=(Point(0, 0), Point(w, h))))
    ths = tuple(
        Thread(f"t{i}", Anchor("point", x=(i * 79) % W, y=(i * 53) % H), ((i * 79) % W, (i * 53) % H), "open", "u", 0)
        for i in range(threads)
    )
    return CanvasView(1, ImageRef("0" * 64, W, H, "image/png"), tuple(sorted(anns, key=lambda a: (a.z, a.id))), ths)


CLOCK = time.perf_counter


def p50(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = CLOCK()
        fn()
        times.append(CLOCK() - t)
    return statistics.median(times) * 1000


def resvg_path(view: CanvasView, base: Image.Image, opts: RenderOptions) -> bytes:
    """The alternative: our SVG (annotations only) rasterised by resvg, composited with Pillow."""
    import resvg_py

    svg = render_svg(view, None, replace(opts, format="svg", background="transparent")).decode()
    png = resvg_py.svg_to_bytes(svg_string=svg, skip_system_fonts=True,
                                font_files=[str(p) for p in all_font_paths().values()])
    layer = Image.open(io.BytesIO(bytes(png))).convert("RGBA")
    canvas = base.convert("RGBA").resize(layer.size, Image.Resampling.LANCZOS)
    canvas.alpha_composite(layer)
    return encode_png(canvas)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="skip resvg")
    ap.add_argument("--cpu", action="store_true", help="CPU time of this process instead of wall time")
    args = ap.parse_args()
    global CLOCK
    if args.cpu:
        CLOCK = time.process_time
    view, base = scene(), base_image()
    base_png = io.BytesIO()
    base.save(base_png, format="PNG", compress_level=1)
    print(f"scene: {len(view.annotations)} annotations, {len(view.threads)} badges, base {W}x{H}; "
          f"{'CPU' if args.cpu else 'wall'} ms, p50 of {args.runs} (scale 3: {max(3, args.runs // 2)})")
    for scale in (1.0, 3.0):
        runs = args.runs if scale == 1 else max(3, args.runs // 2)
        opts = RenderOptions(scale=scale, include_comments=True)
        r = p50(lambda o=opts: render_image(view, base, o), runs)  # type: ignore[misc]
        png = p50(lambda o=opts: render(view, base, o), runs)  # type: ignore[misc]
        jpg = p50(lambda o=opts: render(view, base, replace(o, format="jpg")), runs)  # type: ignore[misc]
        svg = p50(lambda o=opts: render_svg(view, base_png.getvalue(), replace(o, format="svg")), runs)  # type: ignore[misc]
        print(f"scale {scale:g}: raster only {r:7.0f} ms | png {png:7.0f} ms | jpg {jpg:7.0f} ms | svg {svg:6.0f} ms")
        if not args.quick:
            rv = p50(lambda o=opts: resvg_path(view, base, o), max(1, runs // 2))  # type: ignore[misc]
            print(f"scale {scale:g}: resvg(our svg)+composite+png {rv:7.0f} ms")


if __name__ == "__main__":
    main()
