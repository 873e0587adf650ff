"""Versions and history in the browser: tag, preview a version while live edits arrive, revert
for everyone (undo cleared), the history scrubber at a past seq equal to the server's
``annotations.list?seq=``, and what each step changed."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from .conftest import PageFactory, Server, wait_for
from .helpers import alice_and_bob, at_100, drag, new_room, tool, wait_count

STAMPS = ("updatedBy", "updatedAt", "issues")


def room(server: Server, *anns: dict[str, Any]) -> str:
    return new_room(server, "versions", *anns)


def unstamped(anns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in a.items() if k not in STAMPS} for a in anns]


def head(server: Server, rid: str) -> int:
    status, body = server.request("GET", f"/v1/rooms/{rid}")
    assert status == 200
    return int(body["headSeq"])


def shown_ids(page: Page) -> list[str]:
    return sorted(page.evaluate(
        "[...document.querySelectorAll('svg.canvas .shapes [data-annotation-id]')].map(e => e.dataset.annotationId)"))


def wait_shown(page: Page, ids: list[str]) -> None:
    wait_for(page, """ids => JSON.stringify([...document.querySelectorAll('svg.canvas .shapes [data-annotation-id]')]
        .map(e => e.dataset.annotationId).sort()) === JSON.stringify(ids)""", sorted(ids))


def scene_models(page: Page) -> list[dict[str, Any]]:
    """What the page draws, as the server's JSON (apiJson of the repaired annotations)."""
    return list(page.evaluate("""() => { const app = window.annotd.app;
        const list = app.preview.shown ? app.preview.shown.annotations : app.canvas.list();
        return list.map(a => { const o = { id: a.id, type: a.type, x: a.x, y: a.y, w: a.w, h: a.h, rotation: a.rotation, z: a.z,
            groupIds: a.groupIds, locked: a.locked, style: a.style, createdBy: a.createdBy };
          if (a.type === 'text') Object.assign(o, { text: a.text, wrap: a.wrap });
          if (a.type === 'line' || a.type === 'arrow')
            Object.assign(o, { points: a.points, startArrowhead: a.startArrowhead, endArrowhead: a.endArrowhead });
          if (a.type === 'polygon') Object.assign(o, { points: a.points, closed: a.closed });
          if (a.type === 'freehand') { o.points = a.points; if (a.pressures) o.pressures = a.pressures; }
          return o; }); }"""))


def test_tag_preview_while_editing_and_revert_for_everyone(server: Server, open_page: PageFactory) -> None:
    rid = room(server, {"id": "base", "type": "rect", "x": 40, "y": 40, "w": 120, "h": 80, "style": {"fill": "#ffec99"}})
    a, b = alice_and_bob(open_page, rid)
    pa, pb = a.page, b.page
    for p in (pa, pb):
        p.get_by_role("tab", name=re.compile("^Versions")).click()

    # A tags v1 from the panel (a blank name first: refused in words, nothing sent)
    name = pa.get_by_label("Name the canvas as it is now")
    name.fill("   ")
    name.press("Enter")
    expect(pa.locator("#version-error")).to_have_text("Give the version a name.")
    name.fill("v1")
    name.press("Enter")
    v1_seq = head(server, rid)
    expect(pb.locator('li.version[data-tag="v1"] .meta')).to_contain_text("Alice · just now")
    expect(pb.locator('li.version[data-tag="v1"] .meta')).to_have_attribute("title", f"tag v1, seq {v1_seq}")
    name.fill("v1")
    name.press("Enter")  # a second "v1": the server derives the tag v1-2
    expect(pb.locator('li.version[data-tag="v1-2"] .version-name')).to_have_text("v1")
    v1 = server.request("GET", f"/v1/rooms/{rid}/annotations", None)[1]
    status, tagged = server.request("GET", f"/v1/rooms/{rid}/annotations?tag=v1")
    assert status == 200 and unstamped(tagged["annotations"]) == unstamped(v1["annotations"])

    # both edit: Alice draws, Bob draws and moves the base shape
    tool(pa, "ellipse")
    drag(pa, [(300, 60), (420, 140)])
    tool(pb, "rect")
    drag(pb, [(300, 200), (400, 260)])
    tool(pb, "select")
    drag(pb, [(60, 60), (90, 100)])
    wait_for(pa, "() => window.annotd.app.canvas.get('base')?.x === 70")
    wait_count(pa, 3)
    expect(pa.get_by_role("button", name="Undo")).to_be_enabled()

    # A previews v1: only the tagged state on the canvas, read-only, while Bob keeps drawing
    pa.get_by_role("button", name="Preview version v1", exact=True).click()
    expect(pa.locator(".banner")).to_contain_text("Viewing version “v1”")
    expect(pa.locator(".banner")).to_contain_text("read-only")
    wait_shown(pa, ["base"])
    assert scene_models(pa) == unstamped_models(tagged["annotations"])
    expect(pa.locator(".app")).to_have_class(re.compile(r"\bread-only\b"))
    tool(pb, "line")
    drag(pb, [(600, 500), (700, 560)])  # (away from the "no image yet" box in the middle)
    wait_for(pa, "() => window.annotd.app.canvas.list().length === 4")  # live keeps arriving underneath
    wait_shown(pa, ["base"])
    expect(pa.locator(".banner .live-seq")).to_have_text(re.compile(r" · live has \d+ changes? since$"))
    # nothing can be edited while previewing: Delete does nothing to the live canvas
    pa.locator(".stage").focus()
    pa.keyboard.press("Control+a")
    pa.keyboard.press("Delete")
    assert len(server.annotations(rid)) == 4

    # A reverts from the preview bar: the confirmation says what changes
    before = head(server, rid)
    for p in (pa, pb):
        watch_toasts(p)
    pa.locator(".banner").get_by_role("button", name="Restore version v1", exact=True).click()
    summary = pa.locator("dialog .revert-summary")
    expect(summary).to_have_text("Restoring adds 0 annotations, removes 3 and changes 1.")
    pa.get_by_role("dialog").get_by_role("button", name="Restore version v1", exact=True).click()
    expect(pa.locator(".banner")).to_be_hidden()
    # both canvases equal v1, the head moved forward, undo stacks are cleared
    for p in (pa, pb):
        wait_shown(p, ["base"])
        wait_for(p, "() => window.annotd.app.canvas.list().length === 1 && window.annotd.app.canvas.get('base').x === 40")
        assert scene_models(p) == unstamped_models(tagged["annotations"])
        expect(p.get_by_role("button", name="Undo")).to_be_disabled()
    assert head(server, rid) > before
    assert unstamped(server.annotations(rid)) == unstamped(tagged["annotations"])
    wait_for(pb, "t => window.__toasts.includes(t)", "Alice restored version “v1”.")
    wait_for(pa, "t => window.__toasts.includes(t)", "You restored version “v1”.")


def watch_toasts(page: Page) -> None:
    """Record every toast's text (they vanish after a few seconds; a loaded machine is slow)."""
    page.evaluate("""() => { window.__toasts = []; new MutationObserver(ms => { for (const m of ms) for (const n of m.addedNodes)
        if (n.classList?.contains('toast')) window.__toasts.push(n.textContent); })
        .observe(document.body, { childList: true, subtree: true }); }""")


def unstamped_models(anns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in a.items() if k not in ("updatedBy", "updatedAt", "issues")} for a in anns]


def test_scrubber_shows_a_past_seq_like_the_server(server: Server, open_page: PageFactory) -> None:
    rid = room(server)
    seqs = []
    for i, kind in enumerate(["rect", "ellipse", "rect", "arrow"]):
        ann: dict[str, Any] = {"id": f"s{i}", "type": kind, "x": 40 + 110 * i, "y": 60, "w": 90, "h": 60}
        if kind == "arrow":
            ann["points"] = [0, 0, 90, 60]
        status, body = server.request("POST", f"/v1/rooms/{rid}/annotations", ann)
        seqs.append(body["seq"])
    status, body = server.request("PATCH", f"/v1/rooms/{rid}/annotations/s0", {"x": 10, "style": {"stroke": "#1971c2"}})
    seqs.append(body["seq"])
    server.request("POST", f"/v1/rooms/{rid}/versions", {"tag": "three"})
    server.request("DELETE", f"/v1/rooms/{rid}/annotations/s1")
    a = open_page(f"/r/{rid}", "Alice")
    pa = a.page
    at_100(pa)
    pa.get_by_role("tab", name="History").click()
    slider = pa.get_by_role("slider", name="Step in the history")
    expect(slider).to_have_attribute("max", str(head(server, rid)))
    expect(pa.locator('.tag-mark[data-seq]')).to_have_text("three")

    # the step that added the ellipse: drawn exactly as the server lists that seq
    target = seqs[1]
    pa.evaluate("""s => { const el = document.getElementById('history-seq'); el.value = String(s);
        el.dispatchEvent(new Event('input', { bubbles: true })); }""", target)
    expect(pa.locator(".banner .step-label")).to_have_attribute("data-seq", str(target))
    expect(pa.locator(".banner")).to_contain_text("Viewing the canvas as it was just now, after api's change")
    status, at = server.request("GET", f"/v1/rooms/{rid}/annotations?seq={target}")
    assert status == 200
    wait_shown(pa, [x["id"] for x in at["annotations"]])
    assert scene_models(pa) == unstamped_models(at["annotations"])
    expect(pa.locator("#history-step")).to_contain_text("api added an ellipse.")
    expect(pa.locator(".step-changes .changed-outline")).to_have_attribute("data-annotation-id", "s1")

    # keyboard: one step later with the arrow key (the move of s0 two steps on: rect style change)
    slider.focus()
    for _ in range(3):
        pa.keyboard.press("ArrowRight")
    expect(pa.locator(".banner .step-label")).to_have_attribute("data-seq", str(seqs[4]))
    status, at = server.request("GET", f"/v1/rooms/{rid}/annotations?seq={seqs[4]}")
    wait_for(pa, "n => window.annotd.app.preview.current?.seq === n", seqs[4])
    wait_shown(pa, [x["id"] for x in at["annotations"]])
    assert scene_models(pa) == unstamped_models(at["annotations"])
    expect(pa.locator("#history-step")).to_contain_text("api changed a rectangle.")
    # the tag mark jumps to the version; Escape is back to live
    pa.locator(".tag-mark").click()
    expect(pa.locator(".banner")).to_contain_text("Viewing version “three”")
    pa.keyboard.press("Escape")
    expect(pa.locator(".banner")).to_be_hidden()
    wait_shown(pa, ["s0", "s2", "s3"])
    expect(slider).to_have_value(str(head(server, rid)))
