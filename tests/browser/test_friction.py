"""What new users tripped on, fixed: times, authors and version names instead of seqs (and
names with spaces); a side panel whose tabs stay on one row, whose thread headers neither
cut names nor wrap times, with long messages shortened, links that are links and a reply
box at hand; a new-comment box beside the shape, not over it; a focus ring only for Tab;
the page behind "Who are you?"; "Untitled room"; drawing tools that say why they are off
in a preview; swatches that stay visible in dark mode."""

from __future__ import annotations

import io
import json
import re
import urllib.parse
from typing import Any

from PIL import Image
from playwright.sync_api import Browser, Page, expect

from .conftest import TIMEOUT_MS, PageFactory, Server, Watched
from .helpers import at_100, click, new_room, tool

RECT = {"id": "box", "type": "rect", "x": 60, "y": 60, "w": 160, "h": 100}


def panel_text(page: Page, panel: str) -> str:
    return str(page.locator(f"#panel-{panel}").inner_text())


def test_versions_are_named_freely_and_shown_by_time_and_author(server: Server, open_page: PageFactory) -> None:
    rid = new_room(server, "named", RECT)
    a = open_page(f"/r/{rid}", "Alice")
    pa = a.page
    pa.get_by_role("tab", name=re.compile("^Versions")).click()
    box = pa.get_by_label("Name the canvas as it is now")
    box.fill("Review 1")
    box.press("Enter")
    item = pa.locator('li.version[data-tag="Review-1"]')
    expect(item.locator(".version-name")).to_have_text("Review 1")
    expect(item.locator(".meta")).to_have_text("Alice · just now")
    _, listed = server.request("GET", f"/v1/rooms/{rid}/versions")
    assert [(v["tag"], v["name"], v["createdBy"]) for v in listed["versions"]] == [("Review-1", "Review 1", a.user_id)]
    assert not re.search(r"\bseq\b", panel_text(pa, "versions"), re.I)
    # the time's date is on hover; the seq only in a developer's tooltip
    expect(item.locator("time")).to_have_attribute("title", re.compile(r"\d"))

    # previewing it: the bar says which version and when, and how far live has moved on
    pa.get_by_role("button", name="Preview version Review 1").click()
    expect(pa.locator(".banner")).to_contain_text("Viewing version “Review 1”, saved just now")
    server.request("PATCH", f"/v1/rooms/{rid}/annotations/box", {"x": 80})
    expect(pa.locator(".banner .live-seq")).to_have_text(" · live has 1 change since")
    assert not re.search(r"\bseq\b", str(pa.locator(".banner").inner_text()), re.I)

    # the history says where it is in changes and times, never in seqs
    pa.get_by_role("tab", name="History").click()
    expect(pa.locator(".step-where")).to_have_text("Version “Review 1”.")
    expect(pa.locator(".tag-mark")).to_have_text("Review 1")
    pa.keyboard.press("Escape")
    expect(pa.locator(".step-where")).to_have_text("Live.")
    assert not re.search(r"\bseq\b", panel_text(pa, "history"), re.I)


def test_side_panel_tabs_threads_long_messages_links_and_reply_box(server: Server, open_page: PageFactory) -> None:
    rid = new_room(server, "panel", RECT)
    long_name = "Maximilian Alexander Featherstonehaugh-Smythe"
    a = open_page(f"/r/{rid}", "Alice")
    b = open_page(f"/r/{rid}", long_name, "#1971c2")
    pa = a.page
    server.request("POST", f"/v1/rooms/{rid}/versions", {"name": "First look"})
    body = ("See https://example.org/crack?id=7. Not javascript:alert(1) nor <b>bold</b>. "
            + "The weld seam runs along the whole edge and shows a hairline crack near the bolt. " * 6)
    status, made = server.request("POST", f"/v1/rooms/{rid}/comments?userId={urllib.parse.quote(b.user_id)}",
                                  {"body": body, "anchor": {"kind": "annotation", "annotationId": "box"}})
    assert status == 201, made
    tid = made["thread"]["id"]
    pa.get_by_role("tab", name=re.compile("^Comments")).click()
    card = pa.locator(f'li.thread[data-thread-id="{tid}"]')
    expect(card).to_be_visible()

    # every tab on one row, with badges on People, Comments (news) and Versions
    expect(pa.locator("#tab-comments .badge")).to_be_visible()
    expect(pa.locator("#tab-versions .badge")).to_have_text("1")
    tops = pa.eval_on_selector_all(".tabs [role=tab]", "els => els.map(e => Math.round(e.getBoundingClientRect().top))")
    assert len(tops) >= 5 and len(set(tops)) == 1, tops
    expect(pa.locator("#tab-people .badge")).to_be_visible()
    cut = pa.eval_on_selector_all(".tabs .tab-label", "els => els.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)")
    assert cut == [], f"tab labels cut: {cut}"
    expect(pa.locator("#tab-comments")).to_contain_text("1 new")  # for screen readers (and the tooltip)

    # the header shows the whole name; the time is on one line
    who = card.locator(".thread-open .who")
    expect(who).to_have_text(long_name)
    assert who.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
    assert card.locator(".thread-open time").evaluate("e => e.getClientRects().length === 1 && getComputedStyle(e).whiteSpace === 'nowrap'")

    # a long message is cut, with "Show more"; the address is a link, the rest text
    msg = card.locator("li.message .body").first
    expect(msg).to_have_class(re.compile(r"\bclamped\b"))
    links = msg.locator("a")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "https://example.org/crack?id=7")
    expect(links).to_have_attribute("rel", "noopener noreferrer")
    expect(links).to_have_attribute("target", "_blank")
    expect(links).to_have_text("https://example.org/crack?id=7")
    assert msg.locator("b").count() == 0 and "<b>bold</b>" in str(msg.text_content())
    clamped_h = msg.evaluate("e => e.getBoundingClientRect().height")
    card.get_by_role("button", name="Show all of this message").click()
    expect(msg).not_to_have_class(re.compile(r"\bclamped\b"))
    assert msg.evaluate("e => e.getBoundingClientRect().height") > clamped_h
    card.get_by_role("button", name="Show less of this message").click()
    expect(msg).to_have_class(re.compile(r"\bclamped\b"))

    # the reply box is there without opening the thread; typing in it opens the thread
    expect(card).not_to_have_class(re.compile(r"\bactive\b"))
    reply = card.locator(".reply-box")
    expect(reply).to_be_visible()
    reply.click()
    expect(card).to_have_class(re.compile(r"\bactive\b"))
    reply.fill("Agreed, see https://example.org/b")
    reply.press("Enter")
    expect(card.locator("li.message")).to_have_count(2)
    expect(card.locator("li.message").nth(1).locator("a")).to_have_attribute("href", "https://example.org/b")


def test_the_new_comment_box_does_not_cover_the_shape(server: Server, open_page: PageFactory) -> None:
    rid = new_room(server, "composer", {**RECT, "x": 300, "y": 200, "w": 200, "h": 150})
    a = open_page(f"/r/{rid}", "Alice")
    pa = a.page
    at_100(pa)
    tool(pa, "comment")
    click(pa, 400, 275)  # the middle of the rectangle
    composer = pa.locator(".composer")
    expect(composer).to_be_visible()
    shape = pa.locator('svg.canvas [data-annotation-id="box"]').bounding_box()
    form = composer.bounding_box()
    assert shape is not None and form is not None
    apart = (form["x"] >= shape["x"] + shape["width"] or form["x"] + form["width"] <= shape["x"]
             or form["y"] >= shape["y"] + shape["height"] or form["y"] + form["height"] <= shape["y"])
    assert apart, (form, shape)
    pa.keyboard.press("Escape")


def test_the_canvas_focus_ring_is_for_tab_only(server: Server, open_page: PageFactory) -> None:
    rid = new_room(server, "focus", RECT)
    pa = open_page(f"/r/{rid}", "Alice").page
    stage = pa.locator(".stage")
    outline = "e => getComputedStyle(e).outlineStyle + ' ' + getComputedStyle(e).outlineWidth"
    stage.click(position={"x": 600, "y": 400})
    pa.keyboard.press("r")  # a shortcut: no frame around the drawing
    expect(pa.locator('button[data-tool="rect"]')).to_have_attribute("aria-pressed", "true")
    assert stage.evaluate("e => document.activeElement === e")
    assert stage.evaluate(outline).startswith("none"), stage.evaluate(outline)
    pa.keyboard.press("Escape")
    # reaching the canvas by Tab shows a thin ring inside it
    pa.locator('button[data-tool="text"]').focus()
    for _ in range(40):
        pa.keyboard.press("Tab")
        if stage.evaluate("e => document.activeElement === e"):
            break
    assert stage.evaluate("e => document.activeElement === e"), "Tab never reached the canvas"
    expect(stage).to_have_class(re.compile(r"\bkbd-focus\b"))
    assert stage.evaluate(outline) == "solid 2px"


def fresh_page(browser: Browser, server: Server, path: str) -> tuple[Page, list[str]]:
    """A first visit: no identity stored. Page errors are collected for the caller to check."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.goto(server.http + path)
    return page, errors


def test_first_visit_asks_over_the_page_not_a_blank_one(server: Server, browser: Browser) -> None:
    rid = new_room(server, "first", RECT)
    page, errors = fresh_page(browser, server, "/")
    try:
        dialog = page.get_by_role("dialog", name="Who are you?")
        expect(dialog).to_be_visible()
        expect(page.locator(".rooms-page h1")).to_have_text("annotd")
        expect(page.locator(f'li.room[data-room-id="{rid}"]')).to_have_count(1)  # the list is there behind it
        dialog.get_by_label("Your name (shown to others in this room)").fill("Dana Q")
        dialog.get_by_role("button", name="Continue").click()
        expect(page.locator(".rooms-page .me")).to_have_text("You are Dana Q.")
    finally:
        page.context.close()
    page, errors2 = fresh_page(browser, server, f"/r/{rid}")
    try:
        dialog = page.get_by_role("dialog", name="Who are you?")
        expect(dialog).to_be_visible()
        expect(page.locator(".backdrop h1")).to_contain_text("Joining “")
        dialog.get_by_label("Your name (shown to others in this room)").fill("Dana Q")
        dialog.get_by_role("button", name="Continue").click()
        expect(page.locator(".app[data-synced=true]")).to_have_count(1)
        expect(page.locator(".backdrop")).to_have_count(0)
    finally:
        page.context.close()
    assert not errors and not errors2, errors + errors2


def test_a_room_without_a_name_is_untitled(server: Server, open_page: PageFactory) -> None:
    status, created = server.request("POST", "/v1/rooms", {})
    assert status == 201
    rid = created["id"]
    rooms = open_page("/").page
    card = rooms.locator(f'li.room[data-room-id="{rid}"] h3')
    expect(card.locator(".untitled")).to_have_text("Untitled room")
    expect(card.locator(".room-id")).to_have_text(rid)
    expect(rooms.get_by_role("button", name=f"Delete room Untitled room ({rid})")).to_have_count(1)
    page = open_page(f"/r/{rid}").page
    expect(page.locator(".room-name .untitled")).to_have_text("Untitled room")
    expect(page.locator(".room-name .room-id")).to_have_text(rid)
    expect(page).to_have_title("Untitled room — annotd")


def test_drawing_tools_say_why_they_are_off_in_a_preview(server: Server, open_page: PageFactory) -> None:
    rid = new_room(server, "readonly", RECT)
    server.request("POST", f"/v1/rooms/{rid}/versions", {"name": "Before"})
    pa = open_page(f"/r/{rid}", "Alice").page
    rect = pa.locator('button[data-tool="rect"]')
    expect(rect).not_to_have_attribute("aria-disabled", "true")
    title = rect.get_attribute("title")
    pa.get_by_role("tab", name=re.compile("^Versions")).click()
    pa.get_by_role("button", name="Preview version Before").click()
    expect(pa.locator(".banner")).to_contain_text("read-only")
    why = re.compile("drawing is off while an earlier state is shown")
    for t in ("rect", "ellipse", "arrow", "freehand", "text", "comment"):
        expect(pa.locator(f'button[data-tool="{t}"]')).to_have_attribute("aria-disabled", "true")
        expect(pa.locator(f'button[data-tool="{t}"]')).to_have_attribute("title", why)
    for t in ("select", "hand"):
        expect(pa.locator(f'button[data-tool="{t}"]')).not_to_have_attribute("aria-disabled", "true")
    rect.click(force=True)  # aria-disabled: Playwright would wait for it to be enabled; a person just clicks
    expect(pa.locator(".toast").last).to_contain_text("Drawing is off while an earlier state is shown. Press “Back to live” (Esc) to draw.")
    expect(pa.locator('button[data-tool="hand"]')).to_have_attribute("aria-pressed", "true")
    pa.keyboard.press("Escape")
    expect(rect).not_to_have_attribute("aria-disabled", "true")
    expect(rect).to_have_attribute("title", title or "")
    rect.click()
    expect(rect).to_have_attribute("aria-pressed", "true")


def luminances(png: bytes) -> list[float]:
    img = Image.open(io.BytesIO(png)).convert("L")  # ITU-R 601 luma
    return [float(img.getpixel((x, y))) for y in range(img.height) for x in range(img.width)]  # type: ignore[arg-type]


def test_swatches_stay_visible_in_dark_mode(server: Server, open_page: PageFactory) -> None:
    rid = new_room(server, "dark", RECT)
    w: Watched = open_page(f"/r/{rid}", "Alice")
    page = w.page
    page.emulate_media(color_scheme="dark")
    page.get_by_role("tab", name="Style").click()
    strokes = page.locator('[data-control="stroke"] .swatch')
    darkest: Any = None
    for i in range(strokes.count()):
        value = strokes.nth(i).get_attribute("data-value") or ""
        if value.lower() in ("#000000", "#1e1e1e", "#212529"):
            darkest = strokes.nth(i)
            break
    assert darkest is not None, "no black stroke swatch"
    lum = luminances(darkest.screenshot())
    assert min(lum) < 40, "the black swatch is not black"
    assert max(lum) > 90, "nothing around the black swatch sets it off from the dark panel"
    fills = page.locator('[data-control="fill"] .swatch[data-value$="40"]')
    assert fills.count() > 0
    shot = Image.open(io.BytesIO(fills.first.screenshot())).convert("RGB")
    cx, cy = shot.width // 2, shot.height // 2
    r, g, b = shot.getpixel((cx, cy))  # type: ignore[misc]
    assert 0.2126 * r + 0.7152 * g + 0.0722 * b > 150, (r, g, b, "a translucent fill shows darkened")
    assert json.dumps(w.errors) == "[]"


def test_the_tab_row_keeps_its_height_in_the_phone_sheet(server: Server, open_page: PageFactory) -> None:
    rid = new_room(server, "sheet", RECT)
    for i in range(8):  # enough threads for the sheet's content to overflow it
        server.request("POST", f"/v1/rooms/{rid}/comments", {"body": f"note {i}", "anchor": {"kind": "point", "x": 10 * i, "y": 10}})
    page = open_page(f"/r/{rid}", "Alice", viewport={"width": 390, "height": 844}, has_touch=True).page
    page.get_by_role("button", name="Panels").tap()
    page.get_by_role("tab", name=re.compile("^Comments")).tap()
    expect(page.locator("li.thread")).to_have_count(8)
    heights = page.eval_on_selector_all(".tabs [role=tab]", "els => els.map(e => e.getBoundingClientRect().height)")
    assert min(heights) >= 44, heights
    row = page.locator(".tabs").bounding_box()
    assert row is not None and row["height"] >= 44, row
