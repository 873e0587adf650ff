"""Between a live room's history and a bundle: what to save, and how a loaded room is rebuilt.

Seq renumbering (documented in protocol.md, "Room bundles"): a bundle keeps the document
state at the head and at every tag, not the events in between, so the loaded room cannot
keep the saved seqs. It is rebuilt as a short history instead: the tags in their saved seq
order, each one event (the change from the previous tag's state to its own), then the head
as one more event if it differs from the last tag. Tag *k* (1-based, distinct states) gets
seq *k*; a tag of the empty document keeps seq 0; tags that shared a state share a seq.
Every tag therefore still points at exactly its saved state, and a revert to it works.

Why "each tag's state must contain the previous one": in a real room the document only
grows (Yjs keeps deletions as tombstones), so a later state always contains an earlier one.
A bundle that breaks this was not written from one room's history; rebuilding it would make
a tag show something it never showed, so it is refused naming the version.

Everything here is pure pycrdt work on private documents: run it off the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pycrdt import Doc, TransactionEvent

from ..canvas import schema as S
from ..canvas.reader import read_root
from ..canvas.view import build_view, view_to_json
from ..errors import InvalidParams
from ..images import StoredImage
from .bundle import Bundle, BundleVersion, write_bundle

EMPTY_UPDATE = b"\x00\x00"


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """How to rebuild a room: apply ``updates`` in order (event *i* is seq *i + 1*), then tag
    each version at ``version_seqs[tag]``; ``needs_schema`` when no state set
    ``meta.schemaVersion`` (a bundle of an empty room)."""

    updates: tuple[bytes, ...]
    version_seqs: dict[str, int]
    needs_schema: bool


class _Replayer:
    """One private document that records what each applied state changed."""

    def __init__(self) -> None:
        self.doc: Doc[Any] = Doc()
        self._captured: bytes | None = None
        self.doc.observe(self._capture)

    def _capture(self, event: TransactionEvent) -> None:
        self._captured = event.update

    def apply(self, state: bytes, field: str) -> bytes | None:
        self._captured = None
        try:
            self.doc.apply_update(state)
        except (ValueError, RuntimeError) as exc:
            raise InvalidParams(field, f"is not a Yjs document state: {exc}") from None
        changed, self._captured = self._captured, None
        if not _contains(state, self.doc.get_update(), field):
            raise InvalidParams(field, "does not contain the earlier versions' states "
                                       "(not the history of one document)")
        if not changed or changed == EMPTY_UPDATE:
            return None
        return changed


def _contains(state: bytes, other: bytes, field: str) -> bool:
    """True if document ``state`` already holds everything in ``other`` (applying ``other``
    to it changes nothing). Byte comparison would not do: Yjs encodings of one document
    are not canonical."""
    doc: Doc[Any] = Doc()
    captured: list[bytes] = []
    doc.observe(lambda event: captured.append(event.update))
    try:
        doc.apply_update(state)
    except (ValueError, RuntimeError) as exc:
        raise InvalidParams(field, f"is not a Yjs document state: {exc}") from None
    captured.clear()
    doc.apply_update(other)
    return all(u == EMPTY_UPDATE for u in captured)


def plan_load(bundle: Bundle) -> LoadPlan:
    """The events and tag seqs that rebuild ``bundle`` as a fresh room (see module doc)."""
    replay = _Replayer()
    updates: list[bytes] = []
    seqs: dict[str, int] = {}
    order = sorted(range(len(bundle.versions)), key=lambda i: (bundle.versions[i].seq, bundle.versions[i].tag))
    for i in order:
        v = bundle.versions[i]
        changed = replay.apply(v.state, f"bundle.manifest.versions[{i}].state")
        if changed is not None:
            updates.append(changed)
        seqs[v.tag] = len(updates)
    changed = replay.apply(bundle.head, "bundle.manifest.head.state")
    if changed is not None:
        updates.append(changed)
    needs_schema = "schemaVersion" not in read_root(replay.doc, S.ROOT_META)
    return LoadPlan(tuple(updates), seqs, needs_schema)


def image_of(state: bytes) -> str | None:
    """The sha256 of the base image a document state shows, if any."""
    doc: Doc[Any] = Doc()
    doc.apply_update(state)
    ref = read_root(doc, S.ROOT_META).get("image")
    sha = ref.get("sha256") if isinstance(ref, dict) else None
    return sha if isinstance(sha, str) and S.SHA256_RE.fullmatch(sha) else None


def encode_room(
    *,
    room_id: str,
    name: str,
    created_at: float,
    head: bytes,
    head_seq: int,
    versions: list[BundleVersion],
    images: dict[str, StoredImage],
    saved_at: float,
) -> tuple[bytes, list[str]]:
    """Write the bundle of a captured room; return its bytes and what could not be kept.

    ``images`` holds every image the room ever had; only those the head or a tag shows go
    in (an image that only an untagged past seq showed is not kept). A referenced image the
    server no longer has is reported in the returned warnings, and the bundle is still
    written (the canvas keeps its size, as an export does).
    """
    wanted: list[str] = []
    for state in [head, *(v.state for v in versions)]:
        sha = image_of(state)
        if sha is not None and sha not in wanted:
            wanted.append(sha)
    warnings = [f"image {sha} is referenced but no longer held by the server" for sha in wanted if sha not in images]
    kept = tuple(images[sha] for sha in wanted if sha in images)
    bundle = Bundle(room_id=room_id, name=name, created_at=created_at, head=head, head_seq=head_seq,
                    versions=tuple(versions), images=kept, saved_at=saved_at)
    doc: Doc[Any] = Doc()
    doc.apply_update(head)
    return write_bundle(bundle, view_to_json(build_view(doc))), warnings
