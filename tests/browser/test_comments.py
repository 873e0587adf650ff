"""Comments in two browsers: pin a thread on a shape, reply, typing indicator, resolve, the pin
following the shape (client pin rule = server pin rule), delete the shape (thread detached,
never lost); pins and threads by keyboard; comments across a reconnect."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from .conftest import PageFactory, Server, Watched, wait_for
from .helpers import alice_and_bob, at_100, click, drag, new_room, origin, tool

RECT = {"id": "shape1", "type": "rect", "x": 100, "y": 100, "w": 200, "h": 120, "style": {"fill": "#a5d8ff80"}}


def room(server: Server, *anns: dict[str, Any]) -> str:
    return new_room(server, "comments", *anns)


def threads(server: Server, rid: str) -> list[dict[str, Any]]:
    status, body = server.request("GET", f"/v1/rooms/{rid}/comments")
    assert status == 200, body
    return list(body["threads"])


def pin_on_screen(page: Page, tid: str) -> tuple[float, float]:
    box = page.locator(f'.pins .pin[data-thread-id="{tid}"]').bounding_box()
    assert box is not None
    ox, oy = origin(page)
    return box["x"] + box["width"] / 2 - ox, box["y"] + box["height"] / 2 - oy


def wait_pin_at(page: Page, tid: str, x: float, y: float) -> None:
    """The pin button's centre is at image point (x, y) (zoom 100 %, image at the origin)."""
    wait_for(page, """([tid, x, y]) => {
        const b = document.querySelector(`.pins .pin[data-thread-id="${tid}"]`);
        const s = document.querySelector('svg.canvas').getBoundingClientRect();
        if (!b || b.hidden) return false;
        const r = b.getBoundingClientRect();
        return Math.abs(r.x + r.width / 2 - s.x - x) <= 1.5 && Math.abs(r.y + r.height / 2 - s.y - y) <= 1.5 }""", [tid, x, y])


def open_comments(page: Page) -> None:
    page.get_by_role("tab", name=re.compile("^Comments")).click()
    expect(page.locator("#panel-comments")).to_be_visible()


def test_two_people_discuss_a_shape_and_the_thread_survives_its_deletion(server: Server, open_page: PageFactory) -> None:
    rid = room(server, RECT)
    a, b = alice_and_bob(open_page, rid)
    pa, pb = a.page, b.page
    open_comments(pb)

    # Alice pins a comment on the shape at the clicked point of its box: (250, 130) = (0.75, 0.25)
    tool(pa, "comment")
    click(pa, 250, 130)
    box = pa.get_by_role("textbox", name="Your comment")
    expect(box).to_be_focused()
    pa.keyboard.type("Is this <b>a crack</b>?")
    pa.keyboard.press("Enter")
    expect(pa.locator(".composer")).to_have_count(0)
    [t] = threads(server, rid)
    tid = t["id"]
    assert t["anchor"] == {"kind": "annotation", "annotationId": "shape1", "offsetX": 0.75, "offsetY": 0.25, "x": 250, "y": 130}
    assert t["messages"][0]["author"] == a.user_id and t["messages"][0]["body"] == "Is this <b>a crack</b>?"
    wait_pin_at(pa, tid, 250, 130)

    # Bob sees the pin (marked new) and the thread in his panel, with Alice's name and the text as text
    wait_pin_at(pb, tid, 250, 130)
    pin_b = pb.locator(f'.pins .pin[data-thread-id="{tid}"]')
    expect(pin_b).to_have_class(re.compile(r"\bunread\b"))
    expect(pin_b).to_have_attribute("aria-label", re.compile(r"^Comment 1 by Alice: Is this <b>a crack</b>\? \(open, 1 new\)$"))
    card_b = pb.locator(f'li.thread[data-thread-id="{tid}"]')
    expect(card_b.locator(".who")).to_have_text("Alice")
    expect(card_b.locator(".message .body")).to_have_text("Is this <b>a crack</b>?")
    assert card_b.locator(".message .body b").count() == 0  # shown as text, never markup
    expect(card_b.locator(".thread-info")).to_have_text("On a rectangle")
    expect(pb.get_by_role("tab", name=re.compile("Comments"))).to_contain_text("1 new")
    # Bob opens it: the view centres on the pin, the shape is outlined, the news is read
    card_b.locator(".thread-open").click()
    expect(pb.locator(f'.comment-highlight .anchor-outline[data-thread-id="{tid}"]')).to_have_count(1)
    expect(pin_b).not_to_have_class(re.compile(r"\bunread\b"))
    wait_for(pb, """tid => { const app = window.annotd.app; const [x, y] = app.viewport.toScreen(250, 130);
        return Math.abs(x - app.viewport.width / 2) < 1 && Math.abs(y - app.viewport.height / 2) < 1 }""", tid)
    at_100(pb)

    # Bob types a reply: Alice sees "Bob is typing…", then the reply
    reply_b = card_b.get_by_role("textbox", name=re.compile("^Reply to comment 1"))
    reply_b.click()
    pb.keyboard.type("Looks like one")
    open_comments(pa)
    expect(pa.locator(".typing-indicator")).to_have_text("Bob is typing…")
    pb.keyboard.press("Enter")
    card_a = pa.locator(f'li.thread[data-thread-id="{tid}"]')
    expect(card_a.locator(".message .body")).to_have_text(["Is this <b>a crack</b>?", "Looks like one"])
    expect(card_a.locator(".message .author").nth(1)).to_have_text("Bob")
    expect(pa.locator(".typing-indicator")).to_have_text("")
    expect(reply_b).to_have_value("")

    # Bob resolves: Alice sees it resolved (gone from the open list, there on demand, by Bob)
    card_b.get_by_role("button", name=re.compile("^Resolve comment 1")).click()
    expect(pa.locator("#panel-comments .panel-heading")).to_have_text("0 open · 1 resolved")
    expect(pa.locator(f'.pins .pin[data-thread-id="{tid}"]')).to_have_count(0)
    pa.get_by_role("button", name="Show resolved comments").click()
    expect(card_a).to_have_attribute("data-status", "resolved")
    expect(card_a.locator(".thread-info")).to_have_text("On a rectangle · ✓ Resolved by Bob")
    expect(pa.locator(f'.pins .pin[data-thread-id="{tid}"] .pin-num')).to_have_text("✓1")
    assert threads(server, rid)[0]["status"] == "resolved" and threads(server, rid)[0]["resolvedBy"] == b.user_id
    pb.get_by_role("button", name="Show resolved comments").click()

    # Alice moves the shape by (+60, +40): the pin follows in both pages
    tool(pa, "select")
    drag(pa, [(120, 200), (180, 240)])
    wait_for(pb, "() => window.annotd.app.canvas.get('shape1')?.x === 160")
    for p in (pa, pb):
        wait_pin_at(p, tid, 310, 170)
    # ... and a rotation (made elsewhere): both pages put the pin where the server does
    status, _ = server.request("PATCH", f"/v1/rooms/{rid}/annotations/shape1", {"rotation": 90})
    assert status == 200
    [t] = threads(server, rid)
    assert t["pin"] != {"x": 310, "y": 170}
    for p in (pa, pb):
        wait_pin_at(p, tid, t["pin"]["x"], t["pin"]["y"])

    # Bob deletes the shape: the thread stays, detached, at the pin's last place, in both
    pb.evaluate("window.annotd.app.selection.set(['shape1'])")
    pb.locator(".stage").focus()
    pb.keyboard.press("Delete")
    for p in (pa, pb):
        wait_for(p, "() => window.annotd.app.canvas.list().length === 0")
        card = p.locator(f'li.thread[data-thread-id="{tid}"]')
        expect(card).to_have_class(re.compile(r"\bdetached\b"))
        expect(card.locator(".thread-info")).to_contain_text("Detached: its annotation was deleted")
        expect(p.locator(f'.pins .pin[data-thread-id="{tid}"]')).to_have_class(re.compile(r"\bdetached\b"))
        wait_pin_at(p, tid, t["pin"]["x"], t["pin"]["y"])
        expect(card.locator(".message .body")).to_have_text(["Is this <b>a crack</b>?", "Looks like one"])
    wait_for(pa, "tid => window.annotd.app.comments.get(tid)?.anchor.detachedFrom === 'shape1'", tid)
    [t2] = threads(server, rid)
    assert t2["anchor"] == {"kind": "point", "x": t["pin"]["x"], "y": t["pin"]["y"], "detachedFrom": "shape1"}


def test_edit_delete_own_message_point_and_region_comments(server: Server, open_page: PageFactory) -> None:
    rid = room(server)
    a, b = alice_and_bob(open_page, rid)
    pa, pb = a.page, b.page
    open_comments(pa)
    open_comments(pb)
    # a point on empty canvas, and a dragged region
    tool(pa, "comment")
    click(pa, 150, 300)  # (left of the "no image yet" box in the middle)
    pa.keyboard.type("A point")
    pa.keyboard.press("Enter")
    tool(pa, "comment")
    drag(pa, [(500, 100), (600, 180)])
    pa.keyboard.type("An area")
    pa.keyboard.press("Enter")
    expect(pb.locator(".pins .pin")).to_have_count(2)
    by_body = {t["messages"][0]["body"]: t for t in threads(server, rid)}
    assert by_body["A point"]["anchor"] == {"kind": "point", "x": 150, "y": 300}
    assert by_body["An area"]["anchor"] == {"kind": "region", "x": 500, "y": 100, "w": 100, "h": 80}
    region = by_body["An area"]["id"]
    wait_pin_at(pb, region, 600, 100)  # a region pins at its top-right corner
    expect(pb.locator(f'li.thread[data-thread-id="{region}"] .thread-info')).to_have_text("On an area of 100 × 80 px")
    # Alice edits her message; Bob sees the new text, marked edited; Bob cannot edit it
    card_a = pa.locator(f'li.thread[data-thread-id="{region}"]')
    expect(card_a.locator(".thread-open")).to_have_attribute("aria-expanded", "true")  # the one just made is open
    card_a.get_by_role("button", name="Edit your message").click()
    edit = card_a.get_by_role("textbox", name="Edit your message")
    expect(edit).to_be_focused()
    edit.fill("An area of rust")
    edit.press("Enter")
    card_b = pb.locator(f'li.thread[data-thread-id="{region}"]')
    expect(card_b.locator(".message .body")).to_have_text("An area of rust")
    expect(card_b.locator(".message .edited")).to_have_text(" (edited)")
    card_b.locator(".thread-open").click()
    expect(card_b.get_by_role("button", name="Edit your message")).to_have_count(0)
    # Alice deletes it: it keeps its place, says so, for both
    card_a.get_by_role("button", name="Delete your message").click()
    pa.get_by_role("dialog").get_by_role("button", name="Delete").click()
    for card in (card_a, card_b):
        expect(card.locator(".message .body")).to_have_text("This message was deleted.")
    # a reply that the server refuses (only spaces) is not sent; words, nothing lost
    reply = card_b.get_by_role("textbox", name=re.compile("^Reply to"))
    reply.fill("   ")
    reply.press("Enter")
    expect(reply).to_have_value("   ")
    assert len(next(t for t in threads(server, rid) if t["id"] == region)["messages"]) == 1


def test_comments_by_keyboard(server: Server, open_page: PageFactory) -> None:
    rid = room(server, RECT)
    a = open_page(f"/r/{rid}", "Alice")
    pa = a.page
    at_100(pa)
    open_comments(pa)
    pa.evaluate("window.annotd.app.selection.set(['shape1'])")
    add = pa.get_by_role("button", name="Add a comment on the selected shape, or in the middle of the view")
    add.focus()
    pa.keyboard.press("Enter")
    expect(pa.get_by_role("textbox", name="Your comment")).to_be_focused()
    pa.keyboard.type("Typed without a mouse")
    pa.keyboard.press("Enter")
    expect(pa.locator(".composer")).to_have_count(0)  # closed once the server has the thread
    [t] = threads(server, rid)
    assert t["anchor"]["annotationId"] == "shape1" and t["anchor"]["offsetX"] == 0.5
    pin = pa.locator(f'.pins .pin[data-thread-id="{t["id"]}"]')
    pin.focus()
    assert pa.evaluate("document.activeElement.matches(':focus-visible') "
                       "&& getComputedStyle(document.activeElement).outlineStyle !== 'none'"), \
        "focus is visible on a pin"
    pa.keyboard.press("Enter")
    reply = pa.get_by_role("textbox", name=re.compile("^Reply to comment 1"))
    expect(reply).to_be_focused()
    pa.keyboard.type("and a reply")
    pa.keyboard.press("Enter")
    expect(pa.locator(".message .body")).to_have_text(["Typed without a mouse", "and a reply"])
    resolve = pa.get_by_role("button", name=re.compile("^Resolve comment 1"))
    resolve.focus()
    pa.keyboard.press("Enter")
    expect(pa.locator("#panel-comments .panel-heading")).to_have_text("0 open · 1 resolved")
    # the shortcut C picks the comment tool (shown in its tooltip)
    pa.locator(".stage").focus()
    pa.keyboard.press("c")
    expect(pa.locator('button[data-tool="comment"]')).to_have_attribute("aria-pressed", "true")
    expect(pa.locator('button[data-tool="comment"]')).to_have_attribute("title", "Comment (C)")


def test_comments_versions_and_history_keep_working_across_a_reconnect(server: Server, open_page: PageFactory) -> None:
    from .test_connection import Cable

    rid = room(server, RECT)
    cable = Cable()
    a: Watched = open_page(f"/r/{rid}", "Alice")
    a.page.route_web_socket(re.compile(r".*/v1/ws/rooms/.*"), cable.handler)
    a.page.reload()
    expect(a.page.locator(".app[data-synced=true]")).to_have_count(1)
    pa = a.page
    at_100(pa)
    open_comments(pa)
    cable.unplug()
    expect(pa.locator(".status")).to_contain_text(re.compile("Reconnecting|Offline"))
    # while Alice is away, Carol comments (through the API)
    status, body = server.request("POST", f"/v1/rooms/{rid}/comments",
                                  {"body": "While you were away", "anchor": {"kind": "point", "x": 50, "y": 60}})
    assert status == 201, body
    tid = body["thread"]["id"]
    status, version = server.request("POST", f"/v1/rooms/{rid}/versions", {"tag": "while-away"})
    assert status == 201, version
    # Alice's reply box keeps its text while offline; sending says why it cannot
    tool(pa, "comment")
    click(pa, 500, 400)
    pa.keyboard.type("Written offline")
    pa.keyboard.press("Enter")
    expect(pa.locator(".composer .error")).to_contain_text(re.compile("not connected", re.I))
    expect(pa.get_by_role("textbox", name="Your comment")).to_have_value("Written offline")
    cable.plug()
    pa.evaluate("window.annotd.app.socket.reconnectNow()")
    expect(pa.locator(".status")).to_contain_text("Connected")
    # the missed thread arrives, marked new; the kept comment can be sent now
    expect(pa.locator(f'.pins .pin[data-thread-id="{tid}"]')).to_have_class(re.compile(r"\bunread\b"))
    expect(pa.locator(f'li.thread[data-thread-id="{tid}"] .new')).to_have_text("1 new")
    pa.get_by_role("button", name="Post comment").click()
    expect(pa.locator(".composer")).to_have_count(0)
    expect(pa.locator(".pins .pin")).to_have_count(2)
    assert sorted(t["messages"][0]["body"] for t in threads(server, rid)) == ["While you were away", "Written offline"]
    # the version made while away is listed (and marked on the history), the range is current
    pa.get_by_role("tab", name=re.compile("^Versions")).click()
    expect(pa.locator('li.version[data-tag="while-away"] .meta')).to_have_attribute("title", f"tag while-away, seq {version['seq']}")
    pa.get_by_role("tab", name="History").click()
    expect(pa.locator(".tag-mark")).to_have_text("while-away")
    status, info = server.request("GET", f"/v1/rooms/{rid}")
    expect(pa.get_by_role("slider", name="Step in the history")).to_have_attribute("max", str(info["headSeq"]))
