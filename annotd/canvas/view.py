"""The materialized view: one ``pycrdt.Doc`` in, one :class:`CanvasView` out.

Why it exists: nothing downstream (the JSON API, comment pins, the renderer, export) may
read the document directly, because any Yjs client can write anything into it. This
module reads it once (:mod:`annotd.canvas.reader`) and repairs every entry
(:mod:`annotd.canvas.repair`): annotations sorted in paint order, threads with their pins
resolved, every repair listed in ``issues``. Nothing here raises on document content.

Repairs are logged on ``annotd.canvas`` once per change of the offending annotation (not
on every rebuild), when a :class:`ViewBuilder` is kept for the room.
"""

from __future__ import annotations

import logging
from typing import Any

import pycrdt

from annotd.canvas import schema
from annotd.canvas.coerce import is_coordinate
from annotd.canvas.model import Annotation, CanvasView, Thread
from annotd.canvas.pins import anchor_target
from annotd.canvas.reader import ABSENT, read_entry, read_root
from annotd.canvas.repair import sanitize_annotation, sanitize_image, sanitize_thread

__all__ = ["ViewBuilder", "build_view", "read_annotation", "read_thread"]

logger = logging.getLogger("annotd.canvas")


class ViewBuilder:
    """Builds views of one room, reusing the repaired :class:`Annotation` of every
    annotation whose stored data did not change since the previous build.

    Why: converting points into :class:`Point` objects costs per point, so a room of long
    strokes would pay it for every point at every rebuild. Keep one builder per room
    (it holds only the current annotations) and call :meth:`build` after each update.
    Issues are logged when an annotation is (re)built, so a bad annotation is logged once
    per change, not once per rebuild.
    """

    def __init__(self) -> None:
        self._cache: dict[str, tuple[Any, Annotation | None, tuple[str, ...]]] = {}

    def build(self, doc: pycrdt.Doc) -> CanvasView:
        view_issues: list[str] = []
        meta = read_root(doc, schema.ROOT_META)
        raw_annotations = read_root(doc, schema.ROOT_ANNOTATIONS)
        raw_comments = read_root(doc, schema.ROOT_COMMENTS)

        version_raw = meta.get("schemaVersion", schema.SCHEMA_VERSION)
        schema_version = schema.SCHEMA_VERSION
        if is_coordinate(version_raw) and version_raw == int(version_raw):
            schema_version = int(version_raw)
            if schema_version > schema.SCHEMA_VERSION:
                newest = schema.SCHEMA_VERSION
                view_issues.append(f"meta.schemaVersion: {schema_version} is newer than {newest}; read as {newest}")
        else:
            view_issues.append("meta.schemaVersion: not an integer")
        image = sanitize_image(meta, view_issues)

        # Sorted by key: replicas iterate maps in different orders, their issues must not.
        items = sorted(raw_annotations.items(), key=lambda kv: kv[0])
        if len(items) > schema.MAX_ANNOTATIONS:
            view_issues.append(f"annotations: {len(items)} entries, only the first {schema.MAX_ANNOTATIONS} by id are shown")
            del items[schema.MAX_ANNOTATIONS :]
        old_cache = self._cache
        cache: dict[str, tuple[Any, Annotation | None, tuple[str, ...]]] = {}
        annotations: list[Annotation] = []
        fresh_issues: list[str] = []
        for key, raw in items:
            hit = old_cache.get(key)
            if hit is not None and hit[0] == raw:
                ann, skipped = hit[1], hit[2]
            else:
                skipped_list: list[str] = []
                ann = sanitize_annotation(key, raw, skipped_list)
                skipped = tuple(skipped_list)
                if ann is not None and ann.issues:
                    fresh_issues.extend(f"annotations.{key}.{m}" for m in ann.issues)
                fresh_issues.extend(skipped)
            cache[key] = (raw, ann, skipped)
            view_issues.extend(skipped)
            if ann is not None:
                annotations.append(ann)
        self._cache = cache
        annotations.sort(key=lambda a: (a.z, a.id))
        by_id = {a.id: a for a in annotations}

        thread_items = sorted(raw_comments.items(), key=lambda kv: kv[0])
        if len(thread_items) > schema.MAX_THREADS:
            view_issues.append(f"comments: {len(thread_items)} threads, only the first {schema.MAX_THREADS} by id are shown")
            del thread_items[schema.MAX_THREADS :]
        thread_issues: list[str] = []
        threads = [t for key, raw in thread_items if (t := sanitize_thread(key, raw, by_id, thread_issues)) is not None]
        threads.sort(key=lambda t: (t.createdAt, t.id))
        view_issues.extend(thread_issues)

        if fresh_issues:
            logger.warning(
                "canvas: repaired %d problem(s) in annotations: %s",
                len(fresh_issues),
                "; ".join(fresh_issues[:5]) + (" …" if len(fresh_issues) > 5 else ""),
            )
        return CanvasView(
            schemaVersion=min(schema_version, schema.SCHEMA_VERSION),
            image=image,
            annotations=tuple(annotations),
            threads=tuple(threads),
            issues=tuple(view_issues),
        )


def build_view(doc: pycrdt.Doc) -> CanvasView:
    """Build the whole view of ``doc`` from scratch (see :class:`ViewBuilder` to reuse work)."""
    return ViewBuilder().build(doc)


def read_annotation(doc: pycrdt.Doc, annotation_id: str) -> Annotation | None:
    """The repaired view of one annotation, or ``None`` if it is absent or unshowable."""
    raw = read_entry(doc, schema.ROOT_ANNOTATIONS, annotation_id)
    if raw is ABSENT:
        return None
    return sanitize_annotation(annotation_id, raw, [])


def read_thread(doc: pycrdt.Doc, thread_id: str) -> Thread | None:
    """The view of one thread (pin resolved against its annotation), or ``None``."""
    raw = read_entry(doc, schema.ROOT_COMMENTS, thread_id)
    if raw is ABSENT:
        return None
    by_id: dict[str, Annotation] = {}
    target_id = anchor_target(raw.get("anchor")) if isinstance(raw, dict) else None
    if target_id is not None:
        target = read_annotation(doc, target_id)
        if target is not None:
            by_id[target.id] = target
    return sanitize_thread(thread_id, raw, by_id, [])
