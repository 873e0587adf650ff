"""The bundled browser client on the side port: pages, static bundle, fonts, client config.

Why here and not in httpserver: the web UI is an optional face of the daemon with its own
rules (HTML pages, long-lived caching of a committed bundle, font files from the pinned font
packages); httpserver only mounts these routes. The bundle is built
from ``web/`` by ``bin/build-web`` into ``annotd/web/static/`` and committed, so a machine
without node serves the UI as is. Mounted by :func:`routes` (one line in httpserver).

Routes: ``/`` (rooms page), ``/r/{roomId}`` (a room; an unknown room gets a clear 404 page),
``/static/{file}`` (the bundle; immutable when asked for with its content hash), ``/fonts/faces.css`` and ``/fonts/
{family}.ttf`` (the export's own font files, for ``@font-face``), ``/favicon.svg`` and
``GET /v1/client-config`` (what the page needs to connect: ws port, limits, font metrics, and
how this server keeps rooms, so the page never promises more than the server does).
"""

from __future__ import annotations

import asyncio
import hashlib
import html
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from .. import __version__
from ..base.errors import NotFound
from ..base.identifiers import is_id
from ..canvas import schema
from ..core import images
from ..live.hub import Hub
from ..render.fonts import FACES, WEIGHTS, FontMissing, all_faces, css_chain, face_bytes, font_path, metrics

STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "static"
STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
IMMUTABLE = "public, max-age=31536000, immutable"
FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#1971c2"/>'
    '<path d="M7 23 L14 9 L25 21" fill="none" stroke="#fff" stroke-width="3" stroke-linecap="round" stroke-linejoin="round"/>'
    '<circle cx="24" cy="10" r="3" fill="#ffd43b"/></svg>'
)


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    etag: str

    @classmethod
    def of(cls, body: bytes, content_type: str) -> Asset:
        return cls(body, content_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


class MissingBundle(RuntimeError):
    """annotd/web/static has no bundle: run bin/build-web (a deployment error)."""


@lru_cache(maxsize=8)
def _static(name: str) -> Asset:
    path = STATIC_DIR / name
    if path.suffix not in STATIC_TYPES or path.parent != STATIC_DIR or not path.is_file():
        raise NotFound(f"no static file {name!r}")
    return Asset.of(path.read_bytes(), STATIC_TYPES[path.suffix])


@lru_cache(maxsize=4)
def _font(family: str) -> Asset:
    return Asset.of(font_path(family).read_bytes(), "font/ttf")


@lru_cache(maxsize=32)
def _face(name: str) -> Asset:
    """``<face>-<weight>``: the file the export draws that face with (fonts.face_bytes)."""
    key, _, weight = name.rpartition("-")
    face = next((f for f in all_faces() if f.key == key), None)
    wt = next((w for w, v in WEIGHTS.items() if str(v) == weight), None)
    if face is None or wt is None:
        raise NotFound(f"no font face {name!r}")
    try:
        return Asset.of(face_bytes(face, wt), "font/ttf")
    except FontMissing:
        raise NotFound(f"font face {name!r} is not installed on this server") from None


@lru_cache(maxsize=1)
def faces_css() -> str:
    """@font-face for every face at both weights: ``annotd-<face>``, weight 400 and 700, each
    its own static file. The browser downloads a face only when a character needs it."""
    rules = []
    for face in all_faces():
        for value in WEIGHTS.values():
            rules.append(f'@font-face{{font-family:"annotd-{face.key}";font-weight:{value};font-display:block;'
                         f'src:url("/fonts/{face.key}-{value}.ttf") format("truetype")}}\n')
    return "".join(rules)


def _version(name: str) -> str:
    """Content hash used as ``?v=`` so a new bundle is never served from a stale cache."""
    try:
        return _static(name).etag.strip('"')[:12]
    except NotFound:
        raise MissingBundle(f"{STATIC_DIR / name} is missing: run bin/build-web") from None


REF_SIZE = 512.0
"""The page measures text at this pixel size (web/src/render/text.ts); metrics are sent in it."""


@lru_cache(maxsize=1)
def font_metrics() -> dict[str, dict[str, dict[str, float]]]:
    """Ascent and descent at the page's reference size, per family and weight: the page
    positions text baselines exactly as the export does (annotd/render/scene.py)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for family in FACES:
        out[family] = {}
        for weight in WEIGHTS:
            ascent, descent = metrics(family, weight)
            out[family][weight] = {"ascent": ascent * REF_SIZE, "descent": descent * REF_SIZE}
    return out


def _ws_port(hub: Hub) -> int:
    """The port the WebSocket server really listens on (``ws_port = 0`` picks one)."""
    server = getattr(hub.delivery, "server", None)
    for sock in getattr(server, "sockets", None) or ():
        return int(sock.getsockname()[1])
    return hub.config.server.ws_port


def persistence(hub: Hub) -> str:
    """How this server keeps rooms, for the page to say exactly what a restart does to them.

    ``memory``: rooms live only in this process; any restart loses them. ``save_on_shutdown``
    (``rooms.save_dir``): written to disk at a graceful shutdown only; a crash loses every change
    since the last start. ``durable`` (``rooms.data_dir``): every acknowledged update is on disk.
    A ``data_dir`` server is durable only when its hub writes rooms through the store
    (``Hub.durable``: the daemon was handed the open store); otherwise it is reported as what
    it really does.
    """
    if hub.durable:
        return "durable"
    return "save_on_shutdown" if hub.config.rooms.save_dir else "memory"


_GONE_BECAUSE = {
    "memory": "It may have been deleted, or the server restarted: this server keeps rooms in memory only.",
    "save_on_shutdown": ("It may have been deleted, or the server stopped without saving it: this server saves "
                         "rooms to disk only when it shuts down cleanly."),
    "durable": "It may have been deleted.",
}


def client_config(hub: Hub) -> dict[str, Any]:
    lim = hub.config.limits
    return {
        "version": __version__,
        "wsPort": _ws_port(hub),
        "wsPath": "/v1/ws/rooms/",
        "limits": {
            "maxImageBytes": lim.max_image_bytes,
            "maxImagePixels": lim.max_image_pixels,
            "maxExportPixels": hub.config.export.max_output_pixels,
            "presenceMaxHz": lim.presence_max_hz,
            "maxAnnotations": schema.MAX_ANNOTATIONS,
            "maxPoints": schema.MAX_POINTS,
            "maxTextLength": schema.MAX_TEXT_LENGTH,
            "maxDocumentBytes": lim.max_document_bytes,
        },
        "imageTypes": sorted(images.ACCEPTED_TYPES - {"image/jpg"}),
        "fonts": font_metrics(),
        "fontFamilies": {family: css_chain(family) for family in FACES},
        "persistence": persistence(hub),
    }


def _page(title: str, page: str, room_id: str | None = None, body: str = "") -> str:
    attrs = f' data-page="{page}"' + (f' data-room-id="{html.escape(room_id, quote=True)}"' if room_id else "")
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        '<link rel="icon" href="/favicon.svg" type="image/svg+xml">'
        '<link rel="stylesheet" href="/fonts/faces.css">'
        f'<link rel="stylesheet" href="/static/app.css?v={_version("app.css")}">'
        f'<script type="module" src="/static/app.js?v={_version("app.js")}"></script>'
        f"</head><body{attrs}>{body}<noscript>annotd's web client needs JavaScript.</noscript></body></html>\n"
    )


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": "no-cache", "Content-Security-Policy": CSP,
                                 "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"})


def _asset(request: web.Request, asset: Asset, cache: str) -> web.Response:
    headers = {"ETag": asset.etag, "Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
    if request.headers.get("If-None-Match") == asset.etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=asset.body, content_type=asset.content_type.split(";")[0],
                        charset="utf-8" if "charset" in asset.content_type else None, headers=headers)


def routes(hub: Hub) -> list[web.RouteDef]:
    """The web UI's routes for the side port (mounted by httpserver.build_app)."""

    async def rooms_page(request: web.Request) -> web.Response:
        return _html(_page("Rooms — annotd", "rooms"))

    async def room_page(request: web.Request) -> web.Response:
        room_id = request.match_info["roomId"]
        room = hub.about(room_id) if is_id(room_id) and hub.exists(room_id) else None
        if room is None:
            shown = html.escape(room_id[:80])
            body = (
                '<div class="fatal" role="alert"><h2>This room does not exist</h2>'
                f"<p>There is no room “{shown}” on this server. {html.escape(_GONE_BECAUSE[persistence(hub)])}"
                '</p><a class="primary" href="/">Back to the rooms page</a></div>'
            )
            return _html(_page("Room not found — annotd", "missing", body=body), status=404)
        return _html(_page(f"{room.info()['name']} — annotd", "room", room_id))

    async def static(request: web.Request) -> web.Response:
        asset = _static(request.match_info["name"])
        wanted = request.query.get("v")
        return _asset(request, asset, IMMUTABLE if wanted == asset.etag.strip('"')[:12] else "no-cache")

    async def font(request: web.Request) -> web.Response:
        family = request.match_info["family"]
        if family in FACES:
            return _asset(request, _font(family), "public, max-age=86400")
        # cutting a face out of a collection or instancing one takes up to ~2 s: off the loop
        return _asset(request, await asyncio.to_thread(_face, family), "public, max-age=86400")

    async def fonts_css(request: web.Request) -> web.Response:
        return _asset(request, Asset.of(faces_css().encode(), "text/css; charset=utf-8"), "no-cache")

    async def favicon(request: web.Request) -> web.Response:
        return web.Response(text=FAVICON, content_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})

    async def config_route(request: web.Request) -> web.Response:
        # the first call opens six font faces: off the event loop, then cached
        config = await asyncio.to_thread(client_config, hub)
        return web.Response(body=orjson.dumps(config), content_type="application/json",
                            headers={"Cache-Control": "no-cache"})

    return [
        web.get("/", rooms_page),
        web.get("/r/{roomId}", room_page),
        web.get("/static/{name}", static),
        web.get("/fonts/faces.css", fonts_css),
        web.get("/fonts/{family}.ttf", font),
        web.get("/favicon.svg", favicon),
        web.get("/v1/client-config", config_route),
    ]
