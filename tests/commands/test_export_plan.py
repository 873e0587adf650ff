"""``exports.plan``: what an export would be without queueing it — the pixel size by the
renderer's own rule (the file made with the same parameters has exactly that size), the
limit, and the legend of its numbered comment badges in the renderer's numbering."""

from __future__ import annotations

import io
from typing import Any

import aiohttp
from PIL import Image

from annotd.commands.exports import BADGE_TEXT_CHARS
from annotd.process.daemon import Daemon

from ..helpers import Open, create_room
from ..services.test_exports import RED, add_rect, export, png_bytes, upload


async def plan(http: aiohttp.ClientSession, room_id: str = "r1", status: int = 200, **body: Any) -> dict[str, Any]:
    r = await http.post(f"/v1/rooms/{room_id}/exports/plan", json=body)
    assert r.status == status, await r.text()
    return await r.json()  # type: ignore[no-any-return]


async def thread(http: aiohttp.ClientSession, x: float, body: str) -> str:
    r = await http.post("/v1/rooms/r1/comments", json={"anchor": {"kind": "point", "x": x, "y": 40}, "body": body})
    assert r.status == 201, await r.text()
    return str((await r.json())["thread"]["id"])


async def test_the_planned_size_is_the_size_of_the_file(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    await create_room(http)
    await upload(http, "r1", png_bytes((0, 200, 0), (201, 121)))
    limit = daemon.config.export.max_output_pixels
    for body, size in [({"scale": 1.5}, (302, 182)), ({"dpi": 144}, (302, 182)), ({"scale": 0.5}, (100, 60)),
                       ({}, (201, 121))]:
        got = await plan(http, format="png", **body)
        assert (got["width"], got["height"]) == size and got["maxPixels"] == limit and got["badges"] == []
        _, _, data = await export(daemon, http, format="png", **body)
        assert Image.open(io.BytesIO(data)).size == size, body
    # SVG is not limited; asking queues nothing
    assert (await plan(http, format="svg", scale=8))["maxPixels"] is None
    before = len(daemon.hub.exports.room_jobs("r1"))
    await plan(http, format="jpg", scale=8)
    assert len(daemon.hub.exports.room_jobs("r1")) == before


async def test_without_an_image_the_size_is_the_content_with_its_badges(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    await create_room(http)
    await add_rect(daemon, "r1", "a", RED, x=10, y=10, w=100, h=80)
    await thread(http, 400, "Far to the right")
    for include in (False, True):
        got = await plan(http, format="png", includeComments=include)
        _, _, data = await export(daemon, http, format="png", includeComments=include)
        assert Image.open(io.BytesIO(data)).size == (got["width"], got["height"])
        assert len(got["badges"]) == (1 if include else 0)
    assert (await plan(http, format="png", includeComments=True))["width"] > (await plan(http, format="png"))["width"]


async def test_the_badges_legend_numbers_threads_like_the_picture(daemon: Daemon, http: aiohttp.ClientSession,
                                                                   clients: Open) -> None:
    await create_room(http)
    first = await thread(http, 10, "Crack in the weld")
    done = await thread(http, 60, "Fixed already")
    long = await thread(http, 110, "x" * 5000)
    r = await http.post(f"/v1/rooms/r1/comments/{first}/replies", json={"body": "Agreed"})
    assert r.status == 201
    r = await http.patch(f"/v1/rooms/r1/comments/{done}", json={"action": "resolve"})
    assert r.status == 200, await r.text()
    threads = (await (await http.get("/v1/rooms/r1/comments")).json())["threads"]  # in the view's order
    listed = {t["id"]: t for t in threads}
    order = [t["id"] for t in threads]
    assert sorted(order) == sorted([first, done, long])

    open_only = got = (await plan(http, format="png", includeComments=True))["badges"]
    opened = [i for i in order if i != done]  # open only, by default
    assert [(b["number"], b["threadId"]) for b in got] == [(1, opened[0]), (2, opened[1])]
    got = sorted(got, key=lambda b: b["threadId"] != first)
    assert got[0] == {"number": got[0]["number"], "threadId": first, "status": "open", "author": listed[first]["messages"][0]["author"],
                      "text": "Crack in the weld", "replies": 1}
    assert len(got[1]["text"]) == BADGE_TEXT_CHARS and got[1]["text"].endswith("…")
    every = (await plan(http, format="svg", includeComments=True, commentStates=["open", "resolved"]))["badges"]
    assert [(b["number"], b["threadId"], b["status"]) for b in every] == [
        (n, i, "resolved" if i == done else "open") for n, i in enumerate(order, start=1)]
    # the same on the room socket; a bad combination names its field
    c = await clients("r1")
    assert (await c.call("exports.plan", format="png", includeComments=True))["badges"] == open_only
    err = (await plan(http, status=422, format="png", scale=2, dpi=96))["error"]
    assert err["code"] == "invalid_params" and err["data"]["field"] == "dpi"
