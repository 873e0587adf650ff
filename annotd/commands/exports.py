"""Export commands: queue a render of a room (at head, a seq or a tag), see its job, list jobs.

Every parameter is checked here (types and ranges by the params dataclass, combinations
by :func:`check_combinations`, seq/tag against the room by
:meth:`~annotd.services.renders.ExportService.submit`) before anything is queued, so a bad request
never takes a queue slot. The file itself is downloaded from
``GET /v1/exports/{jobId}/download`` (an HTTP-only route of :mod:`annotd.net.httpserver`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict

from ..base.errors import InvalidParams
from ..base.identifiers import BACKGROUND_PATTERN, ID_PATTERN, JOB_ID_PATTERN, TAG_PATTERN
from ..render.options import (
    CSS_DPI,
    DEFAULT_JPEG_QUALITY,
    DPI_MAX,
    DPI_MIN,
    QUALITY_MAX,
    QUALITY_MIN,
    SCALE_MAX,
    SCALE_MIN,
    RenderOptions,
)
from ..services.renders.jobs import Status
from .base import Caller, command
from .params import rule
from .rooms import RoomRef

if TYPE_CHECKING:
    from ..canvas.model import CanvasView
    from ..live.hub import Hub


@dataclass(frozen=True)
class CreateExport:
    roomId: str = rule(pattern=ID_PATTERN)
    format: Literal["png", "jpg", "svg"] = rule(doc="output format")
    seq: int | None = rule(default=None, minimum=0, doc="export the document at this seq (default: head)")
    tag: str | None = rule(default=None, pattern=TAG_PATTERN, doc="export the named version (not with seq)")
    scale: float | None = rule(default=None, minimum=SCALE_MIN, maximum=SCALE_MAX,
                               doc="output pixels per image pixel (default 1; not with dpi)")
    dpi: float | None = rule(default=None, minimum=DPI_MIN, maximum=DPI_MAX,
                             doc="scale = dpi/96, written into the file (not with scale)")
    includeComments: bool = rule(default=False, doc="draw numbered badges at comment threads")
    commentStates: list[Literal["open", "resolved"]] | None = rule(
        default=None, max_len=2, doc="which threads get badges (default [\"open\"])")
    background: str = rule(default="transparent", pattern=BACKGROUND_PATTERN,
                           doc="transparent | white | #rrggbb (JPEG turns transparent into white)")
    quality: int | None = rule(default=None, minimum=QUALITY_MIN, maximum=QUALITY_MAX,
                               doc=f"JPEG quality (jpg only; default {DEFAULT_JPEG_QUALITY})")


class ExportOptions(TypedDict):
    """The options the export runs with, defaults filled in (``quality``: JPEG only,
    ``pngSpeed``: PNG only)."""

    scale: float
    dpi: float | None
    background: str
    includeComments: bool
    commentStates: list[Literal["open", "resolved"]]
    quality: NotRequired[int]
    pngSpeed: NotRequired[str]


class ExportJob(TypedDict):
    """An export job; times in milliseconds since the epoch. The file is
    ``GET /v1/exports/{jobId}/download`` once ``status`` is ``done``."""

    jobId: str
    roomId: str
    status: Status
    format: Literal["png", "jpg", "svg"]
    seq: int
    tag: str | None
    mime: str
    fileName: str
    size: int | None
    error: str | None
    createdAt: int
    startedAt: int | None
    finishedAt: int | None
    renderMs: float | None
    options: ExportOptions


class ExportQueued(TypedDict):
    jobId: str
    status: Status
    seq: int
    """The document seq the export renders."""


class ExportList(TypedDict):
    exports: list[ExportJob]


class BadgeEntry(TypedDict):
    """What a numbered comment badge of the export stands for."""

    number: int
    threadId: str
    status: Literal["open", "resolved"]
    author: str
    """The user id of the thread's first message."""
    text: str
    """The first message, at most ``BADGE_TEXT_CHARS`` characters (cut with "…")."""
    replies: int


class ExportPlan(TypedDict):
    """What ``exports.create`` with the same parameters would make, without queueing it."""

    seq: int
    width: int
    height: int
    maxPixels: int | None
    """The server's output limit for this format (``export.max_output_pixels``; null for SVG,
    which is not limited)."""
    badges: list[BadgeEntry]
    """The comment badges it would draw, in number order (empty without includeComments)."""


BADGE_TEXT_CHARS = 280
"""How much of a thread's first message ``exports.plan`` lists (a legend, not the thread)."""


@dataclass(frozen=True)
class JobRef:
    jobId: str = rule(pattern=JOB_ID_PATTERN)


def check_combinations(p: CreateExport) -> None:
    """The rules between render parameters (each parameter alone is checked by its
    ``rule``; seq and tag against each other and the room by
    :meth:`annotd.live.access.RoomAccess.resolve_seq`)."""
    if p.scale is not None and p.dpi is not None:
        raise InvalidParams("dpi", "give scale or dpi, not both")
    if p.quality is not None and p.format != "jpg":
        raise InvalidParams("quality", "applies to format jpg only")


def render_options(hub: Hub, p: CreateExport) -> tuple[RenderOptions, dict[str, Any]]:
    """The renderer's options and their JSON echo; cross-field rules name the field."""
    check_combinations(p)
    given: dict[str, Any] = {}  # the rest keep RenderOptions' defaults
    if p.scale is not None:
        given["scale"] = p.scale
    if p.quality is not None:
        given["quality"] = p.quality
    if p.commentStates is not None:
        given["comment_states"] = tuple(dict.fromkeys(p.commentStates))
    opts = RenderOptions(
        format=p.format,
        dpi=p.dpi,
        background=p.background.lower(),
        include_comments=p.includeComments,
        png_speed=hub.config.export.png_speed,
        **given,
    )
    echo: dict[str, Any] = {
        "scale": opts.effective_scale,
        "dpi": opts.dpi,
        "background": opts.background,
        "includeComments": opts.include_comments,
        "commentStates": list(opts.comment_states),
    }
    if opts.format == "jpg":
        echo["quality"] = opts.quality
    if opts.format == "png":
        echo["pngSpeed"] = opts.png_speed
    return opts, echo


def output_pixels(view: CanvasView, opts: RenderOptions) -> dict[str, Any]:
    """The export's pixel size for ``view`` (the renderer's own rule; also run by the state
    worker for a big room)."""
    from ..render.frame import output_size  # layout only (no painting); not loaded by ``annotd export``

    w, h = output_size(view, opts)
    return {"width": w, "height": h}


def export_plan(view: CanvasView, opts: RenderOptions) -> dict[str, Any]:
    """The export's pixel size and its badges' legend for ``view``: the numbering is the
    renderer's (:func:`annotd.render.frame.badge_threads`), so badge N here is badge N in
    the file."""
    from ..render.frame import badge_threads  # no painting; not loaded by ``annotd export``

    badges: list[dict[str, Any]] = []
    for number, t in enumerate(badge_threads(view, opts), start=1):
        first = t.messages[0] if t.messages else None
        body = "" if first is None or first.deleted else first.body
        if len(body) > BADGE_TEXT_CHARS:
            body = body[: BADGE_TEXT_CHARS - 1] + "…"
        badges.append({"number": number, "threadId": t.id, "status": t.status,
                       "author": first.author if first else t.createdBy, "text": body,
                       "replies": max(0, len(t.messages) - 1)})
    return {**output_pixels(view, opts), "badges": badges}


async def check_output_size(hub: Hub, p: CreateExport, opts: RenderOptions) -> None:
    """Refuse a PNG/JPEG larger than ``export.max_output_pixels`` before it takes a queue
    slot (an SVG is vector: not limited). The size is the renderer's own rule
    (:func:`annotd.render.frame.output_size`) on the view at the job's seq: the image's size
    times the scale, or, without an image, the bounds of the content. A big room's view is
    built off the loop (:meth:`annotd.live.access.RoomAccess.read`)."""
    if opts.format == "svg":
        return
    room = hub.room(p.roomId)
    size = await room.read(room.resolve_seq(p.seq, p.tag), output_pixels, opts, fragment=False)
    w, h = size["width"], size["height"]
    limit = hub.config.export.max_output_pixels
    if w * h <= limit:
        return
    field = "dpi" if p.dpi is not None else "scale"
    fit = opts.effective_scale * math.sqrt(limit / (w * h))
    hint = f"dpi at most {math.floor(fit * CSS_DPI * 10) / 10:g}" if field == "dpi" else f"scale at most {math.floor(fit * 1000) / 1000:g}"
    raise InvalidParams(field, f"the export would be {w}x{h} = {w * h:,} pixels, more than "
                               f"export.max_output_pixels ({limit:,}); use {hint}",
                        data={"width": w, "height": h, "maxPixels": limit})


@command("exports.create", method="POST", path="/v1/rooms/{roomId}/exports", status=202, result=ExportQueued)
async def create(hub: Hub, p: CreateExport, caller: Caller) -> dict[str, Any]:
    """Queue an export of the room (head, seq or tag) as PNG, JPEG or SVG; returns the job id."""
    opts, echo = render_options(hub, p)
    await check_output_size(hub, p, opts)
    # Asked on this room's socket: that session alone is told when the job ends.
    session = caller.session if caller.room_id == p.roomId else None
    job = await hub.exports.submit(p.roomId, opts, echo, seq=p.seq, tag=p.tag, session=session)
    return {"jobId": job.id, "status": job.status, "seq": job.seq}


@command("exports.plan", method="POST", path="/v1/rooms/{roomId}/exports/plan", result=ExportPlan)
async def plan(hub: Hub, p: CreateExport, caller: Caller) -> dict[str, Any]:
    """What an export would be (nothing queued): its size in pixels, the limit, its badges.

    Takes exactly ``exports.create``'s parameters; the badges list what each numbered
    comment badge stands for (the legend of the picture)."""
    opts, _ = render_options(hub, p)
    room = hub.room(p.roomId)
    result: dict[str, Any] = await room.read(room.resolve_seq(p.seq, p.tag), export_plan, opts, fragment=False)
    result["maxPixels"] = None if opts.format == "svg" else hub.config.export.max_output_pixels
    return result


@command("exports.get", method="GET", path="/v1/exports/{jobId}", result=ExportJob)
async def get(hub: Hub, p: JobRef, caller: Caller) -> dict[str, Any]:
    """An export job: status (queued, running, done, failed, evicted), size, timings, options."""
    return hub.exports.get(p.jobId).to_json()


@command("exports.list", method="GET", path="/v1/rooms/{roomId}/exports", result=ExportList)
async def list_exports(hub: Hub, p: RoomRef, caller: Caller) -> dict[str, Any]:
    """The room's export jobs still remembered, oldest first."""
    hub.room(p.roomId)
    return {"exports": [j.to_json() for j in hub.exports.room_jobs(p.roomId)]}
