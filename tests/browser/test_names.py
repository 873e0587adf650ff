"""A name is the name a person typed, whether or not they are online: "Carol Ann Smith" stays
"Carol Ann Smith" on her comments after she leaves, and on the rooms page's "N online"."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from .conftest import PageFactory, Server, wait_for


def test_a_name_with_spaces_reads_the_same_after_its_person_leaves(browser: Browser, server: Server,
                                                                   open_page: PageFactory) -> None:
    rid = "names1"
    server.create_room(rid, "Names")
    # Carol arrives for the first time: no identity yet, she types her name in the dialog.
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    carol = ctx.new_page()
    carol.on("pageerror", lambda e: errors.append(str(e)))
    carol.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    carol.goto(f"{server.http}/r/{rid}")
    who = carol.get_by_role("dialog", name="Who are you?")
    who.get_by_label("Your name").fill("Carol Ann Smith")
    who.get_by_role("button", name="Continue").click()
    expect(carol.locator(".app[data-synced=true]")).to_have_count(1)
    carol.evaluate("""() => window.annotd.app.socket.call('comments.create',
        {body: 'Mind the step', anchor: {kind: 'point', x: 40, y: 40}})""")

    rooms = open_page("/", "Bob")
    card = rooms.page.locator(f'li.room[data-room-id="{rid}"]')
    expect(card.locator(".meta")).to_contain_text("1 online: Carol Ann Smith")

    ctx.close()
    assert errors == []
    expect(card.locator(".meta")).to_contain_text("Nobody online")

    b = open_page(f"/r/{rid}", "Bob")
    b.page.get_by_role("tab", name="Comments").click()
    expect(b.page.locator("li.thread .who")).to_have_text("Carol Ann Smith")
    wait_for(b.page, "() => window.annotd.app.presence.peers.size === 0")
    expect(b.page.locator("li.thread .who")).to_have_text("Carol Ann Smith")
