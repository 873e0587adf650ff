"""Annotation and comment commands: the server-side API for clients that do not speak Yjs
(scripts, bots posting detections). Each call that changes something is ONE Yjs update,
sequenced, logged and relayed like a client's, so connected clients see it live."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict, TypeVar

from pycrdt import Doc

from ..base.errors import InvalidParams, NotFound
from ..base.identifiers import ID_PATTERN, TAG_PATTERN
from ..canvas import ops
from ..canvas.codec import annotation_to_json, image_json, thread_to_json
from ..canvas.jsontypes import AnchorInput, Annotation, AnnotationPatch, Image, Message, Thread
from ..canvas.model import CanvasView
from .base import Caller, command
from .params import rule

if TYPE_CHECKING:
    from ..live.hub import Hub

T = TypeVar("T")


async def _apply(hub: Hub, room_id: str, caller: Caller, change: Callable[[Doc], T]) -> tuple[T, int]:
    """``change`` as ``caller``'s one update to the room: its result and the seq after it."""
    done = await hub.room(room_id).apply(caller.user_id, change)
    return done.value, done.seq


# -- annotations ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ListAnnotations:
    roomId: str = rule(pattern=ID_PATTERN)
    seq: int | None = rule(default=None, minimum=0, doc="a retained seq (default: head)")
    tag: str | None = rule(default=None, pattern=TAG_PATTERN, doc="a version tag instead of seq")


class AnnotationList(TypedDict):
    """The canvas at ``seq``: annotations in paint order, the base image, and what reading
    the document had to repair (``issues``)."""

    seq: int
    annotations: list[Annotation]
    image: Image | None
    issues: list[str]


def annotations_listing(view: CanvasView) -> dict[str, Any]:
    """What ``annotations.list`` answers besides ``seq`` (also run by the state worker)."""
    return {"annotations": [annotation_to_json(a) for a in view.annotations], "image": image_json(view.image),
            "issues": list(view.issues)}


@command("annotations.list", method="GET", path="/v1/rooms/{roomId}/annotations", result=AnnotationList)
async def list_annotations(hub: Hub, p: ListAnnotations, caller: Caller) -> Any:
    """Annotations in paint order (z, id), at the head or at a retained seq or tag."""
    room = hub.room(p.roomId)
    return await room.read(room.resolve_seq(p.seq, p.tag), annotations_listing)


@dataclass(frozen=True)
class AnnotationRef:
    roomId: str = rule(pattern=ID_PATTERN)
    id: str = rule(pattern=ID_PATTERN)


@command("annotations.get", method="GET", path="/v1/rooms/{roomId}/annotations/{id}", result=Annotation)
async def get_annotation(hub: Hub, p: AnnotationRef, caller: Caller) -> dict[str, Any]:
    """One annotation at the head."""
    for a in hub.room(p.roomId).head_view().annotations:
        if a.id == p.id:
            return annotation_to_json(a)
    raise NotFound(f"annotation {p.id!r} does not exist", data={"field": "id"})


@dataclass(frozen=True)
class Upsert:
    roomId: str = rule(pattern=ID_PATTERN)
    annotation: dict[str, Any] = rule(doc="full annotation to create, or the fields to change", shape=AnnotationPatch)
    id: str | None = rule(default=None, pattern=ID_PATTERN, doc="the annotation to update (REST: in the path)")


class AnnotationWritten(TypedDict):
    annotation: Annotation
    seq: int


@command(
    "annotations.upsert", method="POST", path="/v1/rooms/{roomId}/annotations",
    also=(("PUT", "/v1/rooms/{roomId}/annotations/{id}"), ("PATCH", "/v1/rooms/{roomId}/annotations/{id}")),
    body_param="annotation", result=AnnotationWritten,
)
async def upsert(hub: Hub, p: Upsert, caller: Caller) -> dict[str, Any]:
    """Create an annotation or update only the given fields (nested style fields one by one)."""
    patch = dict(p.annotation)
    if p.id is not None:
        if patch.get("id", p.id) != p.id:
            raise InvalidParams("annotation.id", "differs from the id in the path")
        patch["id"] = p.id
    result, seq = await _apply(hub, p.roomId, caller, lambda doc: ops.upsert_annotation(doc, patch, caller.user_id, hub.now_ms()))
    return {"annotation": result, "seq": seq}


@dataclass(frozen=True)
class Delete:
    roomId: str = rule(pattern=ID_PATTERN)
    id: str | None = rule(default=None, pattern=ID_PATTERN)
    ids: list[str] | None = rule(default=None, max_len=10_000, pattern=ID_PATTERN,
                                 doc="several at once (a selection), with or without id; REST: ?ids=a&ids=b")


class AnnotationsDeleted(TypedDict):
    deleted: list[str]
    """The ids that existed and were deleted."""
    seq: int


@command("annotations.delete", method="DELETE", path="/v1/rooms/{roomId}/annotations/{id}",
         also=(("DELETE", "/v1/rooms/{roomId}/annotations", "many"),), result=AnnotationsDeleted)
async def delete(hub: Hub, p: Delete, caller: Caller) -> dict[str, Any]:
    """Delete one annotation (or several with ``ids``); anchored comment threads keep their pin."""
    if p.id is None and not p.ids:
        raise InvalidParams("ids", "give id, ids or both (every annotation named is deleted)")
    ids = list(dict.fromkeys([*([p.id] if p.id is not None else []), *(p.ids or [])]))
    deleted, seq = await _apply(hub, p.roomId, caller, lambda doc: ops.delete_annotations(doc, ids, caller.user_id, hub.now_ms()))
    return {"deleted": deleted, "seq": seq}


@dataclass(frozen=True)
class Reorder:
    roomId: str = rule(pattern=ID_PATTERN)
    id: str = rule(pattern=ID_PATTERN)
    direction: Literal["forward", "backward", "front", "back"] = rule()


class Reordered(TypedDict):
    id: str
    z: str
    seq: int


@command("annotations.reorder", method="POST", path="/v1/rooms/{roomId}/annotations/{id}/reorder",
         result=Reordered)
async def reorder(hub: Hub, p: Reorder, caller: Caller) -> dict[str, Any]:
    """Move an annotation forward, backward, to the front or to the back (rewrites only its z)."""
    z, seq = await _apply(hub, p.roomId, caller, lambda doc: ops.reorder(doc, p.id, p.direction, caller.user_id, hub.now_ms()))
    return {"id": p.id, "z": z, "seq": seq}


@dataclass(frozen=True)
class Group:
    roomId: str = rule(pattern=ID_PATTERN)
    ids: list[str] = rule(max_len=10_000, pattern=ID_PATTERN)
    groupId: str | None = rule(default=None, pattern=ID_PATTERN)


class Grouped(TypedDict):
    groupId: str
    seq: int


@command("annotations.group", method="POST", path="/v1/rooms/{roomId}/groups", status=201, result=Grouped)
async def group(hub: Hub, p: Group, caller: Caller) -> dict[str, Any]:
    """Group annotations (nested groups allowed); returns the group id."""
    gid, seq = await _apply(hub, p.roomId, caller, lambda doc: ops.group(doc, p.ids, caller.user_id, hub.now_ms(), p.groupId))
    return {"groupId": gid, "seq": seq}


@dataclass(frozen=True)
class Ungroup:
    roomId: str = rule(pattern=ID_PATTERN)
    groupId: str = rule(pattern=ID_PATTERN)


class Ungrouped(TypedDict):
    members: list[str]
    seq: int


@command("annotations.ungroup", method="DELETE", path="/v1/rooms/{roomId}/groups/{groupId}", result=Ungrouped)
async def ungroup(hub: Hub, p: Ungroup, caller: Caller) -> dict[str, Any]:
    """Dissolve a group; returns its former members."""
    members, seq = await _apply(hub, p.roomId, caller, lambda doc: ops.ungroup(doc, p.groupId, caller.user_id, hub.now_ms()))
    return {"members": members, "seq": seq}


# -- comments -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ListComments:
    roomId: str = rule(pattern=ID_PATTERN)
    state: Literal["open", "resolved", "all"] = rule(default="all")
    annotationId: str | None = rule(default=None, pattern=ID_PATTERN, doc="threads anchored to this annotation")
    anchorKind: Literal["annotation", "point", "region"] | None = rule(default=None)
    seq: int | None = rule(default=None, minimum=0)
    tag: str | None = rule(default=None, pattern=TAG_PATTERN)


class ThreadList(TypedDict):
    seq: int
    threads: list[Thread]


def threads_listing(view: CanvasView, state: str, annotation_id: str | None, anchor_kind: str | None) -> dict[str, Any]:
    """What ``comments.list`` answers besides ``seq`` (also run by the state worker)."""
    threads = [
        t for t in view.threads
        if (state == "all" or t.status == state)
        and (annotation_id is None or t.anchor.annotationId == annotation_id)
        and (anchor_kind is None or t.anchor.kind == anchor_kind)
    ]
    return {"threads": [thread_to_json(t) for t in threads]}


@command("comments.list", method="GET", path="/v1/rooms/{roomId}/comments", result=ThreadList)
async def list_comments(hub: Hub, p: ListComments, caller: Caller) -> Any:
    """Comment threads with their messages and resolved pins, filtered by state and anchor."""
    room = hub.room(p.roomId)
    return await room.read(room.resolve_seq(p.seq, p.tag), threads_listing, p.state, p.annotationId, p.anchorKind)


@dataclass(frozen=True)
class CreateThread:
    roomId: str = rule(pattern=ID_PATTERN)
    anchor: dict[str, Any] = rule(doc="where to pin the thread: to an annotation, a point or a region",
                                  shape=AnchorInput)
    body: str = rule()
    id: str | None = rule(default=None, pattern=ID_PATTERN)


class ThreadWritten(TypedDict):
    """The thread after the change. ``message``: the message an edit or a delete changed."""

    thread: Thread
    seq: int
    message: NotRequired[Message]


@command("comments.create", method="POST", path="/v1/rooms/{roomId}/comments", status=201, result=ThreadWritten)
async def create_thread(hub: Hub, p: CreateThread, caller: Caller) -> dict[str, Any]:
    """Open a comment thread with its first message."""
    thread, seq = await _apply(hub, p.roomId, caller, lambda doc: ops.create_thread(
        doc, p.anchor, p.body, caller.user_id, hub.now_ms(), thread_id=p.id))
    return {"thread": thread, "seq": seq}


@dataclass(frozen=True)
class Reply:
    roomId: str = rule(pattern=ID_PATTERN)
    commentId: str = rule(pattern=ID_PATTERN, doc="the thread id")
    body: str = rule()


class MessageWritten(TypedDict):
    message: Message
    seq: int


@command("comments.reply", method="POST", path="/v1/rooms/{roomId}/comments/{commentId}/replies", status=201,
         result=MessageWritten)
async def reply(hub: Hub, p: Reply, caller: Caller) -> dict[str, Any]:
    """Add a reply to a thread."""
    message, seq = await _apply(hub, p.roomId, caller, lambda doc: ops.reply(doc, p.commentId, p.body, caller.user_id, hub.now_ms()))
    return {"message": message, "seq": seq}


@dataclass(frozen=True)
class UpdateThread:
    roomId: str = rule(pattern=ID_PATTERN)
    commentId: str = rule(pattern=ID_PATTERN, doc="the thread id")
    action: Literal["resolve", "reopen", "edit", "delete", "move"] = rule()
    messageId: str | None = rule(default=None, pattern=ID_PATTERN, doc="edit/delete: which message (default: the first)")
    body: str | None = rule(default=None, doc="edit: the new text")
    anchor: dict[str, Any] | None = rule(default=None, doc="move: the new anchor", shape=AnchorInput)


@command("comments.update", method="PATCH", path="/v1/rooms/{roomId}/comments/{commentId}", result=ThreadWritten)
async def update_thread(hub: Hub, p: UpdateThread, caller: Caller) -> dict[str, Any]:
    """Resolve or reopen a thread, edit or soft-delete one's own message, or move the pin; answers the thread."""
    user, now = caller.user_id, hub.now_ms()
    room = hub.room(p.roomId)

    def message_id(doc: Any) -> str:
        if p.messageId is not None:
            return p.messageId
        for t in room.head_view().threads:
            if t.id == p.commentId and t.messages:
                return t.messages[0].id
        raise NotFound(f"thread {p.commentId!r} not found", data={"threadId": p.commentId})

    def apply(doc: Any) -> dict[str, Any]:
        if p.action == "resolve":
            return {"thread": ops.resolve_thread(doc, p.commentId, user, now)}
        if p.action == "reopen":
            return {"thread": ops.reopen_thread(doc, p.commentId, user, now)}
        if p.action == "move":
            if p.anchor is None:
                raise InvalidParams("anchor", "is required to move a thread")
            return {"thread": ops.move_thread(doc, p.commentId, p.anchor, user, now)}
        if p.action == "edit":
            if p.body is None:
                raise InvalidParams("body", "is required to edit a message")
            message = ops.edit_message(doc, p.commentId, message_id(doc), p.body, user, now)
        else:
            message = ops.delete_message(doc, p.commentId, message_id(doc), user, now)
        return {"thread": ops.thread_json(doc, p.commentId), "message": message}

    done = await room.apply(user, apply)
    return {**done.value, "seq": done.seq}
