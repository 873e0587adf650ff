"""Undoing the delete of a shape that has a comment thread anchors the thread to the shape
again: it is not left "Detached" beside the shape it is about (the server re-anchors it)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .conftest import PageFactory, Server
from .helpers import alice_and_bob, click, new_room, tool, wait_count

RECT = {"id": "shape1", "type": "rect", "x": 100, "y": 100, "w": 200, "h": 120, "style": {"fill": "#a5d8ff80"}}


def test_undoing_a_delete_reattaches_the_thread(server: Server, open_page: PageFactory) -> None:
    rid = new_room(server, "undodetach", RECT)
    status, body = server.request("POST", f"/v1/rooms/{rid}/comments", {
        "body": "Is this a crack?", "anchor": {"kind": "annotation", "annotationId": "shape1", "offsetX": 0.75, "offsetY": 0.25}})
    assert status == 201, body
    a, b = alice_and_bob(open_page, rid)
    pa, pb = a.page, b.page
    for p in (pa, pb):
        p.get_by_role("tab", name=re.compile("^Comments")).click()
    card_b = pb.locator("li.thread").first
    expect(card_b).to_contain_text("Is this a crack?")
    expect(card_b).not_to_have_class(re.compile(r"\bdetached\b"))

    tool(pa, "select")
    click(pa, 200, 160)
    pa.keyboard.press("Delete")
    wait_count(pa, 0)
    # the server detaches the thread where its pin was; everyone sees it
    expect(card_b).to_have_class(re.compile(r"\bdetached\b"))
    expect(pa.locator("li.thread").first).to_have_class(re.compile(r"\bdetached\b"))

    pa.keyboard.press("Control+z")
    wait_count(pa, 1)
    wait_count(pb, 1)
    expect(card_b).not_to_have_class(re.compile(r"\bdetached\b"))
    expect(pa.locator("li.thread").first).not_to_have_class(re.compile(r"\bdetached\b"))
    [t] = server.request("GET", f"/v1/rooms/{rid}/comments")[1]["threads"]
    assert t["anchor"]["kind"] == "annotation" and t["anchor"]["annotationId"] == "shape1"
    assert abs(t["anchor"]["offsetX"] - 0.75) < 1e-6 and abs(t["anchor"]["offsetY"] - 0.25) < 1e-6
