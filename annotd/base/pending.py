"""What Yjs keeps pending inside a document: counted, because no encoded state shows it.

Why: an update whose structs follow a gap in their client's clock cannot be integrated
yet; Yjs keeps it inside the document (memory) until the gap is filled, but it is in no
snapshot and no logged event (nothing changed), so the room's size figure would not see it
and a client could grow a room without limit by sending only such updates. The room
counts the part of each update its document did not integrate (:meth:`PendingParts.note`)
and forgets what later updates let it integrate when the room is measured
(:meth:`PendingParts.settle`).
"""

from __future__ import annotations

from typing import Any

from pycrdt import Decoder, Doc, get_update


class PendingParts:
    """The pending parts of past updates and their size in bytes."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.nbytes = 0

    def note(self, doc: Doc[Any], update: bytes) -> None:
        """Count what of ``update`` ``doc`` kept pending: the part its state vector does not
        cover (O(update); called only for updates that did not change as much as they carried)."""
        rest = get_update(update, doc.get_state())
        if _has_structs(rest):
            self._parts.append(rest)
            self.nbytes += len(rest)

    def settle(self, doc: Doc[Any]) -> None:
        """Forget parts ``doc`` has integrated since (a later update filled the gap; they
        are in the log now)."""
        if not self._parts:
            return
        state = doc.get_state()
        self._parts = [rest for rest in (get_update(p, state) for p in self._parts) if _has_structs(rest)]
        self.nbytes = sum(len(p) for p in self._parts)


def _has_structs(update: bytes) -> bool:
    """Whether a Yjs update carries any struct (not only a delete set): its first varuint
    is the number of clients with structs."""
    return Decoder(update).read_var_uint() > 0
