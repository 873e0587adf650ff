"""How far the raster renderer's pixels are from exact compositing, now and at an older commit.

Why: painting without per-item layers changes some pixels by rounding. This measures which
output is closer to the truth. The reference composites, in floating point, exactly the
coverage AGG and FreeType produce (each op's coverage is taken from aggdraw drawing it alone
in opaque white on transparent black, each text op's from the renderer's own text mask), op
over op inside an item, the item as a group with its opacity over the canvas (SVG ``<g
opacity>``). Errors are in 8-bit levels of premultiplied colour and of alpha, over the
golden cases of ``tests/goldens_regen.py``.

    .venv/bin/python -m bench.render_accuracy [--old COMMIT]   # default: 44d1019 (before #11)
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import aggdraw
from PIL import Image

from annotd.render import geometry as g
from annotd.render import raster
from annotd.render.prepare import Prepared, ShapeOp, TextOp
from annotd.render.scene import build_items
from tests.goldens_regen import CASES

ROOT = Path(__file__).resolve().parent.parent
Px = list[float]


def _load(commit: str, name: str, replace: dict[str, str]) -> ModuleType:
    src = subprocess.run(["git", "show", f"{commit}:annotd/render/{name}.py"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    for old, new in replace.items():
        src = src.replace(old, new)
    path = Path(tempfile.mkdtemp()) / f"{name}.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location(f"annotd.render._old_{name}", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def load_old(commit: str) -> ModuleType:
    """``raster`` as it was at ``commit``, with its own ``geometry`` (scene, fonts and the
    rest are today's: they decide what is painted, not how)."""
    _load(commit, "geometry", {})
    return _load(commit, "raster", {"from . import geometry as g": "from . import _old_geometry as g"})


def coverage(op: ShapeOp | TextOp, prep: Prepared, size: tuple[int, int]) -> list[float]:
    """Per-pixel coverage 0..1 of one op over the whole canvas."""
    if isinstance(op, TextOp):
        mask = raster._text_mask(prep, op.text, (0, 0) + size)
        return [v / 255 for v in mask.tobytes()]
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = aggdraw.Draw(img)
    raster._paint_shapes(draw, (ShapeOp(op.polys, op.lines, (255, 255, 255, 255), op.width),))
    draw.flush()
    return [v / 255 for v in img.getchannel("A").tobytes()]


def reference(case) -> tuple[list[Px], tuple[int, int]]:  # type: ignore[no-untyped-def]
    """Premultiplied float RGBA (0..1) per pixel."""
    base = case.base() if case.base else None
    opts = case.options
    items = build_items(case.view, opts.include_comments, opts.comment_states)
    ox, oy, w, h = raster.canvas_frame(case.view, base, items)
    scale = opts.effective_scale
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    start = raster._start_canvas(base, size, raster.background_color(opts))[0].convert("RGBA")
    canvas = [[c / 255 for c in px[:3]] + [px[3] / 255] for px in start.get_flattened_data()]  # type: ignore[attr-defined]
    canvas = [[c * px[3] for c in px[:3]] + [px[3]] for px in canvas]
    out = g.scale_translate(scale, ox, oy)
    for it in items:
        prep = Prepared(it, out, scale)
        if prep.box is None:
            continue
        group = [[0.0, 0.0, 0.0, 0.0] for _ in canvas]
        for op in prep.ops:
            cov = coverage(op, prep, size)
            color = op.text.color if isinstance(op, TextOp) else op.color
            rgb, a = [c / 255 for c in color[:3]], color[3] / 255
            for px, cv in zip(group, cov, strict=True):
                k = cv * a
                if k:
                    px[0], px[1], px[2], px[3] = (rgb[0] * k + px[0] * (1 - k), rgb[1] * k + px[1] * (1 - k),
                                                  rgb[2] * k + px[2] * (1 - k), k + px[3] * (1 - k))
        o = it.opacity
        for px, gp in zip(canvas, group, strict=True):
            if gp[3]:
                f = 1 - gp[3] * o
                px[0], px[1], px[2], px[3] = gp[0] * o + px[0] * f, gp[1] * o + px[1] * f, gp[2] * o + px[2] * f, gp[3] * o + px[3] * f
    return canvas, size


def errors(img: Image.Image, ref: list[Px]) -> tuple[float, float, float, int]:
    """(max premultiplied colour error, mean of it, max alpha error, pixels off by > 1 level)."""
    worst = total = worst_a = 0.0
    off = 0
    n = 0
    for (r, gr, b, a), px in zip(img.convert("RGBA").get_flattened_data(), ref, strict=True):  # type: ignore[attr-defined]
        ea = abs(a - px[3] * 255)
        errs = [abs(c * a / 255 - p * 255) for c, p in zip((r, gr, b), px[:3], strict=True)]
        e = max(errs)
        worst, worst_a, total = max(worst, e), max(worst_a, ea), total + sum(errs)
        off += max(e, ea) > 1.0
        n += 3
    return worst, total / n, worst_a, off


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", default="44d1019")
    args = ap.parse_args()
    old = load_old(args.old)
    print(f"{'case':18s} {'renderer':8s} {'max err':>8s} {'mean err':>9s} {'max alpha err':>14s} {'px off >1 level':>16s}")
    for case in CASES:
        ref, _ = reference(case)
        base = case.base() if case.base else None
        for name, mod in (("old", old), ("new", raster)):
            worst, mean, worst_a, off = errors(mod.render_image(case.view, base, case.options), ref)
            print(f"{case.name:18s} {name:8s} {worst:8.2f} {mean:9.4f} {worst_a:14.2f} {off:16d}")


if __name__ == "__main__":
    main()
