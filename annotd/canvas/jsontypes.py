"""The API's JSON for canvas objects, as types: what :mod:`annotd.canvas.codec` produces.

Why declared: command results are published in ``/openapi.json`` (generated clients type
their answers from it), and an annotation or a thread appears in many results. Each class
is one named schema there. ``tests/net/test_openapi.py`` checks live answers against these
declarations, so a field added to the codec and not here fails a test.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

from .model import AnnotationType, Arrowhead, FontFamily, StrokeStyle, TextAlign


class Style(TypedDict):
    """Colours are ``#rrggbb``, ``#rrggbbaa`` or ``none``."""

    stroke: str
    fill: str
    strokeWidth: float
    strokeStyle: StrokeStyle
    opacity: float
    fontFamily: FontFamily
    fontSize: float
    fontWeight: Literal["normal", "bold"]
    textAlign: TextAlign


class Annotation(TypedDict):
    """One annotation as read back (see protocol.md, "Document schema"); ``issues`` lists
    what reading it had to repair (empty when the stored data matched the schema). Fields of
    one type only: ``text``/``wrap`` (text), ``points`` (line, arrow, polygon, freehand: flat
    x,y pairs relative to x,y), arrowheads (line, arrow), ``closed`` (polygon),
    ``pressures`` (freehand with pen pressure)."""

    id: str
    type: AnnotationType
    x: float
    y: float
    w: float
    h: float
    rotation: float
    z: str
    groupIds: list[str]
    locked: bool
    style: Style
    createdBy: str
    updatedBy: str
    updatedAt: int
    issues: list[str]
    text: NotRequired[str]
    wrap: NotRequired[bool]
    points: NotRequired[list[float]]
    startArrowhead: NotRequired[Arrowhead]
    endArrowhead: NotRequired[Arrowhead]
    closed: NotRequired[bool]
    pressures: NotRequired[list[float | None]]


class AnnotationAnchor(TypedDict):
    """Pinned to an annotation at ``offsetX``/``offsetY`` (fractions of its box);
    ``x``/``y``: where the pin was when last written."""

    kind: Literal["annotation"]
    annotationId: str
    offsetX: float
    offsetY: float
    x: float
    y: float


class RegionAnchor(TypedDict):
    kind: Literal["region"]
    x: float
    y: float
    w: float
    h: float


class PointAnchor(TypedDict):
    """A point; ``detachedFrom`` names the deleted annotation it was anchored to."""

    kind: Literal["point"]
    x: float
    y: float
    detachedFrom: NotRequired[str]


class Pin(TypedDict):
    """Where the thread's pin is drawn at this state (resolved from the anchor)."""

    x: float
    y: float


class Message(TypedDict):
    id: str
    author: str
    body: str
    createdAt: int
    editedAt: int | None
    deleted: bool


class Thread(TypedDict):
    id: str
    anchor: AnnotationAnchor | RegionAnchor | PointAnchor
    pin: Pin
    status: Literal["open", "resolved"]
    createdBy: str
    createdAt: int
    resolvedBy: str | None
    resolvedAt: int | None
    messages: list[Message]


class Image(TypedDict):
    """A base image: its bytes are ``GET /v1/rooms/{roomId}/image?sha256=…``."""

    sha256: str
    width: int
    height: int
    mime: str


class StylePatch(TypedDict, total=False):
    """Style fields to write; each one given is written on its own (the others are kept)."""

    stroke: str
    fill: str
    strokeWidth: float
    strokeStyle: StrokeStyle
    opacity: float
    fontFamily: FontFamily
    fontSize: float
    fontWeight: Literal["normal", "bold"]
    textAlign: TextAlign


class AnnotationPatch(TypedDict, total=False):
    """An annotation to create (``type`` required then; the rest default) or the fields of
    one to change. Ranges, lengths and which fields each type takes are checked by the
    server and refused naming the field (protocol.md, "Document schema"); the fields the
    server stamps (``createdBy``, ``updatedBy``, ``updatedAt``) are refused."""

    id: str
    type: AnnotationType
    x: float
    y: float
    w: float
    h: float
    rotation: float
    z: str
    groupIds: list[str]
    locked: bool
    style: StylePatch
    text: str
    wrap: bool
    points: list[float]
    startArrowhead: Arrowhead
    endArrowhead: Arrowhead
    closed: bool
    pressures: list[float] | None


class AnnotationAnchorInput(TypedDict):
    """Pin to an annotation at ``offsetX``/``offsetY`` (fractions of its box, 0..1, default
    0.5): the pin follows the annotation."""

    kind: Literal["annotation"]
    annotationId: str
    offsetX: NotRequired[float]
    offsetY: NotRequired[float]


class PointAnchorInput(TypedDict):
    kind: Literal["point"]
    x: float
    y: float


AnchorInput = AnnotationAnchorInput | PointAnchorInput | RegionAnchor
"""Where to pin a comment thread (what ``canvas.validate.validate_anchor`` takes)."""
