"""Clients generated from ``/openapi.json`` work against a live daemon, with typed results.

A frontend developer generates a client instead of reading annotd's source; these tests do
what that developer would, with the real generators pinned in the repo: TypeScript types by
``openapi-typescript`` (committed as ``clients/js/src/generated/openapi.ts``, rebuilt by
``bin/build-openapi-types``) used by a fetch script that tsc type-checks, and a Python
client by ``openapi-python-client``, generated here into a temporary folder (offline: the
generator reads the document from a file and formats with the ruff it depends on).
Each: create a room, upload an image, create / update by id / delete an annotation, export
a PNG and download it.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from PIL import Image

from annotd.net.openapi import document
from annotd.process.daemon import Daemon

from ..helpers import T, within
from ..nodepeer import INTEROP, node_binary

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "clients" / "js" / "src" / "generated" / "openapi.ts"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PYTHON_CLIENT_CONFIG = """\
# openapi-python-client reads only JSON and octet-stream bodies; these are files
content_type_overrides:
  application/vnd.annotd.bundle+zip: application/octet-stream
  image/png: application/octet-stream
  image/jpeg: application/octet-stream
  image/jpg: application/octet-stream
  image/webp: application/octet-stream
  image/svg+xml: application/octet-stream
"""


def png_bytes(w: int = 40, h: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (w, h), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


def tool(relative: str) -> Path:
    path = INTEROP / "node_modules" / relative
    if not path.is_file():
        pytest.fail(f"tests/interop/node_modules/{relative} is missing; run bin/test or "
                    "`cd tests/interop && npm ci` to install the pinned npm packages", pytrace=False)
    return path


def test_committed_typescript_types_are_fresh(tmp_path: Path) -> None:
    node_binary()
    tool("openapi-typescript/bin/cli.js")
    fresh = tmp_path / "openapi.ts"
    subprocess.run([str(ROOT / "bin" / "build-openapi-types"), str(fresh)], check=True, capture_output=True,
                   timeout=300)
    assert COMMITTED.is_file(), "run bin/build-openapi-types and commit clients/js/src/generated/openapi.ts"
    assert fresh.read_bytes() == COMMITTED.read_bytes(), \
        "clients/js/src/generated/openapi.ts is stale: run bin/build-openapi-types and commit it"


async def test_typescript_round_trip_typed_by_the_generated_types(daemon: Daemon, tmp_path: Path) -> None:
    node = node_binary()
    tsc = tool("typescript/bin/tsc")
    built = await asyncio.create_subprocess_exec(
        node, str(tsc), "-p", str(INTEROP), "--outDir", str(tmp_path / "out"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    compiled, _ = await within(built.communicate(), "tsc")
    assert built.returncode == 0, "tsc refused the round trip:\n" + compiled.decode()
    image = png_bytes()
    (tmp_path / "image.png").write_bytes(image)
    script = tmp_path / "out" / "tests" / "interop" / "openapi_roundtrip.mjs"
    proc = await asyncio.create_subprocess_exec(
        node, str(script), daemon.http_url, str(tmp_path / "image.png"),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        first = await within(proc.stdout.readline(), "the script's export job")
        assert first, (await proc.communicate())[1].decode()
        job_id = json.loads(first)["jobId"]
        await within(daemon.hub.exports.wait(job_id), "the export")
        proc.stdin.write(b"done\n")
        out, err = await within(proc.communicate(), "the script's end")
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    got = json.loads(out.splitlines()[-1])

    assert got["roomId"] in daemon.hub.rooms
    assert got["image"] == {"sha256": hashlib.sha256(image).hexdigest(), "width": 40, "height": 30,
                            "seq": got["image"]["seq"]}
    assert got["created"]["type"] == "rect" and got["created"]["x"] == 4
    assert got["updated"]["x"] == 12 and got["updated"]["seq"] == got["created"]["seq"] + 1
    assert got["patched"] == {"strokeWidth": 6, "stroke": "#1971c2"}
    job = daemon.hub.exports.get(job_id)
    assert got["job"] == {"status": "done", "format": "png", "size": job.size, "seq": job.seq}
    assert got["download"]["contentType"] == "image/png" and got["download"]["bytes"] == job.size
    assert bytes(got["download"]["signature"]) == PNG_SIGNATURE
    assert got["deleted"]["ids"] == [got["created"]["id"]]
    view = daemon.hub.rooms[got["roomId"]].head_view()
    assert view.annotations == ()


@pytest.fixture
def python_client(tmp_path: Path) -> Iterator[str]:
    """``openapi-python-client generate`` on the document, as a package importable by name."""
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(document()))
    config = tmp_path / "config.yml"
    config.write_text(PYTHON_CLIENT_CONFIG)
    bindir = str(Path(sys.executable).parent)  # its post-generation hooks run `ruff`
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    generator = shutil.which("openapi-python-client", path=bindir)
    assert generator is not None, "openapi-python-client is missing: run bin/test (setup.cfg's test extra)"
    done = subprocess.run([generator, "generate", "--path", str(spec), "--config", str(config), "--meta", "none",
                           "--output-path", str(tmp_path / "annotd_generated")],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    assert "Warning" not in said and "Unable" not in said, "the generator left something out:\n" + said
    sys.path.insert(0, str(tmp_path))
    try:
        yield "annotd_generated"
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "annotd_generated" or m.startswith("annotd_generated.")]:
            del sys.modules[name]


async def test_python_client_round_trip_with_parsed_results(python_client: str, daemon: Daemon) -> None:
    def mod(name: str) -> ModuleType:
        return importlib.import_module(f"{python_client}.{name}")

    models, types = mod("models"), mod("types")
    client_type: Any = mod("client").Client
    client = client_type(base_url=daemon.http_url, headers={"X-Annotd-User": "py-client"},
                         raise_on_unexpected_status=True, timeout=T)
    image = png_bytes()
    async with client:
        room = await mod("api.rooms.rooms_create").asyncio(
            client=client, body=models.RoomsCreateBody.from_dict({"name": "typed from openapi-python-client"}))
        assert isinstance(room, models.RoomInfo) and room.name == "typed from openapi-python-client"

        stored = await mod("api.images.images_upload").asyncio(room.id, client=client, body=models.ImagesUploadFilesBody(
            image=types.File(payload=io.BytesIO(image), file_name="base.png", mime_type="image/png")))
        assert isinstance(stored, models.ImageUploaded)
        assert (stored.sha256, stored.width, stored.height) == (hashlib.sha256(image).hexdigest(), 40, 30)

        created = await mod("api.annotations.annotations_upsert").asyncio(
            room.id, client=client, body=models.AnnotationPatch.from_dict(
                {"type": "ellipse", "x": 2, "y": 3, "w": 8, "h": 6}))
        assert isinstance(created, models.AnnotationWritten) and isinstance(created.annotation, models.Annotation)
        ann = created.annotation
        assert (ann.type_.value, ann.x, ann.w) == ("ellipse", 2.0, 8.0) and ann.issues == []
        assert isinstance(ann.style, models.Style) and ann.style.stroke_width == 2.0

        updated = await mod("api.annotations.annotations_upsert_put").asyncio(
            room.id, ann.id, client=client, body=models.AnnotationPatch(w=30))
        assert isinstance(updated, models.AnnotationWritten)
        assert (updated.annotation.id, updated.annotation.w, updated.annotation.x) == (ann.id, 30.0, 2.0)
        assert updated.seq == created.seq + 1

        queued = await mod("api.exports.exports_create").asyncio(
            room.id, client=client, body=models.ExportsCreateBody.from_dict({"format": "png"}))
        assert isinstance(queued, models.ExportQueued) and queued.seq == updated.seq
        await within(daemon.hub.exports.wait(queued.job_id), "the export")
        job = await mod("api.exports.exports_get").asyncio(queued.job_id, client=client)
        assert isinstance(job, models.ExportJob) and job.status.value == "done"
        assert isinstance(job.options, models.ExportOptions) and job.options.scale == 1.0
        file = await mod("api.exports.exports_download").asyncio(queued.job_id, client=client)
        assert isinstance(file, types.File)
        data = file.payload.read()
        assert data.startswith(PNG_SIGNATURE) and len(data) == job.size
        assert Image.open(io.BytesIO(data)).size == (40, 30)  # the image's size at scale 1

        deleted = await mod("api.annotations.annotations_delete").asyncio(room.id, ann.id, client=client)
        assert isinstance(deleted, models.AnnotationsDeleted) and deleted.deleted == [ann.id]
        listing = await mod("api.annotations.annotations_list").asyncio(room.id, client=client)
        assert isinstance(listing, models.AnnotationList) and listing.annotations == []
        assert isinstance(listing.image, models.Image) and listing.image.sha256 == stored.sha256
