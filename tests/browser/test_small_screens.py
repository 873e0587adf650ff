"""Phones and tablets: on a phone (390×844) the canvas gets the screen, the edit/view buttons
are in a menu and the side panels in a bottom sheet, both opened from the top bar; nothing
scrolls the page sideways and every button is at least 44 px. On a tablet (1024×768) the room's
name and the connection status are shown whole. On both, a rectangle is drawn with a finger,
the comments are opened and the room is exported."""

from __future__ import annotations

import time
from typing import Any

from playwright.sync_api import Page, expect

from .conftest import PageFactory, Server, wait_for
from .scene import base_png

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 1024, "height": 768}
TITLE = "Garden survey, north gate"


def room(server: Server, rid: str) -> None:
    server.create_room(rid, TITLE)
    status, _ = server.request("POST", f"/v1/rooms/{rid}/image", raw=base_png(), content_type="image/png")
    assert status == 201
    status, body = server.request("POST", f"/v1/rooms/{rid}/comments",
                                  {"body": "Is this the old gate?", "anchor": {"kind": "point", "x": 300, "y": 200}})
    assert status == 201, body


def touch_drag(page: Page, start: tuple[float, float], end: tuple[float, float], steps: int = 6) -> None:
    """One finger from ``start`` to ``end`` (page coordinates), as real touch events, 40 ms
    apart and resting at the end before lifting (as a person drawing does; a finger lifted
    while moving is a fling, and the browser swallows the tap that stops a fling)."""
    cdp = page.context.new_cdp_session(page)
    (x0, y0), (x1, y1) = start, end
    t0 = time.time()

    def send(kind: str, points: list[dict[str, float]], i: int) -> None:
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points, "timestamp": t0 + i * 0.04})

    send("touchStart", [{"x": x0, "y": y0, "id": 1}], 0)
    for i in range(1, steps + 1):
        t = i / steps
        send("touchMove", [{"x": x0 + (x1 - x0) * t, "y": y0 + (y1 - y0) * t, "id": 1}], i)
    send("touchMove", [{"x": x1, "y": y1, "id": 1}], steps + 5)
    send("touchEnd", [], steps + 6)
    cdp.detach()


def not_cut(page: Page, selector: str) -> bool:
    return bool(page.eval_on_selector(selector, "e => e.scrollWidth <= e.clientWidth && e.getBoundingClientRect().right <= innerWidth"))


def draw_rect_with_a_finger(server: Server, page: Page, rid: str) -> None:
    page.locator('button[data-tool="rect"]').tap()
    expect(page.locator('button[data-tool="rect"]')).to_have_attribute("aria-pressed", "true")
    box = page.locator(".stage").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3
    touch_drag(page, (x, y), (x + 120, y + 90))
    wait_for(page, "() => window.annotd.app.canvas.list().some(a => a.type === 'rect')")


def export_png(page: Page) -> None:
    dialog = page.get_by_role("dialog", name="Export")
    expect(dialog).to_be_visible()
    width = dialog.bounding_box()
    assert width is not None and width["x"] >= 0 and width["x"] + width["width"] <= page.viewport_size["width"]  # type: ignore[index]
    with page.expect_download(timeout=60_000) as info:
        dialog.get_by_role("button", name="Export and download").click()
    assert info.value.suggested_filename.endswith(".png")


def test_phone_gives_the_canvas_the_screen(server: Server, open_page: PageFactory) -> None:
    rid = "phone1"
    room(server, rid)
    w = open_page(f"/r/{rid}", "Alice", viewport=PHONE, has_touch=True)
    page = w.page
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    stage = page.locator(".stage").bounding_box()
    assert stage is not None and stage["width"] >= PHONE["width"] - 2 and stage["height"] >= 600, stage
    expect(page.locator(".sidebar")).to_be_hidden()
    small: list[Any] = page.evaluate("""() => [...document.querySelectorAll('.topbar button, .topbar a')]
        .filter(b => b.checkVisibility())
        .map(b => [b.getAttribute('aria-label') || b.textContent, b.getBoundingClientRect().width, b.getBoundingClientRect().height])
        .filter(([, w, h]) => w < 44 || h < 44)""")
    assert small == []

    draw_rect_with_a_finger(server, page, rid)

    page.get_by_role("button", name="Panels").tap()
    page.get_by_role("tab", name="Comments").tap()
    thread = page.locator("li.thread").first
    expect(thread).to_contain_text("Is this the old gate?")
    expect(thread).to_be_in_viewport()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    page.get_by_role("button", name="Panels").tap()
    expect(page.locator(".sidebar")).to_be_hidden()

    page.get_by_role("button", name="More actions").tap()
    page.get_by_role("button", name="Export as PNG, JPG or SVG").tap()
    export_png(page)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]


def test_tablet_shows_the_whole_title_and_status(server: Server, open_page: PageFactory) -> None:
    rid = "tablet1"
    room(server, rid)
    w = open_page(f"/r/{rid}", "Alice", viewport=TABLET, has_touch=True)
    page = w.page
    expect(page.locator(".room-name")).to_have_text(TITLE)
    expect(page.locator(".status")).to_contain_text("Connected")
    assert not_cut(page, ".room-name")
    assert not_cut(page, ".status")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= TABLET["width"]

    draw_rect_with_a_finger(server, page, rid)
    page.get_by_role("tab", name="Comments").tap()
    expect(page.locator("li.thread").first).to_contain_text("Is this the old gate?")
    page.get_by_role("button", name="Export as PNG, JPG or SVG").tap()
    export_png(page)
