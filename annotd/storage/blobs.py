"""Base images as content-addressed files next to the database.

Why files and not rows: an image is up to ``limits.max_image_bytes`` (20 MB). As a row it
would be written twice (into the WAL, then by the checkpoint into the database) and, worse,
inside the writer's transaction: every update waiting for the same group commit would wait
for 20 MB to be written and synced. As a file it is written once, by the thread that asked
(off the writer), before its metadata row is committed; the row is the only thing the
writer does. BENCHMARKS.md ("Storage") has the measurement.

Writing is crash-safe: a temporary name in the image's folder, fsync, rename, fsync of
the folder; a file under its final name is always whole. Its name is its sha256, so it is
written at most once and checked on every read (a damaged file is refused, not served).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from .folder import FILE_MODE, fsync_dir, make_private_dir
from .records import StoreError


class DamagedImage(StoreError):
    def __init__(self, sha256: str, reason: str) -> None:
        super().__init__(f"image {sha256} is damaged on disk: {reason}")
        self.sha256 = sha256


class ImageFiles:
    def __init__(self, root: Path, *, durable: bool) -> None:
        self.root = root
        self.durable = durable
        """False with ``storage.sync = "off"``: no fsync, like the database."""
        make_private_dir(root)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def write(self, sha256: str, data: bytes) -> None:
        """Store ``data`` under its hash (nothing to do when it is already there)."""
        final = self.path(sha256)
        if final.exists():
            return
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ValueError(f"image bytes do not hash to {sha256}")
        folder = final.parent
        make_private_dir(folder)
        tmp = folder / f".{sha256}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                if self.durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        if self.durable:
            fsync_dir(folder)

    def read(self, sha256: str) -> bytes:
        try:
            data = self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise DamagedImage(sha256, "its file is missing") from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise DamagedImage(sha256, "its bytes do not match its hash")
        return data

    def remove(self, sha256: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(sha256).unlink()
