"""A text box made by a click has the same width in image pixels whatever the zoom (a few
font sizes wide: a short note, not a bar across the picture)."""

from __future__ import annotations

from .conftest import PageFactory, Server, wait_for
from .helpers import new_room


def test_a_clicked_text_box_has_one_width_in_image_pixels(server: Server, open_page: PageFactory) -> None:
    rid = new_room(server, "textwidth")
    page = open_page(f"/r/{rid}", "Alice").page
    widths = []
    for zoom in (0.58, 0.68, 2.0):
        page.evaluate("z => window.annotd.app.viewport.set(z, 0, 0)", zoom)
        page.locator('button[data-tool="text"]').click()
        box = page.locator(".stage").bounding_box()
        assert box is not None
        n = page.evaluate("window.annotd.app.canvas.list().length")
        page.mouse.click(box["x"] + 40, box["y"] + 40 + 60 * len(widths))
        wait_for(page, "n => window.annotd.app.canvas.list().length === n + 1", n)
        page.keyboard.type("Note")
        page.keyboard.press("Escape")
        created = page.evaluate("() => window.annotd.app.canvas.list().at(-1)")
        widths.append((created["w"], created["style"]["fontSize"]))
    assert len({w for w, _ in widths}) == 1, widths
    w, font = widths[0]
    assert 6 * font <= w <= 16 * font, widths
