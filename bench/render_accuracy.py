"""How far the raster renderer's pixels are from exact compositing.

Why: the renderer blends in 8-bit premultiplied colour and uses a layer only when group
opacity needs one (folding the opacity into each op's colour otherwise); this measures what
that costs against the truth. The reference composites, in floating point, exactly the
coverage Skia produces (each op drawn alone, its colour made opaque, on transparent black
under the item's matrix), op over op inside an item, the item as a group with its opacity over the
canvas (SVG ``<g opacity>``), over the same background and base image. Errors are in 8-bit
levels of premultiplied colour and of alpha, over the golden cases of ``tests/goldens_regen.py``.

    .venv/bin/python -m bench.render_accuracy
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np
from PIL import Image

from annotd.render import raster, skpaint
from annotd.render.frame import pixel_size
from annotd.render.scene import Op, build_items
from tests.goldens_regen import CASES


def _pixels(surface: raster.Surface, size: tuple[int, int]) -> np.ndarray:
    """Premultiplied RGBA floats 0..1, shape (h, w, 4)."""
    return np.frombuffer(bytes(surface.pixels), dtype=np.uint8).reshape(size[1], size[0], 4).astype(np.float64) / 255


def coverage(op: Op, it: object, matrix: tuple[float, float, float], size: tuple[int, int]) -> np.ndarray:
    """Per-pixel coverage 0..1 of one op alone, shape (h, w)."""
    surface, _ = raster.start_surface(None, size, (0, 0, 0, 0))
    canvas = surface.canvas()
    scale, ox, oy = matrix
    canvas.scale(scale, scale)
    canvas.translate(-ox, -oy)
    if it.rotation % 360:  # type: ignore[attr-defined]
        canvas.rotate(it.rotation, it.cx, it.cy)  # type: ignore[attr-defined]
    # In its own colour, made opaque: Skia adjusts glyph coverage to the text colour's luminance.
    skpaint.paint_op(canvas, replace(op, color=op.color[:3] + (255,)), 1.0)
    return _pixels(surface, size)[:, :, 3]


def reference(case) -> tuple[np.ndarray, tuple[int, int]]:  # type: ignore[no-untyped-def]
    base = case.base() if case.base else None
    opts = case.options
    items = build_items(case.view, opts.include_comments, opts.comment_states)
    ox, oy, w, h = raster.canvas_frame(case.view, base, items)
    scale = opts.effective_scale
    size = pixel_size(w, h, scale)
    surface, _ = raster.start_surface(base, size, raster.background_color(opts))
    canvas = _pixels(surface, size)
    for it in items:
        if it.opacity <= 0:
            continue
        group = np.zeros_like(canvas)
        for op in it.ops:
            k = coverage(op, it, (scale, ox, oy), size) * (op.color[3] / 255)
            color = np.array([c / 255 for c in op.color[:3]] + [1.0])
            group = color[None, None, :] * k[:, :, None] + group * (1 - k[:, :, None])
        o = it.opacity
        canvas = group * o + canvas * (1 - group[:, :, 3:4] * o)
    return canvas, size


def errors(img: Image.Image, ref: np.ndarray) -> tuple[float, float, float, int]:
    """(max premultiplied colour error, mean of it, max alpha error, pixels off by > 1 level)."""
    px = np.asarray(img.convert("RGBA"), dtype=np.float64)
    alpha = px[:, :, 3:4]
    premul = px[:, :, :3] * alpha / 255
    err = np.abs(premul - ref[:, :, :3] * 255)
    err_a = np.abs(alpha[:, :, 0] - ref[:, :, 3] * 255)
    off = int(np.count_nonzero(np.maximum(err.max(axis=2), err_a) > 1.0))
    return float(err.max()), float(err.mean()), float(err_a.max()), off


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.parse_args()
    print(f"{'case':18s} {'max err':>8s} {'mean err':>9s} {'max alpha err':>14s} {'px off >1 level':>16s}")
    for case in CASES:
        ref, _ = reference(case)
        base = case.base() if case.base else None
        worst, mean, worst_a, off = errors(raster.render_image(case.view, base, case.options), ref)
        print(f"{case.name:18s} {worst:8.2f} {mean:9.4f} {worst_a:14.2f} {off:16d}")


if __name__ == "__main__":
    main()
