"""Every logical change to the canvas, each applied to a ``pycrdt.Doc`` in ONE transaction.

Why one transaction per call: the server turns each API call into exactly one Yjs update
(one entry in the room log, one broadcast, one undo step). Callers that need an origin
on that update (to tell server edits from client edits, or for per-user undo) wrap the
call in ``with doc.transaction(origin=...)``: pycrdt reuses the outer transaction.

Rules every operation follows:

* input is validated first (:mod:`annotd.canvas.validate`), so an error leaves the
  document untouched and produces no update;
* the caller passes ``user_id`` and ``now_ms`` (no clocks, no I/O here); ids of new
  objects are random (``secrets``) unless given;
* only the fields a call is about are written, each on its own key of a nested map, so a
  concurrent edit of another field (or another style property) by someone else survives
  (:mod:`annotd.canvas.ops.write`);
* a call that would change nothing writes nothing (no empty update);
* return values are the API's JSON (:mod:`annotd.canvas.codec`), read back from the
  document after the write, so they show exactly what every replica will show.

Errors (all from :mod:`annotd.base.errors`): ``InvalidParams`` (bad input, naming the field),
``NotFound`` (unknown annotation/thread/message/group), ``Conflict`` (a locked
annotation, an id already taken, a deleted message), ``Forbidden`` (someone else's
message), ``LimitReached`` (too many annotations/threads/messages).
"""

from annotd.canvas.ops.annotations import delete_annotation, delete_annotations, upsert_annotation
from annotd.canvas.ops.comments import (
    create_thread,
    delete_message,
    detach_threads,
    edit_message,
    move_thread,
    reattach_threads,
    reopen_thread,
    reply,
    resolve_thread,
    thread_json,
)
from annotd.canvas.ops.document import ensure_schema, set_image
from annotd.canvas.ops.groups import group, ungroup
from annotd.canvas.ops.order import reorder
from annotd.canvas.ops.revert import revert_to
from annotd.canvas.ops.write import new_id

__all__ = [
    "create_thread",
    "delete_annotation",
    "delete_annotations",
    "delete_message",
    "detach_threads",
    "edit_message",
    "ensure_schema",
    "group",
    "move_thread",
    "new_id",
    "reattach_threads",
    "reopen_thread",
    "reorder",
    "reply",
    "resolve_thread",
    "revert_to",
    "set_image",
    "thread_json",
    "ungroup",
    "upsert_annotation",
]
