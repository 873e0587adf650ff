"""The page checks an image against what the server accepts (`imageTypes`,
`limits.maxImageBytes` in /v1/client-config) before uploading it, and says what is wrong in
words for people: the file's name, its size against the limit, what to do."""

from __future__ import annotations

from playwright.sync_api import Request, expect

from .conftest import PageFactory, Server
from .helpers import new_room


def drop_in_page(page_selector: str) -> str:
    """JS that drops an in-page file (bytes never cross the test's pipe) on ``page_selector``."""
    return """([size, name, mime]) => { const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(size)], name, { type: mime }));
        const el = document.querySelector('""" + page_selector + """');
        el.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
        el.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true })); }"""


def test_a_too_large_or_wrong_image_is_refused_before_uploading(server: Server, open_page: PageFactory) -> None:
    rid = new_room(server, "upwords")
    page = open_page(f"/r/{rid}", "Alice").page
    uploads: list[Request] = []
    page.on("request", lambda r: uploads.append(r) if r.url.endswith("/image") and r.method == "POST" else None)
    limit = page.evaluate("fetch('/v1/client-config').then(r => r.json()).then(c => c.limits.maxImageBytes)")

    page.evaluate(drop_in_page(".stage"), [limit * 3, "survey.png", "image/png"])
    toast = page.locator(".toast.error").last
    expect(toast).to_contain_text(
        f"“survey.png” is {round(limit * 3 / 1_000_000, 1):g} MB; this server takes images of up to "
        f"{round(limit / 1_000_000, 1):g} MB. Save a smaller version (fewer pixels, or as JPEG) and try again.")

    page.evaluate(drop_in_page(".stage"), [10, "plan.svg", "image/svg+xml"])
    expect(page.locator(".toast.error").last).to_contain_text(
        "“plan.svg” is not a PNG, JPEG or WebP image, the kinds this server accepts. Save it as one of those and try again.")
    assert uploads == []
