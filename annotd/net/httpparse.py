"""What the side port answers when a request cannot even be parsed.

Raw non-ASCII or control bytes in the path, a request line or header over 8,190 bytes, a
bad header character: aiohttp's parser refuses these before any routing or middleware, and
its own answer is a plain-text 400 with an ERROR-level traceback in our log
("aiohttp.server: Error handling request"). Both are wrong for annotd: protocol.md promises
``{"error": {...}}`` JSON for every HTTP error, and a client's garbage is a warning at most,
one line, rate-limited (:class:`annotd.base.logsetup.Throttled`), never a traceback.

aiohttp offers no public hook for this (aio-libs/aiohttp#3287): the answer is built by
``RequestHandler.handle_error``, and the handler class is chosen by ``web.Server``. So the
side port runs on :class:`SidePortRunner`, an ``AppRunner`` whose server makes
:class:`_RequestHandler` s; ``tests/net/test_http.py`` sends each kind of garbage and fails if
an aiohttp upgrade bypasses this. A 500 here is a real bug and keeps its traceback.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from ..base.errors import error_body
from ..base.logsetup import Throttled

log = logging.getLogger("annotd.http")


class _RequestHandler(RequestHandler):  # type: ignore[misc]
    def handle_error(self, request: BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if status >= 500:
            return super().handle_error(request, status, exc, message)  # type: ignore[no-any-return]
        reason = _first_line(message or (str(exc) if exc else "") or HTTPStatus(status).phrase)
        kind = type(exc).__name__ if exc is not None else "BadRequest"
        refused: Throttled | None = getattr(self._manager, "refused", None)
        if refused is not None:
            refused.warning(f"{request.remote}:{kind}", "malformed HTTP request refused",
                            remote=request.remote, error=kind, reason=reason[:200])
        if request.writer.output_size > 0:  # a response started already: nothing more to say
            raise ConnectionError("response already started")
        body = error_body("bad_request", f"malformed HTTP request: {reason}")
        resp = web.Response(status=status, body=body, content_type="application/json")
        resp.force_close()
        return resp


def _first_line(text: str) -> str:
    return " ".join(text.split())


class _Server(web.Server):  # type: ignore[misc]
    refused: Throttled
    """One warning per client address and kind of garbage per minute (this port's)."""

    def __call__(self) -> RequestHandler:
        return _RequestHandler(self, loop=self._loop, **self._kwargs)


class SidePortRunner(web.AppRunner):  # type: ignore[misc]
    """``web.AppRunner`` whose connections answer unparseable requests with JSON."""

    async def _make_server(self) -> web.Server:
        server: Any = await super()._make_server()
        server.__class__ = _Server  # same object, our handler class (no public hook)
        server.refused = Throttled(log)
        return server  # type: ignore[no-any-return]
