"""The package has no import circle, and every import follows the layer table (ARCHITECTURE.md).

Every ``import`` in ``annotd/`` counts, including those under ``TYPE_CHECKING`` and inside
functions: a late import hides a circle from the interpreter, not from the reader.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "annotd"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The package modules ``path`` imports (``from pkg import sub`` counts as ``pkg.sub``)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in modules else base)
    return {m for m in found if m in modules and m != name}


def test_no_import_circles() -> None:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    graph = {module_name(p): imports_of(p, modules) for p in paths}
    assert "annotd.live.hub" in graph and graph["annotd.live.hub"], "the scan found no imports: the test is broken"
    done: set[str] = set()
    stack: list[str] = []

    def visit(m: str) -> None:
        if m in stack:
            raise AssertionError("import circle: " + " -> ".join([*stack[stack.index(m):], m]))
        if m in done:
            return
        stack.append(m)
        for dep in sorted(graph[m]):
            visit(dep)
        stack.pop()
        done.add(m)

    for m in sorted(graph):
        visit(m)


# -- the layer table ------------------------------------------------------------------------
# Which layer each module belongs to (ARCHITECTURE.md draws the same table). A module is
# named by its path under ``annotd`` with dots; a package name covers its sub-modules unless
# a longer name is listed. Moving modules into folders is a matter of renaming entries here.
LAYER_OF: dict[str, str] = {
    "__main__": "process",
    "cli": "process",
    "process": "process",
    "net": "adapters",
    "client": "client",
    "commands": "commands",
    "roomfiles": "room files",
    "live": "hub",
    "services": "services",
    "formats": "formats",
    "storage": "storage",
    "core": "room core",
    "canvas": "canvas",
    "render": "render",
    "render.options": "leaves",
    "base": "leaves",
    "__init__": "leaves",
}

# What each layer may import besides itself. The finer rules ARCHITECTURE.md states (which
# modules of a layer, late imports in worker processes) are in EXCEPTIONS.
MAY_IMPORT: dict[str, set[str]] = {
    "process": {"adapters", "client", "commands", "room files", "hub", "services", "formats", "storage", "room core",
                "canvas", "render", "leaves"},
    "adapters": {"commands", "room files", "hub", "room core", "canvas", "leaves"},
    "client": {"leaves"},
    "commands": {"room files", "hub", "formats", "room core", "canvas", "leaves"},
    "room files": {"hub", "formats", "room core", "canvas", "leaves"},
    "hub": {"services", "room core", "canvas", "leaves"},
    "services": {"leaves"},
    "formats": {"canvas", "room core", "leaves"},
    "storage": {"room core", "leaves"},
    "room core": {"leaves"},
    "canvas": {"leaves"},
    "render": {"canvas", "leaves"},
    "leaves": {"leaves"},
}

EXCEPTIONS: dict[str, set[str]] = {
    # the export service's worker renders (it alone imports the renderer); the state worker's
    # functions build views in the worker process
    "annotd.services.renders.worker": {"annotd.render", "annotd.canvas.view"},
    "annotd.services.states": {"annotd.canvas.view", "annotd.canvas.changes"},
    # an export's pixel size is the renderer's own rule (layout only); a job's status values
    # type its result
    "annotd.commands.exports": {"annotd.render.frame", "annotd.services.renders.jobs"},
    # the web UI serves the renderer's fonts and metrics to the browser
    "annotd.net.webui": {"annotd.render.fonts", "annotd.render.scene"},
    # the client library speaks the room protocol
    "annotd.client.roomclient": {"annotd.core.yproto"},
}

ROOM_CORE_NEVER = ("asyncio", "annotd.canvas")
"""Sans-I/O: the room core neither awaits nor knows the canvas schema."""


def layer_of(module: str) -> str:
    parts = module.split(".")[1:] or ["__init__"]
    for n in range(len(parts), 0, -1):
        layer = LAYER_OF.get(".".join(parts[:n]))
        if layer is not None:
            return layer
    raise AssertionError(f"{module} is in no layer: add it to LAYER_OF (and to ARCHITECTURE.md)")


def allowed(module: str, dep: str) -> bool:
    src, dst = layer_of(module), layer_of(dep)
    if src == dst or dst in MAY_IMPORT[src]:
        return True
    return any(dep == e or dep.startswith(e + ".") for e in EXCEPTIONS.get(module, ()))


def test_every_import_follows_the_layer_table() -> None:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    wrong = [f"{module_name(p)} ({layer_of(module_name(p))}) imports {dep} ({layer_of(dep)})"
             for p in paths for dep in sorted(imports_of(p, modules)) if not allowed(module_name(p), dep)]
    assert not wrong, "imports against the layer table:\n" + "\n".join(wrong)


def test_the_table_rejects_what_it_should() -> None:
    """The check itself: an upward import and a room core importing the canvas are caught."""
    assert not allowed("annotd.core.room", "annotd.live.hub")
    assert not allowed("annotd.core.history", "annotd.canvas.schema")
    assert not allowed("annotd.canvas.view", "annotd.core.room")
    assert not allowed("annotd.live.hub", "annotd.net.wsserver")
    assert allowed("annotd.commands.canvas", "annotd.canvas.ops")


def test_room_core_imports_neither_asyncio_nor_canvas() -> None:
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        if name == "annotd" or layer_of(name) != "room core":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            if isinstance(node, ast.ImportFrom) and node.level:
                names = ["annotd." + (node.module or "")]
            for n in names:
                assert not any(n == bad or n.startswith(bad + ".") for bad in ROOM_CORE_NEVER), f"{name} imports {n}"


def test_commands_never_reach_into_a_history() -> None:
    """Commands see a room only as annotd.live.access.RoomAccess: no ``.history.`` under commands/
    (the ``history`` config section is not a room's history)."""
    found = [f"{p.name}:{i}" for p in sorted((PACKAGE / "commands").glob("*.py"))
             for i, line in enumerate(p.read_text().splitlines(), 1) if re.search(r"(?<!config)\.history\.", line)]
    assert not found, found


def test_modules_live_in_layer_folders() -> None:
    """The layers are folders: besides the package's own ``__init__``/``__main__`` no module
    sits flat in ``annotd/``, and every folder is a layer the table names."""
    flat = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in {"__init__.py", "__main__.py"})
    assert not flat, f"modules outside a layer folder: {flat}"
    for folder in sorted(p.parent for p in PACKAGE.glob("*/__init__.py")):
        assert folder.name in LAYER_OF, f"annotd/{folder.name}/ is in no layer: add it to LAYER_OF"
