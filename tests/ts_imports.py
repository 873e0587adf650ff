"""The TypeScript import graph of the web app and of @annotd/client, read from the sources.

Every ``import``/``export ... from`` statement counts, ``import type`` too: a type-only edge
vanishes from the bundle but not from the reader, who still has to hold both files in mind.
``@annotd/client`` resolves to the package's source entry, so an edge into the package is
followed like a relative one.

Run as a script to print each circle (a strongly connected group of files)::

    .venv/bin/python tests/ts_imports.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (ROOT / "web" / "src", ROOT / "clients" / "js" / "src")
PACKAGES = {"@annotd/client": ROOT / "clients" / "js" / "src" / "index.ts"}

# A statement that starts a line: `import ... from "x"`, `export ... from "x"`, `import "x"`,
# and dynamic `import("x")` anywhere.
_STATIC = re.compile(r"^\s*(?:import|export)\b[^;]*?\bfrom\s*[\"']([^\"']+)[\"']", re.M | re.S)
_BARE = re.compile(r"^\s*import\s*[\"']([^\"']+)[\"']", re.M)
_DYNAMIC = re.compile(r"\bimport\(\s*[\"']([^\"']+)[\"']\s*\)")


def sources() -> list[Path]:
    return sorted(p for src in SOURCES for p in src.rglob("*.ts") if not p.name.endswith(".d.ts"))


def specifiers(text: str) -> set[str]:
    return {m.group(1) for rx in (_STATIC, _BARE, _DYNAMIC) for m in rx.finditer(text)}


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
    sys.exit(1 if found else 0)
