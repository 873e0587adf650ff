"""Drawing with the keyboard alone: a shape tool then Enter places a default-sized shape at
the centre of the view, selected; arrows move it (Shift: 10 px), Escape deselects, one undo
step takes it back; the other person sees every step. Polygon: a triangle; text: a box open
for typing; freehand: told it needs a pointer, nothing made."""

from __future__ import annotations

from playwright.sync_api import expect

from .conftest import PageFactory, Server, wait_for
from .helpers import alice_and_bob, new_room, selected, wait_count

APP = "window.annotd.app"


def test_enter_places_a_shape_at_the_view_centre_and_arrows_move_it(server: Server, open_page: PageFactory) -> None:
    rid = new_room(server, "kbd")
    a, b = alice_and_bob(open_page, rid)
    page = a.page
    # keyboard only: Tab onto the rectangle button and choose it with Enter; focus moves to the canvas
    page.locator('button[data-tool="rect"]').focus()
    page.keyboard.press("Enter")
    expect(page.locator('button[data-tool="rect"]')).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".stage")).to_be_focused()
    page.keyboard.press("Enter")
    wait_count(page, 1)
    [rect] = selected(page)
    expect(page.locator('button[data-tool="select"]')).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".toasts")).to_contain_text("Rectangle placed at the centre of the view")
    # centred in the view, 160 x 100 screen px at 100 %
    centre = page.evaluate(f"() => {{ const v = {APP}.viewport; return v.toImage(v.width / 2, v.height / 2) }}")
    got = page.evaluate(f"id => {APP}.canvas.get(id)", rect)
    assert got["type"] == "rect" and (got["w"], got["h"]) == (160, 100)
    assert (got["x"] + 80, got["y"] + 50) == (centre[0], centre[1])
    x0, y0 = got["x"], got["y"]
    for key in ("ArrowRight", "ArrowRight", "Shift+ArrowDown"):
        page.keyboard.press(key)
    wait_for(page, f"([id, x, y]) => {{ const a = {APP}.canvas.get(id); return a.x === x + 2 && a.y === y + 10 }}", [rect, x0, y0])
    wait_for(b.page, f"([id, x, y]) => {{ const a = {APP}.canvas.get(id); return a && a.x === x + 2 && a.y === y + 10 }}", [rect, x0, y0])
    page.keyboard.press("Escape")
    assert selected(page) == []
    # each nudge is a step; three undos put it back, a fourth takes the placement away
    for _ in range(3):
        page.keyboard.press("Control+z")
    wait_for(page, f"([id, x, y]) => {{ const a = {APP}.canvas.get(id); return a.x === x && a.y === y }}", [rect, x0, y0])
    page.keyboard.press("Control+z")
    wait_count(page, 0)
    wait_count(b.page, 0)


def test_every_shape_tool_places_from_the_keyboard(server: Server, open_page: PageFactory) -> None:
    rid = new_room(server, "kbdall")
    a, b = alice_and_bob(open_page, rid)
    page = a.page
    page.locator(".stage").focus()
    expected = {"o": ("ellipse", 0), "l": ("line", 4), "a": ("arrow", 4), "p": ("polygon", 6)}
    for key, (kind, npoints) in expected.items():
        page.keyboard.press(key)
        page.keyboard.press("Enter")
        wait_for(page, f"t => {APP}.selectedAnnotations().some(a => a.type === t)", kind)
        [got] = page.evaluate(f"() => {APP}.selectedAnnotations()")
        assert len(got["points"]) == npoints, got
        page.keyboard.press("Escape")
    arrow = page.evaluate(f"() => {APP}.canvas.list().find(a => a.type === 'arrow')")
    assert arrow["endArrowhead"] == "arrow"
    polygon = page.evaluate(f"() => {APP}.canvas.list().find(a => a.type === 'polygon')")
    assert polygon["closed"] is True
    # freehand: nothing invented, and the reason said
    page.keyboard.press("d")
    page.keyboard.press("Enter")
    expect(page.locator(".toasts")).to_contain_text("Freehand follows a pointer")
    # text: a box at the centre, open for typing
    page.keyboard.press("Escape")
    page.keyboard.press("t")
    page.keyboard.press("Enter")
    expect(page.locator("textarea")).to_be_focused()
    page.keyboard.type("Seen by keyboard")
    page.keyboard.press("Escape")
    wait_for(b.page, f"() => {APP}.canvas.list().some(a => a.type === 'text' && a.text === 'Seen by keyboard')")
    wait_count(b.page, 5)
    assert page.evaluate(f"() => {APP}.canvas.list().filter(a => a.type === 'freehand').length") == 0
    # the ? sheet says how
    page.keyboard.press("?")
    sheet = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(sheet).to_contain_text("place one at the centre of the view")
