"""W3C and COCO imports built off the event loop, then applied a bounded batch per loop turn.

Why: parsing a file of 10,000 annotations, validating every item and writing it into a Yjs
document is seconds of pure Python and Rust; on the loop that froze every room (``/healthz``
and other rooms' relay waited as long). A thread does not help: the parsers hold the GIL
and pycrdt keeps it for a whole Rust call (see :mod:`annotd.services.states`). So the loop only
describes what to build (:class:`ImportJob`: the file as JSON bytes, the room's head as
:class:`~annotd.base.docstate.StateParts`, nothing encoded) and the state worker process builds
it: the document at head, the plan (:mod:`annotd.formats.plan`), the writes, and from them
the Yjs updates, each at most about ``limits.import_batch_bytes`` of written payload. The
loop then applies those updates to the live room one per loop turn (:func:`run_import`),
so the longest the loop is held is one batch's apply, whatever the file's size.

What stays on the loop and grows with the input: copying each update out of the worker's
answer, and for a file sent over JSON-RPC its JSON text (``orjson``, a C encoder, far cheaper
than parsing). A REST body is never parsed on the loop: its text goes to the worker as it
came, which parses it (a body that is not JSON comes back as ``bad_request``). A file
that is refused as a whole (not W3C, over the annotation cap, past the document size) is
refused by the worker before anything is applied; the room is untouched.

Concurrent edits between the snapshot of head and the apply are fine: an import only
creates objects with fresh ids, which merge with anything else.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from ..base import docstate, spill
from ..base.docstate import StateParts
from ..base.errors import AnnotdError, BadRequest, DocumentTooLarge, InvalidParams, LimitReached

if TYPE_CHECKING:
    from ..live.access import Applied
    from ..live.hub import Hub

EMPTY_UPDATE = b"\x00\x00"


@dataclass(frozen=True, slots=True)
class ImportJob:
    """What the worker needs to build an import; nothing in it was encoded on the loop
    except ``source`` (the file as JSON)."""

    kind: str
    """``"w3c"`` or ``"coco"``."""
    source: bytes
    state: StateParts
    user_id: str
    now_ms: int
    batch_bytes: int
    image: tuple[int, int] | None = None
    """The room's base image size (W3C ``xywh=percent:``, COCO placement)."""
    image_id: int | None = None
    labels: bool = True


@dataclass(slots=True)
class BuiltImport:
    """The worker's answer: the updates as one byte string and their lengths (one string so
    it crosses back through one file, not one pickled copy per update)."""

    blob: bytes
    sizes: list[int]
    result: dict[str, Any]
    skipped: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def updates(self) -> list[bytes]:
        out, at = [], 0
        view = memoryview(self.blob)
        for n in self.sizes:
            out.append(bytes(view[at:at + n]))
            at += n
        return out


@dataclass(frozen=True, slots=True)
class Refused:
    """A file refused as a whole, as plain data (annotd's errors take keyword arguments,
    which their pickles do not keep: an error raised in the worker would break the pool)."""

    kind: str
    """``"invalid"`` (:class:`InvalidParams`), ``"limit"`` (:class:`LimitReached`) or
    ``"json"`` (:class:`BadRequest`: the text is not JSON)."""
    message: str
    data: dict[str, Any] | None

    @classmethod
    def of(cls, exc: InvalidParams | LimitReached) -> Refused:
        if isinstance(exc, InvalidParams):
            data = dict(exc.data or {})
            field_name = data.pop("field")
            return cls("invalid", exc.message.removeprefix(f"{field_name}: "), {"field": field_name, **data})
        return cls("limit", exc.message, exc.data)

    def error(self) -> AnnotdError:
        if self.kind == "json":
            return BadRequest(self.message)
        if self.kind == "invalid":
            data = dict(self.data or {})
            return InvalidParams(data.pop("field"), self.message, data or None)
        return LimitReached(self.message, data=self.data)


spill.register(ImportJob, lambda j: (j.kind, spill.spilled(j.source), j.state, j.user_id, j.now_ms, j.batch_bytes,
                                     j.image, j.image_id, j.labels))
spill.register(BuiltImport, lambda b: (spill.spilled(b.blob), b.sizes, b.result, b.skipped, b.notes))


def build_import(job: ImportJob) -> BuiltImport | Refused:
    """In the worker: parse, validate and write the file into the document at head; return
    the updates that writing made (``InvalidParams`` / ``LimitReached`` for a file refused
    as a whole, before anything is written)."""
    import logging

    from ..formats import coco
    from ..formats.plan import apply_plan
    from ..formats.w3c_in import parse_page

    logging.getLogger("annotd.canvas").disabled = True  # the daemon logs a room's repairs, not the worker
    try:
        data = orjson.loads(job.source)
    except orjson.JSONDecodeError as exc:
        return Refused("json", f"request body is not valid JSON: {exc}", None)
    doc = docstate.build_doc(job.state)
    updates: list[bytes] = []
    sub = doc.observe(lambda event: updates.append(event.update))
    try:
        if job.kind == "w3c":
            plan = parse_page(data, job.image)
        else:
            plan = coco.parse_coco(data, image=job.image, image_id=job.image_id, labels=job.labels)
        result = apply_plan(doc, plan, job.user_id, job.now_ms, batch_bytes=job.batch_bytes)
    except (InvalidParams, LimitReached) as exc:
        return Refused.of(exc)
    finally:
        doc.unobserve(sub)
    updates = [u for u in updates if u != EMPTY_UPDATE]
    return BuiltImport(b"".join(updates), [len(u) for u in updates], result, plan.skipped, plan.notes)


async def run_import(hub: Hub, room_id: str, user_id: str, kind: str, source: bytes, *,
                     image_id: int | None = None, labels: bool = True) -> dict[str, Any]:
    """Build the import of ``source`` (the file's JSON text) in the state worker and apply it
    to the room; answer the ids created, what was skipped, and the seq after the last batch."""
    access = hub.room(room_id)
    view = access.head_view()
    image = (view.image.width, view.image.height) if view.image is not None else None
    job = ImportJob(kind, source, await hub.state_parts(room_id, access.head), user_id, hub.now_ms(),
                    hub.config.limits.import_batch_bytes, image, image_id, labels)
    built: BuiltImport | Refused = await hub.states.run(build_import, job)
    if isinstance(built, Refused):
        raise built.error()
    updates = built.updates()
    total = sum(built.sizes)
    hub.live(room_id).room.check_fits(total)  # RoomNotFound if it was deleted meanwhile: nothing applied
    seq = access.head
    for n, update in enumerate(updates):
        if n:
            await asyncio.sleep(0)  # one batch per loop turn: others' frames and requests go between
        try:
            applied: Applied[None] = await hub.room(room_id).apply(user_id, update)
        except DocumentTooLarge:
            if n == 0:
                raise
            raise DocumentTooLarge(f"the room grew while the import was applied; {n} of {len(updates)} "
                                   "batches were imported before it reached limits.max_document_bytes") from None
        seq = applied.seq
    return {**built.result, "skipped": built.skipped, "notes": built.notes, "seq": seq}
