"""The export dialog: the file it downloads has the pixels of the server's export of the same
seq and options (and the server's file name: a version's tag or a time); a previewed version exports as that version;
errors (a full queue, a bad value) are shown in words."""

from __future__ import annotations

import io
import json
import re
import time
import urllib.request
from typing import Any

from PIL import Image, ImageChops
from playwright.sync_api import Page, WebSocketRoute, expect

from .conftest import PageFactory, Server
from .scene import annotations, base_png


def scene_room(server: Server, rid: str) -> None:
    server.create_room(rid, "Export dialog")
    status, _ = server.request("POST", f"/v1/rooms/{rid}/image", raw=base_png(), content_type="image/png")
    assert status == 201
    for ann in annotations()[:8]:
        status, body = server.request("POST", f"/v1/rooms/{rid}/annotations", ann)
        assert status == 200, body
    status, body = server.request("POST", f"/v1/rooms/{rid}/comments",
                                  {"body": "open one", "anchor": {"kind": "point", "x": 300, "y": 200}})
    assert status == 201, body
    status, body = server.request("POST", f"/v1/rooms/{rid}/comments",
                                  {"body": "closed one", "anchor": {"kind": "point", "x": 500, "y": 100}})
    server.request("PATCH", f"/v1/rooms/{rid}/comments/{body['thread']['id']}", {"action": "resolve"})


def server_export(server: Server, rid: str, params: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    status, job = server.request("POST", f"/v1/rooms/{rid}/exports", params)
    assert status == 202, job
    deadline = time.monotonic() + 60
    while True:  # the HTTP job API has no push: poll its status (not a timing assertion)
        _, job = server.request("GET", f"/v1/exports/{job['jobId']}")
        if job["status"] in ("done", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert job["status"] == "done", job
    with urllib.request.urlopen(f"{server.http}/v1/exports/{job['jobId']}/download", timeout=30) as r:
        return job, r.read()


def same_pixels(a: bytes, b: bytes) -> bool:
    ia, ib = Image.open(io.BytesIO(a)), Image.open(io.BytesIO(b))
    if ia.size != ib.size or ia.mode != ib.mode:
        return False
    return ImageChops.difference(ia.convert("RGBA"), ib.convert("RGBA")).getbbox() is None


def export_from_dialog(page: Page) -> tuple[dict[str, Any], bytes, str]:
    dialog = page.get_by_role("dialog", name="Export")
    with page.expect_download(timeout=60_000) as info:
        dialog.get_by_role("button", name="Export and download").click()
    dl = info.value
    path = dl.path()
    expect(dialog.locator(".export-status")).to_contain_text("Done: downloading")
    job_id = dialog.evaluate("d => d.dataset.lastJob")
    return {"jobId": job_id}, path.read_bytes(), dl.suggested_filename


def test_export_from_the_dialog_equals_the_servers_export(server: Server, open_page: PageFactory) -> None:
    rid = "exportdlg1"
    scene_room(server, rid)
    a = open_page(f"/r/{rid}", "Alice")
    pa = a.page
    pa.get_by_role("button", name="Export as PNG, JPG or SVG").click()
    dialog = pa.get_by_role("dialog", name="Export")
    expect(dialog.get_by_label("PNG")).to_be_checked()
    dialog.get_by_label("White").check()
    dialog.get_by_label("Open threads").check()
    dialog.get_by_role("spinbutton", name=re.compile("^Scale")).fill("1.5")
    ref, data, name = export_from_dialog(pa)
    _, job = server.request("GET", f"/v1/exports/{ref['jobId']}")
    assert job["status"] == "done" and job["format"] == "png"
    assert job["options"]["background"] == "white" and job["options"]["includeComments"] is True
    assert job["options"]["commentStates"] == ["open"] and job["options"]["scale"] == 1.5
    # named after the time it was asked (local time), never the seq
    assert name == job["fileName"] and re.fullmatch(rf"{rid}-\d{{4}}-\d\d-\d\d-\d{{4}}\.png", name), name
    _, theirs = server_export(server, rid, {"format": "png", "seq": job["seq"], "scale": 1.5, "background": "white",
                                            "includeComments": True, "commentStates": ["open"]})
    assert same_pixels(data, theirs), "the dialog's download differs from the server's export"
    assert Image.open(io.BytesIO(data)).size == (1080, 720)


def test_a_previewed_version_exports_as_that_version(server: Server, open_page: PageFactory) -> None:
    rid = "exportdlg2"
    scene_room(server, rid)
    status, v = server.request("POST", f"/v1/rooms/{rid}/versions", {"tag": "before"})
    assert status == 201
    server.request("DELETE", f"/v1/rooms/{rid}/annotations/{server.annotations(rid)[0]['id']}")
    a = open_page(f"/r/{rid}", "Alice")
    pa = a.page
    pa.get_by_role("tab", name=re.compile("^Versions")).click()
    pa.get_by_role("button", name="Preview version before").click()
    expect(pa.locator(".banner")).to_contain_text("Viewing version “before”")
    pa.keyboard.press("Control+Shift+E")
    dialog = pa.get_by_role("dialog", name="Export")
    expect(dialog.get_by_label("A named version:")).to_be_checked()
    expect(dialog.get_by_role("combobox", name="Named version to export")).to_have_value("before")
    dialog.get_by_label("JPG", exact=True).check()
    expect(dialog.get_by_label("Transparent")).to_be_disabled()
    dialog.get_by_label("DPI", exact=True).check()
    dialog.get_by_role("spinbutton", name=re.compile("^DPI")).fill("144")
    dialog.get_by_label("Colour", exact=True).check()
    dialog.get_by_role("slider", name="JPG quality").fill("75")
    dialog.get_by_label("All threads").check()
    ref, data, name = export_from_dialog(pa)
    _, job = server.request("GET", f"/v1/exports/{ref['jobId']}")
    assert job["tag"] == "before" and job["seq"] == v["seq"] and job["format"] == "jpg"
    assert job["options"] == {"scale": 1.5, "dpi": 144.0, "background": "#ffffff", "includeComments": True,
                              "commentStates": ["open", "resolved"], "quality": 75}
    assert name == f"{rid}-before.jpg"
    _, theirs = server_export(server, rid, {"format": "jpg", "tag": "before", "dpi": 144, "background": "#ffffff",
                                            "includeComments": True, "commentStates": ["open", "resolved"], "quality": 75})
    assert same_pixels(data, theirs)


def test_export_errors_are_shown_in_words(server: Server, open_page: PageFactory) -> None:
    rid = "exportdlg3"
    scene_room(server, rid)
    answers: list[dict[str, Any]] = [
        {"code": -32029, "message": "the export queue is full (16 jobs queued or running); retry later", "data": {"code": "limit_reached"}},
        {"code": -32602, "message": "scale: must be <= 8.0", "data": {"code": "invalid_params", "field": "scale"}},
    ]

    def route(ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()

        def from_page(msg: str | bytes) -> None:
            if isinstance(msg, str) and '"exports.create"' in msg and answers:
                req = json.loads(msg)
                ws.send(json.dumps({"jsonrpc": "2.0", "id": req["id"], "error": answers.pop(0)}))
            else:
                upstream.send(msg)

        ws.on_message(from_page)

    a = open_page(f"/r/{rid}", "Alice")
    pa = a.page
    pa.route_web_socket(re.compile(r".*/v1/ws/rooms/.*"), route)
    pa.reload()
    expect(pa.locator(".app[data-synced=true]")).to_have_count(1)
    pa.get_by_role("button", name="Export as PNG, JPG or SVG").click()
    dialog = pa.get_by_role("dialog", name="Export")
    error = dialog.get_by_role("alert")
    dialog.get_by_label("DPI", exact=True).check()
    dialog.get_by_role("spinbutton", name=re.compile("^DPI")).fill("5")
    dialog.get_by_role("button", name="Export and download").click()
    expect(error).to_have_text("DPI: give a number from 9.6 to 768.")
    dialog.get_by_label("Scale", exact=True).check()
    dialog.get_by_role("button", name="Export and download").click()
    expect(error).to_have_text("Not exported: The server is busy: the export queue is full (16 jobs queued or running); retry later.")
    dialog.get_by_role("button", name="Export and download").click()
    expect(error).to_have_text("Not exported: Scale: must be at most 8.0")
    # the third try goes through to the real server
    ref, data, _ = export_from_dialog(pa)
    assert error.text_content() == "" and data[:8] == b"\x89PNG\r\n\x1a\n" and ref["jobId"]
