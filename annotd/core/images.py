"""Base images: validation with Pillow and storage by content hash.

Why re-encode sometimes: browsers show a JPEG rotated by its EXIF orientation, and
annotation coordinates are in the pixel space the user sees. When an upload carries a
non-trivial orientation the server applies it once (``ImageOps.exif_transpose``) and
stores the upright image, so every client and the renderer agree on width and height.

Validation order matters for safety: the byte limit first (cheap), then the header only
(format and declared size, refusing decompression bombs *before* decoding), then a full
decode to catch truncated files.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from ..base.errors import InvalidImage, PayloadTooLarge, UnsupportedMedia

FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
ACCEPTED_TYPES = frozenset(FORMATS.values()) | {"image/jpg"}


@dataclass(frozen=True, slots=True)
class StoredImage:
    sha256: str
    mime: str
    width: int
    height: int
    data: bytes

    def ref(self) -> dict[str, object]:
        return {"sha256": self.sha256, "width": self.width, "height": self.height, "mime": self.mime}


def validate(data: bytes, *, max_bytes: int, max_pixels: int) -> StoredImage:
    """Check an upload and return what to store; raise a 4xx ``AnnotdError`` otherwise.

    CPU-heavy (a full decode): call it off the event loop.
    """
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"image is {len(data)} bytes; the limit is {max_bytes}")
    if not data:
        raise InvalidImage("image body is empty")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            raise UnsupportedMedia("not a PNG, JPEG or WebP image") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise InvalidImage("image has too many pixels") from None
        except (OSError, ValueError, SyntaxError) as exc:
            raise InvalidImage(f"unreadable image header: {exc}") from None
        with img:
            if img.format not in FORMATS:
                raise UnsupportedMedia(f"{img.format} images are not accepted; use PNG, JPEG or WebP")
            width, height = img.size
            if width < 1 or height < 1:
                raise InvalidImage("image has no pixels")
            if width * height > max_pixels:
                raise InvalidImage(f"image is {width}x{height} = {width * height} pixels; the limit is {max_pixels}")
            try:
                img.load()
            except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
                raise InvalidImage(f"image data is truncated or corrupt: {exc}") from None
            mime = FORMATS[img.format]
            orientation = img.getexif().get(0x0112, 1)
            if orientation not in (None, 1):
                upright = ImageOps.exif_transpose(img)
                data = _encode(upright, img.format)
                width, height = upright.size
    return StoredImage(hashlib.sha256(data).hexdigest(), mime, width, height, data)


def _encode(img: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        img.convert("RGB").save(out, "JPEG", quality=95, subsampling=0)
    elif fmt == "WEBP":
        img.save(out, "WEBP", lossless=True)
    else:
        img.save(out, "PNG")
    return out.getvalue()


class ImageStore:
    """Image bytes by sha256, shared by rooms; a room releases its hashes when deleted."""

    def __init__(self) -> None:
        self._images: dict[str, StoredImage] = {}
        self._users: dict[str, set[str]] = {}

    def put(self, room_id: str, image: StoredImage) -> None:
        self._images.setdefault(image.sha256, image)
        self._users.setdefault(image.sha256, set()).add(room_id)

    def get(self, sha256: str) -> StoredImage | None:
        return self._images.get(sha256)

    def room_images(self, room_id: str) -> dict[str, StoredImage]:
        """Every image ``room_id`` ever had (a bundle keeps those its head and tags show)."""
        return {d: self._images[d] for d, users in self._users.items() if room_id in users and d in self._images}

    def release_room(self, room_id: str) -> None:
        for digest, users in list(self._users.items()):
            users.discard(room_id)
            if not users:
                del self._users[digest]
                self._images.pop(digest, None)

    @property
    def total_bytes(self) -> int:
        return sum(len(i.data) for i in self._images.values())
