"""Two people in one room, in two browser contexts: every tool, edits, undo, presence, follow."""

from __future__ import annotations

import itertools
import re

from playwright.sync_api import expect

from .conftest import PageFactory, Server, Watched, wait_for
from .helpers import at_100, click, drag, model, selected, tool, wait_count

_rooms = itertools.count(1)


def room(server: Server) -> str:
    rid = f"collab{next(_rooms)}"
    server.create_room(rid, f"Room {rid}")
    return rid


def two_people(server: Server, open_page: PageFactory) -> tuple[str, Watched, Watched]:
    """A new room with Alice's and Bob's pages in it (two browser contexts), both at 100 %."""
    rid = room(server)
    a = open_page(f"/r/{rid}", "Alice")
    b = open_page(f"/r/{rid}", "Bob", "#1971c2")
    at_100(a.page)
    at_100(b.page)
    return rid, a, b


def test_every_primitive_drawn_with_the_mouse_reaches_the_other_page_and_the_server(server: Server, open_page: PageFactory) -> None:
    rid, a, b = two_people(server, open_page)
    pa, pb = a.page, b.page
    expected: list[str] = []

    def drawn(kind: str) -> None:
        expected.append(kind)
        wait_count(pb, len(expected))
        expect(pb.locator(f'svg.canvas .shapes [data-type="{kind}"]')).to_have_count(expected.count(kind))

    tool(pa, "rect")
    drag(pa, [(40, 40), (200, 140)])
    drawn("rect")
    tool(pa, "ellipse")
    drag(pa, [(240, 40), (400, 140)])
    drawn("ellipse")
    tool(pa, "line")
    drag(pa, [(40, 200), (200, 260)])
    drawn("line")
    tool(pa, "arrow")
    drag(pa, [(240, 200), (400, 280)])
    drawn("arrow")
    tool(pa, "freehand")
    drag(pa, [(40, 320), (80, 360), (120, 330), (160, 380), (200, 340)], steps=6)
    drawn("freehand")
    tool(pa, "polygon")
    for x, y in [(260, 320), (380, 330), (340, 420)]:
        click(pa, x, y)
    pa.keyboard.press("Enter")
    drawn("polygon")
    tool(pa, "text")
    click(pa, 460, 60)
    expect(pa.locator("textarea.text-editor")).to_be_focused()
    pa.keyboard.type("Crack in the weld")
    pa.keyboard.press("Escape")
    drawn("text")
    expect(pb.locator('svg.canvas [data-type="text"] text')).to_have_text("Crack in the weld")

    anns = server.annotations(rid)
    assert sorted(x["type"] for x in anns) == sorted(expected)
    by_type = {x["type"]: x for x in anns}
    assert by_type["rect"]["x"] == 40 and by_type["rect"]["w"] == 160 and by_type["rect"]["h"] == 100
    assert by_type["arrow"]["endArrowhead"] == "arrow"
    assert by_type["polygon"]["closed"] is True and len(by_type["polygon"]["points"]) == 6
    assert len(by_type["freehand"]["points"]) >= 8
    assert by_type["text"]["text"] == "Crack in the weld"
    assert all(x["createdBy"] == a.user_id for x in anns)
    assert all(not x.get("issues") for x in anns), [x.get("issues") for x in anns]


def test_move_resize_rotate_and_style_show_in_the_other_page(server: Server, open_page: PageFactory) -> None:
    rid, a, b = two_people(server, open_page)
    pa, pb = a.page, b.page
    tool(pa, "rect")
    drag(pa, [(100, 100), (300, 200)])
    wait_count(pb, 1)
    [ann_id] = selected(pa)
    # move: drag the body by (+50, +30)
    drag(pa, [(200, 150), (250, 180)])
    wait_for(pb, "id => { const a = window.annotd.app.canvas.get(id); return a && a.x === 150 && a.y === 130 }", ann_id)
    # resize with the south-east handle, to 260 x 160
    handle = pa.locator('[data-handle="se"]').bounding_box()
    assert handle is not None
    pa.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    pa.mouse.down()
    pa.mouse.move(handle["x"] + 64, handle["y"] + 64, steps=4)
    pa.mouse.up()
    wait_for(pb, """id => { const a = window.annotd.app.canvas.get(id);
        return a && Math.abs(a.w - 260) < 1.5 && Math.abs(a.h - 160) < 1.5 }""", ann_id)
    # rotate with the rotate handle, shift snaps to 15° steps: a quarter turn
    rot = pa.locator('[data-handle="rotate"]').bounding_box()
    assert rot is not None
    cur = model(pa, ann_id)
    assert cur is not None
    ox, oy = pa.locator("svg.canvas").bounding_box()["x"], pa.locator("svg.canvas").bounding_box()["y"]  # type: ignore[index]
    cx, cy = ox + cur["x"] + cur["w"] / 2, oy + cur["y"] + cur["h"] / 2
    pa.keyboard.down("Shift")
    pa.mouse.move(rot["x"] + rot["width"] / 2, rot["y"] + rot["height"] / 2)
    pa.mouse.down()
    pa.mouse.move(cx + 200, cy + 2, steps=6)
    pa.mouse.up()
    pa.keyboard.up("Shift")
    wait_for(pb, "id => window.annotd.app.canvas.get(id)?.rotation === 90", ann_id)
    expect(pb.locator(f'[data-annotation-id="{ann_id}"]')).to_have_attribute("transform", re.compile(r"^rotate\(90 2\d\d(\.\d+)? 2\d\d"))
    # style: stroke colour and dashed from the style panel
    pa.get_by_role("radio", name="Stroke: #1971c2").click()
    pa.get_by_role("radio", name="dashed").click()
    path = pb.locator(f'[data-annotation-id="{ann_id}"] path')
    expect(path).to_have_attribute("stroke", "#1971c2")
    expect(path).to_have_attribute("stroke-dasharray", "8 6")
    final = next(x for x in server.annotations(rid) if x["id"] == ann_id)
    assert final["style"]["stroke"] == "#1971c2" and final["style"]["strokeStyle"] == "dashed"
    assert final["rotation"] == 90 and abs(final["x"] - 150) < 1.5


def test_undo_in_one_page_undoes_only_that_persons_edit(server: Server, open_page: PageFactory) -> None:
    rid, a, b = two_people(server, open_page)
    pa, pb = a.page, b.page
    tool(pa, "rect")
    drag(pa, [(50, 50), (150, 150)])
    wait_count(pb, 1)
    tool(pb, "ellipse")
    drag(pb, [(300, 50), (400, 150)])
    wait_count(pa, 2)
    # Alice moves her rect, then undoes: only the move goes, Bob's ellipse stays
    [rect_id] = selected(pa)
    drag(pa, [(100, 100), (140, 140)])
    wait_for(pb, "id => window.annotd.app.canvas.get(id)?.x === 90", rect_id)
    pa.get_by_role("button", name="Undo").click()
    wait_for(pb, "id => window.annotd.app.canvas.get(id)?.x === 50", rect_id)
    pa.get_by_role("button", name="Undo").click()
    wait_count(pb, 1)
    wait_count(pa, 1)
    expect(pb.locator('svg.canvas .shapes [data-type="ellipse"]')).to_have_count(1)
    assert [x["type"] for x in server.annotations(rid)] == ["ellipse"]
    # Alice's undo stack is empty now: another undo must not touch Bob's ellipse
    expect(pa.get_by_role("button", name="Undo")).to_be_disabled()
    pa.keyboard.press("Control+z")
    pa.get_by_role("button", name="Redo").click()
    wait_count(pb, 2)
    assert sorted(x["type"] for x in server.annotations(rid)) == ["ellipse", "rect"]


def test_remote_cursor_and_selection_show_the_persons_name(server: Server, open_page: PageFactory) -> None:
    rid, a, b = two_people(server, open_page)
    pa, pb = a.page, b.page
    tool(pa, "rect")
    drag(pa, [(60, 60), (160, 140)])
    [ann_id] = selected(pa)
    wait_count(pb, 1)
    cursor = pb.locator(f'.cursor[data-user="{a.user_id}"]')
    click(pa, 500, 400)  # deselects, and the cursor is over the canvas
    expect(cursor).to_have_count(1)
    expect(cursor.locator("text")).to_have_text("Alice")
    click(pa, 60, 100)  # select the rect by its edge
    expect(pb.locator(".remote-sel")).to_have_count(1)
    expect(pb.locator(".remote-sel")).to_have_attribute("stroke", "#e03131")
    expect(pb.locator(".remote-sel-label text")).to_have_text("Alice")
    assert selected(pa) == [ann_id]
    # the people panel lists Alice by name
    pb.get_by_role("tab", name="People").click()
    expect(pb.locator(f'.people li[data-user="{a.user_id}"] .name')).to_have_text("Alice")


def test_follow_moves_the_followers_viewport_with_the_leaders(server: Server, open_page: PageFactory) -> None:
    rid, a, b = two_people(server, open_page)
    pa, pb = a.page, b.page
    pb.get_by_role("tab", name="People").click()
    follow = pb.get_by_role("button", name="Follow Alice")
    expect(follow).to_be_enabled()
    follow.click()
    expect(pb.locator(".banner")).to_contain_text("Following Alice")
    pa.evaluate("window.annotd.app.viewport.set(2, -300, -150)")  # Alice looks at (150, 75) .. at 200 %
    # Bob sees the same region centred, all of it (his canvas has another shape: the banner)
    want = pa.evaluate("window.annotd.app.viewport.visible()")
    wait_for(pb, """w => { const v = window.annotd.app.viewport.visible();
        const cx = v.x + v.w / 2, cy = v.y + v.h / 2;
        const fits = v.w >= w.w - 1 && v.h >= w.h - 1 && (Math.abs(v.w - w.w) < 1 || Math.abs(v.h - w.h) < 1);
        return Math.abs(cx - (w.x + w.w / 2)) < 2 && Math.abs(cy - (w.y + w.h / 2)) < 2 && fits }""", want)
    # zooming by hand stops following
    pb.get_by_role("button", name="Zoom in").click()
    expect(pb.locator(".banner")).to_be_hidden()


def test_a_revert_clears_the_undo_stack(server: Server, open_page: PageFactory) -> None:
    rid = room(server)
    a = open_page(f"/r/{rid}", "Alice")
    pa = a.page
    at_100(pa)
    status, _ = server.request("POST", f"/v1/rooms/{rid}/versions", {"tag": "empty"})
    assert status == 201
    tool(pa, "rect")
    drag(pa, [(50, 50), (150, 150)])
    expect(pa.get_by_role("button", name="Undo")).to_be_enabled()
    status, body = server.request("POST", f"/v1/rooms/{rid}/versions/empty:revert")
    assert status == 200, body
    wait_count(pa, 0)
    # the revert rewrote the canvas: Alice's old steps no longer apply
    expect(pa.get_by_role("button", name="Undo")).to_be_disabled()


def test_pen_pressure_is_stored_with_a_freehand_stroke(server: Server, open_page: PageFactory) -> None:
    rid = room(server)
    a = open_page(f"/r/{rid}", "Alice")
    pa = a.page
    at_100(pa)
    tool(pa, "freehand")
    pa.evaluate("""() => { const stage = document.querySelector('.stage'); const r = stage.getBoundingClientRect();
        const ev = (type, i, p) => stage.dispatchEvent(new PointerEvent(type, { pointerId: 7, pointerType: 'pen', isPrimary: true,
            button: type === 'pointermove' ? -1 : 0, buttons: type === 'pointerup' ? 0 : 1, pressure: p,
            clientX: r.left + 100 + i * 10, clientY: r.top + 100 + (i % 3) * 8, bubbles: true }));
        ev('pointerdown', 0, 0.2);
        for (let i = 1; i < 10; i++) ev('pointermove', i, 0.2 + i * 0.08);
        ev('pointerup', 10, 0); }""")
    wait_count(pa, 1)
    wait_for(pa, "() => window.annotd.app.socket.pendingAcks === 0")
    [ann] = server.annotations(rid)
    assert ann["type"] == "freehand"
    ps = ann["pressures"]
    assert len(ps) == len(ann["points"]) // 2 and ps[0] == 0.2 and max(ps) > 0.8
