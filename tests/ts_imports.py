"""The TypeScript import graph of the web app and of @annotd/client, read from the sources.

Every ``import``/``export ... from`` statement counts, ``import type`` too: a type-only edge
vanishes from the bundle but not from the reader, who still has to hold both files in mind.
``@annotd/client`` resolves to the package's source entry, so an edge into the package is
followed like a relative one.

It also answers which names a file exports and which of them another file imports by name
(an export nobody imports is dead code that still looks like an interface).

Run as a script to print each circle (a strongly connected group of files) and each export
of the web app that nothing imports::

    .venv/bin/python tests/ts_imports.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (ROOT / "web" / "src", ROOT / "clients" / "js" / "src")
# The web app's exports must each be imported by one of these (its node tests included).
# @annotd/client's exports are its public API: they are not held to this.
APP = ROOT / "web" / "src"
APP_READERS = (APP, ROOT / "web" / "test")
PACKAGES = {"@annotd/client": ROOT / "clients" / "js" / "src" / "index.ts"}

# A statement that starts a line: `import ... from "x"`, `export ... from "x"`, `import "x"`,
# and dynamic `import("x")` anywhere.
_STATIC = re.compile(r"^\s*(?:import|export)\b[^;]*?\bfrom\s*[\"']([^\"']+)[\"']", re.M | re.S)
_BARE = re.compile(r"^\s*import\s*[\"']([^\"']+)[\"']", re.M)
_DYNAMIC = re.compile(r"\bimport\(\s*[\"']([^\"']+)[\"']\s*\)")
_NAMED = re.compile(r"^\s*(?:import|export)\s+(?:type\s+)?(?:[\w$]+\s*,\s*)?\{([^}]*)\}\s*from\s*[\"']([^\"']+)[\"']", re.M | re.S)
_DECLARED = re.compile(
    r"^export\s+(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(?:function\*?|const|let|var|class|interface|type|enum)\s+([A-Za-z_$][\w$]*)",
    re.M,
)
_LISTED = re.compile(r"^export\s+(?:type\s+)?\{([^}]*)\}\s*;", re.M)


def sources() -> list[Path]:
    return sorted(p for src in SOURCES for p in src.rglob("*.ts") if not p.name.endswith(".d.ts"))


def specifiers(text: str) -> set[str]:
    return {m.group(1) for rx in (_STATIC, _BARE, _DYNAMIC) for m in rx.finditer(text)}


def _names(bindings: str) -> list[tuple[str, str]]:
    """`a, type b as c` → [("a", "a"), ("b", "c")]: (name in the source, local name)."""
    out = []
    for part in bindings.split(","):
        part = re.sub(r"^\s*type\s+", "", part).strip()
        if part:
            name, _, alias = part.partition(" as ")
            out.append((name.strip(), (alias or name).strip()))
    return out


def exported(text: str) -> set[str]:
    """The names a file declares as exports (`export function f`, `export { a as b }`)."""
    names = {m.group(1) for m in _DECLARED.finditer(text)}
    names.update(alias for m in _LISTED.finditer(text) for _, alias in _names(m.group(1)))
    return names


def named_imports(importer: Path, text: str) -> set[tuple[Path, str]]:
    """(file, name) for each name `importer` imports or re-exports from a scanned file."""
    found = set()
    for m in _NAMED.finditer(text):
        source = resolve(importer, m.group(2))
        if source is not None:
            found.update((source, name) for name, _ in _names(m.group(1)))
    return found


def unimported_exports() -> list[str]:
    """The web app's exports that no file of the app or of its tests imports."""
    used = set()
    for folder in APP_READERS:
        for path in folder.rglob("*.ts"):
            used |= named_imports(path, path.read_text())
    return [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted(APP.rglob("*.ts"))
        if not path.name.endswith(".d.ts")
        for name in sorted(exported(path.read_text()))
        if (path, name) not in used
    ]


def resolve(importer: Path, spec: str) -> Path | None:
    """The source file `spec` names, or None for a dependency outside the scanned sources."""
    if spec in PACKAGES:
        return PACKAGES[spec]
    if not spec.startswith("."):
        return None
    base = (importer.parent / spec).resolve()
    stem = base.with_suffix("") if base.suffix in (".js", ".ts") else base
    for candidate in (stem.with_suffix(".ts"), stem / "index.ts"):
        if candidate.is_file():
            return candidate
    raise AssertionError(f"{importer.relative_to(ROOT)}: cannot resolve import {spec!r}")


def graph() -> dict[Path, set[Path]]:
    g: dict[Path, set[Path]] = {}
    for path in sources():
        deps = {resolve(path, s) for s in specifiers(path.read_text())}
        g[path] = {d for d in deps if d is not None and d != path}
    return g


def circles(g: dict[Path, set[Path]]) -> list[list[Path]]:
    """The strongly connected groups of more than one file (Tarjan), each sorted."""
    index: dict[Path, int] = {}
    low: dict[Path, int] = {}
    stack: list[Path] = []
    on_stack: set[Path] = set()
    found: list[list[Path]] = []

    def visit(v: Path) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group: list[Path] = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(g) + 100))
    for v in sorted(g):
        if v not in index:
            visit(v)
    return found


def describe(group: list[Path]) -> str:
    return f"{len(group)} files: " + ", ".join(str(p.relative_to(ROOT)) for p in group)


if __name__ == "__main__":
    found = circles(graph())
    for group in found:
        print(describe(group))
    print(f"{len(found)} import circle(s)")
    dead = unimported_exports()
    for line in dead:
        print(f"never imported: {line}")
    print(f"{len(dead)} export(s) never imported")
    sys.exit(1 if found or dead else 0)
