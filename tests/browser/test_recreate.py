"""A server that keeps rooms in memory, restarted under two pages: the pages say what is true
while it is down, find the room gone, and one re-creates it from its copy; both pages and the
server end with every annotation, the comment and the image. A room deleted on purpose is
explained without a word about edits to someone who made none."""

from __future__ import annotations

import hashlib
import re
import urllib.request

from playwright.sync_api import Page, expect

from .conftest import PageFactory, Server, kill_server, start_again, wait_for
from .helpers import alice_and_bob, drag, new_room, tool, wait_count
from .test_connection import png_bytes

# While the daemon is down Chromium logs every refused handshake; the pages expect that.
REFUSED = r"WebSocket connection to .* failed"


def room_with_image(server: Server) -> tuple[str, bytes]:
    rid = new_room(server, "lost")
    image = png_bytes(400, 300)
    status, body = server.request("POST", f"/v1/rooms/{rid}/image", raw=image, content_type="image/png")
    assert status == 201, body
    return rid, image


def copy_ready(page: Page) -> None:
    """The page holds the image's bytes (fetched once the image was loaded)."""
    wait_for(page, "() => window.annotd.app.copy.imageMissing === false")


def asks_before_leaving(page: Page) -> bool:
    """Whether closing or reloading the page now would ask first (its beforeunload handler)."""
    return bool(page.evaluate("""() => { const e = new Event('beforeunload', {cancelable: true});
        window.dispatchEvent(e); return e.defaultPrevented; }"""))


def ids(page: Page) -> list[str]:
    return sorted(page.evaluate("window.annotd.app.canvas.list().map(a => a.id)"))


def test_a_room_lost_in_a_restart_comes_back_from_a_pages_copy_for_everyone(server: Server, open_page: PageFactory) -> None:
    rid, image = room_with_image(server)
    a, b = alice_and_bob(open_page, rid)
    for w in (a, b):
        w.allow_console(REFUSED)
    pa, pb = a.page, b.page
    tool(pa, "rect")
    drag(pa, [(40, 40), (140, 140)])
    tool(pa, "ellipse")
    drag(pa, [(200, 40), (300, 140)])
    wait_count(pb, 2)
    # Bob writes a comment (through the server: it is not a canvas edit of his)
    pb.evaluate("""() => window.annotd.app.socket.call('comments.create',
        {anchor: {kind: 'point', x: 320, y: 200}, body: 'Check the <weld> here'})""")
    for p in (pa, pb):
        expect(p.locator(".pin")).to_have_count(1)
        expect(p.locator(".status")).to_contain_text("all sent")
        copy_ready(p)
    before = ids(pa)
    assert len(before) == 2 and ids(pb) == before
    assert not asks_before_leaving(pa)

    kill_server(server)
    # Down: the bar says what a restart does to a room kept in memory, and no more
    for p in (pa, pb):
        expect(p.locator(".notice")).to_have_text(
            "The server keeps rooms in memory only — if it restarts, this room is gone; your copy stays in this page.")
    expect(pa.locator(".status")).to_contain_text(re.compile(r"(Reconnecting…|Offline —) your edits stay in this page"))
    expect(pb.locator(".status")).to_contain_text(re.compile(r"Reconnecting|Offline"))
    expect(pb.locator(".status")).not_to_contain_text("edits")

    start_again(server)
    assert server.request("GET", f"/v1/rooms/{rid}")[0] == 404
    for p in (pa, pb):
        offer = p.get_by_role("alert")
        expect(offer).to_contain_text("This room is no longer on the server.")
        expect(offer).to_contain_text("keeps rooms in memory only and may have restarted")
        expect(offer).to_contain_text("Named versions and the history were kept only by the server and do not come back.")
        expect(offer).not_to_contain_text("lost")
        expect(p.locator(".status")).to_have_text("✕ Room not on the server")
        # the copy is still on the page, and leaving would lose it: the page asks first
        wait_count(p, 2)
        assert asks_before_leaving(p)
    # Bob, who drew nothing, brings it back for both
    pb.get_by_role("button", name="Re-create the room from your copy").click()
    for p in (pa, pb):
        expect(p.locator(".status")).to_contain_text("Connected · all sent")
        expect(p.locator(".notice")).to_be_hidden()
        wait_count(p, 2)
        expect(p.locator(".pin")).to_have_count(1)
        expect(p.locator("svg.canvas image.base")).to_have_attribute("width", "400")
    expect(pa.locator(".toast")).to_contain_text("The room is back on the server")
    assert not asks_before_leaving(pa) and not asks_before_leaving(pb)
    assert ids(pa) == ids(pb) == before
    # ...and the server has all of it
    for p in (pa, pb):
        wait_for(p, "() => window.annotd.app.socket.pendingAcks === 0 && !window.annotd.app.socket.unsent")
    assert sorted(x["id"] for x in server.annotations(rid)) == before
    status, room = server.request("GET", f"/v1/rooms/{rid}")
    assert status == 200 and room["name"] == f"Room {rid}"
    assert room["image"]["sha256"] == hashlib.sha256(image).hexdigest()
    status, threads = server.request("GET", f"/v1/rooms/{rid}/comments")
    assert status == 200
    [thread] = threads["threads"]
    assert thread["messages"][0]["body"] == "Check the <weld> here"
    # the image itself is on the server again, byte for byte
    with urllib.request.urlopen(f"{server.http}/v1/rooms/{rid}/image", timeout=20) as r:
        assert r.read() == image


def test_a_person_who_made_no_edit_is_told_only_that_the_room_was_deleted(server: Server, open_page: PageFactory) -> None:
    rid, _ = room_with_image(server)
    a, b = alice_and_bob(open_page, rid)
    tool(a.page, "rect")
    drag(a.page, [(40, 40), (140, 140)])
    wait_count(b.page, 1)
    assert b.page.evaluate("window.annotd.app.copy.edited") is False
    assert server.request("DELETE", f"/v1/rooms/{rid}")[0] == 200
    for w in (a, b):
        alert = w.page.get_by_role("alert")
        expect(alert).to_contain_text("This room was deleted.")
        expect(alert).to_contain_text("Someone deleted it while you were here, with everything in it.")
        text = alert.inner_text()
        assert "edit" not in text.lower() and "kept" not in text.lower(), text
        # deleted on purpose: nothing to re-create
        expect(w.page.get_by_role("button", name="Re-create the room from your copy")).to_have_count(0)


def test_the_rooms_page_and_the_status_say_rooms_live_in_memory(server: Server, open_page: PageFactory) -> None:
    memory = "This server keeps rooms in memory only: if it restarts, every room is gone."
    assert server.request("GET", "/v1/client-config")[1]["persistence"] == "memory"
    rooms = open_page("/", "Carol", "#2f9e44")
    expect(rooms.page.locator(".rooms-head .keeping")).to_have_text(memory)
    rid = new_room(server, "words")
    a = open_page(f"/r/{rid}", "Alice")
    expect(a.page.locator(".status")).to_have_attribute("title", memory)
    expect(a.page.locator(".status")).to_have_text("● Connected · all sent")
    a.page.locator('[data-panel="history"]').click()
    expect(a.page.locator(".panel-history")).to_contain_text(
        "named versions are never pruned, but live in the server's memory: a restart loses them.")
