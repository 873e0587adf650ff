"""Replacing the base image asks first and says it cannot be undone; with a new image of
another size the view is fitted to it and the page says that annotations keep their
image-pixel positions."""

from __future__ import annotations

import io

from PIL import Image
from playwright.sync_api import Page, expect

from .conftest import PageFactory, Server, wait_for
from .helpers import new_room
from .scene import base_png


def png(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (120, 160, 200)).save(buf, "PNG")
    return buf.getvalue()


def drop(page: Page, name: str, data: bytes) -> None:
    dt = page.evaluate_handle("""([bytes, name]) => { const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(bytes)], name, { type: 'image/png' })); return dt; }""", [list(data), name])
    page.dispatch_event(".stage", "dragover", {"dataTransfer": dt})
    page.dispatch_event(".stage", "drop", {"dataTransfer": dt})


def image_width(server: Server, rid: str) -> int:
    return int(server.request("GET", f"/v1/rooms/{rid}")[1]["image"]["width"])


def test_replacing_the_image_asks_and_refits(server: Server, open_page: PageFactory) -> None:
    rid = new_room(server, "replace")
    status, _ = server.request("POST", f"/v1/rooms/{rid}/image", raw=base_png(), content_type="image/png")
    assert status == 201
    page = open_page(f"/r/{rid}", "Alice").page
    wait_for(page, "() => window.annotd.app.canvas.image()?.width === 720")
    small = png(320, 200)

    drop(page, "small.png", small)
    dialog = page.get_by_role("dialog", name="Replace the image?")
    expect(dialog).to_contain_text("Undo cannot bring the old one back")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    assert image_width(server, rid) == 720

    before = page.evaluate("() => { const v = window.annotd.app.viewport; return [v.scale, v.tx, v.ty]; }")
    drop(page, "small.png", small)
    page.get_by_role("dialog", name="Replace the image?").get_by_role("button", name="Replace").click()
    wait_for(page, "() => window.annotd.app.canvas.image()?.width === 320")
    expect(page.locator(".toast").last).to_contain_text("Annotations keep their positions in image pixels")
    assert image_width(server, rid) == 320
    after = page.evaluate("() => { const v = window.annotd.app.viewport; return [v.scale, v.tx, v.ty]; }")
    assert after != before
    page.evaluate("window.annotd.app.run('zoomFit')")
    fitted = page.evaluate("() => { const v = window.annotd.app.viewport; return [v.scale, v.tx, v.ty]; }")
    assert all(abs(a - b) < 1e-6 for a, b in zip(after, fitted, strict=True)), (after, fitted)
