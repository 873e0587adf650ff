"""Renaming a room: click the title in the top bar, type, Enter; the other person's title
changes at once, and so does the rooms page. A room made without a name reads "Untitled
room", never its random id; Escape keeps the name; the rooms page renames from the card."""

from __future__ import annotations

from playwright.sync_api import expect

from .conftest import PageFactory, Server


def test_a_rename_shows_for_everyone_at_once(server: Server, open_page: PageFactory) -> None:
    status, room = server.request("POST", "/v1/rooms", {})
    assert status == 201
    rid = room["id"]
    a = open_page(f"/r/{rid}", "Alice")
    b = open_page(f"/r/{rid}", "Bob", "#1971c2")
    for w in (a, b):
        expect(w.page.locator(".room-name .untitled")).to_have_text("Untitled room")
        expect(w.page).to_have_title("Untitled room — annotd")
    a.page.locator(".room-name button").click()
    field = a.page.get_by_role("textbox", name="Room name")
    expect(field).to_be_focused()
    expect(field).to_have_value("")
    field.fill("Garden survey")
    a.page.keyboard.press("Escape")  # Escape keeps the old name
    expect(a.page.locator(".room-name .untitled")).to_have_text("Untitled room")
    a.page.locator(".room-name button").click()
    a.page.get_by_role("textbox", name="Room name").fill("Garden survey, north bed")
    a.page.keyboard.press("Enter")
    expect(a.page.locator(".room-name button")).to_have_text("Garden survey, north bed")
    expect(a.page.locator(".room-name button")).to_be_focused()
    expect(b.page.locator(".room-name")).to_have_text("Garden survey, north bed")
    expect(b.page).to_have_title("Garden survey, north bed — annotd")
    # RoomSocket.info follows (re-creating a lost room uses this name)
    assert b.page.evaluate("window.annotd.app.socket.info.name") == "Garden survey, north bed"
    expect(b.page.locator(".toasts")).to_contain_text("Alice renamed the room to “Garden survey, north bed”")
    assert server.request("GET", f"/v1/rooms/{rid}")[1]["name"] == "Garden survey, north bed"
    # the rooms page shows the new name, and renames from the card
    rooms = open_page("/", "Carol", "#2f9e44")
    card = rooms.page.locator(f'li.room[data-room-id="{rid}"]')
    expect(card.locator("h3")).to_have_text("Garden survey, north bed")
    card.get_by_role("button", name="Rename room Garden survey, north bed").click()
    field = card.get_by_role("textbox", name="Room name")
    expect(field).to_have_value("Garden survey, north bed")
    field.fill("<b>Seed trial</b>")  # shown as text, never markup
    rooms.page.keyboard.press("Enter")
    expect(card.locator("h3")).to_have_text("<b>Seed trial</b>")
    for w in (a, b):
        expect(w.page.locator(".room-name")).to_have_text("<b>Seed trial</b>")
    assert a.page.locator(".room-name b").count() == 0


def test_the_name_field_holds_what_the_server_accepts(server: Server, open_page: PageFactory) -> None:
    server.create_room("named", "Kept name")
    a = open_page("/r/named", "Alice")
    a.page.locator(".room-name button").click()
    field = a.page.get_by_role("textbox", name="Room name")
    # the field holds at most 200 characters, as the server does; longer input is cut there
    field.fill("x" * 250)
    assert len(field.input_value()) == 200
    a.page.keyboard.press("Enter")
    expect(a.page.locator(".room-name button")).to_have_text("x" * 200)
