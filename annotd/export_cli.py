"""``annotd export``: ask a running daemon for an export over REST, show progress, write the file.

Exit status: 0 written; 1 the daemon refused or failed (one line on stderr says why);
2 bad options (checked here first, or refused by the daemon as invalid parameters).
Progress (status and elapsed time) goes to stderr: one updating line on a terminal, one
line per status change otherwise.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import aiohttp

from .render.options import DPI_MAX, DPI_MIN, SCALE_MAX, SCALE_MIN

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_OPTIONS = 2
POLL_S = 0.1
POLL_MAX_S = 1.0
TIMEOUT_S = 3600.0
"""Give up waiting for one export after this long."""
BACKGROUND_RE = re.compile(r"transparent|white|#[0-9a-fA-F]{6}")


class ExportFailed(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def build_body(opts: dict[str, Any]) -> dict[str, Any]:
    """The ``exports.create`` body from the click options; ``ExportFailed(..., 2)`` on bad ones."""
    fmt = opts.get("fmt") or "png"
    body: dict[str, Any] = {"format": fmt}
    if opts.get("tag") is not None and opts.get("seq") is not None:
        raise ExportFailed("give --tag or --seq, not both", EXIT_BAD_OPTIONS)
    if opts.get("scale") is not None and opts.get("dpi") is not None:
        raise ExportFailed("give --scale or --dpi, not both", EXIT_BAD_OPTIONS)
    if opts.get("tag") is not None:
        body["tag"] = opts["tag"]
    if opts.get("seq") is not None:
        if opts["seq"] < 0:
            raise ExportFailed("--seq must be >= 0", EXIT_BAD_OPTIONS)
        body["seq"] = opts["seq"]
    if opts.get("scale") is not None:
        if not SCALE_MIN <= opts["scale"] <= SCALE_MAX:
            raise ExportFailed(f"--scale must be within {SCALE_MIN:g}..{SCALE_MAX:g}", EXIT_BAD_OPTIONS)
        body["scale"] = opts["scale"]
    if opts.get("dpi") is not None:
        if not DPI_MIN <= opts["dpi"] <= DPI_MAX:
            raise ExportFailed(f"--dpi must be within {DPI_MIN:g}..{DPI_MAX:g}", EXIT_BAD_OPTIONS)
        body["dpi"] = opts["dpi"]
    if opts.get("background") is not None:
        if not BACKGROUND_RE.fullmatch(opts["background"]):
            raise ExportFailed("--background must be transparent, white or #rrggbb", EXIT_BAD_OPTIONS)
        body["background"] = opts["background"]
    if opts.get("include_comments"):
        body["includeComments"] = True
    if opts.get("quality") is not None:
        if fmt != "jpg":
            raise ExportFailed("--quality applies to --format jpg only", EXIT_BAD_OPTIONS)
        body["quality"] = opts["quality"]
    return body


class Progress:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.last = ""
        self.t0 = time.monotonic()

    def show(self, status: str) -> None:
        elapsed = time.monotonic() - self.t0
        if self.tty:
            self.out.write(f"\rexport {status} {elapsed:6.1f}s ")
            self.out.flush()
        elif status != self.last:
            self.out.write(f"export {status} ({elapsed:.1f}s)\n")
            self.out.flush()
        self.last = status

    def end(self) -> None:
        if self.tty and self.last:
            self.out.write("\n")
            self.out.flush()


async def error_of(resp: aiohttp.ClientResponse, bad: tuple[str, ...] = ("invalid_params",)) -> ExportFailed:
    """The daemon's JSON error as an exit: status 2 when its code is one of ``bad`` (the
    user's options or file are at fault), else 1."""
    try:
        err = (await resp.json(content_type=None))["error"]
        message, code = err.get("message", resp.reason), err.get("code")
    except (ValueError, KeyError, TypeError, aiohttp.ContentTypeError):
        message, code = f"HTTP {resp.status} {resp.reason}", None
    return ExportFailed(message, EXIT_BAD_OPTIONS if code in bad else EXIT_FAILED)


async def export(url: str, room_id: str, out_path: Path, body: dict[str, Any], progress: Progress) -> dict[str, Any]:
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60)
    async with aiohttp.ClientSession(base_url=url.rstrip("/"), timeout=timeout,
                                     headers={"X-Annotd-User": "annotd-export"}) as http:
        async with http.post(f"/v1/rooms/{room_id}/exports", json=body) as resp:
            if resp.status != 202:
                raise await error_of(resp)
            job_id = (await resp.json())["jobId"]
        delay = POLL_S
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            async with http.get(f"/v1/exports/{job_id}") as resp:
                if resp.status != 200:
                    raise await error_of(resp)
                job = await resp.json()
            progress.show(job["status"])
            if job["status"] == "done":
                break
            if job["status"] == "failed":
                raise ExportFailed(f"export failed: {job.get('error')}")
            if job["status"] == "evicted":
                raise ExportFailed("export was evicted before it could be downloaded; try again")
            if time.monotonic() > deadline:
                raise ExportFailed(f"export still {job['status']} after {TIMEOUT_S:g}s; giving up")
            await asyncio.sleep(delay)
            delay = min(POLL_MAX_S, delay * 1.5)
        tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.part")
        try:
            async with http.get(f"/v1/exports/{job_id}/download") as resp:
                if resp.status != 200:
                    raise await error_of(resp)
                with tmp.open("wb") as f:
                    async for chunk in resp.content.iter_chunked(64 * 1024):
                        f.write(chunk)
            tmp.replace(out_path)
        finally:
            tmp.unlink(missing_ok=True)
        return job  # type: ignore[no-any-return]


def run_export(url: str, room_id: str, out_path: Path, opts: dict[str, Any], *, stderr: TextIO | None = None) -> int:
    """Export ``room_id`` from the daemon at ``url`` into ``out_path``; return the exit status."""
    err = stderr if stderr is not None else sys.stderr
    progress = Progress(err)
    try:
        body = build_body(opts)
        if not out_path.parent.is_dir():
            raise ExportFailed(f"directory {out_path.parent} does not exist", EXIT_BAD_OPTIONS)
        job = asyncio.run(export(url, room_id, out_path, body, progress))
    except ExportFailed as exc:
        progress.end()
        err.write(f"annotd export: {exc}\n")
        return exc.code
    except aiohttp.ClientConnectionError as exc:
        progress.end()
        err.write(f"annotd export: cannot reach the daemon at {url}: {exc}\n")
        return EXIT_FAILED
    except (TimeoutError, aiohttp.ClientError) as exc:
        progress.end()
        err.write(f"annotd export: HTTP error talking to {url}: {exc or type(exc).__name__}\n")
        return EXIT_FAILED
    except OSError as exc:
        progress.end()
        err.write(f"annotd export: cannot write {out_path}: {exc.strerror or exc}\n")
        return EXIT_FAILED
    progress.end()
    tag = f" ({job['tag']})" if job.get("tag") else ""
    err.write(f"wrote {out_path}: {job['size']} bytes, {job['format']}, seq {job['seq']}{tag}, "
              f"rendered in {job['renderMs']} ms\n")
    return EXIT_OK
