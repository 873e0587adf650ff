"""What a room answers a call with: frames for sessions, sent in order by the adapter.

A room never does I/O (:mod:`annotd.core.room`); each call returns :class:`Outbound` items
and the adapter delivers them, in order, which is the room's ordering guarantee.
"""

from __future__ import annotations

from typing import NamedTuple

Message = bytes | str | tuple[bytes, bytes]
"""One message to send: binary, text, or a binary message in two parts (its header bytes
and a big payload shared with the history, sent without being copied)."""


class Outbound(NamedTuple):
    """A frame for ``to`` (session ids), minus ``exclude``. ``noisy`` frames (presence,
    awareness) may be coalesced by the writer under ``key``; document frames never are.

    A named tuple rather than a frozen dataclass: as immutable, and built several times per
    relayed update (a frozen dataclass's ``__init__`` costs three times as much)."""

    to: tuple[str, ...]
    frame: Message
    exclude: str | None = None
    noisy: bool = False
    key: str | None = None
    ack: bool = False
    """The sender's acknowledgement: with a store, held until the change is durable."""
