"""What an import adds to a room, decided before anything is written, then written at once.

Why two steps: W3C and COCO files come from other tools, so each item is checked on its own
and an item that annotd cannot represent is *skipped with a reason* instead of failing the
whole file. The parsers (:mod:`annotd.formats.w3c_in`, :mod:`annotd.formats.coco`) produce
an :class:`ImportPlan` of already-validated drafts and a list of what they skipped; this
module checks the room-wide limits and writes the plan as ONE transaction (one sequenced
update, one undo step), so an import either fully lands or leaves the room untouched.

Imported things are always *new*: fresh annotation, thread and group ids (a page exported
from this very room imports as a copy), placed above everything already in the room in the
file's own paint order. Authors and times come from the file where it has them.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import pycrdt

from ..base.errors import InvalidParams, LimitReached
from ..canvas import ops
from ..canvas import schema as S
from ..canvas.fractional import is_valid_key, n_keys_between
from ..canvas.reader import read_fields
from ..canvas.validate import validate_anchor, validate_annotation_create, validate_body, validate_user


@dataclass(slots=True)
class DraftAnnotation:
    """A validated create payload (no ``id``, ``z`` or ``groupIds``: those are assigned)."""

    key: str
    """How the file names it (its id, or its index); threads refer to annotations by key."""
    fields: dict[str, Any]
    created_by: str | None = None
    updated_at: int | None = None
    groups: tuple[str, ...] = ()
    """The file's group names, innermost first; mapped to fresh group ids."""
    order: str | None = None
    """The file's z key, if it has one: keeps the file's paint order."""


@dataclass(slots=True)
class DraftMessage:
    author: str | None
    body: str
    created_at: int | None = None


@dataclass(slots=True)
class DraftThread:
    anchor: dict[str, Any]
    """A validated anchor; for ``kind: annotation`` ``annotationId`` holds a draft's key."""
    messages: list[DraftMessage]
    resolved_by: str | None = None
    resolved_at: int | None = None
    resolved: bool = False


@dataclass(slots=True)
class ImportPlan:
    annotations: list[DraftAnnotation] = field(default_factory=list)
    threads: list[DraftThread] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    """``{"index", "id"?, "reason"}`` per item of the file that was not imported."""
    notes: list[str] = field(default_factory=list)
    """Things imported with a loss (a curve flattened, a mask replaced by its box)."""

    def skip(self, index: int | str, reason: str, ident: Any = None) -> None:
        entry: dict[str, Any] = {"index": index, "reason": reason}
        if isinstance(ident, str | int) and not isinstance(ident, bool):
            entry["id"] = ident if not isinstance(ident, str) else ident[:200]
        self.skipped.append(entry)


def clean_user(value: Any) -> str | None:
    """A user name from a file, made storable (≤ 128 characters, no control characters)."""
    if not isinstance(value, str):
        return None
    text = "".join(ch for ch in value if unicodedata.category(ch) != "Cc").strip()[: S.MAX_USER_LENGTH]
    return text or None


def clean_ms(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return int(value) if 0 <= value <= 2**53 else None


def _top_z(doc: pycrdt.Doc) -> str | None:
    zs = [z for f in read_fields(doc, S.ROOT_ANNOTATIONS, ("z",)).values() if is_valid_key(z := f.get("z"))]
    return max(zs) if zs else None


def apply_plan(doc: pycrdt.Doc, plan: ImportPlan, user_id: str, now_ms: int, *,
               batch_bytes: int | None = None) -> dict[str, Any]:
    """Write ``plan`` into ``doc``; return the ids created.

    Raises ``LimitReached`` when the room would pass its annotation or thread cap, and
    ``InvalidParams`` if a draft is not storable after all (a parser bug); both *before*
    anything is written. One transaction by default; with ``batch_bytes`` (a private
    document in a worker, whose updates are applied to the room one per loop turn) in
    transactions of about that many bytes of update each (see :class:`_Batches`), so that
    no single update costs the room's loop more than a bounded time.
    """
    annotations = doc.get(S.ROOT_ANNOTATIONS, type=pycrdt.Map)
    comments = doc.get(S.ROOT_COMMENTS, type=pycrdt.Map)
    if len(annotations) + len(plan.annotations) > S.MAX_ANNOTATIONS:
        raise LimitReached(f"the import would give the room {len(annotations) + len(plan.annotations)} "
                           f"annotations; a room holds at most {S.MAX_ANNOTATIONS}")
    if len(comments) + len(plan.threads) > S.MAX_THREADS:
        raise LimitReached(f"the import would give the room {len(comments) + len(plan.threads)} "
                           f"threads; a room holds at most {S.MAX_THREADS}")
    drafts = sorted(enumerate(plan.annotations), key=lambda p: (p[1].order or "", p[0]))
    ids: dict[str, str] = {}
    group_ids: dict[str, str] = {}
    # Every payload is built and validated before the first write: pycrdt cannot roll
    # back, so nothing below may raise once writing has begun.
    keys = n_keys_between(_top_z(doc), None, len(drafts))
    writes: list[tuple[dict[str, Any], str, int]] = []
    for (i, draft), z in zip(drafts, keys, strict=True):
        new = ops.new_id()
        ids[draft.key] = new
        groups = [group_ids.setdefault(g, ops.new_id()) for g in draft.groups][: S.MAX_GROUP_DEPTH]
        payload = validate_annotation_create({**draft.fields, "id": new, "z": z, "groupIds": groups},
                                             f"annotations[{i}]")
        writes.append((payload, validate_user(draft.created_by or user_id), draft.updated_at or now_ms))
    threads = []
    for i, thread in enumerate(plan.threads):
        anchor = dict(thread.anchor)
        if anchor["kind"] == "annotation":
            anchor["annotationId"] = ids[anchor["annotationId"]]
        anchor = validate_anchor(anchor, f"threads[{i}].anchor")
        messages = [(validate_body(m.body, f"threads[{i}].body"), validate_user(m.author or user_id),
                     m.created_at or now_ms) for m in thread.messages]
        if not 1 <= len(messages) <= S.MAX_MESSAGES_PER_THREAD:
            raise InvalidParams(f"threads[{i}]", f"must have 1 to {S.MAX_MESSAGES_PER_THREAD} messages")
        resolved = (validate_user(thread.resolved_by or user_id), thread.resolved_at or now_ms) if thread.resolved else None
        threads.append((anchor, messages, resolved))
    batches = _Batches(doc, batch_bytes)
    with batches:
        created: list[str] = []
        for payload, by, at in writes:
            created.append(ops.upsert_annotation(doc, payload, by, at)["id"])
            batches.wrote()
        batches.next_kind()
        made_threads: list[str] = []
        # Threads and messages are shown by (createdAt, id): ids counting up under a random
        # prefix keep the file's order among those of the same millisecond.
        thread_prefix = ops.new_id()
        for n, (anchor, messages, resolved) in enumerate(threads):
            prefix = ops.new_id()
            (body, author, at), *rest = messages
            made = ops.create_thread(doc, anchor, body, author, at, thread_id=f"{thread_prefix}{n:05d}",
                                     message_id=f"{prefix}0000")
            for k, (body, author, at) in enumerate(rest, start=1):
                ops.reply(doc, made["id"], body, author, at, message_id=f"{prefix}{k:04d}")
            if resolved is not None:
                ops.resolve_thread(doc, made["id"], *resolved)
            made_threads.append(made["id"])
            batches.wrote()
    return {"created": created, "threads": made_threads}


def check_importable(plan: ImportPlan, field: str) -> ImportPlan:
    """``plan``, or ``InvalidParams`` (422) naming ``field`` when the file had items and not
    one of them could be imported: "201 Created" with nothing created would read as success.
    ``data.skipped`` lists each item's reason, as a partial import's answer does. An empty
    file is not refused: nothing was discarded."""
    if plan.skipped and not plan.annotations and not plan.threads:
        reasons = "; ".join(f"[{s['index']}] {s['reason']}" for s in plan.skipped[:5])
        more = f" (and {len(plan.skipped) - 5} more)" if len(plan.skipped) > 5 else ""
        raise InvalidParams(field, f"nothing could be imported: {reasons}{more}",
                            data={"skipped": plan.skipped, "notes": plan.notes})
    return plan


class _Batches:
    """The transaction(s) :func:`apply_plan` writes in: one, or (``batch_bytes``) batches of
    items sized to make updates of about ``batch_bytes``. An item's update size is known only
    once its transaction commits, so the count per batch is measured as it goes: the first
    batch of each kind of item is small (``PROBE_ITEMS``), each next one is sized from the
    bytes per item of the one before."""

    PROBE_ITEMS = 8

    def __init__(self, doc: pycrdt.Doc, batch_bytes: int | None) -> None:
        self.doc = doc
        self.limit = batch_bytes
        self.items = 0
        self.target = self.PROBE_ITEMS
        self.last_update = 0
        self.txn: Any = None
        self.sub: Any = None

    def __enter__(self) -> _Batches:
        if self.limit is not None:
            self.sub = self.doc.observe(self._measure)
        self.txn = self.doc.transaction()
        self.txn.__enter__()
        return self

    def _measure(self, event: pycrdt.TransactionEvent) -> None:
        self.last_update = len(event.update)

    def wrote(self) -> None:
        """One item written: commit the batch when it holds its count."""
        if self.limit is None:
            return
        self.items += 1
        if self.items >= self.target:
            self.txn.__exit__(None, None, None)
            per_item = max(1.0, self.last_update / self.items)
            self.target = max(1, int(self.limit / per_item))
            self.items = 0
            self.txn = self.doc.transaction()
            self.txn.__enter__()

    def next_kind(self) -> None:
        """Items of another kind follow (threads after annotations): measure again."""
        self.target = min(self.target, self.PROBE_ITEMS)

    def __exit__(self, *exc: object) -> None:
        self.txn.__exit__(*exc)
        if self.sub is not None:
            self.doc.unobserve(self.sub)


LABEL_HEIGHT = 24.0
LABEL_FONT = 16.0


def _label_place(box: tuple[float, float, float, float], width: float,
                 image: tuple[int, int] | None) -> tuple[float, float, float]:
    """(x, y, width) of a label for ``box``: above it, or below it when there is no room
    above inside the image, or inside its top edge when there is room for neither; never
    sticking out of the image at the sides. Without an image only "above" is known."""
    x, y, w, h = box
    if image is None:
        return x, max(-S.COORD_LIMIT, y - LABEL_HEIGHT), width
    iw, ih = float(image[0]), float(image[1])
    width = min(width, iw)
    if y - LABEL_HEIGHT >= 0:
        top = y - LABEL_HEIGHT
    elif y + h + LABEL_HEIGHT <= ih:
        top = y + h
    else:
        top = min(max(y, 0.0), max(ih - LABEL_HEIGHT, 0.0))
    return min(max(x, 0.0), iw - width), top, width


def label_draft(key: str, text: str, box: tuple[float, float, float, float], group: str, color: str | None = None,
                created_by: str | None = None, image: tuple[int, int] | None = None) -> DraftAnnotation:
    """A text label for a shape (a COCO category, a W3C tag), grouped with it and placed by
    :func:`_label_place` inside ``image`` (the room's base image size), so the label is
    "linked" the way COCO export reads categories back."""
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")[: S.MAX_TEXT_LENGTH]
    x, top, width = _label_place(box, max(box[2], min(LABEL_FONT * 0.6 * len(text) + 8, 2000.0)), image)
    style: dict[str, Any] = {"fontSize": LABEL_FONT}
    if color is not None:
        style["stroke"] = color
    fields = {"type": "text", "x": x, "y": top, "w": width, "h": LABEL_HEIGHT, "text": text, "wrap": False, "style": style}
    return DraftAnnotation(key=key, fields=fields, created_by=created_by, groups=(group,))
