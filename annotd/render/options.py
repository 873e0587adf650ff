"""Export options.

Why a frozen dataclass with plain constants instead of a validating constructor: user input is
validated at the API edge (one place maps errors to codes: ``annotd.commands.exports``, whose
parameter rules the ``annotd export`` CLI reuses, and ``annotd.config`` for the compression
level); the renderer trusts these values. The ranges and defaults below are the one home of
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
PNG_COMPRESS_MIN = 0
PNG_COMPRESS_MAX = 9
DEFAULT_PNG_COMPRESS_LEVEL = 3
"""Measured (see DESIGN.md): level 3 costs little more than level 1 and gives clearly smaller
files than level 1, while level 6 (Pillow's default) is several times slower at 4800x3000."""
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
    png_compress_level: int = DEFAULT_PNG_COMPRESS_LEVEL

    @property
    def effective_scale(self) -> float:
        """The scale actually applied: from ``dpi`` when given, else ``scale``."""
        return self.dpi / CSS_DPI if self.dpi is not None else self.scale
