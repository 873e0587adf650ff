"""Deterministic server-side export of a canvas view (PNG, JPEG, SVG).

Public API: :func:`render`, :func:`render_image`, :func:`render_svg`, :class:`RenderOptions`,
:class:`FontMissing`. Design and measurements: ``annotd/render/DESIGN.md``.
"""

from .fonts import FontMissing
from .options import RenderOptions
from .raster import render, render_image
from .svg import render_svg

__all__ = ["FontMissing", "RenderOptions", "render", "render_image", "render_svg"]
