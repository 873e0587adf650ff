"""The ``.annotd`` room bundle: one zip file with a manifest, Yjs history steps and image bytes.

Why a zip rather than one JSON document: images are megabytes of already-compressed bytes
(base64 would grow them by a third and force a full parse to reach the manifest), and each
part gets a sha256 in the manifest so the reader verifies every byte.

Why *steps* rather than a full state per tag: a tag's state contains every earlier tag's
state (the document only grows), so ten tags stored whole cost about five head states
(measured: 805 KB against 168 KB without the image for 1,000 annotations and 10 tags,
bench/bench_bundle.py).
Step *k* is the Yjs update that takes the document from the state after step *k - 1* to the
next tag's state; the last steps reach the head. A tag records how many steps make its state.
Loading replays the steps in order, which is exactly the short history the loaded room gets
(see :mod:`annotd.formats.restore`).

Layout (format version :data:`FORMAT_VERSION`; protocol.md, "Room bundles", is the
reference for people writing their own)::

    manifest.json            what is inside (below); written first
    steps/0001.yupdate       Yjs updates (format v1), applied in manifest order
    images/<sha256>.<ext>    a base image's bytes (PNG, JPEG or WebP)
    canvas.json              the head as the API's JSON, for people reading the file; never read back

Reading is strict: the archive passes :class:`~annotd.formats.safezip.SafeZip`, the
manifest must name this format and a version we read, every referenced part must exist and
match its sha256, every image must pass the same validation as an upload. Any problem is a
4xx naming the part (``bundle.manifest.versions[2].tag``), never a partial room.
"""

from __future__ import annotations

import hashlib
import io
import math
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from .. import __version__
from ..base.errors import AnnotdError, InvalidParams
from ..base.identifiers import SHA256_RE, TAG_RE, check_version_name, is_id
from ..canvas.schema import MAX_USER_LENGTH, SCHEMA_VERSION
from ..core import images
from ..core.images import StoredImage
from .safezip import SafeZip, ZipLimits

FORMAT = "annotd.bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CANVAS = "canvas.json"
MANIFEST_MAX_BYTES = 16 * 1024 * 1024
"""A manifest lists parts, not content: larger than this it is not one of ours."""
MEDIA_TYPE = "application/vnd.annotd.bundle+zip"
SUFFIX = ".annotd"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
"""Fixed entry timestamps: the same room gives the same bytes (only ``savedAt`` differs)."""
_EXT = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


@dataclass(frozen=True, slots=True)
class BundleLimits:
    """What a bundle may cost to read (``limits.max_bundle_*`` and the image limits)."""

    max_bytes: int
    max_uncompressed_bytes: int
    max_entries: int
    max_image_bytes: int
    max_image_pixels: int

    def zip(self) -> ZipLimits:
        return ZipLimits(self.max_bytes, self.max_uncompressed_bytes, self.max_entries)


@dataclass(frozen=True, slots=True)
class BundleVersion:
    tag: str
    seq: int
    created_at: float
    created_by: str
    step: int
    """The tag's state is the first ``step`` steps applied to an empty document."""
    name: str = ""
    """The free-text name (``name`` in the manifest, absent when the tag is the name: bundles
    written before names existed load unchanged)."""


@dataclass(frozen=True, slots=True)
class Bundle:
    """Everything a room bundle carries. The head is every step applied in order.
    ``head_seq`` and version seqs are the saving room's; a loaded room renumbers them."""

    room_id: str
    name: str
    created_at: float
    steps: tuple[bytes, ...]
    head_seq: int
    versions: tuple[BundleVersion, ...] = ()
    images: tuple[StoredImage, ...] = ()
    saved_at: float = 0.0
    generator: str = field(default=f"annotd {__version__}")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _image_path(image: StoredImage) -> str:
    return f"images/{image.sha256}.{_EXT.get(image.mime, 'bin')}"


def manifest_of(bundle: Bundle) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and the parts it names (path → bytes)."""
    parts: dict[str, bytes] = {}
    steps = []
    for i, blob in enumerate(bundle.steps, start=1):
        path = f"steps/{i:04d}.yupdate"
        parts[path] = blob
        steps.append({"path": path, "sha256": _sha(blob), "bytes": len(blob)})
    versions = [{"tag": v.tag, "seq": v.seq, "createdAt": v.created_at, "createdBy": v.created_by, "step": v.step,
                 **({"name": v.name} if v.name else {})} for v in bundle.versions]
    image_list = []
    for img in bundle.images:
        path = _image_path(img)
        parts[path] = img.data
        image_list.append({"path": path, "sha256": img.sha256, "mime": img.mime, "width": img.width,
                           "height": img.height, "bytes": len(img.data)})
    manifest = {
        "format": FORMAT,
        "formatVersion": FORMAT_VERSION,
        "schemaVersion": SCHEMA_VERSION,
        "generator": bundle.generator,
        "savedAt": bundle.saved_at,
        "room": {"id": bundle.room_id, "name": bundle.name, "createdAt": bundle.created_at},
        "head": {"seq": bundle.head_seq},
        "steps": steps,
        "versions": versions,
        "images": image_list,
    }
    return manifest, parts


def write_bundle(bundle: Bundle, canvas: Mapping[str, Any] | None = None) -> bytes:
    """Encode ``bundle`` as a ``.annotd`` zip (CPU work: run it off the event loop)."""
    manifest, parts = manifest_of(bundle)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        def put(name: str, data: bytes, compress: bool) -> None:
            info = zipfile.ZipInfo(name, _ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data, compresslevel=6 if compress else None)

        put(MANIFEST, orjson.dumps(manifest, option=orjson.OPT_INDENT_2), True)
        for path, data in parts.items():
            put(path, data, not path.startswith("images/"))  # images are compressed already
        if canvas is not None:
            put(CANVAS, orjson.dumps(canvas, option=orjson.OPT_INDENT_2), True)
    return out.getvalue()


# -- reading ------------------------------------------------------------------------------


def _obj(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidParams(field, "must be an object")
    return value


def _list(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidParams(field, "must be an array")
    return value


def _str(value: Any, field: str, max_len: int, pattern: Callable[[str], bool] | None = None) -> str:
    if not isinstance(value, str) or len(value) > max_len or (pattern is not None and not pattern(value)):
        raise InvalidParams(field, f"must be a string of at most {max_len} characters" +
                            (" matching the allowed pattern" if pattern else ""))
    return value


def _int(value: Any, field: str, lo: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise InvalidParams(field, f"must be an integer >= {lo}")
    return value


def _time(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise InvalidParams(field, "must be a non-negative number of seconds since the epoch")
    return float(value)


def _check_header(manifest: dict[str, Any]) -> None:
    if manifest.get("format") != FORMAT:
        raise InvalidParams("bundle.manifest.format", f"must be {FORMAT!r} (this is not an annotd bundle)")
    version = manifest.get("formatVersion")
    if isinstance(version, bool) or not isinstance(version, int):
        raise InvalidParams("bundle.manifest.formatVersion",
                            f"must be a number ({FORMAT_VERSION} for this server), not {_json_type(version)} {version!r}")
    if version != FORMAT_VERSION:
        raise InvalidParams("bundle.manifest.formatVersion",
                            f"{version} is not supported; this server reads version {FORMAT_VERSION}")
    schema = manifest.get("schemaVersion")
    if isinstance(schema, bool) or not isinstance(schema, int) or not 1 <= schema <= SCHEMA_VERSION:
        raise InvalidParams("bundle.manifest.schemaVersion",
                            f"{schema!r} is not supported; this server reads document schema 1..{SCHEMA_VERSION}")


def _part(zf: SafeZip, raw: Any, f: str, max_bytes: int | None = None) -> tuple[str, bytes]:
    """A manifest entry ``{path, sha256, …}``: its path and its verified bytes."""
    entry = _obj(raw, f)
    digest = entry.get("sha256")
    if not isinstance(digest, str) or not SHA256_RE.fullmatch(digest):
        raise InvalidParams(f"{f}.sha256", "must be 64 lowercase hex digits")
    path = _str(entry.get("path"), f"{f}.path", 200)
    data = zf.read(path, max_bytes)
    if _sha(data) != digest:
        raise InvalidParams(f"bundle.{path}", "does not match its sha256 (damaged file)")
    return path, data


def _read_steps(zf: SafeZip, manifest: dict[str, Any]) -> list[bytes]:
    steps = _list(manifest.get("steps"), "bundle.manifest.steps")
    return [_part(zf, raw, f"bundle.manifest.steps[{i}]")[1] for i, raw in enumerate(steps)]


def _read_images(zf: SafeZip, manifest: dict[str, Any], limits: BundleLimits) -> list[StoredImage]:
    out: list[StoredImage] = []
    for i, raw in enumerate(_list(manifest.get("images", []), "bundle.manifest.images")):
        path, data = _part(zf, raw, f"bundle.manifest.images[{i}]", limits.max_image_bytes)
        try:
            stored = images.validate(data, max_bytes=limits.max_image_bytes, max_pixels=limits.max_image_pixels)
        except AnnotdError as exc:
            raise type(exc)(f"bundle image {path}: {exc.message}", data={"field": f"bundle.{path}"}) from None
        if stored.sha256 != _sha(data):
            raise InvalidParams(f"bundle.{path}", "is not stored upright (EXIF orientation); re-upload it")
        out.append(stored)
    return out


def _read_versions(manifest: dict[str, Any], n_steps: int) -> list[BundleVersion]:
    versions: list[BundleVersion] = []
    seen: set[str] = set()
    for i, raw in enumerate(_list(manifest.get("versions", []), "bundle.manifest.versions")):
        f = f"bundle.manifest.versions[{i}]"
        entry = _obj(raw, f)
        tag = _str(entry.get("tag"), f"{f}.tag", 64, lambda s: TAG_RE.fullmatch(s) is not None)
        if tag in seen:
            raise InvalidParams(f"{f}.tag", f"{tag!r} appears twice")
        seen.add(tag)
        step = _int(entry.get("step"), f"{f}.step")
        if step > n_steps:
            raise InvalidParams(f"{f}.step", f"must be at most the number of steps ({n_steps})")
        versions.append(BundleVersion(
            tag=tag,
            seq=_int(entry.get("seq"), f"{f}.seq"),
            created_at=_time(entry.get("createdAt"), f"{f}.createdAt"),
            created_by=_str(entry.get("createdBy"), f"{f}.createdBy", MAX_USER_LENGTH),
            step=step,
            name=_version_name(entry.get("name"), f"{f}.name"),
        ))
    return versions


def _version_name(raw: Any, f: str) -> str:
    return "" if raw is None else check_version_name(raw, f)


def read_bundle(data: bytes, limits: BundleLimits) -> Bundle:
    """Decode and verify a ``.annotd`` file (CPU work: run it off the event loop).

    Raises ``PayloadTooLarge`` (a limit) or ``InvalidParams`` naming what is wrong. The Yjs
    steps are decoded when the room is rebuilt (:func:`annotd.formats.restore.plan_load`).
    """
    zf = SafeZip(data, limits.zip())
    if not zf.has(MANIFEST):
        raise InvalidParams("bundle.manifest", "manifest.json is missing (this is not an annotd bundle)")
    try:
        manifest = orjson.loads(zf.read(MANIFEST, MANIFEST_MAX_BYTES))
    except orjson.JSONDecodeError as exc:
        raise InvalidParams("bundle.manifest", f"is not valid JSON: {exc}") from None
    manifest = _obj(manifest, "bundle.manifest")
    _check_header(manifest)
    room = _obj(manifest.get("room"), "bundle.manifest.room")
    head = _obj(manifest.get("head"), "bundle.manifest.head")
    steps = _read_steps(zf, manifest)
    versions = _read_versions(manifest, len(steps))
    return Bundle(
        room_id=_str(room.get("id"), "bundle.manifest.room.id", 64, is_id),
        name=_str(room.get("name"), "bundle.manifest.room.name", 200),
        created_at=_time(room.get("createdAt"), "bundle.manifest.room.createdAt"),
        steps=tuple(steps),
        head_seq=_int(head.get("seq"), "bundle.manifest.head.seq"),
        versions=tuple(versions),
        images=tuple(_read_images(zf, manifest, limits)),
        saved_at=_time(manifest.get("savedAt", 0), "bundle.manifest.savedAt"),
        generator=_str(manifest.get("generator", ""), "bundle.manifest.generator", 200),
    )


def _json_type(value: object) -> str:
    """How JSON names ``value``'s type, for messages about a manifest field."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "the string"
    if isinstance(value, float):
        return "the number"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, dict) else type(value).__name__
