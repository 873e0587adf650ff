"""A change the server refuses for the room's size limit (close 4413) ends the connection:
the page says why, once, and does not reconnect to resend the same edit forever."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import WebSocketRoute, expect

from .conftest import ROOT, PageFactory, Server, start_server, stop_server
from .test_connection import Cable

LIMIT = 40_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A daemon whose rooms hold at most LIMIT bytes of document."""
    config: Path = tmp_path_factory.mktemp("config") / "annotd.toml"
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    small, n = re.subn(r"(?m)^max_document_bytes = \d+", f"max_document_bytes = {LIMIT}", text)
    assert n == 1
    config.write_text(small, encoding="utf-8")
    s = start_server(config=config)
    yield s
    stop_server(s)


class CountingCable(Cable):
    """A :class:`Cable` that counts the connections the page opens."""

    def __init__(self) -> None:
        super().__init__()
        self.opened = 0

    def handler(self, ws: WebSocketRoute) -> None:
        self.opened += 1
        super().handler(ws)


def test_an_offline_edit_refused_as_too_large_is_explained_once_and_not_resent(
        server: Server, open_page: PageFactory) -> None:
    server.create_room("big", "Big")
    cable = CountingCable()
    a = open_page("/r/big", "Alice", wait_synced=False)
    page = a.page
    page.route_web_socket(re.compile(r".*/v1/ws/rooms/.*"), cable.handler)
    page.reload()
    expect(page.locator(".app[data-synced=true]")).to_have_count(1)
    cable.unplug()
    expect(page.locator(".status")).to_contain_text(re.compile("Reconnecting|Offline"))
    # offline, Alice writes more text than the room may hold (each box under MAX_TEXT_LENGTH)
    page.evaluate("""(limit) => {
        const canvas = window.annotd.app.canvas;
        for (let i = 0; i * 9000 < limit; i++)
            canvas.create({ type: "text", x: 10, y: 10 + 50 * i, w: 300, h: 40, text: String(i).repeat(9000) });
    }""", LIMIT)
    opened = cable.opened
    cable.plug()
    page.evaluate("window.annotd.app.socket.reconnectNow()")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The room has reached its size limit")
    expect(alert).to_contain_text("refused your last edits")
    expect(alert).to_have_count(1)
    # final: the socket is closed for good (no retry is scheduled from "closed") after one attempt
    assert page.evaluate("window.annotd.app.socket.state") == "closed"
    assert cable.opened == opened + 1
    assert server.annotations("big") == []
