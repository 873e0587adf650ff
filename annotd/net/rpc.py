"""JSON-RPC 2.0 over text frames: parse, dispatch to the command registry, answer.

Transport-free: :func:`handle` takes the text of one frame and returns the text to send
back (or ``None`` when everything in it was a notification). Errors map through
:mod:`annotd.base.errors` only.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import orjson

from .. import commands
from ..base.errors import INTERNAL_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR, AnnotdError
from ..commands import params as params_mod
from ..commands.base import Caller, Document, Download, invoke

if TYPE_CHECKING:
    from ..live.hub import Hub

log = logging.getLogger("annotd.rpc")


def error(id_: Any, code: int, message: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if data:
        err["data"] = data
    return {"jsonrpc": "2.0", "id": id_, "error": err}


def _valid_id(value: Any) -> bool:
    return value is None or (isinstance(value, str | int) and not isinstance(value, bool))


async def call(hub: Hub, req: Any, caller: Caller) -> dict[str, Any] | None:
    """Run one request object; ``None`` for a valid notification."""
    if not isinstance(req, dict) or req.get("jsonrpc") != "2.0" or not isinstance(req.get("method"), str):
        return error(None, INVALID_REQUEST, "invalid request: need jsonrpc '2.0' and a string method")
    has_id = "id" in req
    id_ = req.get("id")
    if not _valid_id(id_):
        return error(None, INVALID_REQUEST, "invalid request: id must be a string, integer or null")
    method = req["method"]
    cmd = commands.REGISTRY.get(method)
    try:
        if cmd is None:
            return error(id_, METHOD_NOT_FOUND, f"method not found: {method}") if has_id else None
        raw = req.get("params")
        if (
            caller.room_id is not None
            and isinstance(raw, dict | type(None))
            and "roomId" in cmd.path_params
            and (raw is None or "roomId" not in raw)
        ):
            raw = {**(raw or {}), "roomId": caller.room_id}
        parsed = params_mod.parse(cmd.params, raw)
        result = await invoke(cmd, hub, parsed, caller)
    except AnnotdError as exc:
        log.info("rpc error", extra={"method": method, "error": exc.message})
        return error(id_, exc.rpc_code, exc.message, {"code": exc.code, **(exc.data or {})}) if has_id else None
    except Exception:
        log.exception("rpc handler failed", extra={"method": method})
        return error(id_, INTERNAL_ERROR, "internal error") if has_id else None
    if not has_id:
        return None
    if isinstance(result, Download):
        result = result.to_json()
    elif isinstance(result, Document):
        result = result.body
    return {"jsonrpc": "2.0", "id": id_, "result": result}


async def handle(hub: Hub, text: str | bytes, caller: Caller) -> bytes | None:
    """Answer one JSON-RPC frame (single request or batch)."""
    try:
        req = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return orjson.dumps(error(None, PARSE_ERROR, f"parse error: {exc}"))
    return await handle_parsed(hub, req, caller)


async def handle_parsed(hub: Hub, req: Any, caller: Caller) -> bytes | None:
    if isinstance(req, list):
        if not req:
            return orjson.dumps(error(None, INVALID_REQUEST, "invalid request: empty batch"))
        limit = hub.config.limits.max_rpc_batch
        if len(req) > limit:
            return orjson.dumps(error(None, INVALID_REQUEST, f"invalid request: batch larger than {limit}"))
        replies = [r for r in [await call(hub, item, caller) for item in req] if r is not None]
        return orjson.dumps(replies) if replies else None
    reply = await call(hub, req, caller)
    return orjson.dumps(reply) if reply is not None else None
