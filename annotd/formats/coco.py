"""COCO "instances" JSON: export a canvas view, import boxes and polygons into a plan.

Export (protocol.md, "COCO", is the reference):

* one ``images`` entry for the base image (``file_name`` ``<room>.<ext>``, its size);
* an ``annotations`` entry per rect, ellipse, polygon and freehand stroke: ``segmentation``
  is its outline in image pixels with rotation applied (an ellipse as a 64-gon, a stroke
  as the polygon through its points), ``bbox`` the box around that, ``area`` the polygon's;
  text, lines and arrows have no region and are not exported (texts serve as labels);
* the category of a shape, first rule that gives one: (1) the text of a **linked label**,
  i.e. the first text annotation (paint order) in the shape's innermost group, first line;
  (2) the ``categories`` mapping of the request, stroke colour (``#rrggbb``) → name;
  (3) the stroke colour itself. Categories are numbered 1.. in name order.

Import reads ``bbox`` and polygon ``segmentation``\\ s of one image: an axis-aligned
four-corner polygon equal to its bbox becomes a rect, other polygons become polygons (several
polygons of one object are grouped), RLE masks and annotations without segmentation become
their bbox as a rect (noted). With ``labels`` each object gets its category name as a text
label grouped with it (rule 1 above, so categories survive a round trip) and a colour per
category. ``attributes.annotdType`` written by annotd's export restores rects, ellipses and
strokes exactly. When the file's image size differs from the room's base image, coordinates
are scaled to the room's image (noted).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from ..base.errors import InvalidParams
from ..base.identifiers import COLOR_RE
from ..canvas import schema as S
from ..canvas.box import Pt, bbox
from ..canvas.model import Annotation, CanvasView
from ..canvas.validate import validate_annotation_create
from .geometry import outline, polygon_area
from .plan import DraftAnnotation, ImportPlan, check_importable, label_draft

REGION_TYPES = ("rect", "ellipse", "polygon", "freehand")
PALETTE = ("#e03131", "#1971c2", "#2f9e44", "#f08c00", "#9c36b5", "#0c8599", "#e8590c", "#5c940d", "#c2255c", "#364fc7")
_EXT = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
MAX_CATEGORY_LENGTH = 200


def _r(v: float) -> float:
    return round(v, 4) + 0.0  # + 0.0 turns -0.0 into 0.0


def _label_text(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first.strip()[:MAX_CATEGORY_LENGTH]


def _stroke(a: Annotation) -> str:
    s = a.style.stroke.lower()
    return s[:7] if s != "none" else "none"


def normalize_categories(mapping: dict[str, Any] | None) -> dict[str, str]:
    """The request's style → category mapping, keys as ``#rrggbb`` (``InvalidParams`` otherwise)."""
    out: dict[str, str] = {}
    for key, name in (mapping or {}).items():
        if not isinstance(key, str) or not COLOR_RE.fullmatch(key):
            raise InvalidParams(f"categories.{key}", "keys must be stroke colours #rrggbb or #rrggbbaa")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_CATEGORY_LENGTH:
            raise InvalidParams(f"categories.{key}", f"must be a category name of 1 to {MAX_CATEGORY_LENGTH} characters")
        out[key.lower()[:7]] = name.strip()
    return out


def category_of(a: Annotation, labels: dict[str, str], mapping: dict[str, str]) -> str:
    """The documented rule: linked label text, else mapped stroke colour, else the colour."""
    if a.groupIds and a.groupIds[0] in labels:
        return labels[a.groupIds[0]]
    stroke = _stroke(a)
    return mapping.get(stroke, stroke if stroke != "none" else "annotation")


def to_coco(view: CanvasView, *, room_id: str, seq: int, tag: str | None = None,
            categories: dict[str, str] | None = None, generated_ms: int = 0) -> dict[str, Any]:
    mapping = categories or {}
    labels: dict[str, str] = {}
    for a in view.annotations:
        if a.type == "text" and a.groupIds and a.groupIds[0] not in labels and _label_text(a.text):
            labels[a.groupIds[0]] = _label_text(a.text)
    rows: list[tuple[Annotation, str, list[Pt]]] = []
    skipped: list[dict[str, str]] = []
    for a in view.annotations:
        if a.type not in REGION_TYPES:
            continue
        pts = outline(a)
        if len(pts) < 3:
            skipped.append({"id": a.id, "type": a.type, "reason": "fewer than 3 points: no region"})
            continue
        rows.append((a, category_of(a, labels, mapping), pts))
    names = sorted({c for _, c, _ in rows})
    cat_id = {n: i + 1 for i, n in enumerate(names)}
    annotations: list[dict[str, Any]] = []
    extent = (0.0, 0.0)
    for n, (a, cat, pts) in enumerate(rows, start=1):
        x, y, w, h = bbox(pts)
        extent = (max(extent[0], x + w), max(extent[1], y + h))
        attrs: dict[str, Any] = {"annotdId": a.id, "annotdType": a.type, "rotation": a.rotation}
        if a.type in ("rect", "ellipse"):
            attrs["annotdBox"] = [_r(a.x), _r(a.y), _r(a.w), _r(a.h)]
        annotations.append({
            "id": n, "image_id": 1, "category_id": cat_id[cat],
            "segmentation": [[_r(v) for p in pts for v in p]],
            "area": _r(polygon_area(pts)), "bbox": [_r(x), _r(y), _r(w), _r(h)], "iscrowd": 0,
            "attributes": attrs,
        })
    img = view.image
    if img is not None:
        image = {"id": 1, "width": img.width, "height": img.height,
                 "file_name": f"{room_id}.{_EXT.get(img.mime, 'img')}", "annotd_sha256": img.sha256}
    else:
        image = {"id": 1, "width": math.ceil(extent[0]), "height": math.ceil(extent[1]), "file_name": ""}
    when = datetime.fromtimestamp(generated_ms / 1000, UTC) if generated_ms else None
    return {
        "info": {"description": f"annotd room {room_id} at seq {seq}" + (f" (tag {tag})" if tag else ""),
                 "version": "1.0", "year": when.year if when else None, "contributor": "annotd",
                 "date_created": when.isoformat(timespec="seconds").replace("+00:00", "Z") if when else None},
        "licenses": [],
        "images": [image],
        "categories": [{"id": cat_id[n], "name": n, "supercategory": ""} for n in names],
        "annotations": annotations,
        "annotd": {"room": room_id, "seq": seq, "tag": tag, "skipped": skipped},
    }


# -- import ----------------------------------------------------------------------------------


def _finite(values: Any, n: int | None = None) -> list[float] | None:
    if not isinstance(values, list) or (n is not None and len(values) != n):
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values):
        return None
    return [float(v) for v in values]


def _pick_image(coco: dict[str, Any], image_id: int | None) -> dict[str, Any] | None:
    imgs = [i for i in coco["images"] if isinstance(i, dict)]
    if image_id is not None:
        for img in imgs:
            if img.get("id") == image_id:
                return img
        raise InvalidParams("imageId", f"the file has no image with id {image_id}")
    if len(imgs) == 1:
        return imgs[0]
    if not imgs:
        return None
    listed = ", ".join(f"{i.get('id')} ({str(i.get('file_name', ''))[:40]})" for i in imgs[:10])
    raise InvalidParams("imageId", f"the file describes {len(imgs)} images; choose one: {listed}")


def _categories(coco: dict[str, Any]) -> tuple[dict[Any, str], dict[Any, str]]:
    names: dict[Any, str] = {}
    raw = coco.get("categories", [])
    if not isinstance(raw, list):
        raise InvalidParams("coco.categories", "must be an array")
    for i, c in enumerate(raw):
        if isinstance(c, dict) and isinstance(c.get("name"), str) and c["name"].strip():
            cid = c.get("id")
            if isinstance(cid, bool) or not isinstance(cid, int | str):
                raise InvalidParams(f"coco.categories[{i}].id", "must be an integer (or a string)")
            names[cid] = c["name"].strip()[:MAX_CATEGORY_LENGTH]
    order = sorted(names, key=lambda k: (str(type(k)), k))
    colors = {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(order)}
    return names, colors


def _shapes(ann: dict[str, Any], box: list[float] | None, notes: list[str]) -> list[dict[str, Any]] | str:
    """Create fields for one COCO object (several polygons → several shapes), or a reason."""
    raw_attrs = ann.get("attributes")
    attrs: dict[str, Any] = raw_attrs if isinstance(raw_attrs, dict) else {}
    kind = attrs.get("annotdType")
    seg = ann.get("segmentation")
    polys = []
    if isinstance(seg, list):
        for j, poly in enumerate(seg):
            flat = _finite(poly)
            if flat is None or len(flat) < 6 or len(flat) % 2:
                return f"segmentation[{j}] is not a polygon of at least 3 x, y pairs"
            polys.append(list(zip(flat[0::2], flat[1::2], strict=True)))
    elif seg is not None:
        notes.append("an RLE mask was imported as its bbox")
    abox = _finite(attrs.get("annotdBox"), 4)
    rotation = attrs.get("rotation", 0)
    rotation = float(rotation) if isinstance(rotation, int | float) and not isinstance(rotation, bool) else 0.0
    if kind in ("rect", "ellipse") and abox is not None:
        return [{"type": kind, "x": abox[0], "y": abox[1], "w": abox[2], "h": abox[3], "rotation": rotation}]
    if polys:
        out = []
        for pts in polys:
            x, y, w, h = bbox(pts)
            corners = {(x, y), (x + w, y), (x + w, y + h), (x, y + h)}
            if kind is None and len(pts) == 4 and set(pts) == corners:
                out.append({"type": "rect", "x": x, "y": y, "w": w, "h": h})
                continue
            flat = [v for px, py in pts for v in (px - x, py - y)]
            if kind == "freehand":
                out.append({"type": "freehand", "x": x, "y": y, "points": flat})
            else:
                out.append({"type": "polygon", "x": x, "y": y, "points": flat, "closed": True})
        return out
    if box is None:
        return "has neither a bbox [x, y, width, height] nor a polygon segmentation"
    return [{"type": "rect", "x": box[0], "y": box[1], "w": box[2], "h": box[3]}]


def _corners(f: dict[str, Any]) -> list[Pt]:
    if "points" in f:
        pts = f["points"]
        return [(f["x"] + pts[k], f["y"] + pts[k + 1]) for k in range(0, len(pts), 2)]
    return [(f["x"], f["y"]), (f["x"] + f["w"], f["y"] + f["h"])]


def _scaled(fields: dict[str, Any], sx: float, sy: float) -> dict[str, Any]:
    if sx == 1 and sy == 1:
        return fields
    out = dict(fields)
    for k, s in (("x", sx), ("y", sy), ("w", sx), ("h", sy)):
        if k in out:
            out[k] = out[k] * s
    if "points" in out:
        out["points"] = [v * (sx if i % 2 == 0 else sy) for i, v in enumerate(out["points"])]
    return out


def _image_side(img: dict[str, Any], key: str, where: str) -> int | None:
    """The file's image width or height: absent is fine (no scaling), anything but a whole
    number of pixels within annotd's coordinate range is refused rather than ignored (a
    size of 0 or 1e-300 would scale every coordinate to nothing or infinity)."""
    v = img.get(key)
    if v is None:
        return None
    ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v == int(v)
    if not ok or not 1 <= v <= S.COORD_LIMIT:
        raise InvalidParams(f"{where}.{key}", f"must be a whole number of pixels from 1 to {S.COORD_LIMIT:g}, "
                                              f"not {str(v)[:40]}")
    return int(v)


def parse_coco(coco: Any, *, image: tuple[int, int] | None, image_id: int | None = None,
               labels: bool = True) -> ImportPlan:
    """Read a COCO instances file into an import plan (see module doc). Raises
    ``InvalidParams`` naming ``coco.*`` or ``imageId`` when the file as a whole is unusable."""
    if not isinstance(coco, dict):
        raise InvalidParams("coco", "must be a COCO instances object {images, annotations, categories}")
    for key in ("images", "annotations"):
        if not isinstance(coco.get(key), list):
            raise InvalidParams(f"coco.{key}", "must be an array (this is not a COCO instances file)")
    anns = coco["annotations"]
    if len(anns) > S.MAX_ANNOTATIONS:
        raise InvalidParams("coco.annotations", f"holds {len(anns)} objects; at most {S.MAX_ANNOTATIONS} can be imported")
    chosen = _pick_image(coco, image_id)
    names, colors = _categories(coco)
    sx = sy = 1.0
    if chosen is not None:
        where = f"coco.images[{next(n for n, im in enumerate(coco['images']) if im is chosen)}]"
        fw, fh = _image_side(chosen, "width", where), _image_side(chosen, "height", where)
        if image is not None and fw is not None and fh is not None and (fw, fh) != image:
            sx, sy = image[0] / fw, image[1] / fh
    plan = ImportPlan()
    if (sx, sy) != (1.0, 1.0):
        plan.notes.append(f"coordinates scaled by {sx:g} x {sy:g} from the file's image size to the room's")
    other = 0
    for i, ann in enumerate(anns):
        if not isinstance(ann, dict):
            plan.skip(i, "is not an object")
            continue
        if chosen is not None and ann.get("image_id") != chosen.get("id"):
            other += 1
            continue
        notes: list[str] = []
        box = _finite(ann.get("bbox"), 4)
        if box is not None and (box[2] < 0 or box[3] < 0):
            box = None
        shapes = _shapes(ann, box, notes)
        if isinstance(shapes, str):
            plan.skip(i, shapes, ann.get("id"))
            continue
        cat = ann.get("category_id")
        known = isinstance(cat, int | str) and not isinstance(cat, bool)
        name = names.get(cat, f"category {cat}") if known else "annotation"
        color = colors.get(cat, PALETTE[0]) if known else PALETTE[0]
        try:
            valid = [validate_annotation_create({**_scaled(f, sx, sy), "style": {"stroke": color}}, f"coco.annotations[{i}]")
                     for f in shapes]
        except InvalidParams as exc:
            plan.skip(i, exc.message, ann.get("id"))
            continue
        group: tuple[str, ...] = (f"coco:{i}",) if labels or len(valid) > 1 else ()
        for j, fields in enumerate(valid):
            plan.annotations.append(DraftAnnotation(f"{i}.{j}", fields, groups=group))
        if labels:
            x, y, w, h = bbox([p for f in valid for p in _corners(f)])
            plan.annotations.append(label_draft(f"{i}.label", name, (x, y, w, h), group[0], color, image=image))
        plan.notes.extend(f"coco.annotations[{i}]: {n}" for n in notes)
    if other and other == len(anns) and chosen is not None:
        raise InvalidParams("imageId" if image_id is not None else "coco.annotations",
                            f"nothing could be imported: all {other} object(s) of the file belong to other images "
                            f"than image {str(chosen.get('id'))[:40]}")
    if other:
        plan.notes.append(f"{other} object(s) of other images in the file were not imported")
    return check_importable(plan, "coco.annotations")
