"""The packed @annotd/client works where a frontend developer would use it.

``npm pack`` in clients/js (its ``prepack`` builds dist/), then an empty project installs
that tarball and yjs with ``npm install --offline`` (yjs comes from npm's cache, which
bin/test's ``npm ci`` filled: no network at test time), type-checks a file against the
packed .d.ts as a NodeNext project, and runs clients/js/test/pack/consumer.mjs against a
live daemon: connect, create an annotation through JSON-RPC, see another client's edit,
drop the socket, come back with replay and miss nothing.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import aiohttp
import pytest

from annotd.process.daemon import Daemon

from ..client.test_client_js import SDK, sdk_node
from ..helpers import create_room


def _run(args: list[str], cwd: Path) -> str:
    run = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"{' '.join(args)}:\n{run.stdout}\n{run.stderr}"
    return run.stdout


@pytest.fixture(scope="module")
def consumer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty project with only the packed package and its yjs peer installed."""
    node = sdk_node()
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("the package test needs npm on PATH", pytrace=False)
    out = tmp_path_factory.mktemp("pack")
    tarball = out / _run([npm, "pack", "--silent", "--pack-destination", str(out)], SDK).strip().splitlines()[-1]
    assert tarball.is_file(), tarball
    yjs = json.loads((SDK / "package.json").read_text())["devDependencies"]["yjs"]
    project = out / "consumer"
    project.mkdir()
    (project / "package.json").write_text(json.dumps({"name": "consumer", "private": True, "type": "module"}))
    _run([npm, "install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", str(tarball), f"yjs@{yjs}"],
         project)
    installed = project / "node_modules" / "@annotd" / "client"
    assert not installed.is_symlink() and (installed / "dist" / "index.d.ts").is_file()
    for name in ("consumer.mjs", "check.ts"):
        shutil.copy(SDK / "test" / "pack" / name, project / name)
    _run([node, str(SDK / "node_modules" / "typescript" / "bin" / "tsc"), "--noEmit", "--strict", "--module", "nodenext",
          "--moduleResolution", "nodenext", "--target", "es2022", "--lib", "es2022,dom", "check.ts"], project)
    return project


async def test_packed_client_syncs_calls_and_replays_against_a_live_daemon(
        consumer: Path, daemon: Daemon, http: aiohttp.ClientSession) -> None:
    await create_room(http, "packed")
    proc = await asyncio.create_subprocess_exec(
        sdk_node(), "--experimental-websocket", "consumer.mjs", daemon.ws_url, "packed", cwd=consumer,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    async with asyncio.timeout(90):
        out, err = await proc.communicate()
    assert proc.returncode == 0, out.decode() + err.decode()
    seen = json.loads(out.decode().strip().splitlines()[-1])
    assert seen["created"]["annotation"]["id"] == "byRpc" and seen["created"]["seq"] > 0
    # the reconnect resumed from where the socket was: a replay, not a resync
    assert seen["sync"] == "replay" and seen["replayFrom"] == seen["lastSeqBeforeDrop"]
    assert seen["seqsAfterDrop"] and seen["seqsAfterDrop"][-1] == seen["headSeq"]
    r = await http.get("/v1/rooms/packed/annotations")
    server_ids = sorted(a["id"] for a in (await r.json())["annotations"])
    assert seen["ids"] == server_ids
    assert {"byRpc", "byBob", "missedRpc", *(f"missed{i}" for i in range(5))} == set(server_ids)
