"""A server with ``rooms.data_dir``, stopped (SIGTERM) or killed (SIGKILL) under two pages that
keep drawing, then started again on the same ports: both pages carry on without a reload
(the bar says reconnecting, then all saved), are replayed what they missed, see each other's
offline edits, and nobody is told the room does not exist."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from .conftest import ROOT, PageFactory, Server, start_again, start_server, stop_server
from .helpers import alice_and_bob, drag, new_room, tool, wait_count

# While the daemon is down Chromium logs every refused handshake; the pages expect that.
REFUSED = r"WebSocket connection to .* failed"
WHILE_APART = ("Everything the server confirmed is on its disk; what you do now stays in this page and is "
               "sent when the connection is back.")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """This module's daemon keeps its rooms in a data_dir."""
    folder = tmp_path_factory.mktemp("durable")
    config = folder / "annotd.toml"
    config.write_text((ROOT / "config.toml").read_text().replace(
        '\ndata_dir = ""', f'\ndata_dir = "{folder / "data"}"', 1))
    assert str(folder / "data") in config.read_text()
    s = start_server(config=config)
    yield s
    stop_server(s)


def stop(server: Server, how: signal.Signals) -> None:
    server.proc.send_signal(how)
    server.proc.wait(timeout=30)
    if server.proc.stdout is not None:
        server.proc.stdout.close()


def ids(page: Page) -> list[str]:
    return sorted(page.evaluate("window.annotd.app.canvas.list().map(a => a.id)"))


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_both_pages_carry_on_through_a_restart_without_a_reload(server: Server, open_page: PageFactory,
                                                              how: signal.Signals) -> None:
    assert server.request("GET", "/v1/client-config")[1]["persistence"] == "durable"
    rid = new_room(server, "kept")
    a, b = alice_and_bob(open_page, rid)
    for w in (a, b):
        w.allow_console(REFUSED)
    pa, pb = a.page, b.page
    tool(pa, "rect")
    drag(pa, [(40, 40), (140, 140)])
    tool(pb, "ellipse")
    drag(pb, [(200, 40), (300, 140)])
    for p in (pa, pb):
        wait_count(p, 2)
        expect(p.locator(".status")).to_have_text("● Connected · all saved")
        p.evaluate("window.samePage = true")  # a reload would lose it
    epoch = pa.evaluate("window.annotd.app.socket.epoch")

    stop(server, how)
    for p in (pa, pb):
        expect(p.locator(".status")).to_contain_text(re.compile(r"Reconnecting…|Offline"))
        expect(p.locator(".notice")).to_have_text(WHILE_APART)
    # both keep drawing while the server is down
    tool(pa, "rect")
    drag(pa, [(40, 200), (140, 280)])
    tool(pb, "ellipse")
    drag(pb, [(200, 200), (300, 280)])
    for p in (pa, pb):
        wait_count(p, 3)
        expect(p.locator(".status")).to_contain_text("your edits stay in this page")

    start_again(server)
    for p in (pa, pb):
        p.evaluate("window.annotd.app.socket.reconnectNow()")  # not to wait out the backoff
    for p in (pa, pb):
        expect(p.locator(".status")).to_have_text("● Connected · all saved")
        expect(p.locator(".notice")).to_be_hidden()
        wait_count(p, 4)
        assert p.evaluate("window.samePage") is True
        expect(p.get_by_role("alert")).to_have_count(0)
        expect(p.get_by_text("This room does not exist.")).to_have_count(0)
        # everything either page had was confirmed before the stop: both are replayed exactly;
        # a clean stop keeps the epoch, a kill starts a new one (sharing what was on disk)
        assert p.evaluate("window.annotd.app.socket.info.sync") == "replay"
        same = p.evaluate("window.annotd.app.socket.epoch") == epoch
        assert same is (how == signal.SIGTERM)
    assert ids(pa) == ids(pb)
    assert sorted(x["id"] for x in server.annotations(rid)) == ids(pa)
