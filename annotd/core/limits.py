"""A room's limits and history policy, read from the configuration in one place."""

from __future__ import annotations

from dataclasses import dataclass

from ..base.config import Config


@dataclass(frozen=True, slots=True)
class RoomLimits:
    """A room's limits and history policy, read from the configuration by :meth:`of` (the
    defaults live in :mod:`annotd.base.config` alone)."""

    max_clients: int
    presence_ttl_s: float
    presence_min_interval_s: float
    presence_rebroadcast_s: float
    snapshot_every_ops: int
    snapshot_every_s: float
    snapshots_kept: int
    snapshot_every_bytes: int
    snapshot_tail_ratio: int
    """For a document past :data:`~annotd.core.history.AMORTIZE_FROM`, the ops rule also
    waits for the bytes logged since the last snapshot (``history.snapshot_tail_ratio``)."""
    reconstruct_cache: int
    max_document_bytes: int
    inline_encode_bytes: int
    """Above this size the room's full state is never encoded on the caller's thread
    (``history.inline_encode_bytes``; encoding costs grow with the document's size)."""

    @classmethod
    def of(cls, config: Config) -> RoomLimits:
        """The limits ``config`` sets (the one place they are read from it)."""
        lim, rc, hc = config.limits, config.rooms, config.history
        return cls(
            max_clients=lim.max_clients_per_room,
            presence_ttl_s=rc.presence_ttl_s,
            presence_min_interval_s=1.0 / lim.presence_max_hz if lim.presence_max_hz > 0 else 0.0,
            presence_rebroadcast_s=rc.presence_rebroadcast_s,
            snapshot_every_ops=hc.snapshot_every_ops,
            snapshot_every_s=hc.snapshot_every_s,
            snapshots_kept=hc.snapshots_kept,
            snapshot_every_bytes=hc.snapshot_every_bytes,
            snapshot_tail_ratio=hc.snapshot_tail_ratio,
            reconstruct_cache=hc.reconstruct_cache,
            max_document_bytes=lim.max_document_bytes,
            inline_encode_bytes=hc.inline_encode_bytes,
        )
