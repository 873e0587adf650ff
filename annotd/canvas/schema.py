"""The document schema in one place: root names, fields per annotation type, enums,
defaults and limits.

Why one module: the view (which repairs what raw Yjs clients wrote), the validator (which
refuses bad API input) and the operations (which write) must agree on every name and every
bound; the "Document schema" section of protocol.md is the same schema written for frontend developers.
Limits are module constants so the tests and the docs can cite them.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

from annotd.base.identifiers import MAX_USER_ID_LENGTH
from annotd.canvas.model import (
    ANNOTATION_TYPES,
    ARROWHEADS,
    FONT_FAMILIES,
    SCHEMA_VERSION,
    Style,
)

__all__ = [
    "ANNOTATION_TYPES",
    "ARROWHEADS",
    "FONT_FAMILIES",
    "SCHEMA_VERSION",
]

# Root types of the Yjs document (all ``Y.Map``).
ROOT_META: Final = "meta"
ROOT_ANNOTATIONS: Final = "annotations"
ROOT_COMMENTS: Final = "comments"

STROKE_STYLES: Final = ("solid", "dashed", "dotted")
FONT_WEIGHTS: Final = ("normal", "bold")
TEXT_ALIGNS: Final = ("left", "center", "right")
THREAD_STATUSES: Final = ("open", "resolved")
ANCHOR_KINDS: Final = ("annotation", "point", "region")
IMAGE_MIMES: Final = ("image/png", "image/jpeg", "image/webp")

# Limits (the view clamps to them, the validator refuses beyond them).
MAX_ANNOTATIONS: Final = 10_000
MAX_POINTS: Final = 10_000
"""Points per line/arrow/polygon/freehand stroke (so ``points`` holds at most 20,000 numbers)."""
MAX_TEXT_LENGTH: Final = 10_000
MAX_BODY_LENGTH: Final = 10_000
MAX_THREADS: Final = 10_000
MAX_MESSAGES_PER_THREAD: Final = 1_000
MAX_GROUP_DEPTH: Final = 32
MAX_USER_LENGTH: Final = MAX_USER_ID_LENGTH
COORD_LIMIT: Final = 1_000_000.0
"""|x|, |y|, w, h and point offsets, in base-image pixels (images are far smaller)."""
MAX_STROKE_WIDTH: Final = 1_000.0
MIN_FONT_SIZE: Final = 1.0
MAX_FONT_SIZE: Final = 2_000.0
MAX_IMAGE_SIDE: Final = 100_000

POINT_QUANTUM: Final = 1 / 16
"""Stored point offsets are multiples of 1/16 px: exact in float32, so Yjs encodes each
number in 5 bytes instead of 9 (measured with pycrdt 0.14), with no visible loss."""

STYLE_DEFAULTS: Final[dict[str, Any]] = {f.name: f.default for f in dataclasses.fields(Style)}
"""Defined once, by :class:`~annotd.canvas.model.Style`'s field defaults."""
STYLE_FIELDS: Final = tuple(STYLE_DEFAULTS)

COMMON_FIELDS: Final = (
    "id",
    "type",
    "x",
    "y",
    "w",
    "h",
    "rotation",
    "z",
    "groupIds",
    "locked",
    "style",
    "createdBy",
    "updatedBy",
    "updatedAt",
)
SERVER_FIELDS: Final = frozenset({"createdBy", "updatedBy", "updatedAt"})
"""Stamped by the server on every write; API input may not set them."""

TYPE_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "text": ("text", "wrap"),
    "line": ("points", "startArrowhead", "endArrowhead"),
    "arrow": ("points", "startArrowhead", "endArrowhead"),
    "rect": (),
    "ellipse": (),
    "polygon": ("points", "closed"),
    "freehand": ("points", "pressures"),
}
"""Type-specific fields. ``points`` is a flat ``[x0, y0, x1, y1, …]`` list of offsets from
``(x, y)``; ``pressures`` (freehand only, optional) is ``[p0, p1, …]`` in 0..1, one per
point."""

POINT_TYPES: Final = frozenset({"line", "arrow", "polygon", "freehand"})
MIN_POINTS: Final[dict[str, int]] = {"line": 2, "arrow": 2, "polygon": 3, "freehand": 1}

TYPE_DEFAULTS: Final[dict[str, dict[str, Any]]] = {
    "text": {"text": "", "wrap": True},
    "line": {"points": [], "startArrowhead": "none", "endArrowhead": "none"},
    "arrow": {"points": [], "startArrowhead": "none", "endArrowhead": "arrow"},
    "rect": {},
    "ellipse": {},
    "polygon": {"points": [], "closed": True},
    "freehand": {"points": []},
}


def fields_for(type_: str) -> tuple[str, ...]:
    """All stored field names of an annotation of ``type_`` (unknown type: common only)."""
    return COMMON_FIELDS + TYPE_FIELDS.get(type_, ())


def quantize(value: float) -> float:
    """Round a point offset to the stored resolution (see :data:`POINT_QUANTUM`)."""
    return round(value / POINT_QUANTUM) * POINT_QUANTUM

