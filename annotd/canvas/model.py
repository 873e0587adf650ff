"""Typed, immutable objects of the materialized view.

Why a separate module: the API (``annotations.list``), the comment pins and the renderer
must all read one definition of what an annotation *is*. The view builder
(``annotd.canvas.view``) turns a Yjs document into these objects, clamping or skipping
anything a raw Yjs client wrote that breaks the schema; everything downstream can then
trust the types below without re-validating.

Coordinates are in the base image's pixel space (origin top-left, y down). ``x, y`` is the
top-left of the unrotated box, ``w, h`` its size; ``rotation`` is in degrees, clockwise,
about the box centre. Line, arrow, polygon and freehand points are relative to ``(x, y)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

SCHEMA_VERSION = 1

AnnotationType = Literal["text", "line", "arrow", "rect", "ellipse", "polygon", "freehand"]
ANNOTATION_TYPES: tuple[str, ...] = ("text", "line", "arrow", "rect", "ellipse", "polygon", "freehand")
StrokeStyle = Literal["solid", "dashed", "dotted"]
TextAlign = Literal["left", "center", "right"]
Arrowhead = Literal["none", "arrow", "triangle", "dot"]
ARROWHEADS: tuple[str, ...] = ("none", "arrow", "triangle", "dot")
FontFamily = Literal["sans", "serif", "mono"]
FONT_FAMILIES: tuple[str, ...] = ("sans", "serif", "mono")


@dataclass(frozen=True, slots=True)
class Style:
    """Visual style. Colours are CSS hex strings (``#rrggbb`` or ``#rrggbbaa``) or ``none``."""

    stroke: str = "#e03131"
    fill: str = "none"
    strokeWidth: float = 2.0
    strokeStyle: StrokeStyle = "solid"
    opacity: float = 1.0
    fontFamily: FontFamily = "sans"
    fontSize: float = 16.0
    fontWeight: Literal["normal", "bold"] = "normal"
    textAlign: TextAlign = "left"


@dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float
    pressure: float | None = None


@dataclass(frozen=True, slots=True)
class Annotation:
    """One annotation as the view sees it (already validated and clamped).

    ``issues`` lists what the view had to repair (e.g. ``"x: not a finite number"``); an
    empty tuple means the stored data matched the schema exactly.
    """

    id: str
    type: AnnotationType
    x: float
    y: float
    w: float
    h: float
    rotation: float = 0.0
    z: str = "a0"
    groupIds: tuple[str, ...] = ()
    locked: bool = False
    style: Style = field(default_factory=Style)
    createdBy: str = ""
    updatedBy: str = ""
    updatedAt: int = 0
    # text
    text: str = ""
    wrap: bool = True
    # line / arrow / polygon / freehand (relative to x, y)
    points: tuple[Point, ...] = ()
    startArrowhead: Arrowhead = "none"
    endArrowhead: Arrowhead = "none"
    closed: bool = True
    issues: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ImageRef:
    """The base image current at some seq: bytes are kept by ``sha256`` on the server."""

    sha256: str
    width: int
    height: int
    mime: str


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where a comment thread is pinned.

    ``kind`` is ``annotation`` (``annotationId`` + ``offset`` as fractions 0..1 of the
    annotation's box, so the pin follows moves and resizes), ``point`` (``x, y``) or
    ``region`` (``x, y, w, h``). ``detachedFrom`` is set when the anchored annotation was
    deleted: the anchor then became a ``point`` where the pin last was.
    """

    kind: Literal["annotation", "point", "region"]
    x: float = 0.0
    y: float = 0.0
    w: float = 0.0
    h: float = 0.0
    annotationId: str | None = None
    offsetX: float = 0.5
    offsetY: float = 0.5
    detachedFrom: str | None = None


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    author: str
    body: str
    createdAt: int
    editedAt: int | None = None
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class Thread:
    id: str
    anchor: Anchor
    pin: tuple[float, float]
    """Absolute position of the pin (resolved from the anchor at this state)."""
    status: Literal["open", "resolved"]
    createdBy: str
    createdAt: int
    resolvedBy: str | None = None
    resolvedAt: int | None = None
    messages: tuple[Message, ...] = ()


@dataclass(frozen=True, slots=True)
class CanvasView:
    """The whole canvas at one state: annotations sorted by paint order (z, id)."""

    schemaVersion: int
    image: ImageRef | None
    annotations: tuple[Annotation, ...]
    threads: tuple[Thread, ...]
    issues: tuple[str, ...] = ()
