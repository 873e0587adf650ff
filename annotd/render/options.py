"""Export options.

Why a frozen dataclass with plain constants instead of a validating constructor: user input is
validated at the API edge (one place maps errors to codes: ``annotd.commands.exports``, whose
parameter rules the ``annotd export`` CLI reuses, and ``annotd.base.config`` for the PNG speed
and the output pixel limit); the renderer trusts these values. The ranges and defaults below are the one home of
each number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Format = Literal["png", "jpg", "svg"]
FORMATS: tuple[str, ...] = ("png", "jpg", "svg")

SCALE_MIN = 0.1
SCALE_MAX = 8.0
DPI_MIN = 9.6  # = SCALE_MIN * CSS_DPI
DPI_MAX = 768.0  # = SCALE_MAX * CSS_DPI
CSS_DPI = 96.0
"""One image pixel at scale 1 is one CSS pixel, so ``scale = dpi / 96``."""
QUALITY_MIN = 1
QUALITY_MAX = 100
DEFAULT_JPEG_QUALITY = 90
PNG_SPEEDS: tuple[str, ...] = ("fast", "small")
DEFAULT_PNG_SPEED = "fast"
"""``fast``: Up filter + ISA-L, streamed in bands (7x faster than zlib level 3, files as small on
exports); ``small``: Pillow's zlib at level 6, 5-9 % smaller and 5-15x slower. DESIGN.md."""
DEFAULT_MAX_OUTPUT_PIXELS = 40_000_000
"""PNG/JPEG exports larger than this are refused before queueing. A render needs about 10
bytes per output pixel at its peak (the surface, the resampled base, libjpeg's coefficients), so
40 MP keeps a worker near 500 MB (bench/bench_memory.py, DESIGN.md)."""
COMMENT_STATES: tuple[str, ...] = ("open", "resolved")


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """What to export and how.

    ``background`` is ``transparent``, ``white`` or ``#rrggbb``; JPEG has no alpha, so a
    transparent background becomes white there. ``dpi``, when set, wins over ``scale``
    (``scale = dpi / 96``) and is written into the file (PNG pHYs, JPEG JFIF density).
    """

    format: Format = "png"
    scale: float = 1.0
    dpi: float | None = None
    background: str = "transparent"
    include_comments: bool = False
    comment_states: tuple[str, ...] = ("open",)
    quality: int = DEFAULT_JPEG_QUALITY
    png_speed: str = DEFAULT_PNG_SPEED

    @property
    def effective_scale(self) -> float:
        """The scale actually applied: from ``dpi`` when given, else ``scale``."""
        return self.dpi / CSS_DPI if self.dpi is not None else self.scale
