"""The history scrubber reaches as far back as the disk holds (``rooms.data_dir``): with a
memory that keeps only the last few steps, the page's slider still starts at seq 0 and a
step only the disk holds is drawn exactly as the server lists it, with who changed what."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import ROOT, PageFactory, Server, start_server, stop_server
from .helpers import at_100, new_room
from .test_versions import scene_models, unstamped_models, wait_shown


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """This module's daemon keeps rooms on disk and only a snapshot's worth of steps in memory."""
    folder = tmp_path_factory.mktemp("deep")
    text = (ROOT / "config.toml").read_text()
    for old, new in [('\ndata_dir = ""', f'\ndata_dir = "{folder / "data"}"'),
                     ("\nsnapshot_every_ops = 200", "\nsnapshot_every_ops = 3"),
                     ("\nsnapshots_kept = 5", "\nsnapshots_kept = 1")]:
        assert old in text
        text = text.replace(old, new, 1)
    config = folder / "annotd.toml"
    config.write_text(text)
    s = start_server(config=config)
    yield s
    stop_server(s)


def test_the_scrubber_shows_a_step_only_the_disk_holds(server: Server, open_page: PageFactory) -> None:
    rid = new_room(server, "deep")
    seqs = []
    for i in range(12):
        ann: dict[str, Any] = {"id": f"d{i}", "type": "ellipse" if i == 1 else "rect",
                               "x": 30 + 60 * i, "y": 60, "w": 50, "h": 40}
        status, body = server.request("POST", f"/v1/rooms/{rid}/annotations", ann)
        assert status == 200, body
        seqs.append(body["seq"])
    status, snaps = server.request("GET", f"/v1/rooms/{rid}/snapshots")
    assert status == 200
    in_memory = min(s["seq"] for s in snaps["snapshots"])
    target = seqs[1]
    assert target < in_memory  # memory keeps only the newest steps...
    assert snaps["oldestSeq"] == 0  # ...the disk every one, and the room says so

    a = open_page(f"/r/{rid}", "Alice")
    pa = a.page
    at_100(pa)
    pa.get_by_role("tab", name="History").click()
    slider = pa.get_by_role("slider", name="Step in the history")
    expect(slider).to_have_attribute("max", str(seqs[-1]))
    expect(slider).to_have_attribute("min", "0")
    expect(pa.locator(".panel-history")).to_contain_text(f"Every step is kept so far (seq 0 to {seqs[-1]})")
    pa.evaluate("""s => { const el = document.getElementById('history-seq'); el.value = String(s);
        el.dispatchEvent(new Event('input', { bubbles: true })); }""", target)
    expect(pa.locator(".banner")).to_contain_text(f"Viewing the history at seq {target}")
    status, at = server.request("GET", f"/v1/rooms/{rid}/annotations?seq={target}")
    assert status == 200
    assert sorted(x["id"] for x in at["annotations"]) == ["d0", "d1"]
    wait_shown(pa, ["d0", "d1"])
    assert scene_models(pa) == unstamped_models(at["annotations"])
    expect(pa.locator("#history-step")).to_contain_text("api added an ellipse.")
