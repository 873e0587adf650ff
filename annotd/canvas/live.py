"""A room's live canvas: the cached materialized view at the head, and comment pins.

Why cached by seq: the API and exports read the view often, the document changes in
bursts; building it costs tens of milliseconds for a thousand annotations, so it is
rebuilt at most once per seq, on demand, never on the relay path.

Why pins are tracked here: when a raw Yjs client deletes an annotation that a comment
thread is anchored to, the thread must keep the position where its pin last was. The
daemon's periodic tick (every 50 ms, when the head moved) finds threads anchored to an
annotation the document no longer has, replays the few events since the last check to see
where each pin last was, and turns those anchors into points there (one server update).
When the annotation comes back (an undo of the delete, a revert), the same tick anchors the
thread to it again at the pin's place on it: a detached thread only ever means that its
annotation is gone now.

Why incremental: a room may hold ten thousand threads, and reading every anchor at every
check would cost the loop far more than the change that moved the head. So the live canvas
watches its document: a deep observer on the comments root notes the threads that changed
(rare: comments are written by people, one at a time), a shallow observer on the annotations
root notes annotations added, replaced or deleted, and one shallow observer per annotation
that has threads notes its own edits (its box moves the pins). Nothing observes the fields of
annotations without threads, so the relay of ordinary edits pays nothing. A check looks only
at the threads that changed and the threads of the annotations that changed; the document is
read whole once, when watching starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pycrdt

from annotd.base.identifiers import is_id
from annotd.canvas import schema
from annotd.canvas.box import box_fractions, box_point
from annotd.canvas.model import CanvasView
from annotd.canvas.pins import Pins, anchor_offsets, anchor_position, anchor_target
from annotd.canvas.reader import read_entry_field, read_fields
from annotd.canvas.view import ViewBuilder, read_annotation

Orphans = dict[str, tuple[str, float, float, tuple[float, float]]]
"""Thread id → (annotation id, offsetX, offsetY, fallback pin)."""

MAX_THREADS_PER_CHECK = 50
"""Changed threads one check looks at (each costs a few reads of the document); more (an import
of thousands of comments, the first check of a loaded room) are spread over the next checks
(:attr:`LiveCanvas.backlog`), so no tick holds the loop for all of them."""

Reattach = dict[str, tuple[str, float, float, tuple[float, float]]]
"""Thread id → (annotation id, offsetX, offsetY, pin): detached threads whose annotation is back."""


class LiveCanvas:
    def __init__(self) -> None:
        self._builder = ViewBuilder()
        self._view: tuple[int, CanvasView] | None = None
        self._pins: Pins = {}
        self.checked_seq = -1
        self._doc: pycrdt.Doc[Any] | None = None
        self._subs: list[tuple[Any, Any]] = []
        self._watched: dict[str, tuple[pycrdt.Map, Any]] = {}
        """Annotation id → (its nested map, the subscription noting its edits)."""
        self._anchors: dict[str, dict[str, Any]] = {}
        """Thread id → its anchor, for threads anchored to or detached from an annotation."""
        self._threads_of: dict[str, set[str]] = {}
        """Annotation id → the threads in :attr:`_anchors` naming it."""
        self._changed_threads: set[str] = set()
        self._changed_annotations: set[str] = set()
        self._backlog: set[str] = set()
        """Changed threads no check has looked at yet (more changed than one check takes)."""
        self._unpinned: set[str] = set()
        """Threads looked at since the last :meth:`track` (their pins are read there)."""

    @property
    def backlog(self) -> bool:
        """Changed threads left for the next check (more changed than one check takes)."""
        return bool(self._backlog)

    def view(self, doc: pycrdt.Doc[Any], seq: int) -> CanvasView:
        """The view of ``doc`` at head ``seq`` (rebuilt only when the seq moved)."""
        if self._view is None or self._view[0] != seq:
            self._view = (seq, self._builder.build(doc))
        return self._view[1]

    # -- watching the document -----------------------------------------------------------
    def _watch(self, doc: pycrdt.Doc[Any]) -> bool:
        """Observe ``doc`` (False: it has no comments, so nothing to watch yet). The first
        time, every thread counts as changed."""
        if self._doc is doc:
            return True
        if schema.ROOT_COMMENTS not in doc.keys():
            return False
        self.close()
        self._doc = doc
        comments = doc.get(schema.ROOT_COMMENTS, type=pycrdt.Map)
        annotations = doc.get(schema.ROOT_ANNOTATIONS, type=pycrdt.Map)
        self._subs = [(comments, comments.observe_deep(self._on_comments)),
                      (annotations, annotations.observe(self._on_annotations))]
        self._changed_threads = set(comments.keys())
        return True

    def close(self) -> None:
        """Stop observing the document (the observers hold this object from inside Yjs)."""
        for shared, sub in self._subs:
            shared.unobserve(sub)
        for shared, sub in self._watched.values():
            shared.unobserve(sub)
        self._subs, self._watched, self._doc = [], {}, None
        self._anchors, self._threads_of, self._pins = {}, {}, {}
        self._changed_threads, self._changed_annotations, self._unpinned, self._backlog = set(), set(), set(), set()

    def _on_comments(self, events: list[Any]) -> None:
        changed = self._changed_threads
        for ev in events:
            path = ev.path
            if path:
                if isinstance(path[0], str):
                    changed.add(path[0])
            else:
                changed.update(ev.keys)

    def _on_annotations(self, event: Any) -> None:
        threads_of = self._threads_of
        self._changed_annotations.update(k for k in event.keys if k in threads_of)

    def _refresh(self, doc: pycrdt.Doc[Any], *, checking: bool) -> set[str]:
        """Read the anchors of the threads that changed; return the threads to look at (those
        and the threads of the annotations that changed). ``checking``: for a check, which
        takes the threads left waiting too, at most ``MAX_THREADS_PER_CHECK``; otherwise
        (tracking after the check's own writes) the threads changed since the check."""
        threads, annotations = self._changed_threads, self._changed_annotations
        self._changed_threads, self._changed_annotations = set(), set()
        if checking:  # at most MAX_THREADS_PER_CHECK; the rest wait for the next check
            threads |= self._backlog
            self._backlog = set()
            while len(threads) > MAX_THREADS_PER_CHECK:
                self._backlog.add(threads.pop())
        rewatch = set(annotations)
        for tid in threads:
            self._index(tid, read_entry_field(doc, schema.ROOT_COMMENTS, tid, "anchor"))
            if (aid := self._target(tid)) is not None:
                rewatch.add(aid)
        for aid in annotations:
            threads |= self._threads_of.get(aid, set())
        for aid in rewatch:
            self._rewatch(doc, aid)
        self._unpinned |= threads
        return threads

    @staticmethod
    def _names(anchor: Any) -> str | None:
        """The annotation a stored anchor is tied to: its target, or the one it was detached from."""
        if not isinstance(anchor, dict):
            return None
        if (aid := anchor_target(anchor)) is not None:
            return aid
        aid = anchor.get("detachedFrom")
        return aid if anchor.get("kind") == "point" and is_id(aid) else None

    def _target(self, tid: str) -> str | None:
        anchor = self._anchors.get(tid)
        return None if anchor is None else self._names(anchor)

    def _index(self, tid: str, anchor: Any) -> None:
        old = self._target(tid)
        if old is not None and (tids := self._threads_of.get(old)) is not None:
            tids.discard(tid)
            if not tids:
                del self._threads_of[old]
                self._rewatch(None, old)
        self._anchors.pop(tid, None)
        if (aid := self._names(anchor)) is not None:
            self._anchors[tid] = anchor
            self._threads_of.setdefault(aid, set()).add(tid)

    def _rewatch(self, doc: pycrdt.Doc[Any] | None, aid: str) -> None:
        """Observe annotation ``aid``'s own edits while threads name it and it is a nested map."""
        current = None
        if doc is not None and aid in self._threads_of:
            value = doc.get(schema.ROOT_ANNOTATIONS, type=pycrdt.Map).get(aid)
            current = value if isinstance(value, pycrdt.Map) else None
        held = self._watched.get(aid)
        if held is not None and held[0] is current:
            return
        if held is not None:
            held[0].unobserve(held[1])
            del self._watched[aid]
        if current is not None:
            self._watched[aid] = (current, current.observe(lambda _ev: self._changed_annotations.add(aid)))

    # -- the check -------------------------------------------------------------------------
    def orphaned(self, doc: pycrdt.Doc[Any], threads: set[str] | None = None) -> Orphans:
        """Threads (of ``threads``, default all) anchored to an annotation the document no
        longer has.

        The fallback pin is where the last check saw the pin, else the anchor's stored
        ``x, y``. Read from the document itself, so a thread anchored and orphaned between
        two checks is found too.
        """
        if schema.ROOT_COMMENTS not in doc.keys():
            return {}
        annotations = doc.get(schema.ROOT_ANNOTATIONS, type=pycrdt.Map)
        if threads is None:
            anchors = {tid: f.get("anchor") for tid, f in read_fields(doc, schema.ROOT_COMMENTS, ("anchor",)).items()}
        else:
            anchors = {tid: self._anchors[tid] for tid in threads if tid in self._anchors}
        found: Orphans = {}
        for tid, anchor in anchors.items():
            if not isinstance(anchor, dict) or (aid := anchor_target(anchor)) is None or aid in annotations:
                continue
            tracked = self._pins.get(tid)
            fallback = tracked[1] if tracked is not None and tracked[0] == aid else anchor_position(anchor)
            found[tid] = (aid, *anchor_offsets(anchor), fallback)
        return found

    @staticmethod
    def returned(doc: pycrdt.Doc[Any], anchors: dict[str, Any] | None = None) -> Reattach:
        """Detached threads (a point anchor with ``detachedFrom``; of ``anchors``, default all)
        whose annotation the document has again, with the offsets on its box where their pin is."""
        if schema.ROOT_COMMENTS not in doc.keys():
            return {}
        if anchors is None:
            anchors = {tid: f.get("anchor") for tid, f in read_fields(doc, schema.ROOT_COMMENTS, ("anchor",)).items()}
        found: Reattach = {}
        for tid, anchor in anchors.items():
            if not isinstance(anchor, dict) or anchor.get("kind") != "point" or not is_id(aid := anchor.get("detachedFrom")):
                continue
            ann = read_annotation(doc, aid)
            if ann is None:
                continue
            pin = anchor_position(anchor)
            found[tid] = (aid, *box_fractions(ann, *pin), pin)
        return found
    @staticmethod
    def last_pins(orphans: Orphans, base: pycrdt.Doc[Any], updates: list[bytes]) -> Pins:
        """Where each orphaned thread's pin last was: replay ``updates`` on ``base`` (the state
        at the last check) and note the pin after every update in which the annotation still
        existed. Threads whose annotation never shows up keep their fallback pin."""
        pins: Pins = {tid: (aid, fallback) for tid, (aid, _, _, fallback) in orphans.items()}

        def note() -> None:
            for tid, (aid, fx, fy, _) in orphans.items():
                ann = read_annotation(base, aid)
                if ann is not None:
                    pins[tid] = (aid, box_point(ann, fx, fy))

        note()
        for update in updates:
            base.apply_update(update)
            note()
        return pins

    def orphan_pins(self, doc: pycrdt.Doc[Any], replay_from: Callable[[int], tuple[pycrdt.Doc[Any], list[bytes]] | None]) -> Pins:
        """The threads to detach and where each pin last was (empty: nothing to do)."""
        return self.check(doc, replay_from)[0]

    def check(self, doc: pycrdt.Doc[Any], replay_from: Callable[[int], tuple[pycrdt.Doc[Any], list[bytes]] | None],
              ) -> tuple[Pins, Reattach]:
        """What changed since the last check calls for: the threads to detach with where each
        pin last was, and the detached threads to anchor again (both empty: nothing to do).

        ``replay_from(seq)`` gives the document at the last check and the updates since
        (``None`` when no longer retained: the last tracked pins, or the anchors' own
        ``x, y``, are used instead). Call :meth:`track` after acting on the result.
        """
        if not self._watch(doc):
            return {}, {}
        threads = self._refresh(doc, checking=True)
        if not threads:
            return {}, {}
        back = self.returned(doc, {tid: self._anchors[tid] for tid in threads if tid in self._anchors})
        orphans = self.orphaned(doc, threads)
        if not orphans:
            return {}, back
        replay = replay_from(self.checked_seq) if self.checked_seq >= 0 else None
        if replay is None:
            return {tid: (aid, fallback) for tid, (aid, _, _, fallback) in orphans.items()}, back
        return self.last_pins(orphans, *replay), back

    def checked_without_comments(self, doc: pycrdt.Doc[Any], seq: int) -> bool:
        """Whether ``doc`` has no comments root, in which case ``seq`` counts as checked: no
        thread can be orphaned or come back. The periodic check of a room without comments
        is then one read of the document's roots, not three (orphans, returns, pins)."""
        if self._doc is doc or schema.ROOT_COMMENTS in doc.keys():
            return False
        self.checked_seq, self._pins = seq, {}
        return True

    def track(self, doc: pycrdt.Doc[Any], seq: int) -> None:
        """Remember where the pins of the threads looked at since the last call are at ``seq``."""
        self.checked_seq = seq
        if not self._watch(doc):
            self._pins = {}
            return
        self._refresh(doc, checking=False)
        threads, self._unpinned = self._unpinned, set()
        pins = self._pins
        for tid in threads:
            pins.pop(tid, None)
            anchor = self._anchors.get(tid)
            if anchor is None or (aid := anchor_target(anchor)) is None:
                continue
            if (ann := read_annotation(doc, aid)) is not None:
                pins[tid] = (ann.id, box_point(ann, *anchor_offsets(anchor)))
