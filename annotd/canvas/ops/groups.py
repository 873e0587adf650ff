"""Groups: nested, kept as each member's ``groupIds`` (innermost first)."""

from __future__ import annotations

from typing import Any

import pycrdt

from annotd.base.errors import Conflict, InvalidParams, NotFound
from annotd.canvas import schema
from annotd.canvas.model import Annotation
from annotd.canvas.ops.write import check_now, new_id, require_annotation, write_existing
from annotd.canvas.reader import read_entry, read_fields
from annotd.canvas.validate import validate_id, validate_ids, validate_user
from annotd.canvas.view import read_annotation


def _set_group_ids(doc: pycrdt.Doc, ann: Annotation, group_ids: list[str], user_id: str, now_ms: int) -> None:
    raw = read_entry(doc, schema.ROOT_ANNOTATIONS, ann.id)
    write_existing(doc, ann, raw, {"groupIds": group_ids}, user_id, now_ms)


def group(doc: pycrdt.Doc, ids: Any, user_id: str, now_ms: int, group_id: Any = None) -> str:
    """Group annotations; returns the group id (``group_id`` if given, else a new one).

    The new id goes into each member's ``groupIds`` (innermost first) just inside the
    groups *all* members already share: grouping two members of group G nests the new
    group in G; grouping G's members with an outsider makes the new group contain G.
    Members keep their own inner groups, so the hierarchy stays a tree. One field per
    annotation is written, so a concurrent move never undoes a grouping.

    Raises ``InvalidParams`` (fewer than 2 ids, nesting deeper than ``MAX_GROUP_DEPTH``),
    ``NotFound`` (an unknown id), ``Conflict`` (``group_id`` already in use).
    """
    members = validate_ids(ids, "ids", min_count=2)
    gid = validate_id(group_id, "groupId") if group_id is not None else new_id()
    user_id = validate_user(user_id)
    now_ms = check_now(now_ms)
    with doc.transaction():
        all_groups = read_fields(doc, schema.ROOT_ANNOTATIONS, ("groupIds",))
        if any(isinstance(g := f.get("groupIds"), list) and gid in g for f in all_groups.values()):
            raise Conflict(f"group {gid!r} already exists", data={"groupId": gid})
        anns = [require_annotation(doc, a) for a in members]
        lists = [list(a.groupIds) for a in anns]
        shared = 0  # length of the common outer suffix
        while all(len(g) > shared for g in lists) and len({g[len(g) - 1 - shared] for g in lists}) == 1:
            shared += 1
        for ann, groups in zip(anns, lists, strict=True):
            cut = len(groups) - shared
            new = [*groups[:cut], gid, *groups[cut:]]
            if len(new) > schema.MAX_GROUP_DEPTH:
                raise InvalidParams("ids", f"groups would nest deeper than {schema.MAX_GROUP_DEPTH}")
            _set_group_ids(doc, ann, new, user_id, now_ms)
    return gid


def ungroup(doc: pycrdt.Doc, group_id: Any, user_id: str, now_ms: int) -> list[str]:
    """Remove ``group_id`` from every member's ``groupIds`` (inner and outer groups stay);
    returns the member ids, sorted. Raises ``NotFound`` if no annotation is in it."""
    gid = validate_id(group_id, "groupId")
    user_id = validate_user(user_id)
    now_ms = check_now(now_ms)
    with doc.transaction():
        members = sorted(
            a
            for a, f in read_fields(doc, schema.ROOT_ANNOTATIONS, ("groupIds",)).items()
            if isinstance(g := f.get("groupIds"), list) and gid in g
        )
        done = []
        for ann_id in members:
            ann = read_annotation(doc, ann_id)
            if ann is None or gid not in ann.groupIds:
                continue
            _set_group_ids(doc, ann, [g for g in ann.groupIds if g != gid], user_id, now_ms)
            done.append(ann_id)
        if not done:
            raise NotFound(f"group {gid!r} not found", data={"groupId": gid})
    return done
