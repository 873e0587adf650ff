"""@annotd/client (clients/js): its generated files are fresh and its connection tests pass.

The node suite (clients/js/test/*.test.ts, bundled with the package's own esbuild and run
with ``node --test``) drives ``RoomSocket`` against a fake WebSocket and mock timers. Node
and clients/js/node_modules are required (bin/test installs them): a missing toolchain
fails instead of skipping.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from annotd.base.errors import CLOSE_CODES
from annotd.cli import clientgen

SDK = Path(__file__).resolve().parents[2] / "clients" / "js"


def sdk_node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("the client tests need Node.js >= 20 on PATH", pytrace=False)
    if not (SDK / "node_modules" / "esbuild" / "package.json").is_file():
        pytest.fail("clients/js/node_modules is missing: run bin/test (it runs npm ci there)", pytrace=False)
    return node


def test_generated_files_are_fresh() -> None:
    assert clientgen.stale() == [], "run: python -m annotd.cli.clientgen, and commit clients/js/src/generated/"


def test_generated_constants_say_4413_is_final() -> None:
    text = (SDK / "src" / "generated" / "constants.ts").read_text()
    block = text[text.index('"4413"'):]
    assert '"final": true' in block[:block.index("}")]


def test_connection_suite(tmp_path: Path) -> None:
    node = sdk_node()
    subprocess.run([node, str(SDK / "test" / "build.mjs"), str(tmp_path)], cwd=SDK, check=True, timeout=120)
    run = subprocess.run([node, "--test", "--test-reporter=tap", str(tmp_path / "socket.test.mjs")], cwd=SDK,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    # ten tests plus one per close code in the server's table
    assert "# fail 0" in run.stdout and f"# pass {10 + len(CLOSE_CODES)}" in run.stdout, run.stdout
