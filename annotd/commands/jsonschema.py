"""Python types → JSON Schema: one translation for command parameters and command results.

Why one module: a parameter and a result field of the same type must be described the same
way in ``/openapi.json`` (and so in every generated client and in protocol.md). Results are
declared as ``TypedDict`` classes next to each command's params; each becomes a named schema
(``#/components/schemas/<class name>``) referred to with ``$ref``, so a shape used by several
commands (a room, an annotation) is one type in a generated client, not one per command.

Patterns are stored unanchored (the code matches them with ``re.fullmatch``) and published
anchored (``^…$``): a JSON Schema ``pattern`` is a search, and an unanchored one would
accept any string containing a single valid character.
"""

from __future__ import annotations

import types
from typing import Any, Literal, NotRequired, Required, Union, get_args, get_origin, get_type_hints, is_typeddict

REF_PREFIX = "#/components/schemas/"



class Components:
    """Named schemas collected while translating: ``schemas`` (component name → schema),
    and which class each name came from (two classes of one name are a declaration bug)."""

    def __init__(self) -> None:
        self.schemas: dict[str, dict[str, Any]] = {}
        self._owners: dict[str, Any] = {}


def anchored(pattern: str) -> str:
    """``pattern`` as a JSON Schema ``pattern`` that must match the whole string.

    A top-level alternation (``a|b``) is grouped first: ``^a|b$`` would anchor only its ends.
    """
    return f"^(?:{pattern})$" if _top_level_alternation(pattern) else f"^{pattern}$"


def _top_level_alternation(pattern: str) -> bool:
    depth, in_class, escaped = 0, False, False
    for ch in pattern:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            return True
    return False


def markdown(doc: str) -> str:
    """A docstring as one Markdown paragraph (reST ````code```` → Markdown ```code```)."""
    return " ".join(doc.split()).replace("``", "`")


def split_optional(tp: Any) -> tuple[bool, Any]:
    """``(True, T)`` for ``T | None``, else ``(False, tp)``."""
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) < len(get_args(tp)):
            return True, args[0] if len(args) == 1 else Union[tuple(args)]  # noqa: UP007
    return False, tp


def type_schema(tp: Any, meta: dict[str, Any] | None = None, components: Components | None = None) -> dict[str, Any]:
    """The schema of ``tp``; ``meta`` holds a parameter's rules (``pattern``, ``minimum``,
    ``maximum``, ``max_len``, ``doc``; ``shape``: the named type an object is published as).
    A list's pattern and range apply to its items, its ``max_len`` to the list.
    ``TypedDict`` classes are added to ``components``."""
    meta = meta or {}
    optional, tp = split_optional(tp)
    origin = get_origin(tp)
    out: dict[str, Any]
    if origin is list:
        (item,) = get_args(tp) or (Any,)
        item_rules = {k: v for k, v in meta.items() if k in ("pattern", "minimum", "maximum")}
        out = {"type": "array", "items": type_schema(item, item_rules, components)}
        if meta.get("max_len") is not None:
            out["maxItems"] = meta["max_len"]
    elif meta.get("shape") is not None:
        out = type_schema(meta["shape"], None, components)
    else:
        out = _scalar(tp, origin, components)
        if meta.get("pattern"):
            out["pattern"] = anchored(meta["pattern"])
        for key in ("minimum", "maximum"):
            if meta.get(key) is not None:
                out[key] = meta[key]
        if meta.get("max_len") is not None:
            out["maxLength"] = meta["max_len"]
    if meta.get("doc"):
        out["description"] = meta["doc"]
    if optional:
        out = {"anyOf": [out, {"type": "null"}]}
    return out


def _scalar(tp: Any, origin: Any, components: Components | None) -> dict[str, Any]:
    if origin is Literal:
        values = list(get_args(tp))
        kinds = {type(v) for v in values}
        out: dict[str, Any] = {"const": values[0]} if len(values) == 1 else {"enum": values}
        if len(kinds) == 1:
            out["type"] = {str: "string", bool: "boolean", int: "integer"}[kinds.pop()]
        return out
    if origin in (Union, types.UnionType):
        return {"anyOf": [type_schema(a, None, components) for a in get_args(tp)]}
    simple = {bool: "boolean", int: "integer", float: "number", str: "string"}
    if tp in simple:
        return {"type": simple[tp]}
    if tp is bytes:
        return {"type": "string", "contentEncoding": "base64"}
    if origin is dict or tp is dict:
        args = get_args(tp)
        if len(args) == 2 and args[1] is not Any:
            return {"type": "object", "additionalProperties": type_schema(args[1], None, components)}
        return {"type": "object", "additionalProperties": True}  # bare "object" reads as {} to generators
    if is_typeddict(tp):
        return {"$ref": REF_PREFIX + typed_dict_component(tp, components)}
    if tp is Any:
        return {}
    raise TypeError(f"no JSON Schema for {tp!r}")  # a declaration bug, not user input


def typed_dict_component(cls: Any, components: Components | None) -> str:
    """Add ``cls`` (a ``TypedDict``) to ``components`` under its class name; return the name.

    ``NotRequired`` keys are the ones a result leaves out in some cases (a text
    annotation's ``text``); every other key is always present, ``null`` when its type
    allows. Unknown keys are allowed: a client must tolerate fields added later.
    """
    name = cls.__name__
    if components is None:
        raise TypeError(f"{name}: a TypedDict needs a components table to be referred to")
    owner = components._owners.get(name)
    if owner is not None:
        if owner is not cls:
            raise TypeError(f"two result types are named {name}: in {owner.__module__} and in {cls.__module__}")
        return name
    schema: dict[str, Any] = {"type": "object"}
    components._owners[name] = cls
    components.schemas[name] = schema  # before the fields: a type may refer to itself
    hints = get_type_hints(cls, include_extras=True)
    props: dict[str, Any] = {}
    required = []
    for key, hint in hints.items():
        # read from the hint: ``__required_keys__`` is wrong under postponed annotations (3.11)
        marker = get_origin(hint)
        if marker in (NotRequired, Required):
            (hint,) = get_args(hint)
        if marker is Required or (marker is not NotRequired and cls.__total__):
            required.append(key)
        props[key] = type_schema(hint, None, components)
    schema["properties"] = props
    if required:
        schema["required"] = required
    if cls.__doc__:
        schema["description"] = markdown(cls.__doc__)
    return name


__all__ = ["REF_PREFIX", "Components", "anchored", "markdown", "split_optional", "type_schema", "typed_dict_component"]
