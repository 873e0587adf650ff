"""``annotd room save|load``, ``annotd export --format w3c|coco|bundle`` and ``annotd import``:
talk to a running daemon's side port and move files in and out.

Exit status like ``annotd export``: 0 done; 1 the daemon refused or is unreachable (one
line on stderr says why); 2 bad options or a file the daemon found invalid. Files are
written atomically (temporary file, then rename), so a failed download never leaves half
a file where the user asked for one.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any, TextIO

import aiohttp
import orjson

from .export import EXIT_BAD_OPTIONS, EXIT_FAILED, EXIT_OK, ExportFailed, error_of

DATA_FORMATS = {"w3c": "w3c", "wadm": "w3c", "coco": "coco"}
"""CLI format names → the daemon's ``formats/{name}`` route (``wadm`` = W3C Web Annotation Data Model)."""
EXPORT_DATA_FORMATS = (*DATA_FORMATS, "bundle")
"""What ``annotd export --format`` takes besides the image formats."""
TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=600)
CHUNK = 64 * 1024


BAD_FILE = ("invalid_params", "payload_too_large", "unsupported_media", "invalid_image", "bad_request")
"""Error codes that mean the user's file or options are at fault (exit status 2)."""


async def _error_of(resp: aiohttp.ClientResponse) -> ExportFailed:
    return await error_of(resp, BAD_FILE)


def _read(path: Path, what: str, err: TextIO) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError as exc:
        err.write(f"annotd {what}: cannot read {path}: {exc.strerror or exc}\n")
        return None


async def _download(url: str, path: str, params: dict[str, str], out_path: Path) -> int:
    async with aiohttp.ClientSession(base_url=url.rstrip("/"), timeout=TIMEOUT,
                                     headers={"X-Annotd-User": "annotd-cli"}) as http:
        async with http.get(path, params=params) as resp:
            if resp.status != 200:
                raise await _error_of(resp)
            tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.part")
            size = 0
            try:
                with tmp.open("wb") as f:
                    async for chunk in resp.content.iter_chunked(CHUNK):
                        f.write(chunk)
                        size += len(chunk)
                tmp.replace(out_path)
            finally:
                tmp.unlink(missing_ok=True)
            return size


async def _post(url: str, path: str, params: dict[str, str], body: bytes, content_type: str) -> dict[str, Any]:
    async with aiohttp.ClientSession(base_url=url.rstrip("/"), timeout=TIMEOUT,
                                     headers={"X-Annotd-User": "annotd-cli"}) as http:
        async with http.post(path, params=params, data=body, headers={"Content-Type": content_type}) as resp:
            if resp.status not in (200, 201):
                raise await _error_of(resp)
            return await resp.json()  # type: ignore[no-any-return]


def _run(what: str, coro: Any, err: TextIO) -> tuple[int, Any]:
    try:
        return EXIT_OK, asyncio.run(coro)
    except ExportFailed as exc:
        err.write(f"annotd {what}: {exc}\n")
        return exc.code, None
    except aiohttp.ClientConnectionError as exc:
        err.write(f"annotd {what}: cannot reach the daemon: {exc}\n")
    except (TimeoutError, aiohttp.ClientError) as exc:
        err.write(f"annotd {what}: HTTP error: {exc or type(exc).__name__}\n")
    except OSError as exc:
        err.write(f"annotd {what}: {exc.strerror or exc}\n")
    return EXIT_FAILED, None


def _check_out(out_path: Path, err: TextIO, what: str) -> bool:
    if not out_path.parent.is_dir():
        err.write(f"annotd {what}: directory {out_path.parent} does not exist\n")
        return False
    return True


def save_room(url: str, room_id: str, out_path: Path, *, stderr: TextIO | None = None) -> int:
    """``annotd room save``: download ``room_id`` as a bundle into ``out_path``."""
    err = stderr or sys.stderr
    if not _check_out(out_path, err, "room save"):
        return EXIT_BAD_OPTIONS
    code, size = _run("room save", _download(url, f"/v1/rooms/{room_id}/bundle", {}, out_path), err)
    if code == EXIT_OK:
        err.write(f"saved room {room_id} to {out_path} ({size} bytes)\n")
    return code


def load_room(url: str, in_path: Path, room_id: str | None, *, stderr: TextIO | None = None) -> int:
    """``annotd room load``: create a room from a bundle file (``room_id`` renames it)."""
    err = stderr or sys.stderr
    data = _read(in_path, "room load", err)
    if data is None:
        return EXIT_BAD_OPTIONS
    path = f"/v1/rooms/{room_id}/bundle" if room_id else "/v1/bundles"
    code, result = _run("room load", _post(url, path, {}, data, "application/zip"), err)
    if code == EXIT_OK:
        room = result["room"]
        tags = ", ".join(f"{v['tag']} (seq {v['savedSeq']} → {v['seq']})" for v in result["versions"]) or "none"
        err.write(f"loaded room {room['id']} at seq {room['headSeq']}; versions: {tags}\n")
        for w in result.get("warnings", []):
            err.write(f"warning: {w}\n")
    return code


def export_data(url: str, room_id: str, out_path: Path, fmt: str, opts: dict[str, Any], *,
                stderr: TextIO | None = None) -> int:
    """``annotd export --format w3c|wadm|coco|bundle``: a data export written to ``out_path``."""
    err = stderr or sys.stderr
    if fmt == "bundle":
        if opts.get("tag") is not None or opts.get("seq") is not None:
            err.write("annotd export: a bundle is the whole room; --tag and --seq do not apply\n")
            return EXIT_BAD_OPTIONS
        return save_room(url, room_id, out_path, stderr=err)
    if not _check_out(out_path, err, "export"):
        return EXIT_BAD_OPTIONS
    params: dict[str, str] = {}
    if opts.get("tag") is not None:
        params["tag"] = opts["tag"]
    if opts.get("seq") is not None:
        params["seq"] = str(opts["seq"])
    route = DATA_FORMATS[fmt]
    if route == "w3c":
        params["baseUrl"] = url.rstrip("/")
    categories = {}
    for item in opts.get("category") or ():
        colour, sep, name = item.partition("=")
        if not sep:
            err.write(f"annotd export: --category {item!r} must be COLOUR=NAME, e.g. '#e03131=crack'\n")
            return EXIT_BAD_OPTIONS
        categories[colour] = name
    if categories:
        params["categories"] = orjson.dumps(categories).decode()
    code, size = _run("export", _download(url, f"/v1/rooms/{room_id}/formats/{route}", params, out_path), err)
    if code == EXIT_OK:
        err.write(f"wrote {out_path}: {size} bytes, {fmt}\n")
    return code


def import_data(url: str, room_id: str, in_path: Path, fmt: str, image_id: int | None, labels: bool, *,
                stderr: TextIO | None = None) -> int:
    """``annotd import``: add a W3C page or a COCO file's annotations to a room."""
    err = stderr or sys.stderr
    data = _read(in_path, "import", err)
    if data is None:
        return EXIT_BAD_OPTIONS
    route = DATA_FORMATS[fmt]
    params: dict[str, str] = {}
    if route == "coco":
        params["labels"] = "true" if labels else "false"
        if image_id is not None:
            params["imageId"] = str(image_id)
    code, result = _run("import", _post(url, f"/v1/rooms/{room_id}/formats/{route}", params, data,
                                        "application/json"), err)
    if code == EXIT_OK:
        err.write(f"imported {len(result['created'])} annotation(s) and {len(result['threads'])} thread(s) "
                  f"into {room_id} at seq {result['seq']}; skipped {len(result['skipped'])}\n")
        for s in result["skipped"]:
            err.write(f"skipped item {s['index']}: {s['reason']}\n")
        for n in result["notes"]:
            err.write(f"note: {n}\n")
    return code
