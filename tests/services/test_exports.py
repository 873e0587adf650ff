"""Export queue on a real daemon (port 0): jobs, validation, limits, eviction, downloads,
notifications, relay during exports, determinism across processes and the CLI."""

from __future__ import annotations

import asyncio
import hashlib
import io
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from PIL import Image
from pycrdt import Doc, Map

from annotd.canvas.ops import upsert_annotation
from annotd.canvas.view import build_view
from annotd.client.roomclient import RoomClient, RpcError
from annotd.process.daemon import Daemon
from annotd.render import RenderOptions, render
from annotd.services.renders import Job

from ..helpers import Open, T, create_room, run_annotd

ROOT = Path(__file__).resolve().parents[2]
RED, BLUE = "#ff0000", "#0000ff"


# -- helpers ------------------------------------------------------------------------------
async def add_rect(daemon: Daemon, room_id: str, ann_id: str, fill: str, x: float = 0, y: float = 0,
                   w: float = 100, h: float = 80) -> int:
    patch = {"id": ann_id, "type": "rect", "x": x, "y": y, "w": w, "h": h,
             "style": {"fill": fill, "stroke": fill, "strokeWidth": 1}}
    done = await daemon.hub.rooms[room_id].apply("tester", lambda d: upsert_annotation(d, patch, "tester", 1))
    assert done.changed
    return done.seq


def tag(daemon: Daemon, room_id: str, name: str) -> int:
    """Tag the head (what ``versions.create`` does) straight on the room's history."""
    room = daemon.hub.rooms[room_id].room
    return room.history.add_version(name, room.head, daemon.hub.clock(), "tester").seq


async def create(http: aiohttp.ClientSession, room_id: str = "r1", **body: Any) -> dict[str, Any]:
    r = await http.post(f"/v1/rooms/{room_id}/exports", json=body)
    assert r.status == 202, await r.text()
    job = await r.json()
    assert job["status"] == "queued"
    return job  # type: ignore[no-any-return]


async def wait_job(daemon: Daemon, http: aiohttp.ClientSession, job_id: str,
                   until: tuple[str, ...] = ("done", "failed")) -> dict[str, Any]:
    """Await the service's status change (bounded by T), then read the job over REST."""
    async with asyncio.timeout(T):
        await daemon.hub.exports.wait(job_id, until)
    return await (await http.get(f"/v1/exports/{job_id}")).json()  # type: ignore[no-any-return]


async def export(daemon: Daemon, http: aiohttp.ClientSession, room_id: str = "r1",
                 **body: Any) -> tuple[dict[str, Any], aiohttp.ClientResponse, bytes]:
    job = await create(http, room_id, **body)
    done = await wait_job(daemon, http, job["jobId"])
    assert done["status"] == "done", done
    resp = await http.get(f"/v1/exports/{job['jobId']}/download")
    assert resp.status == 200, await resp.text()
    return done, resp, await resp.read()


def png_bytes(color: tuple[int, int, int], size: tuple[int, int] = (200, 120)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


async def upload(http: aiohttp.ClientSession, room_id: str, data: bytes) -> None:
    r = await http.post(f"/v1/rooms/{room_id}/image", data=data, headers={"Content-Type": "image/png"})
    assert r.status == 201, await r.text()


def direct_render(daemon: Daemon, room_id: str, seq: int, options: RenderOptions, provenance: dict[str, str]) -> bytes:
    doc: Doc[Any] = Doc()
    doc.apply_update(daemon.hub.rooms[room_id].room.history.state_at(seq))
    return render(build_view(doc), None, options, provenance)


def gate(daemon: Daemon) -> tuple[asyncio.Event, asyncio.Event]:
    """Block every job once it is running until ``release`` is set; ``entered`` tells it is there."""
    entered, release = asyncio.Event(), asyncio.Event()

    async def hook(job: Job) -> None:
        entered.set()
        await release.wait()

    daemon.hub.exports.before_render = hook
    return entered, release


# -- versions and content ---------------------------------------------------------------
async def test_export_at_tag_shows_tagged_canvas(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    await create_room(http)
    await add_rect(daemon, "r1", "a", RED)
    seq_v1 = tag(daemon, "r1", "v1")
    await add_rect(daemon, "r1", "a", BLUE)  # later edit: the same rect turns blue
    head = daemon.hub.room("r1").head
    assert head > seq_v1

    job, resp, data = await export(daemon, http, format="png", tag="v1", background="white")
    assert (job["seq"], job["tag"]) == (seq_v1, "v1")
    opts = RenderOptions(format="png", background="white", png_speed=daemon.config.export.png_speed)
    expected = direct_render(daemon, "r1", seq_v1, opts, {"roomId": "r1", "seq": str(seq_v1), "tag": "v1"})
    assert data == expected
    img = Image.open(io.BytesIO(data)).convert("RGB")
    assert img.getpixel((img.width // 2, img.height // 2)) == (255, 0, 0)

    _, _, head_data = await export(daemon, http, format="png", background="white")
    img = Image.open(io.BytesIO(head_data)).convert("RGB")
    assert img.getpixel((img.width // 2, img.height // 2)) == (0, 0, 255)

    by_seq, _, seq_data = await export(daemon, http, format="png", seq=seq_v1, background="white")
    assert by_seq["tag"] is None
    assert Image.open(io.BytesIO(seq_data)).tobytes() == Image.open(io.BytesIO(data)).tobytes()


async def test_tagged_export_uses_the_base_image_of_its_seq(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    await create_room(http)
    await upload(http, "r1", png_bytes((0, 200, 0)))
    tag(daemon, "r1", "green")
    await upload(http, "r1", png_bytes((0, 0, 200)))  # the current image differs from the tagged one
    _, _, old = await export(daemon, http, format="png", tag="green")
    _, _, new = await export(daemon, http, format="jpg")
    assert Image.open(io.BytesIO(old)).convert("RGB").getpixel((5, 5)) == (0, 200, 0)
    r, g, b = Image.open(io.BytesIO(new)).convert("RGB").getpixel((5, 5))
    assert r < 10 and g < 10 and b > 190


# -- downloads ----------------------------------------------------------------------------
@pytest.mark.parametrize(("fmt", "mime"), [("png", "image/png"), ("jpg", "image/jpeg"), ("svg", "image/svg+xml")])
async def test_download_headers(daemon: Daemon, http: aiohttp.ClientSession, fmt: str, mime: str) -> None:
    await create_room(http)
    await add_rect(daemon, "r1", "a", RED)
    seq = tag(daemon, "r1", "v1")
    job, resp, data = await export(daemon, http, format=fmt, tag="v1")
    assert resp.headers["Content-Type"] == mime
    assert resp.headers["Content-Disposition"] == f'attachment; filename="r1-v1.{fmt}"'
    assert job["fileName"] == f"r1-v1.{fmt}"
    assert int(resp.headers["Content-Length"]) == len(data) == job["size"]
    assert job["mime"] == mime
    if fmt == "svg":
        assert data.startswith(b"<?xml") and b"urn:annotd:export" in data and b">v1<" in data
    else:
        img = Image.open(io.BytesIO(data))
        assert img.format == ("PNG" if fmt == "png" else "JPEG")
        if fmt == "png":
            assert img.text == {"roomId": "r1", "seq": str(seq), "tag": "v1"}
        else:
            assert img.info["comment"] == f"roomId=r1\nseq={seq}\ntag=v1".encode()
    head_job, head_resp, _ = await export(daemon, http, format=fmt)
    # not a version: named after the time it was asked, in the server's (= the person's) local time
    stamp = time.strftime("%Y-%m-%d-%H%M", time.localtime(head_job["createdAt"] / 1000))
    assert head_resp.headers["Content-Disposition"] == f'attachment; filename="r1-{stamp}.{fmt}"'


async def test_transparent_png_keeps_alpha(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    await create_room(http)
    await add_rect(daemon, "r1", "a", RED, x=40, y=40)
    _, _, data = await export(daemon, http, format="png", background="transparent")
    img = Image.open(io.BytesIO(data))
    assert img.mode == "RGBA"
    assert img.getpixel((0, 0))[3] == 0  # the 16 px margin around the ink is transparent
    assert img.getpixel((img.width // 2, img.height // 2)) == (255, 0, 0, 255)
    _, _, white = await export(daemon, http, format="png", background="#00ff00")
    assert Image.open(io.BytesIO(white)).convert("RGBA").getpixel((0, 0)) == (0, 255, 0, 255)


async def test_download_states(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    await create_room(http)
    r = await http.get("/v1/exports/nope/download")
    assert r.status == 404
    assert (await r.json())["error"]["code"] == "not_found"
    r = await http.get("/v1/exports/nope")
    assert r.status == 404
    entered, release = gate(daemon)
    job = await create(http, format="png")
    async with asyncio.timeout(T):
        await entered.wait()
    r = await http.get(f"/v1/exports/{job['jobId']}/download")
    assert r.status == 409
    assert (await r.json())["error"]["code"] == "conflict"
    assert (await (await http.get(f"/v1/exports/{job['jobId']}")).json())["status"] == "running"
    release.set()
    assert (await wait_job(daemon, http, job["jobId"]))["status"] == "done"
    listed = await (await http.get("/v1/rooms/r1/exports")).json()
    assert [j["jobId"] for j in listed["exports"]] == [job["jobId"]]
    assert (await http.get("/v1/rooms/zz/exports")).status == 404


# -- validation ---------------------------------------------------------------------------
BAD: list[tuple[dict[str, Any], int, str]] = [
    ({"format": "gif"}, 422, "format"),
    ({}, 422, "format"),
    ({"format": "png", "scale": 0.01}, 422, "scale"),
    ({"format": "png", "scale": 9}, 422, "scale"),
    ({"format": "png", "scale": 2, "dpi": 192}, 422, "dpi"),
    ({"format": "png", "dpi": 5000}, 422, "dpi"),
    ({"format": "png", "background": "red"}, 422, "background"),
    ({"format": "png", "background": "#12345"}, 422, "background"),
    ({"format": "jpg", "quality": 0}, 422, "quality"),
    ({"format": "jpg", "quality": 101}, 422, "quality"),
    ({"format": "png", "quality": 80}, 422, "quality"),
    ({"format": "png", "tag": "nope"}, 404, "tag"),
    ({"format": "png", "seq": 999}, 422, "seq"),
    ({"format": "png", "seq": -1}, 422, "seq"),
    ({"format": "png", "seq": 1, "tag": "v1"}, 422, "tag"),
    ({"format": "png", "commentStates": ["open", "closed"]}, 422, "commentStates[1]"),
    ({"format": "png", "includeComments": "yes"}, 422, "includeComments"),
    ({"format": "png", "colour": "red"}, 422, "colour"),
]


async def test_bad_parameters_never_reach_the_queue(daemon: Daemon, http: aiohttp.ClientSession, clients: Open) -> None:
    await create_room(http)
    await add_rect(daemon, "r1", "a", RED)
    tag(daemon, "r1", "v1")
    service = daemon.hub.exports
    for body, status, field in BAD:
        r = await http.post("/v1/rooms/r1/exports", json=body)
        err = (await r.json())["error"]
        assert (r.status, err["data"]["field"]) == (status, field), (body, err)
        assert service.pending == 0 and service.room_jobs("r1") == []
    # The same rules on JSON-RPC, answered with -32602 / -32004 naming the field.
    c = await clients("r1")
    with pytest.raises(RpcError) as exc:
        await c.call("exports.create", format="png", scale=2, dpi=96)
    assert exc.value.code == -32602 and exc.value.data["field"] == "dpi"
    with pytest.raises(RpcError) as exc:
        await c.call("exports.create", format="png", tag="missing")
    assert exc.value.code == -32004 and exc.value.data["field"] == "tag"
    assert (await http.post("/v1/rooms/zz/exports", json={"format": "png"})).status == 404
    assert service.pending == 0 and service.room_jobs("r1") == []


async def test_pruned_seq_is_gone(make_daemon: Callable[..., Awaitable[Daemon]]) -> None:
    daemon = await make_daemon(history={"snapshots_kept": 1})
    async with aiohttp.ClientSession(base_url=daemon.http_url) as http:
        await create_room(http)
        first = await add_rect(daemon, "r1", "a", RED)
        await add_rect(daemon, "r1", "a", BLUE)
        await daemon.hub.rooms["r1"].snapshot()  # keeps only the newest snapshot: seq `first` is pruned
        r = await http.post("/v1/rooms/r1/exports", json={"format": "png", "seq": first})
        assert r.status == 410
        err = (await r.json())["error"]
        assert err["code"] == "gone" and err["data"]["field"] == "seq"
        assert daemon.hub.exports.pending == 0


# -- limits -------------------------------------------------------------------------------
async def test_export_larger_than_the_pixel_limit_is_refused_before_queueing(daemon: Daemon, http: aiohttp.ClientSession,
                                                                              clients: Open) -> None:
    """Two 1x1 rects two million pixels apart at scale 8 made a 16M x 16M
    canvas and failed in the worker with MemoryError. The size is known before queueing."""
    await create_room(http)
    await add_rect(daemon, "r1", "a", RED, x=-1e6, y=-1e6, w=1, h=1)
    await add_rect(daemon, "r1", "b", BLUE, x=999999, y=999999, w=1, h=1)
    service = daemon.hub.exports
    limit = daemon.config.export.max_output_pixels
    for fmt in ("png", "jpg"):
        r = await http.post("/v1/rooms/r1/exports", json={"format": fmt, "scale": 8})
        assert r.status == 422
        err = (await r.json())["error"]
        assert err["code"] == "invalid_params" and err["data"]["field"] == "scale"
        assert err["data"]["maxPixels"] == limit and err["data"]["width"] * err["data"]["height"] > limit
        assert "export.max_output_pixels" in err["message"]
    r = await http.post("/v1/rooms/r1/exports", json={"format": "png", "dpi": 300})
    assert r.status == 422 and (await r.json())["error"]["data"]["field"] == "dpi"
    c = await clients("r1")
    with pytest.raises(RpcError) as exc:
        await c.call("exports.create", format="png", scale=8)
    assert exc.value.code == -32602 and exc.value.data["field"] == "scale"
    assert service.pending == 0 and service.room_jobs("r1") == []
    # SVG is vector: not limited; the same content exports.
    job, _, data = await export(daemon, http, format="svg", scale=8)
    assert data.startswith(b"<?xml")


async def test_pixel_limit_uses_the_image_size_and_the_scale(make_daemon: Callable[..., Awaitable[Daemon]]) -> None:
    daemon = await make_daemon(export={"max_output_pixels": 200 * 120 * 4})
    async with aiohttp.ClientSession(base_url=daemon.http_url) as http:
        await create_room(http)
        await upload(http, "r1", png_bytes((0, 200, 0), (200, 120)))
        done, _, data = await export(daemon, http, format="png", scale=2)  # exactly the limit
        assert Image.open(io.BytesIO(data)).size == (400, 240)
        r = await http.post("/v1/rooms/r1/exports", json={"format": "jpg", "scale": 2.01})
        err = (await r.json())["error"]
        assert r.status == 422 and err["data"]["field"] == "scale"
        assert (err["data"]["width"], err["data"]["height"]) == (402, 241)
        assert "scale at most 2" in err["message"]
        seq = tag(daemon, "r1", "v1")
        r = await http.post("/v1/rooms/r1/exports", json={"format": "png", "tag": "v1", "dpi": 200})
        assert r.status == 422 and (await r.json())["error"]["data"]["field"] == "dpi"
        r = await http.post("/v1/rooms/r1/exports", json={"format": "png", "seq": seq, "scale": 1.5})
        assert r.status == 202


async def test_full_queue_is_refused(make_daemon: Callable[..., Awaitable[Daemon]]) -> None:
    daemon = await make_daemon(export={"queue_size": 1})
    entered, release = gate(daemon)
    async with aiohttp.ClientSession(base_url=daemon.http_url) as http:
        await create_room(http)
        await add_rect(daemon, "r1", "a", RED)
        first = await create(http, format="png")
        async with asyncio.timeout(T):
            await entered.wait()  # the one slot is taken by a running job
        r = await http.post("/v1/rooms/r1/exports", json={"format": "png"})
        assert r.status == 429
        assert (await r.json())["error"]["code"] == "limit_reached"
        c = RoomClient(daemon.ws_url, "r1", user_id="rpc")
        await c.connect()
        try:
            with pytest.raises(RpcError) as exc:
                await c.call("exports.create", format="png")
            assert exc.value.code == -32029
        finally:
            await c.close()
        metrics = await (await http.get("/metrics")).json()
        assert metrics["export_jobs_pending"] == 1
        assert len(daemon.hub.exports.room_jobs("r1")) == 1
        release.set()
        assert (await wait_job(daemon, http, first["jobId"]))["status"] == "done"
        again = await create(http, format="svg")  # a slot is free again
        assert (await wait_job(daemon, http, again["jobId"]))["status"] == "done"


async def test_eviction_by_byte_cap(make_daemon: Callable[..., Awaitable[Daemon]]) -> None:
    daemon = await make_daemon(export={"result_bytes_cap": 1300})
    async with aiohttp.ClientSession(base_url=daemon.http_url) as http:
        await create_room(http)
        await add_rect(daemon, "r1", "a", RED)
        jobs = [(await export(daemon, http, format="svg"))[0] for _ in range(3)]
        size = jobs[0]["size"]
        assert 2 * size <= 1300 < 3 * size  # the scene's SVG is ~0.5 kB: two fit, three do not
        states = [(await (await http.get(f"/v1/exports/{j['jobId']}")).json())["status"] for j in jobs]
        assert states == ["evicted", "done", "done"]  # oldest first
        r = await http.get(f"/v1/exports/{jobs[0]['jobId']}/download")
        assert r.status == 410 and (await r.json())["error"]["code"] == "gone"
        metrics = await (await http.get("/metrics")).json()
        assert metrics["export_bytes_held"] == 2 * size
        # A result larger than the whole cap is not kept at all: the job fails and says why.
        await add_rect(daemon, "r1", "b", BLUE, x=300, y=300, w=400, h=300)
        big = await create(http, format="png", scale=4)
        failed = await wait_job(daemon, http, big["jobId"])
        assert failed["status"] == "failed" and "result_bytes_cap" in failed["error"]
        assert (await (await http.get("/metrics")).json())["export_failures_total"] == 1


async def test_eviction_by_ttl(make_daemon: Callable[..., Awaitable[Daemon]]) -> None:
    daemon = await make_daemon(export={"result_ttl_s": 60.0})
    now = [1000.0]
    daemon.hub.exports.clock = lambda: now[0]
    async with aiohttp.ClientSession(base_url=daemon.http_url) as http:
        await create_room(http)
        await add_rect(daemon, "r1", "a", RED)
        old, _, _ = await export(daemon, http, format="svg")
        now[0] += 30
        young, _, _ = await export(daemon, http, format="svg")
        now[0] += 31  # old is 61 s old, young 31 s
        assert (await (await http.get(f"/v1/exports/{old['jobId']}")).json())["status"] == "evicted"
        assert (await http.get(f"/v1/exports/{old['jobId']}/download")).status == 410
        assert (await http.get(f"/v1/exports/{young['jobId']}/download")).status == 200
        now[0] += 30
        metrics = await (await http.get("/metrics")).json()
        assert metrics["export_bytes_held"] == 0
        assert (await (await http.get(f"/v1/exports/{young['jobId']}")).json())["status"] == "evicted"


# -- notifications and metrics ------------------------------------------------------------
async def test_socket_caller_is_notified(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    await create_room(http)
    await add_rect(daemon, "r1", "a", RED)
    asker = RoomClient(daemon.ws_url, "r1", user_id="asker")
    other = RoomClient(daemon.ws_url, "r1", user_id="other")
    await asker.connect()
    await other.connect()
    try:
        created = await asker.call("exports.create", format="png", includeComments=True)
        async with asyncio.timeout(T):
            note = await asker.wait_notification("exports.finished")
        job = note["params"]
        assert job["jobId"] == created["jobId"] and job["status"] == "done" and job["size"] > 0
        got = await asker.call("exports.get", jobId=created["jobId"])
        assert got == {**job, "status": "done"}
        await other.call("rooms.get", roomId="r1")  # a round trip after the notification was sent
        assert not any(n["method"].startswith("exports.") for n in other.notifications)
    finally:
        await asker.close()
        await other.close()


async def test_metrics(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    await create_room(http)
    await add_rect(daemon, "r1", "a", RED)
    await export(daemon, http, format="png")
    await export(daemon, http, format="jpg")
    m = await (await http.get("/metrics")).json()
    assert m["export_jobs_pending"] == 0
    assert m["export_time_ms"]["p50"] > 0 and m["export_time_ms"]["p95"] >= m["export_time_ms"]["p50"]
    assert m["export_failures_total"] == 0 and m["export_bytes_held"] > 0
    text = await (await http.get("/metrics?format=prometheus")).text()
    assert 'annotd_export_duration_seconds_count{format="png"} 1.0' in text and "annotd_export_bytes_held" in text


# -- the loop stays free ------------------------------------------------------------------
async def test_relay_keeps_working_during_an_export(daemon: Daemon, http: aiohttp.ClientSession, clients: Open) -> None:
    await create_room(http)
    for i in range(120):
        await add_rect(daemon, "r1", f"a{i}", RED if i % 2 else BLUE, x=(i * 37) % 700, y=(i * 23) % 400, w=90, h=60)
    a = await clients("r1", "a")
    b = await clients("r1", "b")
    job = await create(http, format="png", scale=5)  # a 4000x2400 render: long enough to overlap
    await wait_job(daemon, http, job["jobId"], until=("running", "done", "failed"))
    overlapped = 0
    async with asyncio.timeout(T):
        for i in range(20):
            a.doc.get("moves", type=Map)[f"a{i}"] = i
            b.doc.get("moves", type=Map)[f"b{i}"] = i
            await a.flush()
            await b.flush()
            head = daemon.hub.room("r1").head
            await a.wait_for_seq(head)
            await b.wait_for_seq(head)
            overlapped += daemon.hub.exports.get(job["jobId"]).status == "running"
    assert a.doc.get("moves", type=Map).to_py() == b.doc.get("moves", type=Map).to_py()
    assert len(a.doc.get("moves", type=Map)) == 40
    assert overlapped > 0, "the export finished before the exchange: make the render heavier"
    assert (await wait_job(daemon, http, job["jobId"]))["status"] == "done"


# -- determinism --------------------------------------------------------------------------
_CHILD = """
import hashlib, sys
from pycrdt import Doc
from annotd.canvas.view import build_view
from annotd.render import RenderOptions, render
blob = open(sys.argv[1], "rb").read()
doc = Doc()
doc.apply_update(blob)
opts = RenderOptions(format=sys.argv[2], background="white", png_speed=sys.argv[3], include_comments=True)
print(hashlib.sha256(render(build_view(doc), None, opts, {"roomId": "r1", "seq": sys.argv[4]})).hexdigest())
"""


@pytest.mark.parametrize("fmt", ["png", "jpg"])
async def test_bytes_identical_in_a_separate_process(daemon: Daemon, http: aiohttp.ClientSession, tmp_path: Path,
                                                      fmt: str) -> None:
    await create_room(http)
    for i in range(10):
        await add_rect(daemon, "r1", f"a{i}", RED if i % 2 else BLUE, x=i * 30, y=i * 20)
    job, _, data = await export(daemon, http, format=fmt, background="white", includeComments=True)
    blob = tmp_path / "state.bin"
    blob.write_bytes(daemon.hub.rooms["r1"].room.history.state_at(job["seq"]))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CHILD, str(blob), fmt, daemon.config.export.png_speed, str(job["seq"]),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    async with asyncio.timeout(T):
        out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert out.decode().strip() == hashlib.sha256(data).hexdigest()


# -- the CLI ------------------------------------------------------------------------------
async def run_cli(*args: str) -> tuple[int, str]:
    return await run_annotd("export", *args, cwd=str(ROOT))


async def test_cli_export(daemon: Daemon, http: aiohttp.ClientSession, tmp_path: Path) -> None:
    await create_room(http)
    await add_rect(daemon, "r1", "a", RED)
    seq = tag(daemon, "r1", "v1")
    await add_rect(daemon, "r1", "a", BLUE)
    out = tmp_path / "v1.png"
    code, err = await run_cli("--url", daemon.http_url, "--room", "r1", "--tag", "v1", "--background", "white",
                              "--out", str(out))
    assert code == 0, err
    assert "export queued" in err or "export running" in err or "export done" in err
    assert f"seq {seq} (v1)" in err
    with Image.open(out) as img:
        assert img.text["tag"] == "v1"
        assert img.convert("RGB").getpixel((img.width // 2, img.height // 2)) == (255, 0, 0)

    jpg = tmp_path / "head.jpg"
    code, err = await run_cli("--url", daemon.http_url, "--room", "r1", "--format", "jpg", "--quality", "80",
                              "--scale", "2", "--out", str(jpg))
    assert code == 0, err
    with Image.open(jpg) as img:
        assert img.format == "JPEG" and img.width > 200


@pytest.mark.parametrize(("args", "code", "needle"), [
    (["--scale", "2", "--dpi", "96"], 2, "--scale or --dpi"),
    (["--scale", "20"], 2, "--scale must be within"),
    (["--background", "red"], 2, "--background"),
    (["--quality", "80"], 2, "jpg only"),
    (["--seq", "999"], 2, "seq 999"),
    (["--tag", "nope"], 1, "version 'nope' does not exist"),
    (["--room", "zz"], 1, "room 'zz' does not exist"),
])
async def test_cli_errors(daemon: Daemon, http: aiohttp.ClientSession, tmp_path: Path,
                          args: list[str], code: int, needle: str) -> None:
    await create_room(http)
    room = [] if "--room" in args else ["--room", "r1"]
    out = tmp_path / "x.png"
    got, err = await run_cli("--url", daemon.http_url, *room, *args, "--out", str(out))
    assert got == code, err
    lines = [line for line in err.splitlines() if line.startswith("annotd export:")]
    assert len(lines) == 1 and needle in lines[0], err
    assert not out.exists()


async def test_cli_unreachable_daemon(tmp_path: Path) -> None:
    code, err = await run_cli("--url", "http://127.0.0.1:9", "--room", "r1", "--out", str(tmp_path / "x.png"))
    assert code == 1 and "cannot reach the daemon" in err


# -- shutdown -----------------------------------------------------------------------------
async def test_stop_fails_queued_jobs(make_daemon: Callable[..., Awaitable[Daemon]]) -> None:
    daemon = await make_daemon(export={"queue_size": 3})
    entered, release = gate(daemon)
    async with aiohttp.ClientSession(base_url=daemon.http_url) as http:
        await create_room(http)
        await add_rect(daemon, "r1", "a", RED)
        running = await create(http, format="svg")
        queued = await create(http, format="svg")
        async with asyncio.timeout(T):
            await entered.wait()
    service = daemon.hub.exports
    stopping = asyncio.create_task(daemon.stop())
    async with asyncio.timeout(T):
        await service.wait(queued["jobId"])  # failed by stop() without running
        release.set()  # now let the running one finish within the deadline
        await stopping
    assert service.get(queued["jobId"]).status == "failed"
    assert "shutting down" in (service.get(queued["jobId"]).error or "")
    assert service.get(running["jobId"]).status == "done"
    assert orjson.dumps(service.metrics())  # still serialisable after stop


async def test_a_dead_render_process_fails_one_job_only(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    service = daemon.hub.exports
    assert service.executor_kind == "process"  # the default; this test is about worker processes
    await create_room(http)
    await add_rect(daemon, "r1", "a", RED)
    await export(daemon, http, format="svg")  # the pool's processes exist now
    procs = list(service._executor._processes.values())  # type: ignore[union-attr]
    for p in procs:
        p.kill()
    for p in procs:
        await asyncio.to_thread(p.join, T)
    job = await create(http, format="png")
    failed = await wait_job(daemon, http, job["jobId"])
    assert failed["status"] == "failed" and "render process died" in failed["error"]
    await export(daemon, http, format="png")  # a new pool took over


async def test_stop_cancels_a_job_still_running_at_the_deadline(make_daemon: Callable[..., Awaitable[Daemon]]) -> None:
    daemon = await make_daemon(server={"shutdown_timeout_s": 0.3})
    entered, _never = gate(daemon)
    async with aiohttp.ClientSession(base_url=daemon.http_url) as http:
        await create_room(http)
        await add_rect(daemon, "r1", "a", RED)
        job = await create(http, format="png")
        async with asyncio.timeout(T):
            await entered.wait()
    async with asyncio.timeout(T):
        await daemon.stop()
    stuck = daemon.hub.exports.get(job["jobId"])
    assert stuck.status == "failed" and "shut down" in (stuck.error or "")
    assert daemon.hub.exports.pending == 0


# -- configuration ------------------------------------------------------------------------
@pytest.mark.parametrize(("export_cfg", "message"), [
    ({"png_speed": "turbo"}, "export.png_speed: expected one of fast, small"),
    ({"png_compress_level": 3}, "png_compress_level was replaced by png_speed"),
    ({"max_output_pixels": 0}, "export.max_output_pixels: must be at least 1"),
])
def test_export_config_is_checked(export_cfg: dict[str, Any], message: str) -> None:
    from annotd.base.config import ConfigError, from_mapping

    with pytest.raises(ConfigError, match=message):
        from_mapping({"export": export_cfg})
    assert from_mapping({"export": {"png_speed": "small", "max_output_pixels": 10}}).export.png_speed == "small"


async def test_png_speed_small_is_used_and_echoed(make_daemon: Callable[..., Awaitable[Daemon]]) -> None:
    daemon = await make_daemon(export={"png_speed": "small"})
    async with aiohttp.ClientSession(base_url=daemon.http_url) as http:
        await create_room(http)
        await add_rect(daemon, "r1", "a", RED)
        job, _, data = await export(daemon, http, format="png", background="white")
        assert job["options"]["pngSpeed"] == "small"
        opts = RenderOptions(format="png", background="white", png_speed="small")
        assert data == direct_render(daemon, "r1", job["seq"], opts, {"roomId": "r1", "seq": str(job["seq"])})
