"""Comment threads and their messages; detaching threads from deleted annotations."""

from __future__ import annotations

from typing import Any

import pycrdt

from annotd.base.errors import Conflict, Forbidden, LimitReached, NotFound
from annotd.canvas import schema
from annotd.canvas.box import box_point
from annotd.canvas.codec import anchor_to_json, message_to_json, thread_to_json
from annotd.canvas.model import Thread
from annotd.canvas.ops.write import check_now, new_id, root
from annotd.canvas.pins import Pins, anchor_target
from annotd.canvas.reader import YMapData, read_entry, read_fields
from annotd.canvas.validate import validate_anchor, validate_body, validate_id, validate_user
from annotd.canvas.view import read_annotation, read_thread


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
    x, y = box_point(target, anchor["offsetX"], anchor["offsetY"])
    return {**anchor, "x": x, "y": y}


def _thread_entry(doc: pycrdt.Doc, thread_id: Any) -> tuple[str, pycrdt.Map, Thread]:
    """The thread's nested map (repaired into one if a raw client wrote a plain object)."""
    thread_id = validate_id(thread_id, "threadId")
    thread = read_thread(doc, thread_id)
    if thread is None:
        raise NotFound(f"thread {thread_id!r} not found", data={"threadId": thread_id})
    comments = root(doc, schema.ROOT_COMMENTS)
    entry = comments[thread_id]
    raw = read_entry(doc, schema.ROOT_COMMENTS, thread_id)
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


def thread_json(doc: pycrdt.Doc, thread_id: str) -> dict[str, Any]:
    """A thread's API JSON as the document holds it now (commands answer with it)."""
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
    now_ms = check_now(now_ms)
    tid = validate_id(thread_id, "threadId") if thread_id is not None else new_id()
    mid = validate_id(message_id, "messageId") if message_id is not None else new_id()
    comments = root(doc, schema.ROOT_COMMENTS)
    with doc.transaction():
        if tid in comments:
            raise Conflict(f"thread {tid!r} already exists", data={"threadId": tid})
        if len(comments) >= schema.MAX_THREADS:
            raise LimitReached(f"a room holds at most {schema.MAX_THREADS} threads")
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
        return thread_json(doc, tid)


def move_thread(doc: pycrdt.Doc, thread_id: Any, anchor: Any, user_id: str, now_ms: int) -> dict[str, Any]:
    """Re-anchor a thread (drag its pin, or attach it to another annotation); returns the
    thread's JSON. Anyone may move a pin. Raises ``NotFound``, ``InvalidParams``."""
    anchor = validate_anchor(anchor)
    validate_user(user_id)
    check_now(now_ms)
    with doc.transaction():
        tid, entry, _ = _thread_entry(doc, thread_id)
        entry["anchor"] = _stored_anchor(doc, anchor)
        return thread_json(doc, tid)


def reply(doc: pycrdt.Doc, thread_id: Any, body: Any, user_id: str, now_ms: int, *, message_id: Any = None) -> dict[str, Any]:
    """Add a message to a thread (open or resolved; the status is kept); returns the
    message's JSON. Concurrent replies never collide: each is its own key. Raises
    ``NotFound``, ``InvalidParams``, ``Conflict`` (``message_id`` taken), ``LimitReached``."""
    body = validate_body(body)
    user_id = validate_user(user_id)
    now_ms = check_now(now_ms)
    mid = validate_id(message_id, "messageId") if message_id is not None else new_id()
    with doc.transaction():
        tid, entry, _ = _thread_entry(doc, thread_id)
        messages: pycrdt.Map = entry["messages"]
        if mid in messages:
            raise Conflict(f"message {mid!r} already exists", data={"messageId": mid})
        if len(messages) >= schema.MAX_MESSAGES_PER_THREAD:
            raise LimitReached(f"a thread holds at most {schema.MAX_MESSAGES_PER_THREAD} messages")
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
    now_ms = check_now(now_ms)
    with doc.transaction():
        tid, entry, thread = _thread_entry(doc, thread_id)
        if thread.status != "resolved":
            entry["status"] = "resolved"
            entry["resolvedBy"] = user_id
            entry["resolvedAt"] = now_ms
        return thread_json(doc, tid)


def reopen_thread(doc: pycrdt.Doc, thread_id: Any, user_id: str, now_ms: int) -> dict[str, Any]:
    """Reopen a resolved thread; idempotent. Returns its JSON."""
    validate_user(user_id)
    check_now(now_ms)
    with doc.transaction():
        tid, entry, thread = _thread_entry(doc, thread_id)
        if thread.status != "open":
            entry["status"] = "open"
        for key in ("resolvedBy", "resolvedAt"):
            if key in entry:
                del entry[key]
        return thread_json(doc, tid)


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
    now_ms = check_now(now_ms)
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
    now_ms = check_now(now_ms)
    with doc.transaction():
        mmap, message = _own_message(doc, thread_id, message_id, user_id)
        if not message.deleted:
            mmap["deleted"] = True
            mmap["body"] = ""
            mmap["editedAt"] = now_ms
        return message_to_json(_message_of(doc, validate_id(thread_id, "threadId"), message.id))


def detach_threads(doc: pycrdt.Doc, pins: Pins) -> bool:
    """Turn the anchor of each thread in ``pins`` (thread id → (annotation id, pin)) into
    a point at ``pin`` remembering ``detachedFrom``, unless it meanwhile points elsewhere;
    True if it wrote. The one way a thread is detached: by a delete through the API (in the
    delete's own update), by a revert, and by the live canvas's tick after a raw client
    deleted the annotation (:mod:`annotd.canvas.live`)."""
    if not pins:
        return False
    comments = root(doc, schema.ROOT_COMMENTS)
    changed = False
    with doc.transaction():
        anchors = read_fields(doc, schema.ROOT_COMMENTS, ("anchor",))
        for thread_id, (ann_id, (x, y)) in pins.items():
            if anchor_target(anchors.get(thread_id, {}).get("anchor")) != ann_id:
                continue
            new_anchor = {"kind": "point", "x": x, "y": y, "detachedFrom": ann_id}
            entry = comments[thread_id]
            if isinstance(entry, pycrdt.Map):
                entry["anchor"] = new_anchor
            else:  # a plain object written by a raw client: rewrite it whole
                comments[thread_id] = {**entry, "anchor": new_anchor}
            changed = True
    return changed


def reattach_threads(doc: pycrdt.Doc, found: dict[str, tuple[str, float, float, tuple[float, float]]]) -> bool:
    """Anchor each thread in ``found`` (thread id → (annotation id, offsetX, offsetY, pin))
    to its annotation again, unless its anchor meanwhile changed from the detached point;
    True if it wrote. The inverse of :func:`detach_threads`, for an annotation that came back
    (an undone delete): a thread must not say "detached" beside the shape it is about."""
    if not found:
        return False
    comments = root(doc, schema.ROOT_COMMENTS)
    changed = False
    with doc.transaction():
        anchors = read_fields(doc, schema.ROOT_COMMENTS, ("anchor",))
        for thread_id, (ann_id, fx, fy, (x, y)) in found.items():
            anchor = anchors.get(thread_id, {}).get("anchor")
            if not isinstance(anchor, dict) or anchor.get("kind") != "point" or anchor.get("detachedFrom") != ann_id:
                continue
            new_anchor = {"kind": "annotation", "annotationId": ann_id, "offsetX": fx, "offsetY": fy, "x": x, "y": y}
            entry = comments[thread_id]
            if isinstance(entry, pycrdt.Map):
                entry["anchor"] = new_anchor
            else:
                comments[thread_id] = {**entry, "anchor": new_anchor}
            changed = True
    return changed

