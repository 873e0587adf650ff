"""Lenient coercion of stored values: whatever a raw Yjs client wrote in, a usable value out.

Why lenient (the opposite of :mod:`annotd.canvas.validate`): the document already holds the
value and every replica shows it, so refusing is not an option. Each coercer returns the
value when it fits, else the default (or the value clamped), and appends one line to
``issues`` saying what was repaired. The caller prefixes the field path.

:data:`MISSING` stands for "no such key" (``None`` is a legal stored value).
"""

from __future__ import annotations

import math
from typing import Any

from annotd.base.identifiers import COLOR_RE
from annotd.canvas import schema
from annotd.canvas.reader import Foreign, YArrayData, YMapData

MISSING: Any = object()


def describe(value: Any) -> str:
    """What a value is, for an issue line (never the value itself: it may be huge)."""
    if isinstance(value, Foreign):
        return repr(value)
    if isinstance(value, YMapData):
        return "a Y.Map"
    if isinstance(value, YArrayData):
        return "a Y.Array"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return "a number"  # int or float depending on the replica: keep issues identical
    return type(value).__name__


def number(raw: Any, name: str, default: float, lo: float, hi: float, issues: list[str]) -> float:
    """A finite float in ``[lo, hi]``; anything else becomes ``default`` or is clamped."""
    if raw is MISSING:
        return default
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        issues.append(f"{name}: expected a number, got {describe(raw)}")
        return default
    try:
        value = float(raw)
    except OverflowError:
        issues.append(f"{name}: number too large")
        return default
    if not math.isfinite(value):
        issues.append(f"{name}: not a finite number")
        return default
    if value < lo or value > hi:
        issues.append(f"{name}: {value:g} out of range [{lo:g}, {hi:g}], clamped")
        return min(max(value, lo), hi)
    return value


def integer(raw: Any, name: str, default: int | None, issues: list[str]) -> int | None:
    """A non-negative integer (timestamps in ms); floats are truncated silently (Yjs numbers
    come back as floats)."""
    if raw is MISSING or (raw is None and default is None):
        return default
    value = number(raw, name, math.nan, 0.0, 2.0**53, issues)
    if math.isnan(value):
        return default
    return int(value)


def string(raw: Any, name: str, default: str, max_len: int, issues: list[str]) -> str:
    if raw is MISSING:
        return default
    if not isinstance(raw, str):
        issues.append(f"{name}: expected a string, got {describe(raw)}")
        return default
    if len(raw) > max_len:
        issues.append(f"{name}: longer than {max_len} characters, truncated")
        return raw[:max_len]
    return str(raw)


def boolean(raw: Any, name: str, default: bool, issues: list[str]) -> bool:
    if raw is MISSING:
        return default
    if not isinstance(raw, bool):
        issues.append(f"{name}: expected a boolean, got {describe(raw)}")
        return default
    return raw


def choice(raw: Any, name: str, choices: tuple[str, ...], default: str, issues: list[str]) -> Any:
    if raw is MISSING:
        return default
    if raw not in choices or not isinstance(raw, str):
        shown = repr(raw)[:40] if isinstance(raw, str) else describe(raw)
        issues.append(f"{name}: {shown} is not one of {'|'.join(choices)}")
        return default
    return raw


def color(raw: Any, name: str, default: str, issues: list[str]) -> str:
    if raw is MISSING:
        return default
    if isinstance(raw, str) and (raw == "none" or COLOR_RE.fullmatch(raw)):
        return raw
    shown = repr(raw)[:40] if isinstance(raw, str) else describe(raw)
    issues.append(f"{name}: {shown} is not a colour (#rrggbb, #rrggbbaa or none)")
    return default


def is_coordinate(v: Any) -> bool:
    """A finite number within ±COORD_LIMIT (``bool`` is not a number here)."""
    return (type(v) is float or type(v) is int) and math.isfinite(v) and abs(v) <= schema.COORD_LIMIT
