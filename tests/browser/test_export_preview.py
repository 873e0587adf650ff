"""The export dialog says what it will make before it is made: the output size in pixels as
the options change (and the downloaded file has exactly that size), a white background by
default, a size the server refuses said in pixels, and the list of what the numbered
comment badges stand for, which can be copied as text."""

from __future__ import annotations

import io
import re

from PIL import Image
from playwright.sync_api import WebSocketRoute, expect

from .conftest import PageFactory, Server, wait_for
from .scene import HEIGHT, WIDTH
from .test_export_dialog import export_from_dialog, scene_room


def test_the_dialog_previews_the_size_and_lists_the_badges(server: Server, open_page: PageFactory) -> None:
    rid = "exportpreview1"
    scene_room(server, rid)
    a = open_page(f"/r/{rid}", "Alice")
    page = a.page
    a.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.http)
    page.get_by_role("button", name="Export as PNG, JPG or SVG").click()
    dialog = page.get_by_role("dialog", name="Export")
    expect(dialog.get_by_label("White")).to_be_checked()  # not transparent by default
    size = dialog.locator(".export-size")
    expect(size).to_have_text(f"Output: {WIDTH:,} × {HEIGHT:,} px")

    scale = dialog.get_by_role("spinbutton", name=re.compile("^Scale"))
    scale.fill("1.25")
    w, h = round(WIDTH * 1.25), round(HEIGHT * 1.25)
    expect(size).to_have_text(f"Output: {w:,} × {h:,} px")
    scale.fill("9")  # more than the form allows: said at once, in the size line
    expect(size).to_contain_text("Scale: give a number from 0.1 to")
    dialog.get_by_label("DPI", exact=True).check()
    dpi = dialog.get_by_role("spinbutton", name=re.compile("^DPI"))
    dpi.fill("48")
    expect(size).to_have_text(f"Output: {round(WIDTH / 2):,} × {round(HEIGHT / 2):,} px")

    # the badges: what each number stands for, open ones by default
    legend = dialog.locator(".badge-legend")
    expect(legend).to_be_hidden()
    dialog.get_by_label("Open threads").check()
    expect(legend.locator("li")).to_have_count(1)
    expect(legend.locator("li").first).to_contain_text("open one")
    dialog.get_by_label("All threads").check()
    expect(legend.locator("li")).to_have_count(2)
    expect(legend.locator("li").nth(1)).to_contain_text(re.compile(r"^2 .*closed one \(resolved\)$"))
    legend.get_by_role("button", name="Copy the list of badges as text").click()
    expect(page.locator(".toast")).to_contain_text("Copied the list of 2 badges.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.splitlines()[0].startswith("1. ") and copied.splitlines()[1].endswith("closed one (resolved)"), copied

    # the file has the size the dialog said
    shown = (int(size.get_attribute("data-width") or 0), int(size.get_attribute("data-height") or 0))
    _, data, _ = export_from_dialog(page)
    assert Image.open(io.BytesIO(data)).size == shown


def test_the_size_comes_once_connected(server: Server, open_page: PageFactory) -> None:
    rid = "exportpreview2"
    scene_room(server, rid)
    blocked = [False]
    live: list[WebSocketRoute] = []

    def route(ws: WebSocketRoute) -> None:
        if blocked[0]:
            ws.close()
            return
        ws.connect_to_server()
        live.append(ws)

    a = open_page(f"/r/{rid}", "Alice")
    page = a.page
    page.route_web_socket(re.compile(r".*/v1/ws/rooms/.*"), route)
    page.reload()
    expect(page.locator(".app[data-synced=true]")).to_have_count(1)
    blocked[0] = True
    live.pop().close()
    wait_for(page, "() => !window.annotd.app.socket.connected")
    page.get_by_role("button", name="Export as PNG, JPG or SVG").click()
    size = page.get_by_role("dialog", name="Export").locator(".export-size")
    expect(size).to_have_text("The size is shown once connected.")
    blocked[0] = False
    expect(size).to_have_text(f"Output: {WIDTH:,} × {HEIGHT:,} px")
