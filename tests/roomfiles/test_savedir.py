"""rooms.save_dir: rooms written on graceful shutdown and loaded at start; bad files skipped, never overwritten."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pycrdt import Map

from tests.cli.test_cli import start_serve
from tests.conftest import DaemonFactory
from tests.formats.test_formats_api import build_room, canvas, ok, post
from tests.helpers import create_room

T = 60.0


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def snapshot(http: aiohttp.ClientSession) -> dict[str, Any]:
    rooms = (await ok(await http.get("/v1/rooms")))["rooms"]
    out: dict[str, Any] = {}
    for r in rooms:
        versions = (await ok(await http.get(f"/v1/rooms/{r['id']}/versions")))["versions"]
        tags = {v["tag"]: await canvas(http, r["id"], v["tag"]) for v in versions}
        out[r["id"]] = {"name": r["name"], "createdAt": r["createdAt"], "image": r["image"],
                        "canvas": await canvas(http, r["id"]), "tags": tags,
                        "versions": [(v["tag"], v["createdAt"], v["createdBy"]) for v in versions]}
    return out


async def test_rooms_survive_a_restart_in_process(make_daemon: DaemonFactory, tmp_path: Path) -> None:
    d1 = await make_daemon(rooms={"save_dir": str(tmp_path)})
    async with aiohttp.ClientSession(base_url=d1.http_url) as http:
        await build_room(http, "src")
        await create_room(http, "empty")
        before = await snapshot(http)
    await d1.stop()
    assert names(tmp_path) == ["empty.annotd", "src.annotd"]
    d2 = await make_daemon(rooms={"save_dir": str(tmp_path)})
    async with aiohttp.ClientSession(base_url=d2.http_url) as http:
        assert await snapshot(http) == before
        await post(http, "/v1/rooms/src/annotations", {"type": "rect", "x": 1, "y": 1, "w": 1, "h": 1})
        await ok(await http.delete("/v1/rooms/empty"))
        after = await snapshot(http)
    await d2.stop()
    assert names(tmp_path) == ["src.annotd"]  # the deleted room's file is gone
    d3 = await make_daemon(rooms={"save_dir": str(tmp_path)})
    async with aiohttp.ClientSession(base_url=d3.http_url) as http:
        assert await snapshot(http) == after


async def test_bad_files_are_skipped_with_a_warning_and_never_overwritten(
        make_daemon: DaemonFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    d1 = await make_daemon(rooms={"save_dir": str(tmp_path)})
    async with aiohttp.ClientSession(base_url=d1.http_url) as http:
        await build_room(http, "src")
        await create_room(http, "keep")
    await d1.stop()
    good = (tmp_path / "src.annotd").read_bytes()
    truncated = good[: len(good) // 2]
    (tmp_path / "src.annotd").write_bytes(truncated)
    (tmp_path / "foreign.annotd").write_text('{"not": "a bundle"}')
    (tmp_path / ".half-written.annotd").write_bytes(b"ignored: a temporary file")
    (tmp_path / "copy-of-keep.annotd").write_bytes((tmp_path / "keep.annotd").read_bytes())  # same room id
    caplog.set_level(logging.WARNING, logger="annotd.savedir")
    d2 = await make_daemon(rooms={"save_dir": str(tmp_path)})
    skipped = sorted(r.getMessage().split(":")[1].strip() for r in caplog.records if "skipped" in r.getMessage())
    assert skipped == ["foreign.annotd", "keep.annotd", "src.annotd"]  # keep: already loaded from copy-of-keep
    assert sorted(d2.hub.rooms) == ["keep"]
    async with aiohttp.ClientSession(base_url=d2.http_url) as http:
        await create_room(http, "src")  # a new room under the id whose file could not be read
    await d2.stop()
    assert (tmp_path / "src.annotd").read_bytes() == truncated
    assert (tmp_path / "src.1.annotd").exists() and (tmp_path / "keep.annotd").exists()
    assert (tmp_path / "foreign.annotd").read_text() == '{"not": "a bundle"}'


async def test_unwritable_save_dir_stops_start_up(make_daemon: DaemonFactory, tmp_path: Path) -> None:
    target = tmp_path / "file-not-dir"
    target.write_text("x")
    with pytest.raises(OSError):
        await make_daemon(rooms={"save_dir": str(target)})


async def test_save_on_sigterm_and_load_on_start_across_real_processes(tmp_path: Path) -> None:
    save = tmp_path / "rooms"
    cfg = tmp_path / "annotd.toml"
    cfg.write_text(f'[rooms]\nsave_dir = "{save}"\n[server]\nuse_uvloop = false\n')
    proc, _, http_url = await start_serve("--config", str(cfg))
    try:
        async with aiohttp.ClientSession(base_url=http_url) as http:
            await build_room(http, "alpha")
            await build_room(http, "beta")
            before = await snapshot(http)
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(T):
            _, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert names(save) == ["alpha.annotd", "beta.annotd"]
    data = (save / "beta.annotd").read_bytes()
    (save / "broken.annotd").write_bytes(data[: len(data) - 100])
    proc, _, http_url = await start_serve("--config", str(cfg))
    try:
        async with aiohttp.ClientSession(base_url=http_url) as http:
            after = await snapshot(http)
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(T):
            _, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert after == before
    text = err.decode()
    assert "saved room skipped: broken.annotd" in text and "WARNING" in text.upper()
    assert proc.returncode == 0 and "Traceback" not in text
    assert len((save / "broken.annotd").read_bytes()) == len(data) - 100


async def test_a_saved_file_over_the_bundle_limit_is_skipped(
        make_daemon: DaemonFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    d1 = await make_daemon(rooms={"save_dir": str(tmp_path)})
    async with aiohttp.ClientSession(base_url=d1.http_url) as http:
        await build_room(http, "big")
        await create_room(http, "small")
    await d1.stop()
    small = len((tmp_path / "small.annotd").read_bytes())
    caplog.set_level(logging.WARNING, logger="annotd.savedir")
    d2 = await make_daemon(rooms={"save_dir": str(tmp_path)}, limits={"max_bundle_bytes": small + 100})
    assert sorted(d2.hub.rooms) == ["small"]
    assert any("big.annotd" in r.getMessage() and "max_bundle_bytes" in r.getMessage() for r in caplog.records)


async def test_a_room_not_saved_exits_4_and_names_it(tmp_path: Path) -> None:
    """A save that fails at shutdown (here: a directory where beta's file would go) makes
    ``annotd serve`` exit 4 and name the room; the other room is saved."""
    save = tmp_path / "rooms"
    (save / "beta.annotd").mkdir(parents=True)
    cfg = tmp_path / "annotd.toml"
    cfg.write_text(f'[rooms]\nsave_dir = "{save}"\n[server]\nuse_uvloop = false\n')
    proc, _, http_url = await start_serve("--config", str(cfg))
    try:
        async with aiohttp.ClientSession(base_url=http_url) as http:
            await create_room(http, "alpha")
            await create_room(http, "beta")
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(T):
            _, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    text = err.decode()
    assert proc.returncode == 4, text
    assert "room not saved: beta" in text and "NOT saved: beta" in text and "Traceback" not in text
    assert (save / "alpha.annotd").is_file()


async def test_start_up_warns_about_a_file_older_than_a_failed_save(make_daemon: DaemonFactory, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    from annotd.roomfiles import savedir

    save = tmp_path / "rooms"
    d = await make_daemon(rooms={"save_dir": str(save)})
    d.hub.create_room("alpha")
    await d.stop()
    assert d.exit_status == 0
    old = (save / "alpha.annotd").read_bytes()

    def disk_full(path: Path, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    d = await make_daemon(rooms={"save_dir": str(save)})
    await d.hub.rooms["alpha"].apply("u", lambda doc: doc.get("meta", type=Map).__setitem__("name", "changed"))
    with monkeypatch.context() as m:
        m.setattr(savedir, "write_atomically", disk_full)
        await d.stop()
    assert d.exit_status == savedir.EXIT_UNSAVED == 4
    assert (save / "alpha.annotd").read_bytes() == old  # the old file is whole
    assert (save / ".alpha.annotd.unsaved").exists()
    caplog.clear()
    d = await make_daemon(rooms={"save_dir": str(save)})
    stale = [r for r in caplog.records if r.getMessage().startswith("saved room is older than a failed save: alpha.annotd")]
    assert len(stale) == 1 and stale[0].levelno == logging.WARNING
    await d.stop()
    assert d.exit_status == 0 and not (save / ".alpha.annotd.unsaved").exists()  # saved: the marker is gone
