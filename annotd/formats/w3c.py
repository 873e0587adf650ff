"""W3C Web Annotation export: a canvas view as one JSON-LD ``AnnotationPage``.

What each annotd object becomes (protocol.md, "W3C Web Annotation", is the reference):

* every annotation → an ``Annotation`` whose target is the base image with an
  ``SvgSelector`` in image pixels (plus a ``FragmentSelector`` ``xywh=pixel:`` for an
  unrotated rect or text box, the selector Annotorious and most viewers read first);
  a text annotation's text is a ``TextualBody`` with purpose ``describing``;
* every comment thread → ``TextualBody``\\ s on the annotation it is anchored to: the first
  message ``commenting``, the others ``replying``, each with its ``creator`` and times;
  a thread pinned to a point or a region is an ``Annotation`` of its own (motivation
  ``commenting``, the region as ``xywh=``, a point as ``xywh=pixel:x,y,0,0`` and an SVG
  circle of radius 0);
* ``creator`` is the annotation's ``createdBy``; ``modified`` its ``updatedAt``.

Everything W3C has no word for (type, style, z-order, groups, lock, arrowheads, thread
status) rides along in ``annotd:``-prefixed properties, so an annotd page imports back
without loss while other tools simply ignore them; :data:`CONTEXT` defines each of them
(the objects as ``@json`` literals), so JSON-LD processors keep them too. Deleted messages
are not exported.

Selectors are written in the forms Annotorious 3 reads (it reads only the *first* selector
of a target, so that one must be the most readable): see :func:`~annotd.formats.shapes.to_svg`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from ..canvas.codec import anchor_to_json, annotation_to_fields
from ..canvas.model import Annotation, CanvasView, Message, Thread
from .geometry import num
from .shapes import point_svg, region_svg, to_svg


def _json_term(name: str) -> dict[str, str]:
    return {"@id": f"annotd:{name}", "@type": "@json"}


CONTEXT: list[Any] = ["http://www.w3.org/ns/anno.jsonld", {
    "@version": 1.1,
    "annotd": "urn:annotd:terms:",
    # Objects annotd reads back whole are JSON literals: a JSON-LD processor would drop
    # their keys (no term for ``style``, ``status``…) where "@json" keeps them verbatim.
    "annotd:annotation": _json_term("annotation"),
    "annotd:thread": _json_term("thread"),
    "annotd:anchor": _json_term("anchor"),
    "annotd:image": _json_term("image"),
    "annotd:room": {"@id": "annotd:room"},
    "annotd:seq": {"@id": "annotd:seq", "@type": "xsd:integer"},
    "annotd:tag": {"@id": "annotd:tag"},
    "annotd:generated": {"@id": "annotd:generated", "@type": "xsd:dateTime"},
}]
"""The W3C context plus a JSON-LD 1.1 definition of every ``annotd:`` term this module writes."""
MEDIA_TYPE = 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"'
MEDIA_FRAGMENTS = "http://www.w3.org/TR/media-frags/"
EXTENSION = "annotd:annotation"
"""The annotation's stored fields (minus ids and server stamps): lossless round trips."""
THREAD = "annotd:thread"
ANCHOR = "annotd:anchor"


def iso(ms: int | None) -> str | None:
    if not ms:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def agent(user: str) -> dict[str, str]:
    return {"id": f"urn:annotd:user:{quote(user, safe='')}", "type": "Person", "name": user}


class _Ids:
    """IRIs for the page: under ``base_url`` when the caller knows where the server is."""

    def __init__(self, room_id: str, base_url: str | None) -> None:
        self.room = room_id
        self.base = base_url.rstrip("/") if base_url else None

    def _link(self, path: str, urn: str) -> str:
        return f"{self.base}/v1/rooms/{self.room}/{path}" if self.base else f"urn:annotd:room:{self.room}:{urn}"

    def annotation(self, aid: str) -> str:
        return self._link(f"annotations/{aid}", f"annotation:{aid}")

    def thread(self, tid: str) -> str:
        return self._link(f"comments/{tid}", f"comment:{tid}")

    def image(self, sha: str | None) -> str:
        if sha is None:
            return f"urn:annotd:room:{self.room}:canvas"
        if self.base:
            return f"{self.base}/v1/rooms/{self.room}/image?sha256={sha}"
        return f"urn:annotd:image:sha256:{sha}"

    def page(self, seq: int) -> str:
        return self._link(f"formats/w3c?seq={seq}", f"seq:{seq}")


def _extension(a: Annotation) -> dict[str, Any]:
    fields = annotation_to_fields(a)
    for key in ("id", "createdBy", "updatedBy", "updatedAt"):
        fields.pop(key, None)
    return fields


def _message_body(t: Thread, m: Message, first: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "TextualBody",
        "purpose": "commenting" if first else "replying",
        "value": m.body,
        "format": "text/plain",
        "creator": agent(m.author),
    }
    if m.createdAt:
        body["created"] = iso(m.createdAt)
    if m.editedAt:
        body["modified"] = iso(m.editedAt)
    ext: dict[str, Any] = {"id": t.id}
    if first:
        ext["status"] = t.status
        if t.status == "resolved":
            ext["resolvedBy"] = t.resolvedBy
            ext["resolvedAt"] = t.resolvedAt
        if t.anchor.kind == "annotation":
            ext["offsetX"], ext["offsetY"] = t.anchor.offsetX, t.anchor.offsetY
    body[THREAD] = ext
    return body


def thread_bodies(t: Thread) -> list[dict[str, Any]]:
    live = [m for m in t.messages if not m.deleted]
    return [_message_body(t, m, i == 0) for i, m in enumerate(live)]


def _annotation(a: Annotation, ids: _Ids, source: str, threads: list[Thread]) -> dict[str, Any]:
    selectors: list[dict[str, Any]] = []
    if a.type in ("rect", "text") and not a.rotation:
        selectors.append({"type": "FragmentSelector", "conformsTo": MEDIA_FRAGMENTS,
                          "value": f"xywh=pixel:{num(a.x)},{num(a.y)},{num(a.w)},{num(a.h)}"})
    selectors.append({"type": "SvgSelector", "value": to_svg(a)})
    bodies: list[dict[str, Any]] = []
    if a.type == "text" and a.text:
        bodies.append({"type": "TextualBody", "purpose": "describing", "value": a.text, "format": "text/plain"})
    for t in threads:
        bodies.extend(thread_bodies(t))
    out: dict[str, Any] = {
        "id": ids.annotation(a.id),
        "type": "Annotation",
        "motivation": "describing" if a.type == "text" else "highlighting",
    }
    if a.createdBy:
        out["creator"] = agent(a.createdBy)
    if a.updatedAt:
        out["modified"] = iso(a.updatedAt)
    if bodies:
        out["body"] = bodies
    out["target"] = {"source": source, "selector": selectors}
    out[EXTENSION] = _extension(a)
    return out


def _comment_annotation(t: Thread, ids: _Ids, source: str) -> dict[str, Any] | None:
    bodies = thread_bodies(t)
    if not bodies:
        return None
    x, y = t.pin
    if t.anchor.kind == "region":
        a = t.anchor
        selector: list[dict[str, Any]] = [
            {"type": "FragmentSelector", "conformsTo": MEDIA_FRAGMENTS,
             "value": f"xywh=pixel:{num(a.x)},{num(a.y)},{num(a.w)},{num(a.h)}"},
            {"type": "SvgSelector", "value": region_svg(a.x, a.y, a.w, a.h)},
        ]
        anchor = anchor_to_json(a)
    else:  # a point, or an annotation anchor whose annotation is gone: where its pin is
        # A zero-size box first (Annotorious reads only the first selector and has no point
        # shape; the Annotorious 2 point tool wrote points this way), the circle for SVG readers.
        selector = [{"type": "FragmentSelector", "conformsTo": MEDIA_FRAGMENTS, "value": f"xywh=pixel:{num(x)},{num(y)},0,0"},
                    {"type": "SvgSelector", "value": point_svg(x, y)}]
        anchor = {"kind": "point", "x": x, "y": y}
    out: dict[str, Any] = {"id": ids.thread(t.id), "type": "Annotation", "motivation": "commenting"}
    if t.createdBy:
        out["creator"] = agent(t.createdBy)
    if t.createdAt:
        out["created"] = iso(t.createdAt)
    out["body"] = bodies
    out["target"] = {"source": source, "selector": selector}
    out[ANCHOR] = anchor
    return out


def to_page(view: CanvasView, *, room_id: str, seq: int, tag: str | None = None,
            base_url: str | None = None, generated_ms: int = 0) -> dict[str, Any]:
    """The whole canvas of ``view`` as an ``AnnotationPage`` (annotations in paint order,
    then the threads not anchored to an existing annotation, by creation time)."""
    ids = _Ids(room_id, base_url)
    source = ids.image(view.image.sha256 if view.image else None)
    present = {a.id for a in view.annotations}
    by_annotation: dict[str, list[Thread]] = {}
    loose: list[Thread] = []
    for t in view.threads:
        if t.anchor.kind == "annotation" and t.anchor.annotationId in present:
            by_annotation.setdefault(t.anchor.annotationId, []).append(t)  # type: ignore[arg-type]
        else:
            loose.append(t)
    items = [_annotation(a, ids, source, by_annotation.get(a.id, [])) for a in view.annotations]
    items += [c for t in loose if (c := _comment_annotation(t, ids, source)) is not None]
    page: dict[str, Any] = {
        "@context": CONTEXT,
        "id": ids.page(seq),
        "type": "AnnotationPage",
        "startIndex": 0,
        "annotd:room": room_id,
        "annotd:seq": seq,
    }
    if tag is not None:
        page["annotd:tag"] = tag
    if view.image is not None:
        page["annotd:image"] = {"sha256": view.image.sha256, "width": view.image.width,
                                "height": view.image.height, "mime": view.image.mime}
    if generated_ms:
        page["annotd:generated"] = iso(generated_ms)
    page["items"] = items
    return page
