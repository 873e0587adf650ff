"""A change the server refuses for the room's size limit (close 4413) ends the connection:
the page says why, once, and does not reconnect to resend the same edit forever."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import WebSocket, expect

from .conftest import ROOT, PageFactory, Server, start_server, stop_server

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


def test_an_offline_edit_refused_as_too_large_is_explained_once_and_not_resent(
        server: Server, open_page: PageFactory) -> None:
    server.create_room("big", "Big")
    a = open_page("/r/big", "Alice")
    page = a.page
    sockets: list[WebSocket] = []
    page.on("websocket", lambda ws: sockets.append(ws))
    # The socket drops and, before it is back, Alice writes more text than the room may hold
    # (each box under MAX_TEXT_LENGTH): the edit waits for the next connection's sync.
    unsent = page.evaluate("""(limit) => {
        const { socket, canvas } = window.annotd.app;
        socket.drop();
        for (let i = 0; i * 9000 < limit; i++)
            canvas.create({ type: "text", x: 10, y: 10 + 50 * i, w: 300, h: 40, text: String(i).repeat(9000) });
        return socket.unsent;
    }""", LIMIT)
    assert unsent is True
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The room has reached its size limit")
    expect(alert).to_contain_text("refused your last edits")
    expect(alert).to_have_count(1)
    # final: one connection came back, was refused, and the socket is closed for good (no
    # retry is ever scheduled from "closed")
    assert page.evaluate("window.annotd.app.socket.state") == "closed"
    assert len(sockets) == 1
    assert server.annotations("big") == []
