"""Room commands: create, rename, list, get, delete; manual snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from ..base.identifiers import ID_PATTERN
from ..canvas.jsontypes import Image
from .base import Caller, command
from .params import rule

if TYPE_CHECKING:
    from ..live.access import RoomAbout
    from ..live.hub import Hub


class RoomInfo(TypedDict):
    """A room's metadata; times are seconds since the epoch. ``epoch`` changes when the
    room's history restarts (a client replaying from a seq must resync then)."""

    id: str
    name: str
    createdAt: float
    headSeq: int
    snapshotSeq: int
    oldestSeq: int
    epoch: str
    users: list[str]
    clients: int
    image: Image | None
    lastChangeAt: float


def room_json(room: RoomAbout) -> dict[str, Any]:
    """One definition for a room loaded or kept on disk only (``rooms.data_dir``)."""
    info = room.info()
    return {
        "id": info["roomId"],
        "name": info["name"],
        "createdAt": info["createdAt"],
        "headSeq": info["headSeq"],
        "snapshotSeq": info["snapshotSeq"],
        "oldestSeq": info["oldestSeq"],
        "epoch": info["epoch"],
        "users": info["users"],
        "clients": info["clients"],
        "image": info["image"],
        "lastChangeAt": room.last_change(),
    }


@dataclass(frozen=True)
class CreateRoom:
    id: str | None = rule(default=None, pattern=ID_PATTERN, doc="client-chosen id; random when absent")
    name: str | None = rule(default=None, max_len=200)


@dataclass(frozen=True)
class UpdateRoom:
    roomId: str = rule(pattern=ID_PATTERN)
    name: str = rule(max_len=200, doc="the new name, as at creation; empty: no name (the room's id stands in)")


@dataclass(frozen=True)
class RoomRef:
    """The parameters of every command that takes only a room."""

    roomId: str = rule(pattern=ID_PATTERN)


@dataclass(frozen=True)
class ListRooms:
    limit: int = rule(default=100, minimum=1, maximum=1000, doc="rooms per page")
    cursor: str | None = rule(default=None, pattern=ID_PATTERN,
                              doc="the previous page's nextCursor: rooms after this id")


class RoomList(TypedDict):
    rooms: list[RoomInfo]
    """In the order of their ids."""
    nextCursor: str | None
    """Pass as ``cursor`` for the next page; ``null`` on the last page."""


class RoomDeleted(TypedDict):
    id: str
    deleted: Literal[True]


class SnapshotTaken(TypedDict):
    seq: int


class SnapshotInfo(TypedDict):
    seq: int
    ts: float
    bytes: int
    sha256: str
    pinnedBy: list[str]
    """The version tags that keep this snapshot."""


class SnapshotList(TypedDict):
    snapshots: list[SnapshotInfo]
    oldestSeq: int
    headSeq: int


@command("rooms.create", method="POST", path="/v1/rooms", status=201, result=RoomInfo)
async def create(hub: Hub, p: CreateRoom, caller: Caller) -> dict[str, Any]:
    """Create a room (optionally with a chosen id); a taken id is a conflict."""
    live = hub.create_room(p.id, p.name)
    await live.durable()  # with a store: answered once the room is on disk
    return room_json(live)


@command("rooms.update", method="PATCH", path="/v1/rooms/{roomId}", result=RoomInfo)
async def update(hub: Hub, p: UpdateRoom, caller: Caller) -> dict[str, Any]:
    """Rename a room; everyone in it hears `rooms.renamed`, and a store keeps the new name."""
    room = hub.room(p.roomId)
    await room.rename(p.name, caller.user_id)
    return room_json(room)


@command("rooms.list", method="GET", path="/v1/rooms", result=RoomList)
async def list_rooms(hub: Hub, p: ListRooms, caller: Caller) -> dict[str, Any]:
    """List the rooms a page at a time, in id order, with their metadata: name, image, people online, last change (see Rooms)."""
    ids = hub.room_ids(after=p.cursor, limit=p.limit + 1)
    page = ids[:p.limit]
    return {"rooms": [room_json(hub.about(i)) for i in page], "nextCursor": page[-1] if len(ids) > p.limit else None}


@command("rooms.get", method="GET", path="/v1/rooms/{roomId}", result=RoomInfo, loads_room=False)
async def get(hub: Hub, p: RoomRef, caller: Caller) -> dict[str, Any]:
    """A room's metadata: head and snapshot seq, connected users, image."""
    return room_json(hub.about(p.roomId))


@command("rooms.delete", method="DELETE", path="/v1/rooms/{roomId}", result=RoomDeleted, loads_room=False)
async def delete(hub: Hub, p: RoomRef, caller: Caller) -> dict[str, Any]:
    """Delete a room; its sockets are closed with 4410 (with a store: answered once the deletion is on disk)."""
    await hub.delete_room(p.roomId)
    return {"id": p.roomId, "deleted": True}


@command("snapshots.create", method="POST", path="/v1/rooms/{roomId}/snapshots", status=201, result=SnapshotTaken)
async def create_snapshot(hub: Hub, p: RoomRef, caller: Caller) -> dict[str, Any]:
    """Snapshot the room's document at its head now."""
    return {"seq": await hub.room(p.roomId).snapshot()}


@command("snapshots.list", method="GET", path="/v1/rooms/{roomId}/snapshots", result=SnapshotList)
async def list_snapshots(hub: Hub, p: RoomRef, caller: Caller) -> dict[str, Any]:
    """Retained snapshots (seq, ts, size, sha256, pinned by which versions)."""
    room = hub.room(p.roomId)
    pins: dict[int, list[str]] = {}
    for v in room.versions():
        pins.setdefault(v.seq, []).append(v.tag)
    return {
        "snapshots": [
            {"seq": s.seq, "ts": s.ts, "bytes": len(s.blob), "sha256": s.sha256, "pinnedBy": pins.get(s.seq, [])}
            for s in room.snapshot_list()
        ],
        "oldestSeq": room.oldest_seq,
        "headSeq": room.head,
    }
