"""Version names people read ("Review 1") next to the URL-safe tag: the tag derived from
the name, the name validated, and the name kept by every way a room is kept (memory,
bundles and ``rooms.save_dir``, the ``rooms.data_dir`` store) while old files still load."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from annotd.base.config import StorageConfig
from annotd.base.identifiers import file_stem, tag_from_name
from annotd.formats.bundle import read_bundle
from annotd.formats.restore import SavedVersion, encode_room
from annotd.storage import SqliteStore
from annotd.storage.schema import SCHEMA_VERSION, TABLES, connect

from ..conftest import DaemonFactory
from ..formats.test_formats_bundle import LIMITS, saved
from ..helpers import create_room, ok, rest


def test_the_tag_is_derived_from_the_name() -> None:
    assert tag_from_name("Review 1", ()) == "Review-1"
    assert tag_from_name("Review 1", {"Review-1"}) == "Review-1-2"
    assert tag_from_name("Review 1", {"Review-1", "Review-1-2"}) == "Review-1-3"
    assert tag_from_name("  Überprüfung: Naht #3 ", ()) == "Uberprufung-Naht-3"
    assert tag_from_name("v1.2_final", ()) == "v1.2_final"
    assert tag_from_name("…!", ()) == "version"
    assert tag_from_name("-- draft --", ()) == "draft"
    long = tag_from_name("x" * 80, ())
    assert len(long) == 56


def test_file_stem_is_the_tag_or_a_time() -> None:
    assert file_stem("garden", "Review-1", 0) == "garden-Review-1"
    stem = file_stem("garden", None, 1_700_000_000)
    assert stem.startswith("garden-") and len(stem) == len("garden-2023-11-14-2213") and "seq" not in stem


async def test_create_by_name_list_and_errors(make_daemon: DaemonFactory) -> None:
    d = await make_daemon()
    async with aiohttp.ClientSession(base_url=d.http_url) as http:
        await create_room(http, "g")
        base = "/v1/rooms/g/versions"
        v = await ok(http, "POST", base, {"name": "  Review 1 "}, status=201, user="Alice#a1")
        assert (v["tag"], v["name"], v["createdBy"]) == ("Review-1", "Review 1", "Alice#a1")
        again = await ok(http, "POST", base, {"name": "Review 1"}, status=201)
        assert (again["tag"], again["name"]) == ("Review-1-2", "Review 1")
        both = await ok(http, "POST", base, {"tag": "r2", "name": "Second review"}, status=201)
        assert (both["tag"], both["name"]) == ("r2", "Second review")
        plain = await ok(http, "POST", base, {"tag": "v3"}, status=201)
        assert plain["name"] == "v3"  # no name: the tag is the name
        listed = (await ok(http, "GET", base))["versions"]
        assert [(x["tag"], x["name"]) for x in listed] == [
            ("Review-1", "Review 1"), ("Review-1-2", "Review 1"), ("r2", "Second review"), ("v3", "v3")]

        for body, field in (({}, "tag"), ({"name": "   "}, "name"), ({"name": "x" * 81}, "name"),
                            ({"name": "a\nb"}, "name"), ({"tag": "bad tag"}, "tag"), ({"name": 5}, "name")):
            status, err = await rest(http, "POST", base, body)
            assert status == 422 and err["error"]["data"]["field"] == field, (body, err)
        assert len((await ok(http, "GET", base))["versions"]) == 4

        job = await ok(http, "POST", "/v1/rooms/g/exports", {"format": "svg", "tag": "Review-1"}, status=202)
        got = await ok(http, "GET", f"/v1/exports/{job['jobId']}")
        assert got["fileName"] == "g-Review-1.svg"


def test_bundles_keep_names_and_old_bundles_load() -> None:
    versions, head, imgs = saved()
    named = [SavedVersion(v.tag, v.seq, v.created_at, v.created_by, v.state, "Review 1" if v.tag == "v1" else "")
             for v in versions]
    data, _ = encode_room(room_id="r1", name="Room", created_at=1.0, head=head, head_seq=9,
                          versions=named, images=imgs, saved_at=2.0)
    b = read_bundle(data, LIMITS)
    assert {v.tag: v.name for v in b.versions} == {"v1": "Review 1", "v2": "", "empty": ""}
    old, _ = encode_room(room_id="r1", name="Room", created_at=1.0, head=head, head_seq=9,
                         versions=versions, images=imgs, saved_at=2.0)
    assert b'"name":"Review 1"' not in old  # written as before names existed
    assert all(v.name == "" for v in read_bundle(old, LIMITS).versions)


async def test_save_dir_keeps_names(make_daemon: DaemonFactory, tmp_path: Path) -> None:
    d1 = await make_daemon(rooms={"save_dir": str(tmp_path)})
    async with aiohttp.ClientSession(base_url=d1.http_url) as http:
        await create_room(http, "g")
        await ok(http, "POST", "/v1/rooms/g/versions", {"name": "Review 1"}, status=201)
    await d1.stop()
    d2 = await make_daemon(rooms={"save_dir": str(tmp_path)})
    async with aiohttp.ClientSession(base_url=d2.http_url) as http:
        listed = (await ok(http, "GET", "/v1/rooms/g/versions"))["versions"]
        assert [(v["tag"], v["name"]) for v in listed] == [("Review-1", "Review 1")]


async def test_data_dir_keeps_names(make_daemon: DaemonFactory, tmp_path: Path) -> None:
    from annotd.process import datadir
    from annotd.process.daemon import Daemon

    from ..conftest import daemon_config

    async def start() -> tuple[Daemon, SqliteStore]:
        cfg = daemon_config(rooms={"data_dir": str(tmp_path)})
        store = datadir.open_store(cfg)
        assert store is not None
        d = Daemon(cfg, store=store)
        await d.start()
        return d, store

    d1, s1 = await start()
    try:
        async with aiohttp.ClientSession(base_url=d1.http_url) as http:
            await create_room(http, "g")
            await ok(http, "POST", "/v1/rooms/g/versions", {"name": "Review 1"}, status=201)
            await ok(http, "POST", "/v1/rooms/g/versions", {"tag": "plain"}, status=201)
    finally:
        await d1.stop()
        s1.close()
    d2, s2 = await start()
    try:
        async with aiohttp.ClientSession(base_url=d2.http_url) as http:
            listed = (await ok(http, "GET", "/v1/rooms/g/versions"))["versions"]
            assert sorted((v["tag"], v["name"]) for v in listed) == [("Review-1", "Review 1"), ("plain", "plain")]
    finally:
        await d2.stop()
        s2.close()


def test_a_schema_1_store_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "rooms.sqlite3"
    conn = connect(path, "full")
    for ddl in TABLES:
        conn.execute(ddl.replace("        name TEXT NOT NULL DEFAULT '',\n", ""))
    conn.executescript("ALTER TABLE rooms DROP COLUMN image_json; ALTER TABLE rooms DROP COLUMN last_change_at; "
                       "DROP TABLE imported_bundles;")  # what schema 3 added
    conn.execute("INSERT INTO versions (rid, tag, seq, ts, created_by) VALUES (1, 'v1', 3, 1.0, 'alice')")
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    store = SqliteStore(tmp_path, StorageConfig())
    store.close()
    conn = connect(path, "full")
    assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert conn.execute("SELECT tag, name FROM versions").fetchall() == [("v1", "")]
    conn.close()


@pytest.mark.parametrize("name", ["Review 1", "Überprüfung", "a" * 80])
def test_names_up_to_the_limit_are_kept_verbatim(name: str) -> None:
    from annotd.base.identifiers import check_version_name

    assert check_version_name(f"  {name}  ") == name
