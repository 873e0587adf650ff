"""Annotations as data: room bundles, W3C Web Annotation and COCO, each one command per
direction, on JSON-RPC and REST alike.

Results that are files: a bundle is a :class:`~annotd.commands.base.Download` (REST: the
zip itself; JSON-RPC: base64 with size and sha256), a W3C page or a COCO file is a
:class:`~annotd.commands.base.Document` (REST: the JSON with its media type and a file
name; JSON-RPC: the JSON object). Exports are converted in a thread; imports are built in
the state worker process and applied in bounded batches (:mod:`annotd.roomfiles.imports`), each a
sequenced update, so connected clients see them like any other edit.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict

import orjson

from ..base.identifiers import ID_PATTERN, TAG_PATTERN, file_stem
from ..formats import bundle as bundle_format
from ..formats import coco, w3c
from ..formats.coco import normalize_categories
from ..roomfiles import bundles
from ..roomfiles.imports import run_import
from .base import Caller, Document, Download, command
from .params import JsonText, rule
from .rooms import RoomInfo, RoomRef, room_json
from .versions import VersionInfo, version_json

if TYPE_CHECKING:
    from ..live.hub import Hub

BASE_URL_PATTERN = r"https?://[^\s?#]{1,400}"


@command("rooms.exportBundle", method="GET", path="/v1/rooms/{roomId}/bundle", result=bytes,
         media=bundle_format.MEDIA_TYPE)
async def export_bundle(hub: Hub, p: RoomRef, caller: Caller) -> Download:
    """Download the room as a `.annotd` bundle (head, tags with their states, images, comments)."""
    data, warnings = await bundles.save(hub, p.roomId)
    for w in warnings:
        bundles.log.warning("bundle incomplete", extra={"roomId": p.roomId, "reason": w})
    return Download(data, bundle_format.MEDIA_TYPE, f"{p.roomId}{bundle_format.SUFFIX}")


@dataclass(frozen=True)
class ImportBundle:
    bundle: bytes = rule(doc="the .annotd file: REST the raw request body, JSON-RPC base64")
    roomId: str | None = rule(default=None, pattern=ID_PATTERN, doc="the new room's id (default: the bundle's)")


class LoadedVersion(VersionInfo):
    savedSeq: int
    """The tag's seq in the bundle (``seq`` is its seq in the new room)."""


class BundleLoaded(TypedDict):
    room: RoomInfo
    versions: list[LoadedVersion]
    savedHeadSeq: int
    warnings: list[str]


@command("rooms.importBundle", method="POST", path="/v1/bundles", status=201,
         also=(("POST", "/v1/rooms/{roomId}/bundle", "intoRoom"),), raw_body="bundle", raw_limit="max_bundle_bytes",
         result=BundleLoaded)
async def import_bundle(hub: Hub, p: ImportBundle, caller: Caller) -> dict[str, Any]:
    """Create a room from a `.annotd` bundle; tags are renumbered (`versions[].savedSeq` → `seq`)."""
    room, prepared = await bundles.load(hub, p.bundle, p.roomId, caller.user_id)
    saved = {v.tag: v.seq for v in prepared.bundle.versions}
    return {
        "room": room_json(room),
        "versions": [{**version_json(v), "savedSeq": saved[v.tag]} for v in room.versions()],
        "savedHeadSeq": prepared.bundle.head_seq,
        "warnings": list(prepared.warnings),
    }


# -- W3C Web Annotation --------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportW3c:
    roomId: str = rule(pattern=ID_PATTERN)
    seq: int | None = rule(default=None, minimum=0, doc="a retained seq (default: head)")
    tag: str | None = rule(default=None, pattern=TAG_PATTERN, doc="a version tag instead of seq")
    baseUrl: str | None = rule(default=None, pattern=BASE_URL_PATTERN,
                               doc="the side port's URL, to make ids and the image source links")


W3cPage = TypedDict("W3cPage", {
    "@context": Any,
    "id": str,
    "type": Literal["AnnotationPage"],
    "startIndex": int,
    "items": list[dict[str, Any]],
    "annotd:room": str,
    "annotd:seq": int,
    "annotd:tag": NotRequired[str],
    "annotd:image": NotRequired[dict[str, Any]],
    "annotd:generated": NotRequired[str],
})
"""A W3C Web Annotation ``AnnotationPage`` (protocol.md, "W3C Web Annotation")."""


@command("annotations.exportW3c", method="GET", path="/v1/rooms/{roomId}/formats/w3c", result=W3cPage,
         media=w3c.MEDIA_TYPE)
async def export_w3c(hub: Hub, p: ExportW3c, caller: Caller) -> Document:
    """Every annotation and comment thread of a version as a W3C Web Annotation `AnnotationPage`."""
    room = hub.room(p.roomId)
    seq = room.resolve_seq(p.seq, p.tag)
    view = await room.view_at(seq)
    page = await asyncio.to_thread(w3c.to_page, view, room_id=p.roomId, seq=seq, tag=p.tag,
                                   base_url=p.baseUrl, generated_ms=hub.now_ms())
    return Document(page, w3c.MEDIA_TYPE, _filename(hub, p.roomId, p.tag, "w3c.jsonld"))


@dataclass(frozen=True)
class ImportW3c:
    roomId: str = rule(pattern=ID_PATTERN)
    page: Any = rule(doc="an AnnotationPage, AnnotationCollection, Annotation or array of annotations")


class Skipped(TypedDict):
    """An item of the file that was not imported: its place in the file, its id there, why."""

    index: int | str
    reason: str
    id: NotRequired[int | str]


class Imported(TypedDict):
    """The ids of the annotations and threads created, what was skipped, what was imported
    with a loss (``notes``)."""

    created: list[str]
    threads: list[str]
    skipped: list[Skipped]
    notes: list[str]
    seq: int


@command("annotations.importW3c", method="POST", path="/v1/rooms/{roomId}/formats/w3c", status=201,
         body_param="page", body_unparsed=True, result=Imported)
async def import_w3c(hub: Hub, p: ImportW3c, caller: Caller) -> dict[str, Any]:
    """Add the annotations of a W3C Web Annotation page as new ones; reports what was skipped."""
    return await run_import(hub, p.roomId, caller.user_id, "w3c", _json(p.page))


# -- COCO ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportCoco:
    roomId: str = rule(pattern=ID_PATTERN)
    seq: int | None = rule(default=None, minimum=0, doc="a retained seq (default: head)")
    tag: str | None = rule(default=None, pattern=TAG_PATTERN, doc="a version tag instead of seq")
    categories: dict[str, Any] | None = rule(default=None, doc="stroke colour → category name, e.g. "
                                                              '{"#e03131": "crack"} (REST: as JSON)')


class CocoCategory(TypedDict):
    id: int
    name: str
    supercategory: str


class CocoProvenance(TypedDict):
    """Where the file came from, and the annotations COCO cannot hold (text, lines)."""

    room: str
    seq: int
    tag: str | None
    skipped: list[dict[str, Any]]


class CocoFile(TypedDict):
    """COCO instances JSON (protocol.md, "COCO")."""

    info: dict[str, Any]
    licenses: list[dict[str, Any]]
    images: list[dict[str, Any]]
    categories: list[CocoCategory]
    annotations: list[dict[str, Any]]
    annotd: CocoProvenance


@command("annotations.exportCoco", method="GET", path="/v1/rooms/{roomId}/formats/coco", result=CocoFile)
async def export_coco(hub: Hub, p: ExportCoco, caller: Caller) -> Document:
    """Boxes, polygons and strokes of a version as COCO instances JSON (categories: see protocol.md)."""
    mapping = normalize_categories(p.categories)
    room = hub.room(p.roomId)
    seq = room.resolve_seq(p.seq, p.tag)
    view = await room.view_at(seq)
    data = await asyncio.to_thread(coco.to_coco, view, room_id=p.roomId, seq=seq, tag=p.tag,
                                   categories=mapping, generated_ms=hub.now_ms())
    return Document(data, "application/json", _filename(hub, p.roomId, p.tag, "coco.json"))


@dataclass(frozen=True)
class ImportCoco:
    roomId: str = rule(pattern=ID_PATTERN)
    coco: dict[str, Any] = rule(doc="a COCO instances object {images, annotations, categories}")
    imageId: int | None = rule(default=None, doc="which image of the file (needed when it has several)")
    labels: bool = rule(default=True, doc="add each object's category as a text label grouped with it")


@command("annotations.importCoco", method="POST", path="/v1/rooms/{roomId}/formats/coco", status=201,
         body_param="coco", body_unparsed=True, result=Imported)
async def import_coco(hub: Hub, p: ImportCoco, caller: Caller) -> dict[str, Any]:
    """Add the boxes and polygons of one image of a COCO file as new annotations; reports what was skipped."""
    return await run_import(hub, p.roomId, caller.user_id, "coco", _json(p.coco), image_id=p.imageId,
                            labels=p.labels)


# -- shared ----------------------------------------------------------------------------------------


def _filename(hub: Hub, room_id: str, tag: str | None, suffix: str) -> str:
    return f"{file_stem(room_id, tag, hub.clock())}.{suffix}"


def _json(value: Any) -> bytes:
    """An imported file as JSON text: a REST body as it came, a JSON-RPC value encoded (a C
    encoder, far cheaper than the parse the worker does)."""
    return value.json() if isinstance(value, JsonText) else orjson.dumps(value)
