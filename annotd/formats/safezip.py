"""Read an untrusted zip archive without letting it take the process down.

Why not just ``zipfile.ZipFile``: it parses the whole central directory eagerly (a 100 MB
file can declare two million entries), trusts the declared sizes, and happily inflates a
few kilobytes into gigabytes. A bundle comes from a user's disk or an HTTP body, so every
check runs *before* the expensive step it protects:

1. the byte length of the archive (``max_bytes``);
2. the entry count in the end-of-central-directory record, read before ``ZipFile`` parses
   the directory (``max_entries``); ZIP64 archives are refused (annotd never writes them);
3. the sum of the declared uncompressed sizes (``max_uncompressed_bytes``);
4. while inflating an entry, the actual bytes against its declared size (a lying header
   stops at the first extra chunk), and the CRC (checked by ``zipfile`` at the end).

Errors are :class:`~annotd.base.errors.PayloadTooLarge` (413) for limits and
:class:`~annotd.base.errors.InvalidParams` (422) naming ``bundle`` or ``bundle.<entry>`` for
anything malformed.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass

from ..base.errors import InvalidParams, PayloadTooLarge

EOCD_SIGNATURE = b"PK\x05\x06"
EOCD_SIZE = 22
MAX_COMMENT = 0xFFFF
CHUNK = 1 << 16
ALLOWED_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
UNREADABLE_FLAGS = 0x1 | 0x20 | 0x40
"""General-purpose flag bits 0 (encrypted), 5 (compressed patched data) and 6 (strong
encryption): zipfile raises NotImplementedError on the last two, so they are refused first."""


@dataclass(frozen=True, slots=True)
class ZipLimits:
    max_bytes: int
    max_uncompressed_bytes: int
    max_entries: int


def _declared_entries(data: bytes) -> int:
    """The entry count of the end-of-central-directory record (no directory parsing)."""
    start = max(0, len(data) - EOCD_SIZE - MAX_COMMENT)
    at = data.rfind(EOCD_SIGNATURE, start)
    if at < 0 or len(data) - at < EOCD_SIZE:
        raise InvalidParams("bundle", "not a complete zip file (no end of central directory: truncated?)")
    disk_entries, total_entries = struct.unpack_from("<HH", data, at + 8)
    if total_entries == 0xFFFF or disk_entries == 0xFFFF:
        raise InvalidParams("bundle", "ZIP64 archives are not supported")
    return int(total_entries)


class SafeZip:
    """A zip archive whose size, entry count and declared sizes were checked on open."""

    def __init__(self, data: bytes, limits: ZipLimits) -> None:
        if len(data) > limits.max_bytes:
            raise PayloadTooLarge(f"bundle is {len(data)} bytes; the limit is {limits.max_bytes}",
                                  data={"field": "bundle", "limit": limits.max_bytes})
        if not data.startswith(b"PK\x03\x04"):
            raise InvalidParams("bundle", "not an annotd bundle (expected a zip archive)")
        entries = _declared_entries(data)
        if entries > limits.max_entries:
            raise PayloadTooLarge(f"bundle has {entries} entries; the limit is {limits.max_entries}",
                                  data={"field": "bundle", "limit": limits.max_entries})
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, NotImplementedError) as exc:
            # NotImplementedError: a central directory entry claiming a newer zip version
            raise InvalidParams("bundle", f"not a readable zip file: {exc}") from None
        infos = self._zip.infolist()
        if len(infos) > limits.max_entries:  # the record lied about its count
            raise PayloadTooLarge(f"bundle has {len(infos)} entries; the limit is {limits.max_entries}",
                                  data={"field": "bundle", "limit": limits.max_entries})
        self._infos: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            name = info.filename
            if name in self._infos:
                raise InvalidParams(f"bundle.{name}", "appears twice in the archive")
            if info.flag_bits & UNREADABLE_FLAGS:
                raise InvalidParams(f"bundle.{name}", "is encrypted or uses a zip feature annotd does not read "
                                    "(patched data, strong encryption)")
            if info.compress_type not in ALLOWED_METHODS:
                raise InvalidParams(f"bundle.{name}", "uses a compression method other than stored or deflate")
            self._infos[name] = info
            total += info.file_size
        if total > limits.max_uncompressed_bytes:
            raise PayloadTooLarge(
                f"bundle would inflate to {total} bytes; the limit is {limits.max_uncompressed_bytes}",
                data={"field": "bundle", "limit": limits.max_uncompressed_bytes})

    def names(self) -> list[str]:
        return list(self._infos)

    def has(self, name: str) -> bool:
        return name in self._infos

    def read(self, name: str, max_bytes: int | None = None) -> bytes:
        """The inflated bytes of entry ``name``, never more than it declared (or ``max_bytes``)."""
        info = self._infos.get(name)
        if info is None:
            raise InvalidParams(f"bundle.{name}", "is missing from the archive")
        cap = info.file_size if max_bytes is None else min(info.file_size, max_bytes)
        if info.file_size > cap:
            raise PayloadTooLarge(f"bundle entry {name} is {info.file_size} bytes; the limit is {cap}",
                                  data={"field": f"bundle.{name}", "limit": cap})
        out = bytearray()
        try:
            with self._zip.open(info) as f:
                while chunk := f.read(CHUNK):
                    out += chunk
                    if len(out) > cap:
                        raise InvalidParams(f"bundle.{name}", "inflates to more than its declared size")
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as exc:
            # NotImplementedError: a local header that contradicts the checked central directory
            raise InvalidParams(f"bundle.{name}", f"is corrupt: {exc}") from None
        if len(out) != info.file_size:
            raise InvalidParams(f"bundle.{name}", "is shorter than its declared size")
        return bytes(out)
