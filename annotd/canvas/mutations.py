"""Every logical change to the canvas, each applied to a ``pycrdt.Doc`` in ONE transaction.

Why one transaction per call: the server turns each API call into exactly one Yjs update
(one entry in the room log, one broadcast, one undo step). Callers that need an origin
on that update (to tell server edits from client edits, or for per-user undo) wrap the
call in ``with doc.transaction(origin=...)``: pycrdt reuses the outer transaction.

Rules every function follows:

* input is validated first (:mod:`annotd.canvas.validate`), so an error leaves the
  document untouched and produces no update;
* the caller passes ``user_id`` and ``now_ms`` (no clocks, no I/O here); ids of new
  objects are random (``secrets``) unless given;
* only the fields a call is about are written, each on its own key of a nested map, so a
  concurrent edit of another field (or another style property) by someone else survives;
* a call that would change nothing writes nothing (no empty update);
* return values are the API's JSON (see :mod:`annotd.canvas.view`), read back from the
  document after the write, so they show exactly what every replica will show.

Errors (all from :mod:`annotd.errors`): ``InvalidParams`` (bad input, naming the field),
``NotFound`` (unknown annotation/thread/message/group), ``Conflict`` (a locked
annotation, an id already taken, a deleted message), ``Forbidden`` (someone else's
message), ``LimitReached`` (too many annotations/threads/messages).
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pycrdt

from annotd.canvas import schema as S
from annotd.canvas.fractional import FIRST_KEY, is_valid_key, key_between
from annotd.canvas.model import Annotation, CanvasView, Thread
from annotd.canvas.reader import ABSENT, YMapData, read_entry, read_fields, read_root
from annotd.canvas.validate import (
    validate_anchor,
    validate_annotation_create,
    validate_annotation_patch,
    validate_body,
    validate_direction,
    validate_id,
    validate_ids,
    validate_image_ref,
    validate_user,
)
from annotd.canvas.view import (
    anchor_to_json,
    annotation_box_point,
    annotation_to_fields,
    annotation_to_json,
    build_view,
    message_to_json,
    read_annotation,
    read_thread,
    sanitize_annotation,
    thread_to_json,
)
from annotd.errors import Conflict, Forbidden, InvalidParams, LimitReached, NotFound

__all__ = [
    "create_thread",
    "delete_annotation",
    "delete_annotations",
    "delete_message",
    "detach_orphaned_threads",
    "edit_message",
    "ensure_schema",
    "group",
    "move_thread",
    "new_id",
    "reopen_thread",
    "reorder",
    "reply",
    "resolve_thread",
    "revert_to",
    "set_image",
    "ungroup",
    "upsert_annotation",
]


def new_id() -> str:
    """A fresh random id (16 characters of ``[A-Za-z0-9_-]``)."""
    return secrets.token_urlsafe(12)


def _root(doc: pycrdt.Doc, name: str) -> pycrdt.Map:
    return doc.get(name, type=pycrdt.Map)


def _check_now(now_ms: Any) -> int:
    if isinstance(now_ms, bool) or not isinstance(now_ms, int) or not 0 <= now_ms <= 2**53:
        raise InvalidParams("now", "must be a non-negative integer of milliseconds")
    return now_ms


def _same(a: Any, b: Any) -> bool:
    """Equality that does not take ``True`` for ``1.0`` (Yjs keeps both apart)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def ensure_schema(doc: pycrdt.Doc) -> bool:
    """Write ``meta.schemaVersion`` in a fresh room; True if it wrote (call on room
    creation; a no-op on an initialised room)."""
    meta = _root(doc, S.ROOT_META)
    with doc.transaction():
        if "schemaVersion" in meta:
            return False
        meta["schemaVersion"] = S.SCHEMA_VERSION
        return True


def set_image(doc: pycrdt.Doc, ref: Any) -> dict[str, Any]:
    """Replace ``meta.image`` atomically with ``{sha256, width, height, mime}`` (validated
    as field ``image``); returns the stored object."""
    image = validate_image_ref(ref)
    meta = _root(doc, S.ROOT_META)
    with doc.transaction():
        if "schemaVersion" not in meta:
            meta["schemaVersion"] = S.SCHEMA_VERSION
        current = meta.get("image")
        if not (isinstance(current, dict) and all(_same(current.get(k), v) for k, v in image.items())):
            meta["image"] = image
    return image


# -- annotations --------------------------------------------------------------------------


def _bbox_size(points: list[float]) -> tuple[float, float]:
    if not points:
        return 0.0, 0.0
    xs, ys = points[0::2], points[1::2]
    return max(xs) - min(xs), max(ys) - min(ys)


def _top_z(doc: pycrdt.Doc) -> str | None:
    zs = [z for f in read_fields(doc, S.ROOT_ANNOTATIONS, ("z",)).values() if is_valid_key(z := f.get("z"))]
    return max(zs) if zs else None


def _new_annotation(doc: pycrdt.Doc, fields: dict[str, Any], user_id: str, now_ms: int) -> str:
    annotations = _root(doc, S.ROOT_ANNOTATIONS)
    if len(annotations) >= S.MAX_ANNOTATIONS:
        raise LimitReached(f"a room holds at most {S.MAX_ANNOTATIONS} annotations")
    type_ = fields["type"]
    ann_id = fields.get("id") or new_id()
    stored: dict[str, Any] = {
        "id": ann_id,
        "type": type_,
        "x": 0.0,
        "y": 0.0,
        "w": 0.0,
        "h": 0.0,
        "rotation": 0.0,
        "groupIds": [],
        "locked": False,
        **S.TYPE_DEFAULTS[type_],
    }
    stored.update({k: v for k, v in fields.items() if k != "style"})
    if type_ in S.POINT_TYPES:
        w, h = _bbox_size(stored["points"])
        if "w" not in fields:
            stored["w"] = w
        if "h" not in fields:
            stored["h"] = h
    if stored.get("pressures", ABSENT) is None:
        del stored["pressures"]
    if "z" not in fields:
        stored["z"] = key_between(_top_z(doc), None)
    stored["createdBy"] = user_id
    stored["updatedBy"] = user_id
    stored["updatedAt"] = now_ms
    stored["style"] = pycrdt.Map({**S.STYLE_DEFAULTS, **fields.get("style", {})})
    annotations[ann_id] = pycrdt.Map(stored)
    return ann_id


def _write_existing(doc: pycrdt.Doc, current: Annotation, raw: Any, fields: dict[str, Any], user_id: str, now_ms: int) -> bool:
    """Write the changed fields of ``fields`` into the existing annotation; True if any."""
    annotations = _root(doc, S.ROOT_ANNOTATIONS)
    fields = dict(fields)
    fields.pop("id", None)
    fields.pop("type", None)
    if current.type in S.POINT_TYPES and "points" in fields:
        w, h = _bbox_size(fields["points"])
        fields.setdefault("w", w)
        fields.setdefault("h", h)
        if current.type == "freehand" and "pressures" not in fields:
            fields["pressures"] = None  # stale: one pressure per *old* point
    style_patch: dict[str, Any] = fields.pop("style", {})
    if not isinstance(raw, YMapData):
        # Written by a raw client as a plain object: rebuild it as a nested map from the
        # repaired view, then apply the patch.
        full = annotation_to_fields(current)
        full.update({k: v for k, v in fields.items()})
        full["style"] = pycrdt.Map({**full["style"], **style_patch})
        full["updatedBy"], full["updatedAt"] = user_id, now_ms
        if full.get("pressures", ABSENT) is None:
            del full["pressures"]
        annotations[current.id] = pycrdt.Map(full)
        return True
    ymap: pycrdt.Map = annotations[current.id]
    changed = False
    for key, value in fields.items():
        if value is None:
            if key in raw:
                del ymap[key]
                changed = True
        elif key not in raw or not _same(raw[key], value):
            ymap[key] = value
            changed = True
    if style_patch:
        raw_style = raw.get("style")
        if isinstance(raw_style, YMapData):
            style_map: pycrdt.Map = ymap["style"]
            for key, value in style_patch.items():
                if key not in raw_style or not _same(raw_style[key], value):
                    style_map[key] = value
                    changed = True
        else:
            base = annotation_to_fields(current)["style"]
            ymap["style"] = pycrdt.Map({**base, **style_patch})
            changed = True
    if changed:
        ymap["updatedBy"] = user_id
        ymap["updatedAt"] = now_ms
    return changed


def upsert_annotation(doc: pycrdt.Doc, patch: Any, user_id: str, now_ms: int) -> dict[str, Any]:
    """Create an annotation, or update only the fields given of an existing one.

    ``patch`` is the API object (field ``annotation``). Without ``id``, or with an ``id``
    not in the room, it is a create: ``type`` is required (plus ``points`` for point
    types); missing fields take the schema defaults; ``z`` defaults to the front of the
    paint order. With the ``id`` of an existing annotation it is a partial update: each
    given field (and each given ``style`` property) is written on its own. For point
    types ``w``/``h`` follow the points' bounding box unless given.

    Returns the annotation's JSON. Raises ``InvalidParams``; ``NotFound`` for an unknown
    ``id`` without ``type``; ``Conflict`` if the annotation is locked (a patch may only
    change ``locked``); ``LimitReached`` past ``MAX_ANNOTATIONS``.
    """
    user_id = validate_user(user_id)
    now_ms = _check_now(now_ms)
    if not isinstance(patch, Mapping):
        raise InvalidParams("annotation", "must be an object")
    ann_id = validate_id(patch["id"], "annotation.id") if "id" in patch else None
    with doc.transaction():
        raw = read_entry(doc, S.ROOT_ANNOTATIONS, ann_id) if ann_id is not None else ABSENT
        current = sanitize_annotation(ann_id, raw, []) if raw is not ABSENT and ann_id is not None else None
        if current is None:
            if ann_id is not None and "type" not in patch:
                raise NotFound(f"annotation {ann_id!r} not found", data={"id": ann_id})
            fields = validate_annotation_create(patch)
            ann_id = _new_annotation(doc, fields, user_id, now_ms)
        else:
            fields = validate_annotation_patch(patch, current.type)
            if current.locked and fields.get("locked") is not False and set(fields) - {"id", "type", "locked"}:
                raise Conflict(f"annotation {ann_id!r} is locked; unlock it first", data={"id": ann_id})
            _write_existing(doc, current, raw, fields, user_id, now_ms)
        assert ann_id is not None
        result = read_annotation(doc, ann_id)
    assert result is not None
    return annotation_to_json(result)


def _detach_threads(doc: pycrdt.Doc, pins: Mapping[str, tuple[str, tuple[float, float]]]) -> bool:
    """Turn the anchor of each thread in ``pins`` (thread id → (annotation id, pin)) into
    a point at ``pin`` remembering ``detachedFrom``, unless it meanwhile points elsewhere."""
    comments = _root(doc, S.ROOT_COMMENTS)
    anchors = read_fields(doc, S.ROOT_COMMENTS, ("anchor",)) if pins else {}
    changed = False
    for thread_id, (ann_id, (x, y)) in pins.items():
        anchor = anchors.get(thread_id, {}).get("anchor")
        if not (isinstance(anchor, dict) and anchor.get("kind") == "annotation" and anchor.get("annotationId") == ann_id):
            continue
        new_anchor = {"kind": "point", "x": x, "y": y, "detachedFrom": ann_id}
        entry = comments[thread_id]
        if isinstance(entry, pycrdt.Map):
            entry["anchor"] = new_anchor
        else:  # a plain object written by a raw client: rewrite it whole
            comments[thread_id] = {**entry, "anchor": new_anchor}
        changed = True
    return changed


def delete_annotations(doc: pycrdt.Doc, ids: Any, user_id: str, now_ms: int) -> list[str]:
    """Delete several annotations as one update (a selection). Threads anchored to them
    are detached in the same update: their anchor becomes
    ``{kind: point, x, y, detachedFrom}`` where their pin was. Returns the ids deleted.
    Raises ``NotFound`` (naming the first unknown id) or ``Conflict`` (a locked one)."""
    validate_user(user_id)
    _check_now(now_ms)
    wanted = validate_ids(ids, "ids")
    annotations = _root(doc, S.ROOT_ANNOTATIONS)
    with doc.transaction():
        current: dict[str, Annotation | None] = {}
        for ann_id in wanted:
            raw = read_entry(doc, S.ROOT_ANNOTATIONS, ann_id)
            if raw is ABSENT:
                raise NotFound(f"annotation {ann_id!r} not found", data={"id": ann_id})
            ann = sanitize_annotation(ann_id, raw, [])
            if ann is not None and ann.locked:
                raise Conflict(f"annotation {ann_id!r} is locked; unlock it first", data={"id": ann_id})
            current[ann_id] = ann
        _detach_threads(doc, thread_pins(doc, current.get))
        for ann_id in wanted:
            del annotations[ann_id]
    return wanted


def _fraction(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return 0.5
    return min(max(float(v), 0.0), 1.0)


def thread_pins(
    doc: pycrdt.Doc, annotation_of: Callable[[str], Annotation | None]
) -> dict[str, tuple[str, tuple[float, float]]]:
    """Thread id → (annotation id, pin) for every thread anchored to an annotation that
    ``annotation_of`` knows: where each pin is drawn, given those annotations' boxes."""
    pins: dict[str, tuple[str, tuple[float, float]]] = {}
    for thread_id, fields in read_fields(doc, S.ROOT_COMMENTS, ("anchor",)).items():
        anchor = fields.get("anchor")
        if isinstance(anchor, dict) and anchor.get("kind") == "annotation":
            aid = anchor.get("annotationId")
            target = annotation_of(aid) if S.is_id(aid) else None
            if target is not None:
                fx, fy = _fraction(anchor.get("offsetX")), _fraction(anchor.get("offsetY"))
                pins[thread_id] = (target.id, annotation_box_point(target, fx, fy))
    return pins


def delete_annotation(doc: pycrdt.Doc, annotation_id: Any, user_id: str, now_ms: int) -> None:
    """Delete one annotation (see :func:`delete_annotations`)."""
    delete_annotations(doc, [validate_id(annotation_id, "id")], user_id, now_ms)


def _paint_order(doc: pycrdt.Doc) -> list[tuple[str, str]]:
    """(z, id) of every showable annotation, in paint order, as the view sorts them."""
    out = []
    for ann_id, f in read_fields(doc, S.ROOT_ANNOTATIONS, ("z", "type")).items():
        if not S.is_id(ann_id) or not isinstance(type_ := f.get("type"), str) or type_ not in S.TYPE_FIELDS:
            continue
        z = f.get("z", FIRST_KEY)
        out.append((z if is_valid_key(z) else FIRST_KEY, ann_id))
    out.sort()
    return out


def reorder(doc: pycrdt.Doc, annotation_id: Any, direction: Any, user_id: str, now_ms: int) -> str:
    """Move one annotation in the paint order by rewriting only its ``z``:

    * ``forward``/``backward``: past the next/previous annotation (and past any others
      that share that neighbour's key — keys can tie after concurrent inserts);
    * ``front``/``back``: above/below all others.

    Locked annotations may be reordered. Returns the new ``z`` (unchanged, and nothing
    written, if it is already there). Raises ``NotFound``, ``InvalidParams``.
    """
    annotation_id = validate_id(annotation_id, "id")
    direction = validate_direction(direction)
    user_id = validate_user(user_id)
    now_ms = _check_now(now_ms)
    with doc.transaction():
        order = _paint_order(doc)
        index = next((i for i, (_, a) in enumerate(order) if a == annotation_id), None)
        if index is None:
            raise NotFound(f"annotation {annotation_id!r} not found", data={"id": annotation_id})
        z = order[index][0]
        others = [k for i, (k, _) in enumerate(order) if i != index]
        new_z: str | None = None
        if direction in ("front", "forward") and index < len(order) - 1:
            if direction == "front":
                new_z = key_between(others[-1], None)
            else:
                lo = order[index + 1][0]
                hi = next((k for k in others if k > lo), None)
                new_z = key_between(lo, hi)
        elif direction in ("back", "backward") and index > 0:
            if direction == "back":
                new_z = key_between(None, others[0])
            else:
                hi = order[index - 1][0]
                lo_z = next((k for k in reversed(others) if k < hi), None)
                new_z = key_between(lo_z, hi)
        if new_z is None:
            return z
        ymap = _root(doc, S.ROOT_ANNOTATIONS)[annotation_id]
        if isinstance(ymap, pycrdt.Map):
            ymap["z"] = new_z
            ymap["updatedBy"] = user_id
            ymap["updatedAt"] = now_ms
        else:
            _write_existing(
                doc,
                _require_annotation(doc, annotation_id),
                read_entry(doc, S.ROOT_ANNOTATIONS, annotation_id),
                {"z": new_z},
                user_id,
                now_ms,
            )
        return new_z


def _require_annotation(doc: pycrdt.Doc, annotation_id: str) -> Annotation:
    ann = read_annotation(doc, annotation_id)
    if ann is None:
        raise NotFound(f"annotation {annotation_id!r} not found", data={"id": annotation_id})
    return ann


def _set_group_ids(doc: pycrdt.Doc, ann: Annotation, group_ids: list[str], user_id: str, now_ms: int) -> None:
    raw = read_entry(doc, S.ROOT_ANNOTATIONS, ann.id)
    _write_existing(doc, ann, raw, {"groupIds": group_ids}, user_id, now_ms)


def group(doc: pycrdt.Doc, ids: Any, user_id: str, now_ms: int, group_id: Any = None) -> str:
    """Group annotations; returns the group id (``group_id`` if given, else a new one).

    The new id goes into each member's ``groupIds`` (innermost first) just inside the
    groups *all* members already share: grouping two members of group G nests the new
    group in G; grouping G's members with an outsider makes the new group contain G.
    Members keep their own inner groups, so the hierarchy stays a tree. One field per
    annotation is written, so a concurrent move never undoes a grouping.

    Raises ``InvalidParams`` (fewer than 2 ids, nesting deeper than ``MAX_GROUP_DEPTH``),
    ``NotFound`` (an unknown id), ``Conflict`` (``group_id`` already in use).
    """
    members = validate_ids(ids, "ids", min_count=2)
    gid = validate_id(group_id, "groupId") if group_id is not None else new_id()
    user_id = validate_user(user_id)
    now_ms = _check_now(now_ms)
    with doc.transaction():
        all_groups = read_fields(doc, S.ROOT_ANNOTATIONS, ("groupIds",))
        if any(isinstance(g := f.get("groupIds"), list) and gid in g for f in all_groups.values()):
            raise Conflict(f"group {gid!r} already exists", data={"groupId": gid})
        anns = [_require_annotation(doc, a) for a in members]
        lists = [list(a.groupIds) for a in anns]
        shared = 0  # length of the common outer suffix
        while all(len(g) > shared for g in lists) and len({g[len(g) - 1 - shared] for g in lists}) == 1:
            shared += 1
        for ann, groups in zip(anns, lists, strict=True):
            cut = len(groups) - shared
            new = [*groups[:cut], gid, *groups[cut:]]
            if len(new) > S.MAX_GROUP_DEPTH:
                raise InvalidParams("ids", f"groups would nest deeper than {S.MAX_GROUP_DEPTH}")
            _set_group_ids(doc, ann, new, user_id, now_ms)
    return gid


def ungroup(doc: pycrdt.Doc, group_id: Any, user_id: str, now_ms: int) -> list[str]:
    """Remove ``group_id`` from every member's ``groupIds`` (inner and outer groups stay);
    returns the member ids, sorted. Raises ``NotFound`` if no annotation is in it."""
    gid = validate_id(group_id, "groupId")
    user_id = validate_user(user_id)
    now_ms = _check_now(now_ms)
    with doc.transaction():
        members = sorted(
            a
            for a, f in read_fields(doc, S.ROOT_ANNOTATIONS, ("groupIds",)).items()
            if isinstance(g := f.get("groupIds"), list) and gid in g
        )
        done = []
        for ann_id in members:
            ann = read_annotation(doc, ann_id)
            if ann is None or gid not in ann.groupIds:
                continue
            _set_group_ids(doc, ann, [g for g in ann.groupIds if g != gid], user_id, now_ms)
            done.append(ann_id)
        if not done:
            raise NotFound(f"group {gid!r} not found", data={"groupId": gid})
    return done


# -- comments -----------------------------------------------------------------------------


def _message_map(message_id: str, author: str, body: str, now_ms: int) -> pycrdt.Map:
    return pycrdt.Map({"id": message_id, "author": author, "body": body, "createdAt": now_ms, "editedAt": None, "deleted": False})


def _stored_anchor(doc: pycrdt.Doc, anchor: dict[str, Any]) -> dict[str, Any]:
    """The anchor as stored; annotation anchors also keep ``x, y``: the pin when anchored,
    a fallback should the annotation vanish before the server detaches the thread."""
    if anchor["kind"] != "annotation":
        return anchor
    target = read_annotation(doc, anchor["annotationId"])
    if target is None:
        raise NotFound(f"annotation {anchor['annotationId']!r} not found", data={"id": anchor["annotationId"]})
    x, y = annotation_box_point(target, anchor["offsetX"], anchor["offsetY"])
    return {**anchor, "x": x, "y": y}


def _thread_entry(doc: pycrdt.Doc, thread_id: Any) -> tuple[str, pycrdt.Map, Thread]:
    """The thread's nested map (repaired into one if a raw client wrote a plain object)."""
    thread_id = validate_id(thread_id, "threadId")
    thread = read_thread(doc, thread_id)
    if thread is None:
        raise NotFound(f"thread {thread_id!r} not found", data={"threadId": thread_id})
    comments = _root(doc, S.ROOT_COMMENTS)
    entry = comments[thread_id]
    raw = read_entry(doc, S.ROOT_COMMENTS, thread_id)
    if not isinstance(entry, pycrdt.Map) or not isinstance(raw.get("messages"), YMapData):
        comments[thread_id] = pycrdt.Map(_thread_fields(thread))
        entry = comments[thread_id]
    return thread_id, entry, thread


def _thread_fields(t: Thread) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": t.id,
        "anchor": anchor_to_json(t.anchor),
        "status": t.status,
        "createdBy": t.createdBy,
        "createdAt": t.createdAt,
        "messages": pycrdt.Map({m.id: pycrdt.Map(message_to_json(m)) for m in t.messages}),
    }
    if t.status == "resolved":
        d["resolvedBy"] = t.resolvedBy
        d["resolvedAt"] = t.resolvedAt
    return d


def _thread_json(doc: pycrdt.Doc, thread_id: str) -> dict[str, Any]:
    thread = read_thread(doc, thread_id)
    assert thread is not None
    return thread_to_json(thread)


def create_thread(
    doc: pycrdt.Doc,
    anchor: Any,
    body: Any,
    user_id: str,
    now_ms: int,
    *,
    thread_id: Any = None,
    message_id: Any = None,
) -> dict[str, Any]:
    """Open a thread with its first message; returns the thread's JSON.

    ``anchor`` as accepted by :func:`~annotd.canvas.validate.validate_anchor`. Raises
    ``InvalidParams``, ``NotFound`` (anchored annotation), ``Conflict`` (``thread_id``
    taken), ``LimitReached`` (``MAX_THREADS``).
    """
    anchor = validate_anchor(anchor)
    body = validate_body(body)
    user_id = validate_user(user_id)
    now_ms = _check_now(now_ms)
    tid = validate_id(thread_id, "threadId") if thread_id is not None else new_id()
    mid = validate_id(message_id, "messageId") if message_id is not None else new_id()
    comments = _root(doc, S.ROOT_COMMENTS)
    with doc.transaction():
        if tid in comments:
            raise Conflict(f"thread {tid!r} already exists", data={"threadId": tid})
        if len(comments) >= S.MAX_THREADS:
            raise LimitReached(f"a room holds at most {S.MAX_THREADS} threads")
        comments[tid] = pycrdt.Map(
            {
                "id": tid,
                "anchor": _stored_anchor(doc, anchor),
                "status": "open",
                "createdBy": user_id,
                "createdAt": now_ms,
                "messages": pycrdt.Map({mid: _message_map(mid, user_id, body, now_ms)}),
            }
        )
        return _thread_json(doc, tid)


def move_thread(doc: pycrdt.Doc, thread_id: Any, anchor: Any, user_id: str, now_ms: int) -> dict[str, Any]:
    """Re-anchor a thread (drag its pin, or attach it to another annotation); returns the
    thread's JSON. Anyone may move a pin. Raises ``NotFound``, ``InvalidParams``."""
    anchor = validate_anchor(anchor)
    validate_user(user_id)
    _check_now(now_ms)
    with doc.transaction():
        tid, entry, _ = _thread_entry(doc, thread_id)
        entry["anchor"] = _stored_anchor(doc, anchor)
        return _thread_json(doc, tid)


def reply(doc: pycrdt.Doc, thread_id: Any, body: Any, user_id: str, now_ms: int, *, message_id: Any = None) -> dict[str, Any]:
    """Add a message to a thread (open or resolved; the status is kept); returns the
    message's JSON. Concurrent replies never collide: each is its own key. Raises
    ``NotFound``, ``InvalidParams``, ``Conflict`` (``message_id`` taken), ``LimitReached``."""
    body = validate_body(body)
    user_id = validate_user(user_id)
    now_ms = _check_now(now_ms)
    mid = validate_id(message_id, "messageId") if message_id is not None else new_id()
    with doc.transaction():
        tid, entry, _ = _thread_entry(doc, thread_id)
        messages: pycrdt.Map = entry["messages"]
        if mid in messages:
            raise Conflict(f"message {mid!r} already exists", data={"messageId": mid})
        if len(messages) >= S.MAX_MESSAGES_PER_THREAD:
            raise LimitReached(f"a thread holds at most {S.MAX_MESSAGES_PER_THREAD} messages")
        messages[mid] = _message_map(mid, user_id, body, now_ms)
        return message_to_json(_message_of(doc, tid, mid))


def _message_of(doc: pycrdt.Doc, thread_id: str, message_id: str) -> Any:
    thread = read_thread(doc, thread_id)
    for m in thread.messages if thread is not None else ():
        if m.id == message_id:
            return m
    raise NotFound(f"message {message_id!r} not found", data={"messageId": message_id})


def resolve_thread(doc: pycrdt.Doc, thread_id: Any, user_id: str, now_ms: int) -> dict[str, Any]:
    """Mark a thread resolved (by ``user_id`` at ``now_ms``); idempotent. Returns its JSON."""
    user_id = validate_user(user_id)
    now_ms = _check_now(now_ms)
    with doc.transaction():
        tid, entry, thread = _thread_entry(doc, thread_id)
        if thread.status != "resolved":
            entry["status"] = "resolved"
            entry["resolvedBy"] = user_id
            entry["resolvedAt"] = now_ms
        return _thread_json(doc, tid)


def reopen_thread(doc: pycrdt.Doc, thread_id: Any, user_id: str, now_ms: int) -> dict[str, Any]:
    """Reopen a resolved thread; idempotent. Returns its JSON."""
    validate_user(user_id)
    _check_now(now_ms)
    with doc.transaction():
        tid, entry, thread = _thread_entry(doc, thread_id)
        if thread.status != "open":
            entry["status"] = "open"
        for key in ("resolvedBy", "resolvedAt"):
            if key in entry:
                del entry[key]
        return _thread_json(doc, tid)


def _own_message(doc: pycrdt.Doc, thread_id: Any, message_id: Any, user_id: str) -> tuple[pycrdt.Map, Any]:
    mid = validate_id(message_id, "messageId")
    _, entry, thread = _thread_entry(doc, thread_id)
    message = next((m for m in thread.messages if m.id == mid), None)
    messages: pycrdt.Map = entry["messages"]
    if message is None or mid not in messages:
        raise NotFound(f"message {mid!r} not found", data={"messageId": mid})
    if message.author != user_id:
        raise Forbidden("only the author may edit or delete a message", data={"messageId": mid})
    mmap = messages[mid]
    if not isinstance(mmap, pycrdt.Map):
        messages[mid] = pycrdt.Map(message_to_json(message))
        mmap = messages[mid]
    return mmap, message


def edit_message(doc: pycrdt.Doc, thread_id: Any, message_id: Any, body: Any, user_id: str, now_ms: int) -> dict[str, Any]:
    """Replace the body of one's own message (sets ``editedAt``); returns its JSON.
    Raises ``Forbidden`` (someone else's), ``Conflict`` (deleted), ``NotFound``."""
    body = validate_body(body)
    user_id = validate_user(user_id)
    now_ms = _check_now(now_ms)
    with doc.transaction():
        mmap, message = _own_message(doc, thread_id, message_id, user_id)
        if message.deleted:
            raise Conflict("a deleted message cannot be edited", data={"messageId": message.id})
        if message.body != body:
            mmap["body"] = body
            mmap["editedAt"] = now_ms
        return message_to_json(_message_of(doc, validate_id(thread_id, "threadId"), message.id))


def delete_message(doc: pycrdt.Doc, thread_id: Any, message_id: Any, user_id: str, now_ms: int) -> dict[str, Any]:
    """Delete one's own message: it stays as a tombstone (``deleted: true``, body erased)
    so replies keep their place; idempotent. Returns its JSON. Raises ``Forbidden``,
    ``NotFound``."""
    user_id = validate_user(user_id)
    now_ms = _check_now(now_ms)
    with doc.transaction():
        mmap, message = _own_message(doc, thread_id, message_id, user_id)
        if not message.deleted:
            mmap["deleted"] = True
            mmap["body"] = ""
            mmap["editedAt"] = now_ms
        return message_to_json(_message_of(doc, validate_id(thread_id, "threadId"), message.id))


def detach_orphaned_threads(doc: pycrdt.Doc, previous_view: CanvasView) -> bool:
    """After applying an update from a client, detach threads whose annotation is gone.

    ``previous_view`` is the view from *before* that update (the server keeps it anyway):
    it holds where each pin last was. Each thread anchored to an annotation that no longer
    exists gets ``{kind: point, x, y, detachedFrom: annotationId}`` in one transaction.
    Returns True if it wrote (the caller then has one more update to log and broadcast).

    Cheap when nothing is orphaned: no document read at all if no thread is anchored to
    an annotation, else one membership test per anchored thread. Deletes made through
    :func:`delete_annotations` already detach in their own update.
    """
    candidates = [
        (t.id, t.anchor.annotationId, t.pin)
        for t in previous_view.threads
        if t.anchor.kind == "annotation" and t.anchor.annotationId is not None
    ]
    if not candidates:
        return False
    annotations = _root(doc, S.ROOT_ANNOTATIONS)
    with doc.transaction():
        pins = {tid: (aid, pin) for tid, aid, pin in candidates if aid not in annotations}
        if not pins:
            return False
        return _detach_threads(doc, pins)


# -- revert -------------------------------------------------------------------------------


def revert_to(doc: pycrdt.Doc, target: pycrdt.Doc, user_id: str, now_ms: int) -> dict[str, list[str]]:
    """Make ``doc``'s annotations and ``meta.image`` equal to ``target``'s, as ONE forward
    update (history is never rewound; others' later edits merge on top as usual).

    ``target`` is a document holding the version to restore (e.g. built from a retained
    snapshot). Annotations absent from ``target`` are deleted; the others are created or
    patched field by field (style property by property) to equal ``target``'s repaired
    view — every field, ``z`` and ``groupIds`` included. ``createdBy`` comes from
    ``target``; ``updatedBy``/``updatedAt`` are stamped with ``user_id``/``now_ms`` on
    every annotation the revert changed. ``comments`` are left untouched (a discussion
    survives a revert; threads whose annotation disappears are detached, as for any
    delete). Returns ``{"created": [...], "updated": [...], "deleted": [...]}`` (sorted).
    """
    user_id = validate_user(user_id)
    now_ms = _check_now(now_ms)
    wanted = build_view(target)
    result: dict[str, list[str]] = {"created": [], "updated": [], "deleted": []}
    annotations = _root(doc, S.ROOT_ANNOTATIONS)
    meta = _root(doc, S.ROOT_META)
    with doc.transaction():
        current = read_root(doc, S.ROOT_ANNOTATIONS)
        wanted_ids = {a.id for a in wanted.annotations}
        doomed = sorted(k for k in current if k not in wanted_ids)
        if doomed:
            before = {a.id: a for k in doomed if (a := sanitize_annotation(k, current[k], [])) is not None}
            _detach_threads(doc, thread_pins(doc, before.get))
            for k in doomed:
                del annotations[k]
            result["deleted"] = doomed
        for ann in wanted.annotations:
            fields = annotation_to_fields(ann)
            fields["updatedBy"], fields["updatedAt"] = user_id, now_ms
            raw = current.get(ann.id)
            if not isinstance(raw, YMapData) or not isinstance(raw.get("style"), YMapData):
                fields["style"] = pycrdt.Map(fields["style"])
                annotations[ann.id] = pycrdt.Map(fields)
                result["created" if raw is None else "updated"].append(ann.id)
                continue
            if _patch_to(annotations[ann.id], raw, fields):
                result["updated"].append(ann.id)
        image = wanted.image
        current_image = meta.get("image") if "image" in meta else None
        if image is None:
            if "image" in meta:
                del meta["image"]
        else:
            ref = {"sha256": image.sha256, "width": image.width, "height": image.height, "mime": image.mime}
            if not (isinstance(current_image, dict) and all(_same(current_image.get(k), v) for k, v in ref.items())):
                meta["image"] = ref
        if "schemaVersion" not in meta:
            meta["schemaVersion"] = S.SCHEMA_VERSION
    for v in result.values():
        v.sort()
    return result


def _patch_to(ymap: pycrdt.Map, raw: YMapData, fields: dict[str, Any]) -> bool:
    """Write into ``ymap`` (currently ``raw``) what differs from ``fields``; delete keys
    ``fields`` does not have. Stamps only if something else changed. True if it wrote."""
    changed = False
    stamp = {k: fields.pop(k) for k in ("updatedBy", "updatedAt")}
    style = fields.pop("style")
    for key, value in fields.items():
        if key not in raw or not _same(raw[key], value):
            ymap[key] = value
            changed = True
    for key in _extra_keys(raw, fields, stamp):
        del ymap[key]
        changed = True
    raw_style: YMapData = raw["style"]
    style_map: pycrdt.Map = ymap["style"]
    for key, value in style.items():
        if key not in raw_style or not _same(raw_style[key], value):
            style_map[key] = value
            changed = True
    for key in [k for k in raw_style if k not in style]:
        del style_map[key]
        changed = True
    if changed:
        for key, value in stamp.items():
            ymap[key] = value
    return changed


def _extra_keys(raw: Mapping[str, Any], *known: Iterable[str]) -> list[str]:
    names = {"style"}
    for k in known:
        names.update(k)
    return [k for k in raw if k not in names]


def detach_threads(doc: pycrdt.Doc, pins: Mapping[str, tuple[str, tuple[float, float]]]) -> bool:
    """Public form of the detach step for callers that track pins themselves (the server's
    :class:`annotd.canvas.live.LiveCanvas`): thread id → (annotation id, last pin)."""
    with doc.transaction():
        return _detach_threads(doc, pins)
