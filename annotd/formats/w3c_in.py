"""W3C Web Annotation import: a page (from annotd, Annotorious, Recogito or any tool that
writes the data model) into an :class:`~annotd.formats.plan.ImportPlan`.

Accepted documents: an ``AnnotationPage`` (``items``), an ``AnnotationCollection`` with its
first page embedded, a single ``Annotation``, or a JSON array of annotations (what
Annotorious' ``getAnnotations()`` returns). Anything else is refused naming ``page``.

The target is ``{source, selector}`` or an IRI with a media fragment
(``"photo.jpg#xywh=1,2,3,4"``, also ``pixel:``/``percent:``), read as that box. Per
annotation, the shape comes from the selector (an ``SvgSelector``: rect, ellipse, circle,
polygon, polyline, line, path; else a ``FragmentSelector`` ``xywh=``) and the
``annotd:annotation`` extension of an annotd export: the extension is used whole (lossless)
only when it agrees with the selector, because tools that edit a shape carry the extension
along untouched and their edit must win (:mod:`annotd.formats.agree`; noted). Point and
region comments follow the same rule for ``annotd:anchor``.
Bodies: ``TextualBody`` with purpose ``commenting``/``replying`` (or none) become one comment
thread anchored to the shape (grouped by ``annotd:thread`` when present); ``describing``
gives a text annotation its text (on another shape it is a comment); ``tagging`` and
``classifying`` values become one text label grouped with the shape. Whatever cannot be
represented (no image selector, a whole-image target, another image, a link body) is
skipped with a reason and reported; nothing is guessed. A page with items of which none
could be imported is refused as a whole (:func:`~annotd.formats.plan.check_importable`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..base.errors import InvalidParams
from ..base.identifiers import is_id
from ..canvas import schema as S
from ..canvas.validate import validate_anchor, validate_annotation_create, validate_body
from .agree import TOLERANCE_PX, agrees, merge, moved, shift
from .plan import DraftAnnotation, DraftMessage, DraftThread, ImportPlan, check_importable, clean_ms, clean_user, label_draft
from .shapes import ParsedShape, ShapeError, parse_svg, parse_xywh
from .w3c import ANCHOR, EXTENSION, THREAD

TAG_PURPOSES = ("tagging", "classifying", "identifying")
SERVER_KEYS = ("id", "createdBy", "updatedBy", "updatedAt", "z", "groupIds", "issues")


def _types(value: Any) -> set[str]:
    values = value if isinstance(value, list) else [value]
    return {v.removeprefix("oa:") for v in values if isinstance(v, str)}


def page_items(page: Any) -> list[Any]:
    """The annotations of a document, or ``InvalidParams`` saying why it is not one."""
    if isinstance(page, list):
        return page
    if not isinstance(page, dict):
        raise InvalidParams("page", "must be a W3C Web Annotation page, collection, annotation or array of annotations")
    types = _types(page.get("type"))
    if "AnnotationPage" in types:
        items = page.get("items")
        if not isinstance(items, list):
            raise InvalidParams("page.items", "must be an array of annotations")
        return items
    if "AnnotationCollection" in types:
        first = page.get("first")
        if isinstance(first, dict) and isinstance(first.get("items"), list):
            return list(first["items"])
        raise InvalidParams("page.first", "must be an embedded AnnotationPage (fetch linked pages and import each)")
    if "Annotation" in types:
        return [page]
    raise InvalidParams("page.type", "must be AnnotationPage, AnnotationCollection or Annotation "
                                     "(this is not a W3C Web Annotation document)")


def _ms(value: Any) -> int | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return clean_ms(parsed.timestamp() * 1000)


def _agent(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        for key in ("name", "nickname", "label", "id"):
            if isinstance(value.get(key), str):
                return clean_user(value[key])
        return None
    return clean_user(value)


def _source(target: dict[str, Any]) -> str | None:
    src = target.get("source")
    if isinstance(src, dict):
        src = src.get("id")
    return src if isinstance(src, str) else None


def _fragment_target(ref: Any) -> dict[str, Any] | None:
    """``"img.jpg#xywh=…"`` (a string target, or a target whose ``id`` is such an IRI) as the
    specific resource it names: the source and a ``FragmentSelector``."""
    if not isinstance(ref, str):
        return None
    source, sep, fragment = ref.partition("#")
    if not sep or not fragment.startswith("xywh="):
        return None
    return {"source": source, "selector": {"type": "FragmentSelector", "value": fragment}}


def _target(item: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    target = item.get("target")
    if isinstance(target, list):
        target = next((t for t in target if (isinstance(t, dict) and "selector" in t) or _fragment_target(t)),
                      target[0] if target else None)
    if isinstance(target, dict) and "selector" not in target:
        target = target.get("id", target)
    if isinstance(target, str):
        named = _fragment_target(target)
        return (named, "") if named else (None, "targets the whole image (no selector, no #xywh= fragment): nothing to draw")
    if isinstance(target, dict) and "selector" in target:
        return target, ""
    if isinstance(target, dict):
        return None, "targets the whole image (no selector): nothing to draw"
    return None, "has no target"


def _shape(target: dict[str, Any], image: tuple[int, int] | None) -> tuple[ParsedShape | None, str]:
    selectors = target.get("selector")
    selectors = selectors if isinstance(selectors, list) else [selectors]
    reasons: list[str] = []
    ordered = sorted((s for s in selectors if isinstance(s, dict)), key=lambda s: s.get("type") != "SvgSelector")
    for sel in ordered:
        kind, value = sel.get("type"), sel.get("value")
        try:
            if kind == "SvgSelector" and isinstance(value, str):
                return parse_svg(value), ""
            if kind == "FragmentSelector" and isinstance(value, str):
                return parse_xywh(value, image), ""
        except ShapeError as exc:
            reasons.append(f"{kind}: {exc}")
            continue
        reasons.append(f"{kind if isinstance(kind, str) else 'a selector'} does not select a region of an image")
    return None, "; ".join(reasons) or "has no selector"


def _bodies(item: dict[str, Any]) -> list[dict[str, Any]]:
    body = item.get("body")
    bodies = body if isinstance(body, list) else [body] if body is not None else []
    if isinstance(item.get("bodyValue"), str):
        bodies.append({"type": "TextualBody", "value": item["bodyValue"]})
    return bodies


class _Reader:
    def __init__(self, image: tuple[int, int] | None) -> None:
        self.image = image
        self.plan = ImportPlan()
        self.source: str | None = None

    def item(self, i: int, item: Any) -> None:
        where = f"page.items[{i}]"
        if not isinstance(item, dict):
            self.plan.skip(i, "is not an object")
            return
        ident = item.get("id")
        if "Annotation" not in _types(item.get("type")):
            self.plan.skip(i, "type is not Annotation", ident)
            return
        target, why = _target(item)
        if target is None:
            self.plan.skip(i, why, ident)
            return
        source = _source(target)
        if self.source is None:
            self.source = source
        elif source is not None and source != self.source:
            self.plan.skip(i, f"targets another image ({source[:120]})", ident)
            return
        creator, when = _agent(item.get("creator")), _ms(item.get("modified")) or _ms(item.get("created"))
        if isinstance(item.get(ANCHOR), dict):
            self._loose_thread(i, item, target, ident)
            return
        fields, order, groups, notes = self._fields(i, item, target)
        if fields is None:
            return
        if order is None and fields["type"] == "rect" and "describing" in _types(item.get("motivation")):
            fields["type"] = "text"  # a text box exported without the annotd: extension
        text, tags, threads = self._read_bodies(i, item, fields)
        if fields["type"] == "text" and "text" not in fields and text:
            fields["text"] = text[0]
        try:
            fields = validate_annotation_create(fields, where)
        except InvalidParams as exc:
            self.plan.skip(i, exc.message, ident)
            return
        key = str(i)
        if tags:
            group = f"label:{i}"
            if len(groups) >= S.MAX_GROUP_DEPTH:
                notes.append(f"its outermost group was dropped to group it with its tags (at most {S.MAX_GROUP_DEPTH})")
            groups = (group, *groups)[: S.MAX_GROUP_DEPTH]
            box = (fields.get("x", 0.0), fields.get("y", 0.0), fields.get("w", 0.0), fields.get("h", 0.0))
            self.plan.annotations.append(label_draft(f"{i}:label", ", ".join(tags), box, group, created_by=creator,
                                                        image=self.image))
        self.plan.annotations.append(DraftAnnotation(key, fields, creator, when, groups, order))
        for thread in threads:
            thread.anchor["annotationId"] = key
            self.plan.threads.append(thread)
        self.plan.notes.extend(f"{where}: {n}" for n in notes)

    def _fields(self, i: int, item: dict[str, Any], target: dict[str, Any]
                ) -> tuple[dict[str, Any] | None, str | None, tuple[str, ...], list[str]]:
        """Create fields, z key, group names and notes: the ``annotd:annotation`` block when
        it agrees with the selector (:mod:`~annotd.formats.agree`), else the selector's
        geometry with the block's other fields."""
        block, order, groups, notes = self._block(i, item)
        shape, why = _shape(target, self.image)
        if shape is None:
            if block is not None:
                return block, order, groups, [*notes, f"the selector was not readable ({why}); {EXTENSION} was used"]
            self.plan.skip(i, why, item.get("id"))
            return None, None, (), notes
        if block is None:
            return dict(shape.fields), None, (), [*notes, *shape.notes]
        if agrees(block, shape.fields):
            return block, order, groups, notes
        by = shift(block, shape.fields)
        try:
            merged = validate_annotation_create(merge(block, shape.fields) if by is None else moved(block, by),
                                                f"page.items[{i}]")
        except InvalidParams as exc:
            self.plan.skip(i, exc.message, item.get("id"))
            return None, None, (), notes
        if by is not None:
            notes.append(f"the selector and {EXTENSION} disagree (the shape was moved in another tool): it was "
                         f"moved by {by[0]:.4g}, {by[1]:.4g} as the selector says, the rest kept from {EXTENSION}")
            return merged, order, groups, notes
        notes.append(f"the selector and {EXTENSION} disagree (the shape was edited in another tool): its geometry "
                     f"was taken from the selector (type {merged['type']}), style, z-order, groups and lock from {EXTENSION}")
        return merged, order, groups, [*notes, *shape.notes]

    @staticmethod
    def _block(i: int, item: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None, tuple[str, ...], list[str]]:
        ext = item.get(EXTENSION)
        if not isinstance(ext, dict):
            return None, None, (), []
        fields = {k: v for k, v in ext.items() if k not in SERVER_KEYS}
        try:
            fields = validate_annotation_create(fields, f"page.items[{i}].{EXTENSION}")
        except InvalidParams as exc:
            return None, None, (), [f"{EXTENSION} ignored ({exc.message}); the selector was used"]
        z = ext.get("z")
        groups = ext.get("groupIds")
        ok_groups = isinstance(groups, list) and all(is_id(g) for g in groups)
        return fields, z if isinstance(z, str) else None, tuple(groups) if ok_groups else (), []  # type: ignore[arg-type]

    def _read_bodies(self, i: int, item: dict[str, Any], fields: dict[str, Any]
                     ) -> tuple[list[str], list[str], list[DraftThread]]:
        texts: list[str] = []
        tags: list[str] = []
        threads: dict[str, DraftThread] = {}
        for j, body in enumerate(_bodies(item)):
            if not isinstance(body, dict) or not isinstance(body.get("value"), str):
                self.plan.notes.append(f"page.items[{i}].body[{j}]: not a TextualBody, not imported")
                continue
            purpose = body.get("purpose") or item.get("motivation")
            purpose = purpose[0] if isinstance(purpose, list) and purpose else purpose
            value: str = body["value"]
            if purpose in TAG_PURPOSES:
                if value.strip():
                    tags.append(value.strip())
            elif purpose == "describing" and fields.get("type") == "text" and not texts:
                texts.append(value)
            else:
                self._message(i, j, body, threads)
        return texts, tags, list(threads.values())

    def _message(self, i: int, j: int, body: dict[str, Any], threads: dict[str, DraftThread]) -> None:
        raw_ext = body.get(THREAD)
        ext: dict[str, Any] = raw_ext if isinstance(raw_ext, dict) else {}
        raw_tid = ext.get("id")
        tid: str = raw_tid if isinstance(raw_tid, str) else ""
        try:
            text = validate_body(body["value"], f"page.items[{i}].body[{j}].value")
        except InvalidParams as exc:
            self.plan.notes.append(f"{exc.message}; message not imported")
            return
        thread = threads.get(tid)
        if thread is None:
            anchor = {"kind": "annotation", "annotationId": "", "offsetX": 0.5, "offsetY": 0.5}
            for k in ("offsetX", "offsetY"):
                v = ext.get(k)
                if isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1:
                    anchor[k] = float(v)
            thread = threads[tid] = DraftThread(anchor, [])
            self._status(thread, ext)
        if len(thread.messages) >= S.MAX_MESSAGES_PER_THREAD:
            self.plan.notes.append(f"page.items[{i}]: more than {S.MAX_MESSAGES_PER_THREAD} messages, the rest dropped")
            return
        thread.messages.append(DraftMessage(_agent(body.get("creator")), text, _ms(body.get("created"))))

    @staticmethod
    def _status(thread: DraftThread, ext: dict[str, Any]) -> None:
        if ext.get("status") == "resolved":
            thread.resolved = True
            thread.resolved_by = clean_user(ext.get("resolvedBy"))
            thread.resolved_at = clean_ms(ext.get("resolvedAt"))

    def _moved_anchor(self, i: int, anchor: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
        """The pin where the selector puts it when another tool moved it (the same rule as
        for shapes: the block wins only when it agrees within a pixel)."""
        shape, _ = _shape(target, self.image)
        if shape is None:
            return anchor
        f = shape.fields
        x, y, w, h = (float(f.get(k, 0.0)) for k in ("x", "y", "w", "h"))  # type: ignore[arg-type]
        if anchor["kind"] == "point":
            there = {"kind": "point", "x": x + w / 2, "y": y + h / 2}
        else:
            there = {"kind": "region", "x": x, "y": y, "w": w, "h": h}
        if all(abs(there[k] - anchor[k]) <= TOLERANCE_PX for k in there if k != "kind"):
            return anchor
        self.plan.notes.append(f"page.items[{i}]: the selector and {ANCHOR} disagree (moved in another tool): "
                               f"the comment was placed where the selector puts it")
        return there

    def _loose_thread(self, i: int, item: dict[str, Any], target: dict[str, Any], ident: Any) -> None:
        raw = dict(item[ANCHOR])
        raw.pop("detachedFrom", None)
        try:
            anchor = validate_anchor(raw, f"page.items[{i}].{ANCHOR}")
        except InvalidParams as exc:
            self.plan.skip(i, exc.message, ident)
            return
        if anchor["kind"] == "annotation":
            self.plan.skip(i, "a comment anchored to an annotation outside this page", ident)
            return
        anchor = self._moved_anchor(i, anchor, target)
        threads: dict[str, DraftThread] = {}
        for j, body in enumerate(_bodies(item)):
            if isinstance(body, dict) and isinstance(body.get("value"), str):
                self._message(i, j, body, threads)
        for thread in threads.values():
            thread.anchor = anchor
            self.plan.threads.append(thread)
        if not threads:
            self.plan.skip(i, "a comment without any message", ident)


def parse_page(page: Any, image: tuple[int, int] | None) -> ImportPlan:
    """Read a W3C document into an import plan; ``image`` is the room's base image size
    (needed for ``xywh=percent:`` and to keep labels inside it). Raises ``InvalidParams``
    when the document as a whole is not W3C Web Annotation, or when it has items and none
    could be imported (each item's reason in ``data.skipped``); otherwise single items are
    skipped with a reason."""
    items = page_items(page)
    if len(items) > S.MAX_ANNOTATIONS:
        raise InvalidParams("page.items", f"holds {len(items)} annotations; at most {S.MAX_ANNOTATIONS} can be imported")
    reader = _Reader(image)
    for i, item in enumerate(items):
        reader.item(i, item)
    return check_importable(reader.plan, "page.items")
