"""Generate protocol.md's method reference from the command registry.

Why generated: the reference must list exactly the commands the server has, with exactly
the parameters they validate. ``python -m annotd.cli.docgen`` prints the section; a test
checks that protocol.md contains it verbatim, so the document cannot drift from the code.
"""

from __future__ import annotations

from typing import Any

from ..commands import REGISTRY
from ..commands import params as params_mod
from ..commands.jsonschema import REF_PREFIX, Components, typed_dict_component

BEGIN = "<!-- BEGIN GENERATED METHODS (python -m annotd.cli.docgen) -->"
END = "<!-- END GENERATED METHODS -->"


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return f"`{schema['$ref'].removeprefix(REF_PREFIX)}`"
    if "anyOf" in schema:
        return " \\| ".join(_type(s) for s in schema["anyOf"])
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    t = schema.get("type", "any")
    if schema.get("contentEncoding") == "base64":
        return "string (base64)"
    if t == "array":
        return f"array of {_type(schema.get('items', {}))}"
    extra = []
    for key in ("minimum", "maximum", "maxLength", "maxItems"):
        if key in schema:
            extra.append(f"{key} {schema[key]}")
    if "pattern" in schema:
        extra.append(f"`{schema['pattern']}`")
    return t + (f" ({', '.join(extra)})" if extra else "")


def _short(schema: dict[str, Any]) -> str:
    """A result field's type in a few words: named schemas by name."""
    if "$ref" in schema:
        return f"`{schema['$ref'].removeprefix(REF_PREFIX)}`"
    if "anyOf" in schema:
        return " \\| ".join(_short(s) for s in schema["anyOf"])
    if "const" in schema:
        return f"`{str(schema['const']).lower() if isinstance(schema['const'], bool) else schema['const']}`"
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    if schema.get("type") == "array":
        return f"array of {_short(schema.get('items', {}))}"
    return str(schema.get("type", "any"))


def _answer(result: Any, media: str) -> str:
    """What a command answers: its result type's fields (``?``: present only in some cases)."""
    if result is bytes:
        return f"Answers the file (REST: `{media}`; JSON-RPC: base64 with `size` and `sha256`)."
    components = Components()
    name = typed_dict_component(result, components)
    schema = components.schemas[name]
    required = set(schema.get("required", []))
    fields = ", ".join(f"`{k}`{'' if k in required else '?'}: {_short(v)}" for k, v in schema["properties"].items())
    return f"Answers `{name}` {{{fields}}}."


def methods_markdown() -> str:
    lines = [BEGIN, ""]
    for name in sorted(REGISTRY):
        cmd = REGISTRY[name]
        schema = params_mod.json_schema(cmd.params, Components())
        required = set(schema.get("required", []))
        routes = ", ".join(f"`{r.method} {r.path}`" for r in cmd.routes)
        lines.append(f"### `{name}`")
        lines.append("")
        summary = cmd.summary.replace("``", "`")
        lines.append(f"{summary} REST: {routes} → {cmd.status}.")
        lines.append(_answer(cmd.result, cmd.media))
        if cmd.body_param:
            lines.append(f"On REST the request body is the `{cmd.body_param}` object itself.")
        if cmd.raw_body:
            lines.append(f"On REST the request body is the `{cmd.raw_body}` file itself (raw bytes); "
                         "JSON-RPC sends it base64-encoded.")
        lines.append("")
        if schema["properties"]:
            lines.append("| param | type | required | notes |")
            lines.append("|---|---|---|---|")
            for pname, pschema in schema["properties"].items():
                inner = pschema["anyOf"][0] if "anyOf" in pschema else pschema
                note = pschema.get("description") or inner.get("description", "")
                lines.append(f"| `{pname}` | {_type(pschema)} | {'yes' if pname in required else 'no'} | {note} |")
        else:
            lines.append("No parameters.")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


if __name__ == "__main__":
    print(methods_markdown())
