"""Paint order: move one annotation by rewriting only its fractional-index ``z``."""

from __future__ import annotations

from typing import Any

import pycrdt

from annotd.base.errors import NotFound
from annotd.base.identifiers import is_id
from annotd.canvas import schema
from annotd.canvas.fractional import FIRST_KEY, is_valid_key, key_between
from annotd.canvas.ops.write import check_now, require_annotation, root, write_existing
from annotd.canvas.reader import read_entry, read_fields
from annotd.canvas.validate import validate_direction, validate_id, validate_user


def _paint_order(doc: pycrdt.Doc) -> list[tuple[str, str]]:
    """(z, id) of every showable annotation, in paint order, as the view sorts them."""
    out = []
    for ann_id, f in read_fields(doc, schema.ROOT_ANNOTATIONS, ("z", "type")).items():
        if not is_id(ann_id) or not isinstance(type_ := f.get("type"), str) or type_ not in schema.TYPE_FIELDS:
            continue
        z = f.get("z", FIRST_KEY)
        out.append((z if is_valid_key(z) else FIRST_KEY, ann_id))
    out.sort()
    return out


def reorder(doc: pycrdt.Doc, annotation_id: Any, direction: Any, user_id: str, now_ms: int) -> str:
    """Move one annotation in the paint order by rewriting only its ``z``:

    * ``forward``/``backward``: past the next/previous annotation (and past any others
      that share that neighbour's key — keys can tie after concurrent inserts);
    * ``front``/``back``: above/below all others.

    Locked annotations may be reordered. Returns the new ``z`` (unchanged, and nothing
    written, if it is already there). Raises ``NotFound``, ``InvalidParams``.
    """
    annotation_id = validate_id(annotation_id, "id")
    direction = validate_direction(direction)
    user_id = validate_user(user_id)
    now_ms = check_now(now_ms)
    with doc.transaction():
        order = _paint_order(doc)
        index = next((i for i, (_, a) in enumerate(order) if a == annotation_id), None)
        if index is None:
            raise NotFound(f"annotation {annotation_id!r} not found", data={"id": annotation_id})
        z = order[index][0]
        others = [k for i, (k, _) in enumerate(order) if i != index]
        new_z: str | None = None
        if direction in ("front", "forward") and index < len(order) - 1:
            if direction == "front":
                new_z = key_between(others[-1], None)
            else:
                lo = order[index + 1][0]
                hi = next((k for k in others if k > lo), None)
                new_z = key_between(lo, hi)
        elif direction in ("back", "backward") and index > 0:
            if direction == "back":
                new_z = key_between(None, others[0])
            else:
                hi = order[index - 1][0]
                lo_z = next((k for k in reversed(others) if k < hi), None)
                new_z = key_between(lo_z, hi)
        if new_z is None:
            return z
        ymap = root(doc, schema.ROOT_ANNOTATIONS)[annotation_id]
        if isinstance(ymap, pycrdt.Map):
            ymap["z"] = new_z
            ymap["updatedBy"] = user_id
            ymap["updatedAt"] = now_ms
        else:
            write_existing(
                doc,
                require_annotation(doc, annotation_id),
                read_entry(doc, schema.ROOT_ANNOTATIONS, annotation_id),
                {"z": new_z},
                user_id,
                now_ms,
            )
        return new_z
