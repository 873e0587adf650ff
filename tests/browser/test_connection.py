"""Connection life: offline edits converge, rooms page (create, upload, bad file, delete),
an unknown room, a room deleted under the page."""

from __future__ import annotations

import io
import itertools
import re
from typing import Any

from PIL import Image
from playwright.sync_api import Page, WebSocketRoute, expect

from .conftest import PageFactory, Server, wait_for
from .helpers import at_100, drag, tool, wait_count

_rooms = itertools.count(1)


def room(server: Server) -> str:
    rid = f"conn{next(_rooms)}"
    server.create_room(rid, f"Room {rid}")
    return rid


def png_bytes(w: int = 320, h: int = 200) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (120, 160, 200)).save(buf, "PNG")
    return buf.getvalue()


def drop(page: Page, selector: str, name: str, data: bytes, mime: str = "image/png") -> None:
    """Drop a file on an element, as the browser does for a file dragged from the desktop."""
    dt = page.evaluate_handle("""([bytes, name, mime]) => { const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(bytes)], name, { type: mime })); return dt; }""", [list(data), name, mime])
    page.dispatch_event(selector, "dragover", {"dataTransfer": dt})
    page.dispatch_event(selector, "drop", {"dataTransfer": dt})


class Cable:
    """Route the page's room socket through Playwright so the test can pull the plug."""

    def __init__(self) -> None:
        self.cut = False
        self.live: list[WebSocketRoute] = []

    def handler(self, ws: WebSocketRoute) -> None:
        if self.cut:
            ws.close(code=1000, reason="test: offline")
            return
        ws.connect_to_server()
        self.live.append(ws)

    def unplug(self) -> None:
        self.cut = True
        for ws in self.live:
            ws.close(code=1000, reason="test: cable cut")
        self.live.clear()

    def plug(self) -> None:
        self.cut = False


def routed_pair(server: Server, open_page: PageFactory) -> tuple[str, Cable, Page, Page]:
    """A new room open in two pages at 100 %: Alice's room socket goes through a
    :class:`Cable`, Bob's straight to the server."""
    rid = room(server)
    cable = Cable()
    a = open_page(f"/r/{rid}", "Alice", wait_synced=False)
    a.page.route_web_socket(re.compile(r".*/v1/ws/rooms/.*"), cable.handler)
    a.page.reload()
    expect(a.page.locator(".app[data-synced=true]")).to_have_count(1)
    b = open_page(f"/r/{rid}", "Bob", "#1971c2")
    at_100(a.page)
    at_100(b.page)
    return rid, cable, a.page, b.page


def test_edits_made_offline_converge_after_reconnect(server: Server, open_page: PageFactory) -> None:
    rid, cable, pa, pb = routed_pair(server, open_page)
    tool(pa, "rect")
    drag(pa, [(40, 40), (140, 140)])
    wait_count(pb, 1)
    cable.unplug()
    expect(pa.locator(".status")).to_contain_text(re.compile("Reconnecting|Offline"))
    # both edit while apart
    tool(pa, "ellipse")
    drag(pa, [(200, 40), (300, 140)])
    tool(pb, "arrow")
    drag(pb, [(40, 300), (200, 360)])
    wait_count(pa, 2)  # Alice sees her own edit at once
    wait_count(pb, 2)
    assert sorted(x["type"] for x in server.annotations(rid)) == ["arrow", "rect"]
    cable.plug()
    pa.evaluate("window.annotd.app.socket.reconnectNow()")
    expect(pa.locator(".status")).to_contain_text("Connected")
    wait_count(pa, 3)
    wait_count(pb, 3)
    expect(pa.locator(".status")).to_contain_text("all sent")
    assert sorted(x["type"] for x in server.annotations(rid)) == ["arrow", "ellipse", "rect"]
    ids_a = sorted(pa.evaluate("window.annotd.app.canvas.list().map(a => a.id)"))
    ids_b = sorted(pb.evaluate("window.annotd.app.canvas.list().map(a => a.id)"))
    assert ids_a == ids_b == sorted(x["id"] for x in server.annotations(rid))
    # the reconnect asked for replay from where Alice was
    info: Any = pa.evaluate("window.annotd.app.socket.info")
    assert info["sync"] == "replay" and info["replayFrom"] is not None


def test_a_client_closed_as_too_slow_comes_back_by_itself_and_catches_up(server: Server, open_page: PageFactory) -> None:
    """4008 (the server dropped a client that fell too far behind) is not final: the page
    reconnects on its own (first retry without backoff) and replays what it missed."""
    rid, cable, pa, pb = routed_pair(server, open_page)
    tool(pb, "rect")
    drag(pb, [(40, 40), (140, 140)])
    wait_count(pa, 1)
    # the server side says "too slow" while Bob keeps drawing
    # the page's socket now is the newest route: under load the page may have retried once
    # around the reload, leaving an older, closed route in the list
    first = cable.live[-1]
    cable.live.clear()
    first.close(code=4008, reason="client too slow")
    tool(pb, "ellipse")
    drag(pb, [(200, 40), (300, 140)])
    expect(pa.locator(".status")).to_contain_text("Connected")
    wait_count(pa, 2)
    assert len(cable.live) == 1, "one new connection, made by the page itself"
    info: Any = pa.evaluate("window.annotd.app.socket.info")
    assert info["sync"] == "replay" and info["replayFrom"] is not None
    ids_a = sorted(pa.evaluate("window.annotd.app.canvas.list().map(a => a.id)"))
    assert ids_a == sorted(x["id"] for x in server.annotations(rid))


def test_rooms_page_creates_a_room_uploads_an_image_and_shows_a_bad_files_error(server: Server, open_page: PageFactory) -> None:
    w = open_page("/", "Carol", "#2f9e44")
    page = w.page
    page.get_by_label("Room name").fill("Harbour <survey>")
    page.get_by_label("Room id (in the address)").fill("harbour")
    page.get_by_role("button", name="Create room").click()
    expect(page).to_have_url(re.compile(r"/r/harbour$"))
    expect(page.locator(".app[data-synced=true]")).to_have_count(1)
    expect(page.locator(".room-name")).to_have_text("Harbour <survey>")
    page.goto(server.http + "/")
    card = page.locator('li.room[data-room-id="harbour"]')
    expect(card.get_by_role("heading")).to_have_text("Harbour <survey>")
    # upload through the file picker
    with page.expect_file_chooser() as fc:
        card.get_by_role("button", name="Set the image of Harbour <survey>").click()
    fc.value.set_files(files=[{"name": "harbour.png", "mimeType": "image/png", "buffer": png_bytes()}])
    expect(card.locator(".upload-status")).to_have_text("Image set (320×200).")
    expect(card.locator("img")).to_have_count(1)
    expect(card.locator(".meta")).to_contain_text(re.compile(r"last change (just now|\d+ seconds ago)"))
    status, body = server.request("GET", "/v1/rooms/harbour")
    assert body["image"]["width"] == 320
    # drag-and-drop a file onto the card
    drop(page, 'li.room[data-room-id="harbour"]', "drop.png", png_bytes(200, 100))
    expect(card.locator(".upload-status")).to_have_text("Image set (200×100).")
    # a file that is not an image: the server's words, not a code (Chromium logs the 4xx responses)
    w.allow_console(r"status of (422|415)")
    card = page.locator('li.room[data-room-id="harbour"]')
    with page.expect_file_chooser() as fc:
        card.get_by_role("button", name="Set the image of Harbour <survey>").click()
    fc.value.set_files(files=[{"name": "notes.png", "mimeType": "image/png", "buffer": b"this is not a picture"}])
    err = card.locator(".upload-status.error")
    expect(err).to_contain_text("“notes.png” is not a PNG, JPEG or WebP image")
    text = err.inner_text()
    assert "422" not in text and "415" not in text and "Content-Type" not in text, text
    _, after = server.request("GET", "/v1/rooms/harbour")
    assert after["image"]["width"] == 200  # the previous (dropped) image stays
    # a wrong type is refused in words too
    with page.expect_file_chooser() as fc:
        card.get_by_role("button", name="Set the image of Harbour <survey>").click()
    fc.value.set_files(files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}])
    expect(card.locator(".upload-status.error")).to_have_text(
        "“notes.txt” is not a PNG, JPEG or WebP image, the kinds this server accepts. Save it as one of those and try again.")
    # delete with confirmation
    card.get_by_role("button", name="Delete room Harbour <survey>").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Delete")
    dialog.get_by_role("button", name="Delete").click()
    expect(page.locator('li.room[data-room-id="harbour"]')).to_have_count(0)
    assert server.request("GET", "/v1/rooms/harbour")[0] == 404


def test_an_unknown_room_gets_a_clear_page(server: Server, open_page: PageFactory, browser: Any) -> None:
    ctx = browser.new_context()
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    resp = page.goto(server.http + "/r/no-such-room")
    assert resp is not None and resp.status == 404
    expect(page.get_by_role("alert")).to_contain_text("This room does not exist")
    expect(page.get_by_role("link", name="Back to the rooms page")).to_have_attribute("href", "/")
    ctx.close()
    assert not errors


def test_a_room_deleted_under_the_page_is_explained(server: Server, open_page: PageFactory) -> None:
    rid = room(server)
    a = open_page(f"/r/{rid}", "Alice")
    status, _ = server.request("DELETE", f"/v1/rooms/{rid}")
    assert status == 200
    expect(a.page.get_by_role("alert")).to_contain_text("This room was deleted")
    a.page.get_by_role("link", name="Back to the rooms page").click()
    expect(a.page).to_have_url(server.http + "/")
    wait_for(a.page, "() => document.querySelector('ul.rooms') !== null")


def test_an_image_dropped_on_the_canvas_becomes_the_rooms_image(server: Server, open_page: PageFactory) -> None:
    rid = room(server)
    a = open_page(f"/r/{rid}", "Alice")
    b = open_page(f"/r/{rid}", "Bob", "#1971c2")
    expect(a.page.locator(".empty-state")).to_contain_text("No image yet")
    drop(a.page, ".stage", "photo.png", png_bytes(640, 360))
    for p in (a.page, b.page):
        expect(p.locator("svg.canvas image.base")).to_have_attribute("width", "640")
        expect(p.locator(".empty-state")).to_be_hidden()
    _, info = server.request("GET", f"/v1/rooms/{rid}")
    assert info["image"]["width"] == 640 and info["image"]["height"] == 360
