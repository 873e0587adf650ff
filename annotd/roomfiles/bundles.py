"""Rooms to bundles and back: what the bundle commands and the save directory share.

Why a module of its own: saving reads a live room (on the event loop, cheap: state blobs and
image references), then encodes in a thread; loading decodes and verifies in a thread, then
builds the room through its door (:meth:`annotd.live.liveroom.LiveRoom.apply`) before the hub
knows it (:meth:`annotd.live.hub.Hub.add_room`), so no client can see or touch a half-built room.
Both the JSON-RPC/REST commands and :mod:`annotd.roomfiles.savedir` go through here,
so a bundle saved on shutdown and one downloaded by a user are the same file.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..base.config import Config
from ..base.errors import CLOSE_ROOM_DELETED, Conflict
from ..canvas import ops
from ..formats.bundle import Bundle, BundleLimits, read_bundle
from ..formats.restore import LoadPlan, SavedVersion, encode_room, plan_load

if TYPE_CHECKING:
    from ..live.hub import Hub
    from ..live.liveroom import LiveRoom

log = logging.getLogger("annotd.bundles")

INSTALL_SLICE_S = 0.005
"""How long a bundle's install applies steps and tags before it lets the loop serve others
(a bundle of thousands of steps would otherwise hold it for all of them)."""


def limits_of(config: Config) -> BundleLimits:
    lim = config.limits
    return BundleLimits(
        max_bytes=lim.max_bundle_bytes,
        max_uncompressed_bytes=lim.max_bundle_uncompressed_bytes,
        max_entries=lim.max_bundle_entries,
        max_image_bytes=lim.max_image_bytes,
        max_image_pixels=lim.max_image_pixels,
    )


async def save(hub: Hub, room_id: str) -> tuple[bytes, list[str]]:
    """The bundle of ``room_id`` now, and what could not be kept (missing images)."""
    live = hub.live(room_id)
    # Every version has its snapshot; the head's is built off the loop for a big room.
    versions = [SavedVersion(v.tag, v.seq, v.ts, v.created_by, (await live.snapshot_at(v.seq)).blob, v.name)
                for v in live.versions()]
    head_seq = live.head
    head = (await live.snapshot_at(head_seq)).blob
    images = live.images()
    room = live.room
    return await asyncio.to_thread(
        encode_room, room_id=room.id, name=room.name, created_at=room.created_at, head=head,
        head_seq=head_seq, versions=versions, images=images, saved_at=hub.clock())


@dataclass(frozen=True, slots=True)
class Prepared:
    bundle: Bundle
    plan: LoadPlan
    warnings: tuple[str, ...]


def prepare(data: bytes, limits: BundleLimits) -> Prepared:
    """Decode, verify and plan a bundle (CPU work: call it in a thread)."""
    bundle = read_bundle(data, limits)
    plan = plan_load(bundle)
    have = {img.sha256 for img in bundle.images}
    warnings = tuple(f"image {sha} is shown by the document but not in the bundle" for sha in sorted(plan.images - have))
    return Prepared(bundle, plan, warnings)


class _Turns:
    """Lets the loop serve others once ``INSTALL_SLICE_S`` of work has run since it last did."""

    def __init__(self) -> None:
        self.since = time.perf_counter()

    async def share(self) -> None:
        if time.perf_counter() - self.since > INSTALL_SLICE_S:
            await asyncio.sleep(0)  # others' frames and requests go between
            self.since = time.perf_counter()


async def install(hub: Hub, prepared: Prepared, room_id: str, user_id: str) -> LiveRoom:
    """Create ``room_id`` from a prepared bundle: built through the room's door while only
    this call knows the room, then added to the hub. The steps are applied a slice of
    ``INSTALL_SLICE_S`` per loop turn.

    Raises ``Conflict`` if the id is taken and ``LimitReached`` past ``limits.max_rooms``;
    on any other failure no room is left behind.
    """
    bundle, plan = prepared.bundle, prepared.plan
    live = hub.new_room(room_id, bundle.name, created_at=bundle.created_at)
    try:
        for image in bundle.images:
            live.add_image(image)
        turn = _Turns()
        tags = sorted(bundle.versions, key=lambda v: (plan.version_seqs[v.tag], v.tag), reverse=True)

        async def tag_up_to(seq: int) -> None:
            """Each tag as soon as its seq is applied: the history may not retain it later."""
            while tags and plan.version_seqs[tags[-1].tag] <= seq:
                v = tags.pop()
                await live.add_version(v.tag, plan.version_seqs[v.tag], v.created_by, ts=v.created_at, name=v.name)
                await turn.share()

        await tag_up_to(live.head)
        for update in plan.updates:
            await live.apply(user_id, update)
            await tag_up_to(live.head)
            await turn.share()
        if plan.needs_schema:
            await live.apply(user_id, ops.ensure_schema)
        await tag_up_to(live.head)
        hub.add_room(live)
    except BaseException:
        live.close(CLOSE_ROOM_DELETED, "room deleted")
        raise
    await live.durable()  # with a store: answered once the room is on disk
    log.info("room loaded from a bundle", extra={"roomId": room_id, "seq": live.head,
                                                  "versions": len(bundle.versions)})
    return live


async def load(hub: Hub, data: bytes, room_id: str | None, user_id: str) -> tuple[LiveRoom, Prepared]:
    """Create a room from bundle bytes; ``room_id`` renames it (default: the bundle's id).
    Nothing is created unless the whole bundle is valid; existing rooms are never touched."""
    if room_id is not None and hub.exists(room_id):
        raise Conflict(f"room {room_id!r} already exists", data={"field": "roomId"})
    prepared = await asyncio.to_thread(prepare, data, limits_of(hub.config))
    target = room_id or prepared.bundle.room_id
    if hub.exists(target):
        raise Conflict(f"room {target!r} already exists; load it under another id", data={"field": "roomId"})
    return await install(hub, prepared, target, user_id), prepared
