"""A locked annotation says why it does not change: the style panel explains and its style
controls are disabled; Delete says that nothing was deleted and how to unlock."""

from __future__ import annotations

from playwright.sync_api import expect

from .conftest import PageFactory, Server
from .helpers import at_100, click, model, new_room, selected, tool, wait_count

LOCKED = {"id": "locked1", "type": "rect", "x": 100, "y": 100, "w": 200, "h": 120, "locked": True,
          "style": {"fill": "#a5d8ff80"}}


def test_a_locked_shape_explains_itself(server: Server, open_page: PageFactory) -> None:
    rid = new_room(server, "locked", LOCKED)
    page = open_page(f"/r/{rid}", "Alice").page
    at_100(page)
    wait_count(page, 1)
    tool(page, "select")
    click(page, 200, 160)
    assert selected(page) == ["locked1"]
    panel = page.locator("#panel-style")
    note = panel.locator(".lock-note")
    expect(note).to_have_text("This annotation is locked: its style cannot change until you unlock it "
                              "with Unlock under Arrange or Ctrl+Shift+L.")
    swatch = panel.locator('[data-control="stroke"] button').first
    expect(swatch).to_be_disabled()
    # Arrange (where Unlock is) stays usable
    expect(panel.get_by_role("button", name="Lock or unlock")).to_be_enabled()

    page.keyboard.press("Delete")
    expect(page.locator(".toast.error")).to_contain_text("Nothing deleted: the selected annotation is locked.")
    assert model(page, "locked1") is not None

    page.get_by_role("button", name="Lock or unlock").click()
    expect(note).to_be_hidden()
    expect(swatch).to_be_enabled()
