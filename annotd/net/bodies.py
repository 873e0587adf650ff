"""Request bodies on the side port: read no further than the limit that applies to them.

Why a module: a command's body is read here with the limit that applies to it (an upload's
own, a command's JSON, an import's), named in the 413 so a client learns which setting
refused it.
"""

from __future__ import annotations

from aiohttp import web

from ..base.config import LimitsConfig
from ..base.errors import PayloadTooLarge

CHUNK = 64 * 1024
"""Bytes read from a request body at a time."""


async def read_raw(request: web.Request, setting: str, limits: LimitsConfig) -> bytes:
    """The request body unparsed, refused with 413 past ``limits.<setting>``, read no
    further than that (it may be above the app-wide body limit, as a bundle's is, or below)."""
    limit: int = getattr(limits, setting)
    data = {"limit": limit, "setting": f"limits.{setting}"}
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"request body is {request.content_length} bytes; the limit is {limit} "
                              f"(limits.{setting})", data=data)
    out = bytearray()
    async for chunk in request.content.iter_chunked(CHUNK):
        out += chunk
        if len(out) > limit:
            raise PayloadTooLarge(f"request body is over the limit of {limit} bytes (limits.{setting})", data=data)
    return bytes(out)


def json_setting(unparsed: bool, limits: LimitsConfig) -> str:
    """The limit on a command's JSON body: parsed on the loop, it is bounded like a socket
    frame (``max_command_body_bytes``); an import's (``unparsed``) is parsed in the state
    worker and may be as large as any request (``max_http_body_bytes``, which bounds every
    body)."""
    if unparsed or limits.max_http_body_bytes < limits.max_command_body_bytes:
        return "max_http_body_bytes"
    return "max_command_body_bytes"
