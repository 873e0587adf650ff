"""The aiohttp side port: a REST mirror of every command, images, export downloads, health,
metrics, OpenAPI.

Routes for commands are generated from :data:`annotd.commands.REGISTRY`; this module adds
only what is HTTP-specific (binary bodies, ETags, streaming). Every error leaves as JSON
``{"error": {"code", "message"}}`` with the status the error class names.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from .. import __version__
from ..base.errors import (
    CLOSE_TOO_SLOW,
    AnnotdError,
    BadRequest,
    InvalidParams,
    NotFound,
    PayloadTooLarge,
    UnsupportedMedia,
    error_body,
)
from ..base.hosts import HostPolicy
from ..base.identifiers import check_room_id, check_user_id
from ..base.logsetup import Throttled
from ..base.metrics import Metrics
from ..base.origins import origin_allowed, same_origin
from ..commands import REGISTRY, Command
from ..commands import params as params_mod
from ..commands.base import Caller, Document, Download, Route, invoke
from ..core import images
from ..live.hub import Hub
from . import bodies, openapi, webui

log = logging.getLogger("annotd.http")
HUB: web.AppKey[Hub] = web.AppKey("hub", Hub)
CHUNK = 64 * 1024
"""Bytes per write when streaming a body (images, exports): the loop serves others between."""


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json", headers=headers)


def error_response(status: int, code: str, message: str, data: dict[str, Any] | None = None) -> web.Response:
    return web.Response(body=error_body(code, message, data), status=status, content_type="application/json")


def _caller(request: web.Request) -> Caller:
    """The acting user: ``X-Annotd-User``, else ``?userId=``, else ``api``; refused (422)
    when it breaks the user-id rule, like a socket's ``userId`` (4400)."""
    header = request.headers.get("X-Annotd-User")
    if header:
        return Caller(check_user_id(header, "X-Annotd-User"))
    return Caller(check_user_id(request.query.get("userId") or "api", "userId"))


JSON_ONLY = ("application/json", "application/ld+json", "text/plain", "application/octet-stream", "")
"""Body types read as JSON. A cross-site form cannot send ``application/json`` without a
CORS preflight, which the Origin check refuses: this is a CSRF defence, not pedantry."""


def _query(cmd: Command, request: web.Request) -> dict[str, Any]:
    """Query-string parameters: a list parameter from every repetition (``?ids=a&ids=b``,
    as ``/openapi.json`` declares them); any other given twice is refused, never guessed."""
    lists = params_mod.list_params(cmd.params)
    raw: dict[str, Any] = {}
    for key in dict.fromkeys(request.query.keys()):
        if key == "userId":
            continue
        values = request.query.getall(key)
        if key in lists:
            raw[key] = values
        elif len(values) > 1:
            raise InvalidParams(key, "given more than once")
        else:
            raw[key] = values[0]
    return raw


@web.middleware
async def errors_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    try:
        return await handler(request)
    except AnnotdError as exc:
        log.info("request refused", extra={"path": request.path, "error": exc.message, "status": exc.http_status})
        return error_response(exc.http_status, exc.code, exc.message, exc.data)
    except web.HTTPRequestEntityTooLarge as exc:
        return error_response(413, "payload_too_large", exc.text or "request body too large")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status, "http_error")
        return error_response(exc.status, code, exc.reason)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("request failed", extra={"path": request.path})
        return error_response(500, "internal", "internal error")


def count_middleware(metrics: Metrics) -> Any:
    """Count every answer by route template and status (outermost: refusals count too)."""

    @web.middleware
    async def count(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"  # never the raw path
        try:
            resp = await handler(request)
        except web.HTTPException as exc:
            metrics.http_request(route, exc.status)
            raise
        metrics.http_request(route, resp.status)
        return resp

    return count


def host_middleware(policy: HostPolicy) -> Any:
    """Refuse a foreign ``Host`` (DNS rebinding) before routing, CORS or any handler."""
    refused = Throttled(log)

    @web.middleware
    async def host_check(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        host = request.headers.get("Host")
        if not policy.allows(host):
            assert host is not None
            refused.warning(host, "host refused", host=host, path=request.path)
            return error_response(403, "forbidden", policy.refusal(host))
        return await handler(request)

    return host_check


def cors_middleware(hub: Hub) -> Any:
    allowed = hub.config.server.allowed_origins

    @web.middleware
    async def cors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        ok = origin is not None and (origin_allowed(origin, allowed) or same_origin(origin, request.scheme, request.host))
        if request.method == "OPTIONS" and origin is not None:
            if not ok:
                return error_response(403, "forbidden", f"origin {origin} is not allowed")
            resp: web.StreamResponse = web.Response(status=204)
        else:
            if origin is not None and not ok and request.method not in ("GET", "HEAD"):
                return error_response(403, "forbidden", f"origin {origin} is not allowed")
            resp = await handler(request)
        if ok:
            resp.headers["Access-Control-Allow-Origin"] = origin  # type: ignore[assignment]
            resp.headers["Vary"] = "Origin"
            resp.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
            resp.headers["Access-Control-Allow-Headers"] = "Content-Type, X-Annotd-User, If-None-Match"
            resp.headers["Access-Control-Expose-Headers"] = "ETag, Content-Disposition"
        return resp

    return cors


def result_response(result: Any, status: int) -> web.Response:
    """A command's result: JSON, or a file/document with its own type and file name."""
    if isinstance(result, Download | Document):
        body = result.data if isinstance(result, Download) else orjson.dumps(result.body)
        disposition = f'attachment; filename="{result.filename}"'
        return web.Response(body=body, status=status, headers={"Content-Type": result.mime,
                                                                "Content-Disposition": disposition})
    return json_response(result, status)


def _json_body(cmd: Command, query: dict[str, Any], body: bytes) -> dict[str, Any]:
    """The raw parameters of a JSON body: parsed here, or (``body_unparsed``) handed on as
    its text, which the command parses off the loop."""
    if cmd.body_unparsed and cmd.body_param is not None:
        return {**query, cmd.body_param: params_mod.JsonText(body)}
    try:
        parsed_body = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from None
    if cmd.body_param is None and not isinstance(parsed_body, dict):
        raise BadRequest("request body must be a JSON object")
    return {**query, cmd.body_param: parsed_body} if cmd.body_param else parsed_body  # type: ignore[no-any-return]


def command_route(cmd: Command, route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        hub = request.app[HUB]
        raw: dict[str, Any]
        coerce = False
        query = _query(cmd, request)
        if request.method in ("POST", "PUT", "PATCH") and cmd.raw_body is not None:
            raw = {**query, cmd.raw_body: await bodies.read_raw(request, cmd.raw_limit or "max_http_body_bytes",
                                                               hub.config.limits)}
            coerce = True
        elif request.method in ("POST", "PUT", "PATCH"):
            body = await bodies.read_raw(request, bodies.json_setting(cmd.body_unparsed, hub.config.limits), hub.config.limits)
            if body.strip():
                if request.content_type not in JSON_ONLY:
                    raise UnsupportedMedia(
                        f"the request body must be JSON sent with Content-Type: application/json, not "
                        f"{request.content_type} (with curl: -H 'Content-Type: application/json')",
                        data={"contentType": request.content_type, "expected": "application/json"})
                raw = _json_body(cmd, query, body)
                coerce = cmd.body_param is not None
            else:
                raw = {}
        else:
            if request.body_exists:
                raise BadRequest(f"{request.method} takes its parameters in the path and the query string "
                                 "(a list as ?ids=a&ids=b); this request has a body, which would be ignored")
            raw = query
            coerce = True
        for name in route.path_params:
            if name in raw and raw[name] != request.match_info[name]:
                raise InvalidParams(name, "differs from the value in the path")
            raw[name] = request.match_info[name]
        for name in sorted(set(cmd.path_params) - set(route.path_params)):
            if name in raw:
                paths = " or ".join(r.path for r in cmd.routes if name in r.path_params)
                raise InvalidParams(name, f"is given in the path only: {paths}")
        parsed = params_mod.parse(cmd.params, raw, coerce=coerce)
        result = await invoke(cmd, hub, parsed, _caller(request))
        return result_response(result, cmd.status)

    return handle


async def upload_image(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    room_id = check_room_id(request.match_info["roomId"])
    async with hub.using(room_id):  # loaded if it is on disk only, and held until the image is set
        return await _upload_image(request, hub, room_id)


async def _upload_image(request: web.Request, hub: Hub, room_id: str) -> web.Response:
    hub.room(room_id)
    limit = hub.config.limits.max_image_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"image is {request.content_length} bytes; the limit is {limit}")
    ctype = request.content_type
    if ctype == "multipart/form-data":
        reader = await request.multipart()
        data = b""
        async for part in reader:
            if getattr(part, "filename", None) is not None or getattr(part, "name", None) in ("image", "file"):
                data = await part.read(decode=False)  # type: ignore[union-attr]
                break
        if not data:
            raise BadRequest("multipart body has no file part (name it 'image' or 'file')")
    elif ctype in images.ACCEPTED_TYPES:
        data = await request.read()
    else:
        raise UnsupportedMedia(f"Content-Type {ctype or '(none)'} is not an accepted image type: send the "
                               "image bytes with Content-Type image/png, image/jpeg or image/webp, or a "
                               "multipart/form-data file part named image")
    stored = await asyncio.to_thread(
        images.validate, data, max_bytes=limit, max_pixels=hub.config.limits.max_image_pixels)
    seq = await hub.set_image(room_id, stored, _caller(request).user_id)
    return json_response({**stored.ref(), "seq": seq}, 201)


async def download_image(request: web.Request) -> web.StreamResponse:
    hub = request.app[HUB]
    room = await hub.open(check_room_id(request.match_info["roomId"]))
    digest = request.query.get("sha256") or (room.image_ref() or {}).get("sha256")
    stored = hub.images.get(digest) if isinstance(digest, str) else None
    if stored is None:
        raise NotFound(f"room {room.id!r} has no image" if "sha256" not in request.query
                       else f"no image with sha256 {digest}")
    etag = f'"{stored.sha256}"'
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag})
    return await stream_bytes(request, stored.data, {"ETag": etag, "Content-Type": stored.mime,
                                                     "Cache-Control": "no-cache"})


async def download_export(request: web.Request) -> web.StreamResponse:
    job, data = request.app[HUB].exports.result(request.match_info["jobId"])
    return await stream_bytes(request, data, {
        "Content-Type": job.mime,
        "Content-Disposition": f'attachment; filename="{job.filename}"',
        "Cache-Control": "no-store",
        "X-Annotd-Seq": str(job.seq),
    })


async def stream_bytes(request: web.Request, data: bytes, headers: dict[str, str]) -> web.StreamResponse:
    """Send ``data`` as the response body in :data:`CHUNK` pieces."""
    resp = web.StreamResponse(headers=headers)
    resp.content_length = len(data)
    await resp.prepare(request)
    view = memoryview(data)
    for i in range(0, len(view), CHUNK):
        await resp.write(view[i : i + CHUNK])
    await resp.write_eof()
    return resp


async def healthz(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    return json_response({"status": "ok", "version": __version__, "rooms": hub.room_count()})


def metrics_values(hub: Hub) -> dict[str, Any]:
    """The JSON ``/metrics``: read from the same counters and gauge functions as the
    Prometheus series, plus windowed figures (rates, lag max/p99, export percentiles)."""
    m = hub.metrics
    values: dict[str, Any] = {
        "connected_clients": m.connected_clients,
        "rooms_active": int(m.gauge("rooms_active")),
        "rooms_total": int(m.gauge("rooms")),
        "ops_broadcast_per_sec": round(m.deliveries_per_second(time.monotonic()), 1),
        "deliveries_total": m.deliveries,
        "updates_sequenced_total": m.updates_sequenced,
        "frames_rejected_total": int(m.total(m.frames_rejected)),
        "clients_too_slow_total": int(m.total(m.clients_closed, code=str(CLOSE_TOO_SLOW))),
        "image_bytes": int(m.gauge("image_bytes")),
        "event_loop_lag_ms": m.loop_lag.current().to_json(),
        "gc_pause_ms": m.gc_pause.current().to_json(),
        "process_rss_bytes": m.rss_bytes(),
    }
    values.update(hub.exports.metrics())
    return values


def wants_prometheus(request: web.Request) -> bool:
    """``?format=prometheus`` (or ``json``) decides; without it, an ``Accept`` naming
    OpenMetrics or ``text/plain`` (what a Prometheus server sends) gets the text format."""
    fmt = request.query.get("format")
    if fmt is not None:
        if fmt not in ("json", "prometheus"):
            raise InvalidParams("format", "must be json or prometheus")
        return fmt == "prometheus"
    accept = request.headers.get("Accept", "")
    return any(part.split(";")[0].strip() in ("application/openmetrics-text", "text/plain")
               for part in accept.split(","))


async def metrics(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    if wants_prometheus(request):
        body, content_type = hub.metrics.exposition(request.headers.get("Accept"))
        return web.Response(body=body, headers={"Content-Type": content_type})
    return json_response(metrics_values(hub))


async def openapi_route(request: web.Request) -> web.Response:
    return json_response(openapi.document())


def build_app(hub: Hub) -> web.Application:
    policy = HostPolicy(hub.config.server.host, hub.config.server.allowed_hosts)
    app = web.Application(middlewares=[count_middleware(hub.metrics), host_middleware(policy), cors_middleware(hub),
                                       errors_middleware],
                          client_max_size=hub.config.limits.max_http_body_bytes)
    app[HUB] = hub
    routes = [
        web.get("/healthz", healthz),
        web.get("/metrics", metrics),
        web.get("/openapi.json", openapi_route),
        web.post("/v1/rooms/{roomId}/image", upload_image),
        web.get("/v1/rooms/{roomId}/image", download_image),
        web.get("/v1/exports/{jobId}/download", download_export),
    ]
    for cmd in REGISTRY.values():
        for route in cmd.routes:
            routes.append(web.route(route.method, route.path, command_route(cmd, route)))
    app.add_routes(routes + webui.routes(hub))
    return app
