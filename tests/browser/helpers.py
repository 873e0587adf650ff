"""Mouse-level helpers: the tests draw like a person, in image pixels at zoom 100 %."""

from __future__ import annotations

import itertools
from typing import Any

from playwright.sync_api import Page, expect

from .conftest import PageFactory, Server, Watched, wait_for

_room_numbers = itertools.count(1)


def new_room(server: Server, prefix: str, *anns: dict[str, Any]) -> str:
    """A fresh room (``<prefix><n>``) with ``anns`` created through the API."""
    rid = f"{prefix}{next(_room_numbers)}"
    server.create_room(rid, f"Room {rid}")
    for ann in anns:
        status, body = server.request("POST", f"/v1/rooms/{rid}/annotations", ann)
        assert status == 200, body
    return rid


def alice_and_bob(open_page: PageFactory, rid: str) -> tuple[Watched, Watched]:
    """Alice's and Bob's pages in room ``rid`` (two browser contexts), both at 100 %."""
    a = open_page(f"/r/{rid}", "Alice")
    b = open_page(f"/r/{rid}", "Bob", "#1971c2")
    at_100(a.page)
    at_100(b.page)
    return a, b


def at_100(page: Page) -> None:
    """Image pixel (x, y) = canvas pixel (x, y): zoom 100 %, image at the top-left."""
    page.evaluate("window.annotd.app.viewport.set(1, 0, 0)")


def origin(page: Page) -> tuple[float, float]:
    box = page.locator("svg.canvas").bounding_box()
    assert box is not None
    return box["x"], box["y"]


def tool(page: Page, name: str) -> None:
    page.locator(f'button[data-tool="{name}"]').click()
    expect(page.locator(f'button[data-tool="{name}"]')).to_have_attribute("aria-pressed", "true")


def drag(page: Page, points: list[tuple[float, float]], steps: int = 4) -> None:
    ox, oy = origin(page)
    x0, y0 = points[0]
    page.mouse.move(ox + x0, oy + y0)
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(ox + x, oy + y, steps=steps)
    page.mouse.up()


def click(page: Page, x: float, y: float, **kw: Any) -> None:
    ox, oy = origin(page)
    page.mouse.click(ox + x, oy + y, **kw)


def count_shapes(page: Page) -> int:
    return int(page.evaluate("document.querySelectorAll('svg.canvas [data-annotation-id]').length"))


def wait_count(page: Page, n: int) -> None:
    wait_for(page, "n => document.querySelectorAll('svg.canvas .shapes [data-annotation-id]').length === n", n)


def model(page: Page, ann_id: str) -> dict[str, Any] | None:
    return page.evaluate("id => window.annotd.app.canvas.get(id)", ann_id)  # type: ignore[no-any-return]


def selected(page: Page) -> list[str]:
    return list(page.evaluate("[...window.annotd.app.selection.ids]"))
