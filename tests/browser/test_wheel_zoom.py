"""A Ctrl+wheel notch zooms by the same step as a plain wheel notch (a trackpad pinch, Ctrl with
small fractional deltas, keeps following the fingers)."""

from __future__ import annotations

from playwright.sync_api import Page

from .conftest import PageFactory, Server, wait_for
from .helpers import new_room


def scale(page: Page) -> float:
    return float(page.evaluate("window.annotd.app.viewport.scale"))


def notch(page: Page, ctrl: bool) -> float:
    """The zoom factor of one wheel notch towards the viewer, at the stage's centre."""
    page.evaluate("window.annotd.app.viewport.set(0.68, 0, 0)")
    box = page.locator(".stage").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    before = scale(page)
    if ctrl:
        page.keyboard.down("Control")
    page.mouse.wheel(0, -100)
    if ctrl:
        page.keyboard.up("Control")
    wait_for(page, "s => window.annotd.app.viewport.scale !== s", before)
    return scale(page) / before


def test_ctrl_wheel_notch_zooms_like_a_plain_notch(server: Server, open_page: PageFactory) -> None:
    rid = new_room(server, "wheel")
    page = open_page(f"/r/{rid}", "Alice").page
    plain = notch(page, ctrl=False)
    with_ctrl = notch(page, ctrl=True)
    assert 1.05 < plain < 1.4
    assert abs(with_ctrl - plain) < 0.01, (plain, with_ctrl)
