"""Typed command parameters: one dataclass per command is both validator and schema.

Why not a schema library: the rules we need are few (types, ranges, patterns, enums) and
the *same* dataclass must produce precise errors naming the field for JSON-RPC (-32602)
and REST (422), coerce REST query strings, and emit JSON Schema for ``/openapi.json``.
A field's extra rules live in ``field(metadata=...)`` built with :func:`rule`.
"""

from __future__ import annotations

import binascii
import dataclasses
import functools
import math
import re
from typing import Any, Literal, get_args, get_origin, get_type_hints

import orjson

from ..base.errors import InvalidParams
from .jsonschema import Components, split_optional, type_schema

MISSING = dataclasses.MISSING


@dataclasses.dataclass(frozen=True, slots=True)
class JsonText:
    """A parameter's JSON text as a REST body brought it, not parsed here (a command with
    ``body_unparsed``: its handler has it parsed off the loop, and answers a body that is not
    JSON as ``bad_request`` then). Only its first character is checked here: an object
    parameter's text must start with ``{``."""

    data: bytes

    def starts_object(self) -> bool:
        return self.data.lstrip()[:1] == b"{"

    def json(self) -> bytes:
        return self.data


def rule(
    *,
    default: Any = MISSING,
    pattern: str | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    max_len: int | None = None,
    doc: str = "",
    shape: Any = None,
) -> Any:
    """A dataclass field with validation rules attached as metadata.

    ``shape``: for an object checked deeper by the canvas validator (an annotation), the
    ``TypedDict`` that describes it in ``/openapi.json``; parsing still sees an object."""
    meta = {"pattern": pattern, "minimum": minimum, "maximum": maximum, "max_len": max_len, "doc": doc,
            "shape": shape}
    if default is MISSING:
        return dataclasses.field(metadata=meta)
    if isinstance(default, list | dict):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _check(name: str, tp: Any, value: Any, meta: dict[str, Any], coerce: bool) -> Any:
    optional, tp = split_optional(tp)
    if value is None:
        if optional:
            return None
        raise InvalidParams(name, "must not be null")
    origin = get_origin(tp)
    if isinstance(value, JsonText):
        if (origin is dict or tp is dict) and not value.starts_object():
            raise InvalidParams(name, "must be an object")
        return value
    if tp is Any:
        return value
    if origin is Literal:
        allowed = get_args(tp)
        if value not in allowed:
            raise InvalidParams(name, "must be one of " + ", ".join(repr(a) for a in allowed))
        return value
    if tp is bool:
        if coerce and isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
        if not isinstance(value, bool):
            raise InvalidParams(name, "must be true or false")
        return value
    if tp is int:
        if coerce and isinstance(value, str) and re.fullmatch(r"-?\d{1,18}", value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidParams(name, "must be an integer")
        _range(name, value, meta)
        return value
    if tp is float:
        if coerce and isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise InvalidParams(name, "must be a number") from None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidParams(name, "must be a finite number")
        _range(name, value, meta)
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise InvalidParams(name, "must be a string")
        if meta.get("max_len") is not None and len(value) > meta["max_len"]:
            raise InvalidParams(name, f"must be at most {meta['max_len']} characters")
        if meta.get("pattern") and not re.fullmatch(meta["pattern"], value):
            raise InvalidParams(name, f"must match {meta['pattern']}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise InvalidParams(name, "must be a list")
        if meta.get("max_len") is not None and len(value) > meta["max_len"]:
            raise InvalidParams(name, f"must have at most {meta['max_len']} items")
        (item,) = get_args(tp) or (Any,)
        inner = {k: v for k, v in meta.items() if k != "max_len"}
        return [_check(f"{name}[{i}]", item, v, inner, coerce) for i, v in enumerate(value)]
    if tp is bytes:
        return _bytes(name, value, meta)
    if origin is dict or tp is dict:
        if coerce and isinstance(value, str):  # REST query strings carry objects as JSON
            try:
                value = orjson.loads(value)
            except orjson.JSONDecodeError:
                raise InvalidParams(name, "must be a JSON object") from None
        if not isinstance(value, dict):
            raise InvalidParams(name, "must be an object")
        return value
    raise TypeError(f"unsupported parameter type {tp!r}")  # a schema bug, not user input


def _bytes(name: str, value: Any, meta: dict[str, Any]) -> bytes:
    """Binary parameters: raw bytes from a REST body, or base64 text over JSON-RPC."""
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        raise InvalidParams(name, "must be a base64 string")
    try:
        return binascii.a2b_base64(value.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError):
        raise InvalidParams(name, "must be a base64 string (RFC 4648, with padding)") from None


def _range(name: str, value: float, meta: dict[str, Any]) -> None:
    lo, hi = meta.get("minimum"), meta.get("maximum")
    if lo is not None and value < lo:
        raise InvalidParams(name, f"must be >= {lo}")
    if hi is not None and value > hi:
        raise InvalidParams(name, f"must be <= {hi}")


def parse(cls: type, raw: Any, *, coerce: bool = False) -> Any:
    """Build ``cls`` from ``raw`` (a JSON object), naming the first offending field."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidParams("params", "must be an object (by-name parameters)")
    hints = _hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in known:
            raise InvalidParams(str(key), "unknown parameter")
    values: dict[str, Any] = {}
    for name, f in known.items():
        if name not in raw:
            if f.default is MISSING and f.default_factory is MISSING:
                raise InvalidParams(name, "is required")
            continue
        values[name] = _check(name, hints[name], raw[name], dict(f.metadata), coerce)
    return cls(**values)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """A params class's field types, resolved once per class rather than once per request."""
    return get_type_hints(cls)


@functools.cache
def list_params(cls: type) -> frozenset[str]:
    """Names of the list-typed parameters of ``cls`` (REST reads them from repeated query keys)."""
    hints = _hints(cls)
    return frozenset(f.name for f in dataclasses.fields(cls)
                     if get_origin(split_optional(hints[f.name])[1]) is list)


def json_schema(cls: type, components: Components) -> dict[str, Any]:
    """The JSON Schema of a params dataclass (for /openapi.json and protocol.md); named
    shapes are added to ``components``."""
    hints = get_type_hints(cls)
    props: dict[str, Any] = {}
    required: list[str] = []
    for f in dataclasses.fields(cls):
        props[f.name] = type_schema(hints[f.name], dict(f.metadata), components)
        if f.default is MISSING and f.default_factory is MISSING:
            required.append(f.name)
    schema: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


__all__ = ["parse", "json_schema", "list_params", "rule"]
