"""Document-level operations: the schema version of a fresh room, the base image."""

from __future__ import annotations

from typing import Any

import pycrdt

from annotd.canvas import schema
from annotd.canvas.ops.write import root, same
from annotd.canvas.validate import validate_image_ref


def ensure_schema(doc: pycrdt.Doc) -> bool:
    """Write ``meta.schemaVersion`` in a fresh room; True if it wrote (call on room
    creation; a no-op on an initialised room)."""
    meta = root(doc, schema.ROOT_META)
    with doc.transaction():
        if "schemaVersion" in meta:
            return False
        meta["schemaVersion"] = schema.SCHEMA_VERSION
        return True


def set_image(doc: pycrdt.Doc, ref: Any) -> dict[str, Any]:
    """Replace ``meta.image`` atomically with ``{sha256, width, height, mime}`` (validated
    as field ``image``); returns the stored object."""
    image = validate_image_ref(ref)
    meta = root(doc, schema.ROOT_META)
    with doc.transaction():
        if "schemaVersion" not in meta:
            meta["schemaVersion"] = schema.SCHEMA_VERSION
        current = meta.get("image")
        if not (isinstance(current, dict) and all(same(current.get(k), v) for k, v in image.items())):
            meta["image"] = image
    return image
