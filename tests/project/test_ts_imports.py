"""No import circle in the web app (web/src) or in @annotd/client (clients/js/src), and no
export of the web app that nothing imports.

A circle means no file in it can be read, tested or replaced without the others: panels and
app modules see the room through narrow contexts (web/DESIGN.md "Module map") so that none of
them needs the module that builds the room. An export nobody imports reads as an interface
that something depends on; the package's exports are its public API and are not held to it.
"""

from __future__ import annotations

from pathlib import Path

from tests.ts_imports import ROOT, circles, describe, exported, graph, named_imports, resolve, specifiers, unimported_exports


def test_the_scan_reads_every_kind_of_import() -> None:
    text = (
        'import type { A } from "./a";\n'
        "import {\n  B,\n  type C,\n} from './b.js';\n"
        'export * from "./c";\n'
        'import "./d";\n'
        'const e = await import("./e");\n'
    )
    assert specifiers(text) == {"./a", "./b.js", "./c", "./d", "./e"}


def test_the_graph_follows_relative_and_package_imports() -> None:
    g = graph()
    room = ROOT / "web/src/app/room.ts"
    assert ROOT / "web/src/render/scene.ts" in g[room]
    assert resolve(room, "@annotd/client") == ROOT / "clients/js/src/index.ts"
    assert ROOT / "clients/js/src/socket.ts" in g[ROOT / "clients/js/src/index.ts"]


def test_circles_are_found() -> None:
    a, b, c = Path("a"), Path("b"), Path("c")
    assert circles({a: {b}, b: {c}, c: {a}}) == [[a, b, c]]
    assert circles({a: {b}, b: {c}, c: set()}) == []


def test_no_import_circles() -> None:
    found = circles(graph())
    assert not found, "import circles:\n" + "\n".join(describe(g) for g in found)


def test_exports_and_named_imports_are_read() -> None:
    text = (
        "export const A = 1;\nexport async function b() {}\nexport interface C {}\n"
        "const d = 2;\nexport { d as D };\nexport default 3;\n"
    )
    assert exported(text) == {"A", "b", "C", "D"}
    room = ROOT / "web/src/app/room.ts"
    got = named_imports(room, 'import { Scene, type Other as O } from "../render/scene";\nimport * as Y from "yjs";\n')
    assert got == {(ROOT / "web/src/render/scene.ts", "Scene"), (ROOT / "web/src/render/scene.ts", "Other")}


def test_every_export_of_the_web_app_is_imported() -> None:
    dead = unimported_exports()
    assert not dead, "exported but never imported (drop the export, or the code):\n" + "\n".join(dead)
