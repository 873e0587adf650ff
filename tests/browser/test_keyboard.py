"""Keyboard: tool keys, nudge, duplicate, group, z-order, lock, delete, undo; tooltips and
the `?` help sheet; every control has a name."""

from __future__ import annotations

from playwright.sync_api import expect

from .conftest import PageFactory, Server, wait_for
from .helpers import at_100, drag, origin, selected, wait_count


def test_shortcuts_drive_every_command(server: Server, open_page: PageFactory) -> None:
    server.create_room("keys", "Keys")
    w = open_page("/r/keys", "Alice")
    page = w.page
    at_100(page)
    app = "window.annotd.app"
    page.keyboard.press("r")
    expect(page.locator('button[data-tool="rect"]')).to_have_attribute("aria-pressed", "true")
    expect(page.locator('button[data-tool="rect"]')).to_have_attribute("title", "Rectangle (R)")
    drag(page, [(50, 50), (150, 120)])
    [first] = selected(page)
    # nudge: 3 x 1 px right, 1 x 10 px down
    for key in ("ArrowRight", "ArrowRight", "ArrowRight", "Shift+ArrowDown"):
        page.keyboard.press(key)
    wait_for(page, f"id => {{ const a = {app}.canvas.get(id); return a.x === 53 && a.y === 60 }}", first)
    page.keyboard.press("Control+d")
    wait_count(page, 2)
    [copy] = selected(page)
    assert copy != first
    page.keyboard.press("Escape")
    assert selected(page) == []
    drag(page, [(20, 20), (250, 250)])  # marquee from empty canvas around both
    assert sorted(selected(page)) == sorted([first, copy])
    page.keyboard.press("Escape")
    page.locator(".stage").focus()
    page.keyboard.press("Tab")  # Tab on the canvas walks the annotations in paint order
    assert selected(page) == [first]
    page.keyboard.press("Tab")
    assert selected(page) == [copy]
    page.keyboard.press("Escape")
    page.keyboard.press("Control+a")
    assert sorted(selected(page)) == sorted([first, copy])
    page.keyboard.press("Control+g")
    wait_for(page, f"ids => ids.every(id => {{ const g = {app}.canvas.get(id).groupIds; return g.length === 1 }})", [first, copy])
    groups = page.evaluate(f"ids => ids.map(id => {app}.canvas.get(id).groupIds[0])", [first, copy])
    assert groups[0] == groups[1]
    page.keyboard.press("Control+Shift+g")
    wait_for(page, f"ids => ids.every(id => {app}.canvas.get(id).groupIds.length === 0)", [first, copy])
    # z-order: the first rect is below its copy; bring it to the front, then back
    page.keyboard.press("Escape")
    page.evaluate(f"id => {app}.selection.set([id])", first)
    page.keyboard.press("Control+Shift+BracketRight")
    wait_for(page, f"id => {app}.canvas.list().at(-1).id === id", first)
    page.keyboard.press("Control+BracketLeft")
    wait_for(page, f"id => {app}.canvas.list()[0].id === id", first)
    # lock: delete does nothing, unlock, delete removes it
    page.keyboard.press("Control+Shift+l")
    wait_for(page, f"id => {app}.canvas.get(id).locked === true", first)
    page.keyboard.press("Delete")
    wait_count(page, 2)
    page.keyboard.press("Control+Shift+l")
    wait_for(page, f"id => {app}.canvas.get(id).locked === false", first)
    page.keyboard.press("Delete")
    wait_count(page, 1)
    page.keyboard.press("Control+z")
    wait_count(page, 1 + 1)
    # the help sheet lists the shortcuts
    page.keyboard.press("?")
    sheet = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(sheet).to_be_visible()
    expect(sheet).to_contain_text("Bring to front")
    expect(sheet).to_contain_text("Undo your last change")
    page.keyboard.press("Escape")
    expect(sheet).to_have_count(0)
    # every button and tab is named for assistive technology
    unnamed = page.evaluate("""() => [...document.querySelectorAll('button, [role=tab], [role=radio], a, input')]
        .filter(el => !(el.getAttribute('aria-label') || el.textContent.trim() || el.labels?.length || el.title))
        .map(el => el.outerHTML.slice(0, 80))""")
    assert unnamed == []
    anns = server.annotations("keys")
    assert len(anns) == 2


def test_first_visit_asks_for_a_name_once(server: Server, browser: object) -> None:
    server.create_room("hello", "Hello")
    ctx = browser.new_context()  # type: ignore[attr-defined]
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(server.http + "/r/hello")
    dialog = page.get_by_role("dialog", name="Who are you?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Continue").click()
    expect(dialog.get_by_role("alert")).to_have_text("Please enter a name.")
    dialog.get_by_label("Your name (shown to others in this room)").fill("Dana <b>")
    dialog.get_by_role("radio", name="colour #2f9e44").click()
    dialog.get_by_role("button", name="Continue").click()
    expect(page.locator(".app[data-synced=true]")).to_have_count(1)
    page.get_by_role("tab", name="People").click()
    expect(page.locator(".me")).to_have_text("Dana <b> (you)")
    page.reload()
    expect(page.locator(".app[data-synced=true]")).to_have_count(1)
    expect(page.get_by_role("dialog")).to_have_count(0)
    ident = page.evaluate("JSON.parse(localStorage.getItem('annotd.identity'))")
    assert ident["name"] == "Dana <b>" and ident["color"] == "#2f9e44" and ident["userId"].startswith("Dana <b>#")
    ctx.close()
    assert errors == []


def test_escape_while_drawing_abandons_the_shape(server: Server, open_page: PageFactory) -> None:
    """The others saw the shape grow; Escape takes it back everywhere and leaves nothing to undo."""
    server.create_room("escape", "Escape")
    page = open_page("/r/escape", "Alice").page
    other = open_page("/r/escape", "Bob", "#1971c2").page
    at_100(page)
    ox, oy = origin(page)
    for key, kind in (("r", "rect"), ("d", "freehand")):
        page.keyboard.press(key)
        page.mouse.move(ox + 40, oy + 40)
        page.mouse.down()
        page.mouse.move(ox + 200, oy + 160, steps=8)
        wait_count(other, 1)  # being drawn, and seen by Bob
        page.keyboard.press("Escape")
        wait_count(other, 0)
        page.mouse.up()
        assert page.evaluate("window.annotd.app.canvas.list().length") == 0, kind
        assert not page.evaluate("window.annotd.app.undo.canUndo()"), kind
    # a shape drawn to the end stays
    page.keyboard.press("r")
    drag(page, [(40, 40), (200, 160)])
    wait_count(other, 1)
