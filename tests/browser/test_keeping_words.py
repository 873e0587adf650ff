"""With ``rooms.save_dir`` the server keeps rooms across a clean shutdown only: every sentence the
page shows about keeping rooms says exactly that (the in-memory wording is checked against a
real restart in test_recreate.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from .conftest import ROOT, PageFactory, Server, start_server, stop_server
from .helpers import drag, tool
from .test_connection import routed_pair

SAVES_ON_SHUTDOWN = ("This server saves rooms to disk only when it shuts down cleanly: "
                     "if it crashes, what changed since it started is gone.")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """This module's daemon saves its rooms at shutdown (``rooms.save_dir``)."""
    folder = tmp_path_factory.mktemp("saved")
    text = (ROOT / "config.toml").read_text()
    config = folder / "annotd.toml"
    config.write_text(text.replace('\nsave_dir = ""', f'\nsave_dir = "{folder / "rooms"}"', 1))
    assert str(folder / "rooms") in config.read_text()
    s = start_server(config=config)
    yield s
    stop_server(s)


def test_the_pages_words_follow_a_server_that_saves_only_on_shutdown(server: Server, open_page: PageFactory) -> None:
    status, cfg = server.request("GET", "/v1/client-config")
    assert status == 200 and cfg["persistence"] == "save_on_shutdown"
    rooms = open_page("/", "Carol", "#2f9e44")
    expect(rooms.page.locator(".rooms-head .keeping")).to_have_text(SAVES_ON_SHUTDOWN)
    _, cable, pa, pb = routed_pair(server, open_page)
    expect(pa.locator(".status")).to_have_attribute("title", SAVES_ON_SHUTDOWN)
    tool(pa, "rect")
    drag(pa, [(40, 40), (140, 140)])
    # nothing is "saved": it reached the server, which keeps it in memory until a clean shutdown
    expect(pa.locator(".status")).to_have_text("● Connected · all sent")
    pa.locator('[data-panel="history"]').click()
    expect(pa.locator(".panel-history")).to_contain_text(
        "named versions are never pruned, and are saved when the server shuts down cleanly.")
    cable.unplug()
    expect(pa.locator(".notice")).to_have_text(
        "The server saves rooms only when it shuts down cleanly — if it crashed, this room's changes since it "
        "started are gone; your copy stays in this page.")
    expect(pa.locator(".status")).to_contain_text(re.compile(r"(Reconnecting…|Offline —) your edits stay in this page"))
    cable.plug()
    pa.evaluate("window.annotd.app.socket.reconnectNow()")
    expect(pa.locator(".status")).to_have_text("● Connected · all sent")
    expect(pa.locator(".notice")).to_be_hidden()
    expect(pb.locator(".notice")).to_be_hidden()
