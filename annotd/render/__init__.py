"""Deterministic server-side export of a canvas view (PNG, JPEG, SVG).

Public API: :func:`render`, :func:`render_image`, :func:`render_svg`, :class:`RenderOptions`,
:class:`FontMissing`. Design and measurements: ``annotd/render/DESIGN.md``.

Importing this package is cheap: the renderer itself (Skia, HarfBuzz, fonts) is imported on
first use of one of its names, so code that needs only :mod:`.options` (the API's export
parameters, ``annotd export``) does not load it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .options import RenderOptions

if TYPE_CHECKING:
    from .fonts import FontMissing
    from .raster import render, render_image
    from .svg import render_svg

__all__ = ["FontMissing", "RenderOptions", "render", "render_image", "render_svg"]

_LAZY = {"FontMissing": ".fonts", "render": ".raster", "render_image": ".raster", "render_svg": ".svg"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
