"""Read Yjs shared types into plain Python, fast, keeping the difference between a nested
``Y.Map`` and a plain JSON object.

Why not ``pycrdt.Map.to_py()``: it opens a transaction per key, several times slower per
annotation than reading through the Rust objects inside *one* transaction (BENCHMARKS.md,
"Figures the design rests on"). And ``to_py()`` returns a ``dict`` for both
a nested ``Y.Map`` and a plain JSON object, while the view must tell them apart (a plain
object cannot merge concurrent edits, so the view reports it).

This module is the only place that touches pycrdt internals (``Map.integrated`` and
``Transaction._txn``, checked against pycrdt 0.14); if they disappear, :func:`read_root`
falls back to the public API, slower but equivalent.
"""

from __future__ import annotations

from typing import Any

import pycrdt

from annotd.canvas import schema

try:  # pycrdt's Rust extension: the integrated (document-bound) shared types.
    from pycrdt._pycrdt import Array as _RArray
    from pycrdt._pycrdt import Map as _RMap
    from pycrdt._pycrdt import Text as _RText
except ImportError:  # pragma: no cover - depends on the installed pycrdt
    _RArray = _RMap = _RText = None  # type: ignore[assignment,misc]

__all__ = ["ABSENT", "Foreign", "YArrayData", "YMapData", "YTextData", "read_entry", "read_entry_field", "read_fields", "read_root"]

MAX_DEPTH = 6
"""Nested shared types deeper than this are not descended into (a raw client could nest
maps arbitrarily); the schema's deepest path is comments → thread → messages → message."""


class YMapData(dict[str, Any]):
    """Contents of a nested ``Y.Map`` (a plain JSON object stays a plain ``dict``)."""


class YArrayData(list[Any]):
    """Contents of a ``Y.Array`` (a plain JSON array stays a plain ``list``)."""


class YTextData(str):
    """Contents of a ``Y.Text``."""


class Foreign:
    """A shared type the schema never uses (XML types, sub-documents, too deep)."""

    __slots__ = ("kind",)

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __repr__(self) -> str:
        return f"<{self.kind}>"


def _convert(value: Any, tx: Any, depth: int) -> Any:
    if _RMap is not None and isinstance(value, _RMap):
        if depth >= MAX_DEPTH:
            return Foreign("Y.Map nested too deep")
        return YMapData({k: _convert(value.get(tx, k), tx, depth + 1) for k in value.keys(tx)})  # type: ignore[attr-defined]
    if _RArray is not None and isinstance(value, _RArray):
        if depth >= MAX_DEPTH:
            return Foreign("Y.Array nested too deep")
        return YArrayData(_convert(value.get(tx, i), tx, depth + 1) for i in range(value.len(tx)))
    if _RText is not None and isinstance(value, _RText):
        return YTextData(value.get_string(tx))
    if isinstance(value, (str, int, float, bool, list, dict)) or value is None:
        return value
    if isinstance(value, (bytes, bytearray)):
        return Foreign("binary")
    return Foreign(type(value).__name__)


def _read_fast(root: pycrdt.Map, tx: Any) -> YMapData:
    integrated = root.integrated
    return YMapData({key: _convert(integrated.get(tx, key), tx, 1) for key in integrated.keys(tx)})


def _read_public(value: Any, depth: int) -> Any:
    """Fallback with pycrdt's public API (same result, slower)."""
    if isinstance(value, pycrdt.Map):
        if depth >= MAX_DEPTH:
            return Foreign("Y.Map nested too deep")
        return YMapData({k: _read_public(v, depth + 1) for k, v in value.items()})
    if isinstance(value, pycrdt.Array):
        if depth >= MAX_DEPTH:
            return Foreign("Y.Array nested too deep")
        return YArrayData(_read_public(v, depth + 1) for v in value)
    if isinstance(value, pycrdt.Text):
        return YTextData(str(value))
    if isinstance(value, (str, int, float, bool, list, dict)) or value is None:
        return value
    if isinstance(value, (bytes, bytearray)):
        return Foreign("binary")
    return Foreign(type(value).__name__)


def read_root(doc: pycrdt.Doc, name: str) -> YMapData:
    """Return the root map ``name`` of ``doc`` as plain Python, nested Y types marked.

    Entries of the root (annotations, threads) are read with all their fields; unknown
    fields cost a little but are never interpreted. Never raises on odd content: shared
    types the schema does not use come back as :class:`Foreign`.
    """
    root = doc.get(name, type=pycrdt.Map)
    with doc.transaction() as txn:
        inner = getattr(txn, "_txn", None)
        if _RMap is not None and inner is not None and hasattr(root, "integrated"):
            return _read_fast(root, inner)
        return YMapData({k: _read_public(v, 1) for k, v in root.items()})


class _Absent:
    """Marker for "no such key" (``None`` is a legal stored value)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()


def read_entry(doc: pycrdt.Doc, name: str, key: str) -> Any:
    """Return one entry of root map ``name`` converted like :func:`read_root`, or
    :data:`ABSENT` if there is no such key (cheap: reads only that entry)."""
    root = doc.get(name, type=pycrdt.Map)
    with doc.transaction() as txn:
        inner = getattr(txn, "_txn", None)
        if _RMap is not None and inner is not None and hasattr(root, "integrated"):
            integrated = root.integrated
            if not integrated.has(inner, key):
                return ABSENT
            return _convert(integrated.get(inner, key), inner, 1)
        if key not in root:
            return ABSENT
        return _read_public(root[key], 1)


def read_entry_field(doc: pycrdt.Doc, name: str, key: str, field: str) -> Any:
    """One field of entry ``key`` of root map ``name`` (a nested or plain map) converted like
    :func:`read_root`, or :data:`ABSENT`: what :func:`read_fields` reads for one entry."""
    root = doc.get(name, type=pycrdt.Map)
    with doc.transaction() as txn:
        inner = getattr(txn, "_txn", None)
        if _RMap is not None and inner is not None and hasattr(root, "integrated"):
            integrated = root.integrated
            if not integrated.has(inner, key):
                return ABSENT
            value = integrated.get(inner, key)
            if isinstance(value, _RMap):
                return _convert(value.get(inner, field), inner, 2) if value.has(inner, field) else ABSENT
        else:
            if key not in root:
                return ABSENT
            value = root[key]
            if isinstance(value, pycrdt.Map):
                return _read_public(value[field], 2) if field in value else ABSENT
    if isinstance(value, dict):
        return value.get(field, ABSENT)
    return ABSENT


def read_fields(doc: pycrdt.Doc, name: str, fields: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """For every entry of root map ``name`` that is a map (nested or plain), the subset of
    ``fields`` it holds. Cheaper than :func:`read_root` when a mutation needs one column
    (every ``z``, every ``anchor``): other fields, such as long point lists, are not read."""
    root = doc.get(name, type=pycrdt.Map)
    out: dict[str, dict[str, Any]] = {}
    with doc.transaction() as txn:
        inner = getattr(txn, "_txn", None)
        if _RMap is not None and inner is not None and hasattr(root, "integrated"):
            integrated = root.integrated
            for key in integrated.keys(inner):
                value = integrated.get(inner, key)
                if isinstance(value, _RMap):
                    out[key] = {f: _convert(value.get(inner, f), inner, 2) for f in fields if value.has(inner, f)}
                elif isinstance(value, dict):
                    out[key] = {f: value[f] for f in fields if f in value}
            return out
        for key, value in root.items():
            if isinstance(value, pycrdt.Map):
                out[key] = {f: _read_public(value[f], 2) for f in fields if f in value}
            elif isinstance(value, dict):
                out[key] = {f: value[f] for f in fields if f in value}
    return out


def image_ref(doc: pycrdt.Doc) -> dict[str, Any] | None:
    """The document's base image reference (``meta.image``) as stored, if it is an object."""
    ref = doc.get(schema.ROOT_META, type=pycrdt.Map).get("image")
    return dict(ref) if isinstance(ref, dict) else None
