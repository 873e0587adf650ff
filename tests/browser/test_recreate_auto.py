"""With ``rooms.auto_create`` a restarted in-memory server makes the room again on the first
reconnect (no 4404, nothing to offer): the pages' copies flow back through the sync, and the
image, which the document only names, is uploaded again from the bytes a page kept."""

from __future__ import annotations

import hashlib
import urllib.request
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from .conftest import ROOT, PageFactory, Server, kill_server, start_again, start_server, stop_server, wait_for
from .helpers import alice_and_bob, drag, tool, wait_count
from .test_recreate import REFUSED, copy_ready, ids, room_with_image


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """This module's daemon creates a room when a socket asks for an unknown one."""
    config = tmp_path_factory.mktemp("auto") / "annotd.toml"
    config.write_text((ROOT / "config.toml").read_text().replace("\nauto_create = false", "\nauto_create = true", 1))
    assert "\nauto_create = true" in config.read_text()
    s = start_server(config=config)
    yield s
    stop_server(s)


def test_a_room_made_again_by_auto_create_gets_its_image_back_from_a_pages_copy(server: Server, open_page: PageFactory) -> None:
    rid, image = room_with_image(server)
    a, b = alice_and_bob(open_page, rid)
    for w in (a, b):
        w.allow_console(REFUSED)
    tool(a.page, "rect")
    drag(a.page, [(40, 40), (140, 140)])
    wait_count(b.page, 1)
    for w in (a, b):
        copy_ready(w.page)
    before = ids(a.page)
    kill_server(server)
    expect(a.page.locator(".notice")).to_be_visible()
    start_again(server)
    for w in (a, b):
        expect(w.page.locator(".status")).to_contain_text("Connected · all sent")
        expect(w.page.locator(".notice")).to_be_hidden()
        # the upload starts in the same task as the sync that shows "Connected": await its answer
        wait_for(w.page, "() => window.annotd.app.socket.pendingAcks === 0 && !window.annotd.app.copy.restoringImage")
    status, room = server.request("GET", f"/v1/rooms/{rid}")
    assert status == 200 and room["image"]["sha256"] == hashlib.sha256(image).hexdigest()
    assert sorted(x["id"] for x in server.annotations(rid)) == before
    with urllib.request.urlopen(f"{server.http}/v1/rooms/{rid}/image", timeout=20) as r:
        assert r.read() == image
