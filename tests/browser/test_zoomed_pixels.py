"""Zoomed far in (3200 %), the base image shows its pixels as squares instead of smoothing
them; at ordinary zooms it is smoothed as before."""

from __future__ import annotations

from .conftest import PageFactory, Server, wait_for
from .helpers import new_room
from .scene import base_png


def test_the_image_shows_its_pixels_when_zoomed_far_in(server: Server, open_page: PageFactory) -> None:
    rid = new_room(server, "pixels")
    status, _ = server.request("POST", f"/v1/rooms/{rid}/image", raw=base_png(), content_type="image/png")
    assert status == 201
    page = open_page(f"/r/{rid}", "Alice").page
    wait_for(page, "() => window.annotd.app.canvas.image() !== null")
    rendering = "() => getComputedStyle(document.querySelector('svg.canvas image.base')).imageRendering"
    page.evaluate("window.annotd.app.viewport.set(1, 0, 0)")
    assert page.evaluate(rendering) == "auto"
    page.evaluate("window.annotd.app.viewport.set(32, -16000, -10000)")
    assert page.evaluate(rendering) == "pixelated"
    page.evaluate("window.annotd.app.viewport.set(0.5, 0, 0)")
    assert page.evaluate(rendering) == "auto"
