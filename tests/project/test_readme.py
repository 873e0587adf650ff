"""The README's quick tour, run as written against a real daemon.

The commands are read from README.md's "Quick tour" block and run with bash and the real
``curl``. Only what ties them to one machine is substituted: the daemon is this test's (on
port 0) instead of ``bin/annotd serve &`` (skipped), so ``localhost:8766`` becomes its
address, and ``bin/annotd`` becomes this interpreter's ``python -m annotd`` with
``ANNOTD_EXPORT_URL`` pointing at it (``bin/annotd`` would (re)build a venv). ``photo.png``
is a small PNG made here.
"""

from __future__ import annotations

import asyncio
import io
import re
import shlex
import sys
from pathlib import Path

import orjson
from PIL import Image

from annotd.process.daemon import Daemon

from ..helpers import T

ROOT = Path(__file__).resolve().parents[2]


def tour_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick tour", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "README.md: no sh block under Quick tour"
    joined = block.group(1).replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip()]


async def test_readme_quick_tour_runs_as_written(daemon: Daemon, tmp_path: Path) -> None:
    commands = tour_commands()
    assert commands[0].startswith("bin/annotd serve &")
    img = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(img, "PNG")
    (tmp_path / "photo.png").write_bytes(img.getvalue())
    address = daemon.http_url.removeprefix("http://")
    env = {"ANNOTD_EXPORT_URL": daemon.http_url, "PATH": "/usr/bin:/bin"}
    for command in commands[1:]:
        line = command.replace("localhost:8766", address).replace("bin/annotd", f"{shlex.quote(sys.executable)} -m annotd")
        proc = await asyncio.create_subprocess_shell(line, cwd=tmp_path, env=env, executable="/bin/bash",
                                                     stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        async with asyncio.timeout(T):
            out, err = await proc.communicate()
        assert proc.returncode == 0, (command, out, err)
        if command.startswith("curl"):
            body = orjson.loads(out)
            assert "error" not in body, (command, body)
    live = daemon.hub.rooms["demo"]
    assert live.image_ref() is not None and [v.tag for v in live.room.history.versions] == ["first"]
    with Image.open(tmp_path / "demo.png") as exported:
        assert exported.format == "PNG" and exported.size == (128, 96)  # --scale 2


async def test_form_encoded_body_is_refused_with_what_to_send(daemon: Daemon) -> None:
    """What curl -d sends without the header: 415, and the message says what to send."""
    proc = await asyncio.create_subprocess_exec(
        "curl", "-s", "-XPOST", f"{daemon.http_url}/v1/rooms", "-d", '{"id":"demo"}',
        stdout=asyncio.subprocess.PIPE)
    async with asyncio.timeout(T):
        out, _ = await proc.communicate()
    error = orjson.loads(out)["error"]
    assert error["code"] == "unsupported_media"
    assert "Content-Type: application/json" in error["message"]
    assert "application/x-www-form-urlencoded" in error["message"]
    assert "demo" not in daemon.hub.rooms
