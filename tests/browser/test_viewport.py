"""Touch: two fingers pinch-zoom around their centre and pan with it, and a pinch never
leaves a half-drawn shape behind (the first finger had started the active tool).

The touch pointers are synthetic ``PointerEvent``s (``pointerType: "touch"``) dispatched on
the stage: what the app's input code receives from a touch screen, without needing a touch
device in headless Chromium.
"""

from __future__ import annotations

import itertools

from playwright.sync_api import Page

from .conftest import PageFactory, Server
from .helpers import at_100, tool

_rooms = itertools.count(1)

TOUCH = """([type, id, x, y]) => {
    const stage = document.querySelector('.stage');
    stage.dispatchEvent(new PointerEvent(type, { pointerId: id, pointerType: 'touch', isPrimary: id === 11,
        clientX: x, clientY: y, button: type === 'pointermove' ? -1 : 0, buttons: type === 'pointerup' ? 0 : 1,
        bubbles: true, cancelable: true }));
}"""


def touch(page: Page, kind: str, pointer: int, x: float, y: float) -> None:
    page.evaluate(TOUCH, [f"pointer{kind}", pointer, x, y])


def image_point(page: Page, client_x: float, client_y: float) -> list[float]:
    """The image pixel under a client (page) point."""
    return page.evaluate("""([x, y]) => { const r = document.querySelector('.stage').getBoundingClientRect();
        return window.annotd.app.viewport.toImage(x - r.left, y - r.top); }""", [client_x, client_y])


def test_two_fingers_zoom_around_their_centre_and_pan_with_it(server: Server, open_page: PageFactory) -> None:
    rid = f"touch{next(_rooms)}"
    server.create_room(rid, "Touch")
    page = open_page(f"/r/{rid}", "Alice").page
    at_100(page)
    tool(page, "rect")
    box = page.locator(".stage").bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    # the first finger starts a rectangle (down, then a move); the second turns it into a pinch
    touch(page, "down", 11, cx - 50, cy)
    touch(page, "move", 11, cx - 60, cy)
    touch(page, "down", 12, cx + 40, cy)  # fingers 100 px apart, centred on cx - 10
    under_centre = image_point(page, cx - 10, cy)
    # both fingers move: 250 px apart at the end, centred on cx + 75
    for step in range(1, 11):
        touch(page, "move", 12, cx + 40 + 14 * step, cy)  # to cx + 180
    for step in range(1, 6):
        touch(page, "move", 11, cx - 60 + 2 * step, cy)  # to cx - 50
    for step in range(1, 11):
        touch(page, "move", 12, cx + 180 + 2 * step, cy)  # to cx + 200
    touch(page, "up", 12, cx + 200, cy)
    touch(page, "up", 11, cx - 50, cy)
    scale = page.evaluate("window.annotd.app.viewport.scale")
    assert abs(scale - 2.5) < 1e-6, scale
    after = image_point(page, cx + 75, cy)
    assert abs(after[0] - under_centre[0]) < 0.01 and abs(after[1] - under_centre[1]) < 0.01, (after, under_centre)
    # no shape was left behind by the finger that started the rectangle
    assert page.evaluate("window.annotd.app.canvas.list().length") == 0
    assert server.annotations(rid) == []
    # one finger on its own still draws
    touch(page, "down", 21, cx, cy)
    for step in range(1, 6):
        touch(page, "move", 21, cx + 20 * step, cy + 12 * step)
    touch(page, "up", 21, cx + 100, cy + 60)
    assert page.evaluate("window.annotd.app.canvas.list().map(a => a.type)") == ["rect"]
