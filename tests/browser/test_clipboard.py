"""Copy, cut and paste through the system clipboard, with two people in the room: copies get
new ids and new groups, land at the pointer (or beside the originals), are selected and are
one undo step; the clipboard holds annotd's text and a PNG of the selection; a tab in another
room pastes them too; cut leaves locked shapes; bad clipboard data and the room's limits are
refused in words; an image pasted into a room without one becomes its image, on the rooms
page it starts a room; plain text becomes a text box."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import ROOT, PageFactory, Server, Watched, start_server, stop_server, wait_for
from .helpers import alice_and_bob, at_100, new_room, origin, selected, wait_count

APP = "window.annotd.app"
LIMIT = 60_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A daemon whose rooms hold at most LIMIT bytes of document (for the size refusal)."""
    config: Path = tmp_path_factory.mktemp("config") / "annotd.toml"
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    small, n = re.subn(r"(?m)^max_document_bytes = \d+", f"max_document_bytes = {LIMIT}", text)
    assert n == 1
    config.write_text(small, encoding="utf-8")
    s = start_server(config=config)
    yield s
    stop_server(s)


def clipboard_access(w: Watched, server: Server) -> None:
    w.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.http)


def clipboard_types(page: Page) -> list[str]:
    return list(page.evaluate("async () => (await navigator.clipboard.read()).flatMap(i => [...i.types])"))


def wait_clipboard(page: Page, mime: str) -> None:
    """Await the clipboard holding ``mime`` (the PNG is added by an async write after the
    copy event): polled every 50 ms inside the page, as wait_for polls."""
    page.evaluate("""async (mime) => {
        for (;;) {
            if ((await navigator.clipboard.read()).some(i => i.types.includes(mime))) return;
            await new Promise(r => setTimeout(r, 50));
        }
    }""", mime)


def hover(page: Page, x: float, y: float) -> None:
    ox, oy = origin(page)
    page.mouse.move(ox + x, oy + y)


def test_copy_and_paste_for_two_people(server: Server, open_page: PageFactory) -> None:
    rid = new_room(server, "clip",
                   {"id": "r1", "type": "rect", "x": 100, "y": 100, "w": 100, "h": 60, "groupIds": ["g1"],
                    "style": {"stroke": "#1971c2", "fill": "#ffec99", "strokeWidth": 4}},
                   {"id": "t1", "type": "text", "x": 100, "y": 170, "w": 100, "h": 20, "text": "crack", "groupIds": ["g1"]})
    a, b = alice_and_bob(open_page, rid)
    clipboard_access(a, server)
    page = a.page
    page.locator(".stage").focus()
    page.keyboard.press("Control+a")
    page.keyboard.press("Control+c")
    # the clipboard has annotd's text and a PNG of the two shapes, painted like the screen
    wait_clipboard(page, "image/png")
    assert sorted(clipboard_types(page)) == ["image/png", "text/plain"]
    text = page.evaluate("() => navigator.clipboard.readText()")
    clip = json.loads(text)
    assert clip["type"] == "application/x-annotd+json" and clip["version"] == 1 and clip["roomId"] == rid
    assert [c["type"] for c in clip["annotations"]] == ["rect", "text"]
    assert all("id" not in c and "createdBy" not in c and "z" not in c for c in clip["annotations"])
    png = page.evaluate("""async () => {
        const item = (await navigator.clipboard.read()).find(i => i.types.includes('image/png'));
        const bmp = await createImageBitmap(await item.getType('image/png'));
        const c = new OffscreenCanvas(bmp.width, bmp.height); const g = c.getContext('2d'); g.drawImage(bmp, 0, 0);
        const px = g.getImageData(0, 0, bmp.width, bmp.height).data;
        let blue = 0;
        for (let i = 0; i < px.length; i += 4)
            if (px[i] === 0x19 && px[i + 1] === 0x71 && px[i + 2] === 0xc2 && px[i + 3] === 255) blue++;
        return { w: bmp.width, h: bmp.height, blue, corner: px[3] };
    }""")
    assert png["w"] > 100 and png["h"] > 80, png
    assert png["blue"] > 300, png  # the rect's 4 px blue stroke
    assert png["corner"] == 0, png  # transparent background
    # paste with the pointer over the canvas: centred there, new ids, one new group, selected
    hover(page, 500, 400)
    page.keyboard.press("Control+v")
    wait_count(page, 4)
    copies = selected(page)
    assert len(copies) == 2 and not {"r1", "t1"} & set(copies)
    got = page.evaluate(f"ids => ids.map(id => {APP}.canvas.get(id))", copies)
    rect = next(g for g in got if g["type"] == "rect")
    text_box = next(g for g in got if g["type"] == "text")
    assert (rect["x"] + 50, rect["y"] + 45) == (500, 400)  # the clip's box (100..200 × 100..190) centred at the pointer
    assert text_box["text"] == "crack" and text_box["y"] - rect["y"] == 70
    assert rect["style"]["stroke"] == "#1971c2" and rect["style"]["fill"] == "#ffec99"
    assert rect["groupIds"] == text_box["groupIds"] and rect["groupIds"] != ["g1"]
    wait_count(b.page, 4)
    # the server holds them as it would hold annotations made through its API
    stored = {s["id"]: s for s in server.annotations(rid)}
    assert set(copies) <= set(stored) and stored[rect["id"]]["createdBy"] == a.user_id
    # one undo step takes the paste back, for both
    page.keyboard.press("Control+z")
    wait_count(page, 2)
    wait_count(b.page, 2)
    # with the pointer off the canvas: beside the originals, one step further each time
    page.mouse.move(5, 5)
    page.keyboard.press("Control+v")
    wait_count(page, 4)
    first = page.evaluate(f"ids => ids.map(id => {APP}.canvas.get(id)).find(a => a.type === 'rect')", selected(page))
    assert (first["x"], first["y"]) == (116, 116)
    page.keyboard.press("Control+v")
    wait_count(page, 6)
    second = page.evaluate(f"ids => ids.map(id => {APP}.canvas.get(id)).find(a => a.type === 'rect')", selected(page))
    assert (second["x"], second["y"]) == (132, 132)
    wait_count(b.page, 6)
    # another room, in another tab of Alice's browser, with Bob there: the same clipboard pastes
    other = new_room(server, "clipb")
    bob2 = open_page(f"/r/{other}", "Bob", "#1971c2")
    tab = a.context.new_page()
    tab.on("pageerror", lambda e: a.errors.append(f"pageerror (tab): {e}"))
    tab.goto(f"{server.http}/r/{other}")
    expect(tab.locator(".app[data-synced=true]")).to_have_count(1)
    at_100(tab)
    tab.locator(".stage").focus()
    tab.keyboard.press("Control+v")
    wait_count(tab, 2)
    wait_count(bob2.page, 2)
    assert sorted(x["type"] for x in server.annotations(other)) == ["rect", "text"]
    # the ? sheet lists them
    page.bring_to_front()
    page.keyboard.press("?")
    sheet = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(sheet).to_contain_text("Paste at the pointer")
    expect(sheet).to_contain_text("Cut (locked annotations are copied, not cut)")


def test_cut_keeps_locked_shapes_and_says_so(server: Server, open_page: PageFactory) -> None:
    rid = new_room(server, "cut",
                   {"id": "free", "type": "rect", "x": 10, "y": 10, "w": 50, "h": 50},
                   {"id": "held", "type": "ellipse", "x": 100, "y": 10, "w": 50, "h": 50, "locked": True})
    a, b = alice_and_bob(open_page, rid)
    clipboard_access(a, server)
    page = a.page
    page.evaluate(f"() => {APP}.selection.set(['free', 'held'])")
    page.locator(".stage").focus()
    page.keyboard.press("Control+x")
    wait_count(page, 1)
    wait_count(b.page, 1)
    expect(page.locator(".toasts")).to_contain_text("1 locked annotation stays in place (not cut)")
    assert selected(page) == ["held"]
    assert [c["type"] for c in json.loads(page.evaluate("() => navigator.clipboard.readText()"))["annotations"]] == ["rect", "ellipse"]
    page.keyboard.press("Control+z")
    wait_count(page, 2)
    wait_count(b.page, 2)


def test_bad_data_and_limits_are_refused_in_words(server: Server, open_page: PageFactory) -> None:
    rid = new_room(server, "bad")
    a, b = alice_and_bob(open_page, rid)
    clipboard_access(a, server)
    page = a.page
    bad = {"type": "application/x-annotd+json", "version": 1, "roomId": "x",
           "annotations": [{"type": "rect", "x": 1, "y": 1, "w": 5, "h": 5},
                           {"type": "rect", "x": 1, "y": 1, "w": 5, "h": 5, "style": {"stroke": "red"}}]}
    page.evaluate("t => navigator.clipboard.writeText(t)", json.dumps(bad))
    page.locator(".stage").focus()
    page.keyboard.press("Control+v")
    expect(page.locator(".toasts")).to_contain_text("annotations[1].style.stroke: must be #rrggbb, #rrggbbaa or none")
    # the room's document limit: a paste that would pass it is refused before it is sent
    big = {"type": "application/x-annotd+json", "version": 1, "roomId": "x",
           "annotations": [{"type": "text", "x": 0, "y": 50 * i, "w": 300, "h": 40, "text": "x" * 9000} for i in range(8)]}
    page.evaluate("t => navigator.clipboard.writeText(t)", json.dumps(big))
    page.keyboard.press("Control+v")
    expect(page.locator(".toasts")).to_contain_text("these 8 annotations would add about")
    assert page.evaluate(f"{APP}.socket.state") == "connected"
    # plain text from another app: a text box with it
    page.evaluate("t => navigator.clipboard.writeText(t)", "Check the weld\nat the left")
    page.keyboard.press("Control+v")
    wait_count(page, 1)
    wait_for(b.page, f"() => {APP}.canvas.list().some(a => a.type === 'text' && a.text === 'Check the weld\\nat the left')")
    assert len(server.annotations(rid)) == 1


PNG_JS = """async () => {
    const c = new OffscreenCanvas(64, 48); const g = c.getContext('2d'); g.fillStyle = '#2f9e44'; g.fillRect(0, 0, 64, 48);
    const blob = await c.convertToBlob({ type: 'image/png' });
    await navigator.clipboard.write([new ClipboardItem({ 'image/png': blob })]);
}"""


def test_a_pasted_image_becomes_the_room_image_or_a_new_room(server: Server, open_page: PageFactory) -> None:
    rid = new_room(server, "img")
    a, b = alice_and_bob(open_page, rid)
    clipboard_access(a, server)
    page = a.page
    page.evaluate(PNG_JS)
    page.locator(".stage").focus()
    page.keyboard.press("Control+v")
    wait_for(b.page, f"() => {APP}.canvas.image()?.width === 64")
    assert server.request("GET", f"/v1/rooms/{rid}")[1]["image"]["height"] == 48
    # a room that has an image asks first, as "Replace image" does
    page.keyboard.press("Control+v")
    dialog = page.get_by_role("dialog", name="Replace the image?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    # on the rooms page, a pasted image starts a room with it (named as the form says)
    rooms = open_page("/", "Carol", "#2f9e44")
    clipboard_access(rooms, server)
    # copied shapes (their text and their picture) are not taken for a base image there
    before = len(server.request("GET", "/v1/rooms")[1]["rooms"])
    rooms.page.evaluate("""async () => {
        const c = new OffscreenCanvas(8, 8); c.getContext('2d'); const png = await c.convertToBlob({ type: 'image/png' });
        const text = new Blob([JSON.stringify({ type: 'application/x-annotd+json', version: 1, annotations: [] })], { type: 'text/plain' });
        await navigator.clipboard.write([new ClipboardItem({ 'text/plain': text, 'image/png': png })]);
    }""")
    rooms.page.locator("h1").click()
    rooms.page.keyboard.press("Control+v")
    expect(rooms.page.locator(".toasts")).to_contain_text("These are copied annotations")
    assert len(server.request("GET", "/v1/rooms")[1]["rooms"]) == before
    rooms.page.evaluate(PNG_JS)
    rooms.page.locator("#room-name").fill("Pasted survey")
    rooms.page.locator("h1").click()
    rooms.page.keyboard.press("Control+v")
    expect(rooms.page.locator(".app[data-synced=true]")).to_have_count(1)
    expect(rooms.page.locator(".room-name")).to_have_text("Pasted survey")
    wait_for(rooms.page, f"() => {APP}.canvas.image()?.width === 64")
