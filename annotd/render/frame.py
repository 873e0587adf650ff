"""The exported area and its pixel size, without painting.

Why its own module: the pixel size of an export is checked against
``export.max_output_pixels`` *before* the job is queued, in the daemon's process, which does
not paint (no surface, no glyph rasterising). This needs only the scene (text layout
for the bounds of a canvas without image), and it is the same code the renderer uses, so the
size checked is the size rendered (a test holds them equal).
"""

from __future__ import annotations

import math

from annotd.canvas.model import CanvasView, Thread

from .options import RenderOptions
from .scene import Item, build_items, item_bounds, shown_threads

CONTENT_PADDING = 16.0
"""Margin (image px) around the content when there is no base image."""


def content_frame(view: CanvasView, items: list[Item]) -> tuple[float, float, float, float]:
    """The frame without base image bytes: the image reference's size, else the content."""
    if view.image is not None:
        return 0.0, 0.0, float(view.image.width), float(view.image.height)
    boxes = [b for b in (item_bounds(it) for it in items) if b is not None]
    if not boxes:
        return 0.0, 0.0, 1.0, 1.0
    x0 = math.floor(min(b[0] for b in boxes) - CONTENT_PADDING)
    y0 = math.floor(min(b[1] for b in boxes) - CONTENT_PADDING)
    x1 = math.ceil(max(b[2] for b in boxes) + CONTENT_PADDING)
    y1 = math.ceil(max(b[3] for b in boxes) + CONTENT_PADDING)
    return float(x0), float(y0), float(x1 - x0), float(y1 - y0)


def pixel_size(w: float, h: float, scale: float) -> tuple[int, int]:
    """Output pixels of a ``w`` x ``h`` frame at ``scale``."""
    return max(1, round(w * scale)), max(1, round(h * scale))


def output_size(view: CanvasView, options: RenderOptions) -> tuple[int, int]:
    """Pixel size of the export of ``view`` (PNG/JPEG size, SVG width/height), computed as
    the renderer computes it but without painting: what the output pixel limit is checked
    against before an export is queued. Cheap with an image reference; without one it lays
    out the annotations (text wrapping included) to find their bounds."""
    items = [] if view.image is not None else build_items(view, options.include_comments, options.comment_states)
    _, _, w, h = content_frame(view, items)
    return pixel_size(w, h, options.effective_scale)


def badge_threads(view: CanvasView, options: RenderOptions) -> list[Thread]:
    """The threads the export draws a numbered badge for, badge N being the N-th: the
    renderer's own choice and order, for a legend of the picture (``exports.plan``)."""
    return shown_threads(view, options.include_comments, options.comment_states)
