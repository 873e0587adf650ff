"""Named versions: tag a retained seq (pinning its state), list, and revert as a new head.

A version has a ``tag`` (its id: URL- and file-safe, ``TAG_PATTERN``) and a ``name`` (free
text people read, "Review 1"). Give either or both: without a tag the server derives one
from the name (:func:`annotd.identifiers.tag_from_name`); without a name the tag is the name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from ..base.errors import InvalidParams
from ..base.identifiers import ID_PATTERN, MAX_VERSION_NAME_LENGTH, TAG_PATTERN, check_version_name, tag_from_name
from ..canvas import ops
from .base import Caller, command
from .params import rule
from .rooms import RoomRef

if TYPE_CHECKING:
    from ..core.history import Version
    from ..live.hub import Hub


class VersionInfo(TypedDict):
    """A named version: ``createdAt`` in seconds since the epoch; ``name`` is what people
    read (the tag when it was given no name)."""

    tag: str
    name: str
    seq: int
    createdAt: float
    createdBy: str


class VersionList(TypedDict):
    versions: list[VersionInfo]


class RevertChanges(TypedDict):
    """The annotation ids the revert created, updated and deleted (each sorted)."""

    created: list[str]
    updated: list[str]
    deleted: list[str]


class Reverted(TypedDict):
    seq: int
    tag: str
    changes: RevertChanges


def version_json(v: Version) -> dict[str, Any]:
    return {"tag": v.tag, "name": v.display_name, "seq": v.seq, "createdAt": v.ts, "createdBy": v.created_by}


@dataclass(frozen=True)
class CreateVersion:
    roomId: str = rule(pattern=ID_PATTERN)
    tag: str | None = rule(default=None, pattern=TAG_PATTERN, doc="the version's id (default: derived from name)")
    name: str | None = rule(default=None, max_len=MAX_VERSION_NAME_LENGTH,
                            doc="free text people read, e.g. 'Review 1' (default: the tag)")
    seq: int | None = rule(default=None, minimum=0, doc="a retained seq (default: head)")


@command("versions.create", method="POST", path="/v1/rooms/{roomId}/versions", status=201, result=VersionInfo)
async def create(hub: Hub, p: CreateVersion, caller: Caller) -> dict[str, Any]:
    """Tag the head (or a retained seq), giving a tag, a name or both; the state is never pruned.

    A missing tag is derived from the name ("Review 1" → ``Review-1``, then ``Review-1-2``
    if that is taken); a missing name is the tag."""
    room = hub.room(p.roomId)
    name = "" if p.name is None else check_version_name(p.name)
    if p.tag is not None:
        tag = p.tag
    elif name:
        tag = tag_from_name(name, {v.tag for v in room.versions()})
    else:
        raise InvalidParams("tag", "give a tag or a name")
    version = await room.add_version(tag, p.seq, caller.user_id, name="" if name == tag else name)
    body = version_json(version)
    room.notify("versions.created", {"roomId": p.roomId, **body})
    return body


@command("versions.list", method="GET", path="/v1/rooms/{roomId}/versions", result=VersionList)
async def list_versions(hub: Hub, p: RoomRef, caller: Caller) -> dict[str, Any]:
    """Named versions in seq order."""
    return {"versions": [version_json(v) for v in hub.room(p.roomId).versions()]}


@dataclass(frozen=True)
class Revert:
    roomId: str = rule(pattern=ID_PATTERN)
    tag: str = rule(pattern=TAG_PATTERN)


@command("versions.revert", method="POST", path="/v1/rooms/{roomId}/versions/{tag}:revert", result=Reverted)
async def revert(hub: Hub, p: Revert, caller: Caller) -> dict[str, Any]:
    """Restore the canvas (annotations, z-order, groups, image) to a tag as ONE new update.

    Nothing is rewound: the revert is a forward change that converges on every client,
    connected or reconnecting. Comments are not rolled back."""
    room = hub.room(p.roomId)
    target = await room.view_at(room.version(p.tag).seq)  # built off the loop for a big room
    done = await room.apply(caller.user_id, lambda doc: ops.revert_to(doc, target, caller.user_id, hub.now_ms()))
    changes, seq = done.value, done.seq
    room.notify("versions.reverted",
               {"roomId": p.roomId, "tag": p.tag, "seq": seq, "changes": changes, "revertedBy": caller.user_id})
    return {"seq": seq, "tag": p.tag, "changes": changes}
