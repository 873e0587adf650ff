"""Between a live room's history and a bundle: what to save, and how a loaded room is rebuilt.

Seq renumbering (documented in protocol.md, "Room bundles"): a bundle keeps the document
state at every tag and at the head, not the events in between, so the loaded room cannot
keep the saved seqs. It is rebuilt as a short history instead: one event per bundle step,
in order. The steps are the changes from one tag's state to the next (tags in saved seq
order), then from the last tag to the head, so tag *k* (counting distinct states) gets seq
*k*, tags that shared a state share a seq, a tag of the empty document keeps seq 0, and
the head is the last seq. Every tag still shows exactly its saved state; a revert works.

Everything here is pure pycrdt work on private documents: run it off the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pycrdt import Doc, TransactionEvent

from ..base.errors import InvalidParams
from ..base.identifiers import SHA256_RE
from ..canvas import schema as S
from ..canvas.codec import view_to_json
from ..canvas.reader import read_root
from ..canvas.view import build_view
from ..core.images import StoredImage
from .bundle import Bundle, BundleVersion, write_bundle

EMPTY_UPDATE = b"\x00\x00"


@dataclass(frozen=True, slots=True)
class SavedVersion:
    """A tag as the saving room has it: its full document state."""

    tag: str
    seq: int
    created_at: float
    created_by: str
    state: bytes
    name: str = ""


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """How to rebuild a room: apply ``updates`` in order (event *i* is seq *i + 1*), then tag
    each version at ``version_seqs[tag]``. ``needs_schema`` when no step set
    ``meta.schemaVersion`` (a bundle of an empty room); ``images`` are the sha256 of every
    base image the head or a tag shows."""

    updates: tuple[bytes, ...]
    version_seqs: dict[str, int]
    needs_schema: bool
    images: frozenset[str] = field(default_factory=frozenset)


class _Replayer:
    """One private document that records what each applied update changed."""

    def __init__(self) -> None:
        self.doc: Doc[Any] = Doc()
        self._captured: bytes | None = None
        self.doc.observe(self._capture)

    def _capture(self, event: TransactionEvent) -> None:
        self._captured = event.update

    def apply(self, update: bytes, field: str) -> bytes | None:
        """Apply ``update``; return what it changed (``None``: nothing)."""
        self._captured = None
        try:
            self.doc.apply_update(update)
        except (ValueError, RuntimeError) as exc:
            raise InvalidParams(field, f"is not a Yjs update: {exc}") from None
        changed, self._captured = self._captured, None
        return None if not changed or changed == EMPTY_UPDATE else changed

    def image(self) -> str | None:
        ref = read_root(self.doc, S.ROOT_META).get("image")
        sha = ref.get("sha256") if isinstance(ref, dict) else None
        return sha if isinstance(sha, str) and SHA256_RE.fullmatch(sha) else None


def plan_load(bundle: Bundle) -> LoadPlan:
    """The events and tag seqs that rebuild ``bundle`` as a fresh room (see module doc)."""
    replay = _Replayer()
    at_step = {v.step for v in bundle.versions}
    updates: list[bytes] = []
    seq_after: list[int] = [0]
    images: set[str] = set()
    for i, step in enumerate(bundle.steps):
        changed = replay.apply(step, f"bundle.manifest.steps[{i}]")
        if changed is not None:
            updates.append(changed)
        seq_after.append(len(updates))
        if i + 1 in at_step and (sha := replay.image()):
            images.add(sha)
    if sha := replay.image():
        images.add(sha)
    seqs = {v.tag: seq_after[v.step] for v in bundle.versions}
    needs_schema = "schemaVersion" not in read_root(replay.doc, S.ROOT_META)
    return LoadPlan(tuple(updates), seqs, needs_schema, frozenset(images))


def encode_room(
    *,
    room_id: str,
    name: str,
    created_at: float,
    head: bytes,
    head_seq: int,
    versions: list[SavedVersion],
    images: dict[str, StoredImage],
    saved_at: float,
) -> tuple[bytes, list[str]]:
    """Write the bundle of a captured room; return its bytes and what could not be kept.

    The tags' full states become steps (each the change from the previous tag, in saved
    seq order), then the change to the head. ``images`` holds every image the room ever
    had; only those the head or a tag shows go in (an image only an untagged past seq showed
    is not kept). A shown image the server no longer has is reported in the returned
    warnings, and the bundle is still written (the canvas keeps its size, as an export does).
    """
    replay = _Replayer()
    steps: list[bytes] = []
    shown: list[str] = []
    kept: list[BundleVersion] = []
    for v in sorted(versions, key=lambda v: (v.seq, v.tag)):
        changed = replay.apply(v.state, f"version {v.tag}")
        if changed is not None:
            steps.append(changed)
        kept.append(BundleVersion(v.tag, v.seq, v.created_at, v.created_by, len(steps), v.name))
        if (sha := replay.image()) and sha not in shown:
            shown.append(sha)
    changed = replay.apply(head, "head")
    if changed is not None:
        steps.append(changed)
    if (sha := replay.image()) and sha not in shown:
        shown.append(sha)
    warnings = [f"image {sha} is shown but no longer held by the server" for sha in shown if sha not in images]
    bundle = Bundle(room_id=room_id, name=name, created_at=created_at, steps=tuple(steps), head_seq=head_seq,
                    versions=tuple(kept), images=tuple(images[s] for s in shown if s in images), saved_at=saved_at)
    return write_bundle(bundle, view_to_json(build_view(replay.doc))), warnings
