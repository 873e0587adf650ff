"""A document state as plain data: a checked base blob plus the updates after it.

Why: rebuilding or encoding a big document holds the event loop (pycrdt keeps the GIL for
the whole call, and the time grows with the document's size), so the room never does
it for a big document on the loop. Instead it describes the state it wants as
:class:`StateParts` (the nearest snapshot's bytes, their sha256, and the logged updates up
to the seq: references to immutable bytes, no copy, taken at once) and a worker process
builds it (:mod:`annotd.services.states` for snapshots and history reads,
:mod:`annotd.services.renders.worker` for exports). Small documents are built the same way inline.

The snapshot's sha256 is checked by whoever builds from it (:func:`build_doc`), so a
corrupted snapshot is never silently used to rebuild a state.

Both types cross to and from worker processes with their big byte strings in a file
(:mod:`annotd.base.spill`): pickling them through the pool's pipe holds the GIL.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc, get_state

from . import spill


def sha256(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


@dataclass(frozen=True, slots=True)
class StateParts:
    """The document at ``seq``: ``base`` (a snapshot blob whose sha256 is ``base_sha256``)
    with ``updates`` applied in order."""

    seq: int
    base: bytes
    base_sha256: str
    updates: tuple[bytes, ...] = ()

    @property
    def nbytes(self) -> int:
        return len(self.base) + sum(len(u) for u in self.updates)


@dataclass(frozen=True, slots=True)
class Encoded:
    """A full document state: ``blob`` (one Yjs update), its sha256 and its state vector."""

    seq: int
    blob: bytes
    sha256: str
    state_vector: bytes


spill.register(StateParts, lambda p: (p.seq, spill.spilled(p.base), p.base_sha256,
                                     tuple(spill.spilled(u) for u in p.updates)))
spill.register(Encoded, lambda e: (e.seq, spill.spilled(e.blob), e.sha256, e.state_vector))


class CorruptSnapshot(RuntimeError):
    """A snapshot's bytes no longer match their checksum."""


def check(parts: StateParts) -> bytes:
    """The base blob, after checking it against its sha256."""
    if sha256(parts.base) != parts.base_sha256:
        raise CorruptSnapshot(f"the snapshot under seq {parts.seq} failed its checksum")
    return parts.base


def build_doc(parts: StateParts) -> Doc:
    """A new ``Doc`` holding the state ``parts`` describe (the base is checked first)."""
    doc: Doc[Any] = Doc()
    doc.apply_update(check(parts))
    for update in parts.updates:
        doc.apply_update(update)
    return doc


def encode(parts: StateParts) -> Encoded:
    """The full state ``parts`` describe, encoded; without updates the base is reused as is."""
    if not parts.updates:
        blob = check(parts)
        return Encoded(parts.seq, blob, parts.base_sha256, get_state(blob))
    doc = build_doc(parts)
    blob = doc.get_update()
    return Encoded(parts.seq, blob, sha256(blob), doc.get_state())


def encode_doc(doc: Doc, seq: int) -> Encoded:
    """The full state of a live ``doc`` at ``seq`` (inline, for small documents)."""
    blob = doc.get_update()
    return Encoded(seq, blob, sha256(blob), doc.get_state())
