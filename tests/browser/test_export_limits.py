"""The export dialog offers only sizes the server makes (its `export.max_output_pixels`, given
in /v1/client-config) and says so in words; after the server refuses an export the dialog is
still modal: focus stays in it, the page's shortcuts do nothing behind it, Escape closes it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import ROOT, PageFactory, Server, start_server, stop_server
from .scene import base_png

MAX_PIXELS = 2_000_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    config: Path = tmp_path_factory.mktemp("config") / "annotd.toml"
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    small, n = re.subn(r"(?m)^max_output_pixels = \d+", f"max_output_pixels = {MAX_PIXELS}", text)
    assert n == 1
    config.write_text(small, encoding="utf-8")
    s = start_server(config=config)
    yield s
    stop_server(s)


def open_dialog(page: Page) -> None:
    page.get_by_role("button", name="Export as PNG, JPG or SVG").click()
    expect(page.get_by_role("dialog", name="Export")).to_be_visible()


def test_the_scale_field_stops_at_what_the_server_makes_of_this_image(server: Server, open_page: PageFactory) -> None:
    server.create_room("limit1", "Limit")
    status, _ = server.request("POST", "/v1/rooms/limit1/image", raw=base_png(), content_type="image/png")
    assert status == 201
    page = open_page("/r/limit1", "Alice").page
    open_dialog(page)
    dialog = page.get_by_role("dialog", name="Export")
    scale = dialog.get_by_role("spinbutton", name=re.compile("^Scale"))
    # 720 × 480 × 2.4² = 1,990,656 ≤ 2,000,000 < 720 × 480 × 2.5²
    expect(scale).to_have_attribute("max", "2.4")
    scale.fill("3")
    dialog.get_by_role("button", name="Export and download").click()
    expect(dialog.get_by_role("alert")).to_have_text(
        "Scale: give a number from 0.1 to 2.4 for this 720 × 480 image (the server makes images of at most 2 million pixels).")


def test_after_a_refusal_the_dialog_is_still_modal_and_speaks_to_people(server: Server, open_page: PageFactory) -> None:
    server.create_room("limit2", "No image")
    status, body = server.request("POST", "/v1/rooms/limit2/annotations",
                                  {"type": "rect", "x": 0, "y": 0, "w": 1000, "h": 1000})
    assert status == 200, body
    page = open_page("/r/limit2", "Alice").page
    open_dialog(page)
    dialog = page.get_by_role("dialog", name="Export")
    # without an image the size is the content's bounds, known only to the server
    dialog.get_by_role("spinbutton", name=re.compile("^Scale")).fill("8")
    dialog.get_by_role("button", name="Export and download").click()
    alert = dialog.get_by_role("alert")
    expect(alert).to_contain_text("pixels; this server makes images of at most 2 million pixels. Choose a smaller size.")
    assert "max_output_pixels" not in alert.inner_text()
    assert page.evaluate("() => !!document.activeElement?.closest('dialog')")
    page.keyboard.press("r")
    expect(page.locator('button[data-tool="rect"]')).to_have_attribute("aria-pressed", "false")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
