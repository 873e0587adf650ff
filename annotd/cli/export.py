"""``annotd export``: ask a running daemon for an export over REST, show progress, write the file.

Exit status: 0 written; 1 the daemon refused or failed (one line on stderr says why);
2 bad options (checked here first, or refused by the daemon as invalid parameters).
Progress (status and elapsed time) goes to stderr: one updating line on a terminal, one
line per status change otherwise.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import aiohttp

from ..base.errors import InvalidParams
from ..commands.exports import CreateExport, check_combinations
from ..commands.params import parse

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_OPTIONS = 2
POLL_S = 0.1
POLL_MAX_S = 1.0
TIMEOUT_S = 3600.0
"""Give up waiting for one export after this long."""
FLAGS = {
    "roomId": "--room", "format": "--format", "tag": "--tag", "seq": "--seq", "scale": "--scale", "dpi": "--dpi",
    "background": "--background", "includeComments": "--include-comments", "quality": "--quality",
}
"""``exports.create`` parameter → the option that sets it."""
_PARAM_WORD = re.compile(r"\b(" + "|".join(FLAGS) + r")\b")


class ExportFailed(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def _bad_option(exc: InvalidParams, value: Any) -> ExportFailed:
    """The daemon's rule, worded with the CLI's option names (``value``: what was given)."""
    flag = FLAGS.get(exc.field, exc.field)
    rule = next((dict(f.metadata) for f in dataclasses.fields(CreateExport) if f.name == exc.field), {})
    lo, hi = rule.get("minimum"), rule.get("maximum")
    if lo is not None and hi is not None and isinstance(value, int | float) and not lo <= value <= hi:
        text = f"{flag} must be within {lo:g}..{hi:g}"
    else:
        text = f"{flag}: " + _PARAM_WORD.sub(lambda m: FLAGS[m.group(1)], exc.message.removeprefix(f"{exc.field}: "))
    return ExportFailed(text, EXIT_BAD_OPTIONS)


def build_body(room_id: str, opts: dict[str, Any]) -> dict[str, Any]:
    """The ``exports.create`` body from the click options (``opts`` keyed by click's names),
    checked by the very rules the daemon applies (:class:`CreateExport`);
    ``ExportFailed(..., 2)`` on bad ones."""
    body: dict[str, Any] = {}
    for param, flag in FLAGS.items():
        value = opts.get("fmt" if param == "format" else flag[2:].replace("-", "_"))
        if value is not None and value is not False:
            body[param] = value
    body.setdefault("format", "png")
    try:
        check_combinations(parse(CreateExport, {**body, "roomId": room_id}))
    except InvalidParams as exc:
        raise _bad_option(exc, body.get(exc.field)) from None
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
        body = build_body(room_id, opts)
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
