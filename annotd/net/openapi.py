"""``/openapi.json``: the OpenAPI 3.1 document of the side port, generated.

Why generated: a command is defined once (:data:`annotd.commands.REGISTRY`: its params
dataclass, its routes, its declared result type), and this document, the REST routes, the
JSON-RPC dispatcher and protocol.md's reference all read that one definition. The routes
that are not commands (image upload and download, export download, health, metrics, this
document) are HTTP-only; their operations are declared here, and ``tests/net/test_openapi.py``
checks that the side port serves exactly the paths this document lists.

What generated clients rely on: every response has a schema (JSON results as named
schemas in ``components``; files as binary bodies of their media types); path parameters
are required and never null; a query parameter is never null either (absent means its
default); patterns are anchored; a parameter that some route takes from its path is not
offered in another route's query string or body.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from .. import __version__
from ..base.identifiers import ID_PATTERN, JOB_ID_PATTERN, MAX_USER_ID_LENGTH, SHA256_PATTERN
from ..canvas.jsontypes import Image
from ..commands import REGISTRY, Command
from ..commands import params as params_mod
from ..commands.base import Route
from ..commands.jsonschema import REF_PREFIX, Components, markdown, type_schema
from ..core import images

BINARY = {"type": "string", "format": "binary"}
ERROR = "Error"
EXPORT_MEDIA = ("image/png", "image/jpeg", "image/svg+xml")


class ErrorBody(TypedDict):
    code: str
    """Stable, e.g. ``invalid_params``, ``room_not_found`` (protocol.md, "Errors")."""
    message: str
    data: NotRequired[dict[str, Any]]
    """``field`` names the offending parameter where there is one."""


class Error(TypedDict):
    """Every error answer of the side port."""

    error: ErrorBody


class ImageUploaded(Image):
    seq: int
    """The seq of the update that wrote the image's reference into the document."""


class Health(TypedDict):
    status: str
    version: str
    rooms: int


class Lag(TypedDict):
    max: float | None
    p99: float | None


class Percentiles(TypedDict):
    p50: float | None
    p95: float | None


class Metrics(TypedDict):
    """The JSON ``/metrics`` (protocol.md, "Metrics")."""

    connected_clients: int
    rooms_active: int
    rooms_total: int
    ops_broadcast_per_sec: float
    deliveries_total: int
    updates_sequenced_total: int
    frames_rejected_total: int
    clients_too_slow_total: int
    image_bytes: int
    event_loop_lag_ms: Lag
    gc_pause_ms: Lag
    process_rss_bytes: int | None
    export_jobs_pending: int
    export_time_ms: Percentiles
    export_jobs_completed_total: int
    export_failures_total: int
    export_evictions_total: int
    export_bytes_held: int


def non_null(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` without its ``null`` alternative: a path or query parameter is either
    given (a string) or absent, never null."""
    alternatives = schema.get("anyOf")
    if alternatives is None:
        return schema
    rest = [s for s in alternatives if s != {"type": "null"}]
    out = dict(rest[0]) if len(rest) == 1 else {"anyOf": rest}
    if "description" in schema:
        out["description"] = schema["description"]
    return out


def _parameter(name: str, where: str, schema: dict[str, Any], required: bool) -> dict[str, Any]:
    schema = non_null(schema)
    if schema.get("type") == "object":  # an object in a query string travels as JSON text
        return {"name": name, "in": where, "required": required,
                "content": {"application/json": {"schema": schema}}}
    return {"name": name, "in": where, "required": required, "schema": schema}


USER = {
    "name": "X-Annotd-User", "in": "header", "required": False,
    "description": "The acting user, stamped on what the call writes (default `api`; `?userId=` also works): "
                   f"at most {MAX_USER_ID_LENGTH} characters, no control characters.",
    "schema": {"type": "string", "maxLength": MAX_USER_ID_LENGTH},
}
"""Every route that acts as someone takes it (the rule: :func:`annotd.base.identifiers.check_user_id`)."""


def _errors(*statuses: int) -> dict[str, Any]:
    ref = {"$ref": REF_PREFIX + ERROR}
    described = {str(s): {"description": "error", "content": {"application/json": {"schema": ref}}} for s in statuses}
    return {**described, "4XX": {"description": "error", "content": {"application/json": {"schema": ref}}},
            "5XX": {"description": "internal error", "content": {"application/json": {"schema": ref}}}}


def _result(cmd: Command, components: Components) -> dict[str, Any]:
    if cmd.result is None:
        raise TypeError(f"command {cmd.name} declares no result")
    schema = BINARY if cmd.result is bytes else type_schema(cmd.result, None, components)
    return {"description": markdown(cmd.summary), "content": {cmd.media: {"schema": schema}}}


def command_operation(cmd: Command, route: Route, components: Components) -> dict[str, Any]:
    """One route of ``cmd`` as an OpenAPI operation."""
    schema = params_mod.json_schema(cmd.params, components)
    required = set(schema.get("required", []))
    props = schema["properties"]
    op: dict[str, Any] = {
        "operationId": cmd.operation_id(route),
        "summary": markdown(cmd.summary),
        "tags": [cmd.name.split(".")[0]],
        "x-jsonrpc-method": cmd.name,
        "responses": {str(cmd.status): _result(cmd, components), **_errors()},
    }
    params = [_parameter(n, "path", props[n], True) for n in route.path_params]
    rest = {k: v for k, v in props.items() if k not in cmd.path_params}
    in_body = cmd.raw_body or cmd.body_param
    if route.method in ("POST", "PUT", "PATCH") and in_body:
        params += [_parameter(n, "query", s, n in required) for n, s in rest.items() if n != in_body]
        media = {"application/octet-stream": {"schema": BINARY}} if cmd.raw_body \
            else {"application/json": {"schema": rest[in_body]}}
        op["requestBody"] = {"required": in_body in required, "content": media}
    elif route.method in ("POST", "PUT", "PATCH"):
        body = {**schema, "properties": rest, "required": sorted(required & set(rest))}
        if not body["required"]:
            del body["required"]
        op["requestBody"] = {"required": "required" in body, "content": {"application/json": {"schema": body}}}
    else:
        params += [_parameter(n, "query", s, n in required) for n, s in rest.items()]
    op["parameters"] = [*params, USER]
    return op


def _id_param(name: str, pattern: str) -> dict[str, Any]:
    return _parameter(name, "path", type_schema(str, {"pattern": pattern}), True)


def http_operations(components: Components) -> dict[str, dict[str, Any]]:
    """The side port's routes that are not commands (:func:`annotd.net.httpserver.build_app`)."""
    def ref(tp: Any) -> dict[str, Any]:
        return type_schema(tp, None, components)

    image_types = {mime: {"schema": BINARY} for mime in sorted(images.ACCEPTED_TYPES)}
    multipart = {"schema": {"type": "object", "properties": {"image": BINARY}, "required": ["image"]},
                 "encoding": {"image": {"contentType": ", ".join(sorted(images.ACCEPTED_TYPES))}}}
    return {
        "/v1/rooms/{roomId}/image": {
            "post": {
                "operationId": "images.upload", "tags": ["images"],
                "summary": "Upload the room's base image (PNG, JPEG or WebP); it becomes one update of the document.",
                "parameters": [_id_param("roomId", ID_PATTERN), USER],
                "requestBody": {"required": True, "content": {**image_types, "multipart/form-data": multipart}},
                "responses": {"201": {"description": "the stored image and the update's seq",
                                      "content": {"application/json": {"schema": ref(ImageUploaded)}}},
                              **_errors(413, 415, 422)},
            },
            "get": {
                "operationId": "images.download", "tags": ["images"],
                "summary": "The room's current image, or a historical one by sha256.",
                "parameters": [_id_param("roomId", ID_PATTERN),
                               _parameter("sha256", "query", type_schema(str, {"pattern": SHA256_PATTERN}), False),
                               _parameter("If-None-Match", "header", {"type": "string"}, False)],
                "responses": {"200": {"description": "the image bytes", "content": image_types,
                                      "headers": {"ETag": {"schema": {"type": "string"}}}},
                              "304": {"description": "not modified (If-None-Match)"},
                              **_errors(404)},
            },
        },
        "/v1/exports/{jobId}/download": {
            "get": {
                "operationId": "exports.download", "tags": ["exports"],
                "summary": "A finished export's file (409 while it is not done, 410 once evicted).",
                "parameters": [_id_param("jobId", JOB_ID_PATTERN)],
                "responses": {"200": {"description": "the file",
                                      "content": {mime: {"schema": BINARY} for mime in EXPORT_MEDIA},
                                      "headers": {"X-Annotd-Seq": {"schema": {"type": "integer"},
                                                                   "description": "the document seq rendered"}}},
                              **_errors(404, 409, 410)},
            },
        },
        "/healthz": {"get": {"operationId": "healthz", "tags": ["server"], "summary": "Liveness and version.",
                             "parameters": [],
                             "responses": {"200": {"description": "the daemon is up",
                                                   "content": {"application/json": {"schema": ref(Health)}}}}}},
        "/metrics": {"get": {
            "operationId": "metrics", "tags": ["server"],
            "summary": "Process metrics: JSON, or the Prometheus text format (?format=prometheus).",
            "parameters": [_parameter("format", "query", {"type": "string", "enum": ["json", "prometheus"]}, False)],
            "responses": {"200": {"description": "the metrics",
                                  "content": {"application/json": {"schema": ref(Metrics)},
                                              "text/plain": {"schema": {"type": "string"}}}},
                          **_errors(422)},
        }},
        "/openapi.json": {"get": {"operationId": "openapi", "tags": ["server"], "summary": "This document.",
                                  "parameters": [],
                                  "responses": {"200": {"description": "OpenAPI 3.1",
                                                        "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    }


def document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document (the same bytes for the same code: clients generated
    from it are committed and compared)."""
    components = Components()
    type_schema(Error, None, components)
    paths: dict[str, dict[str, Any]] = {}
    for cmd in REGISTRY.values():
        for route in cmd.routes:
            paths.setdefault(route.path, {})[route.method.lower()] = command_operation(cmd, route, components)
    for path, ops in http_operations(components).items():
        paths.setdefault(path, {}).update(ops)
    return {
        "openapi": "3.1.0",
        "info": {"title": "annotd", "version": __version__,
                 "description": "The REST side port of annotd; every command is also JSON-RPC on a room "
                                "socket (protocol.md). The acting user is the X-Annotd-User header."},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(components.schemas.items()))},
    }


if __name__ == "__main__":
    import sys

    import orjson

    sys.stdout.buffer.write(orjson.dumps(document(), option=orjson.OPT_INDENT_2) + b"\n")
