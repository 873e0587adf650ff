"""Point editing, by two people: double-click a polygon, line, arrow or stroke to get a
handle per point; drag one, add one on an edge, delete one (never below the type's
minimum); the other page sees each change; undo takes back the editor's own steps, one per
drag; a rotated shape keeps its other points in place; a locked one says why it does not
enter the mode; a finger gets 44 px targets."""

from __future__ import annotations

import math
from typing import Any

from playwright.sync_api import Page, expect

from .conftest import PageFactory, Server, wait_for
from .helpers import alice_and_bob, at_100, click, drag, model, new_room, origin, selected, tool

TRIANGLE = {"id": "p1", "type": "polygon", "x": 100, "y": 100, "points": [0, 0, 200, 0, 100, 150]}
LINE = {"id": "l1", "type": "line", "x": 500, "y": 100, "points": [0, 0, 200, 100]}


def world(ann: dict[str, Any]) -> list[tuple[float, float]]:
    """The points on the image, rotation applied (protocol.md: about the box centre)."""
    cx, cy = ann["x"] + ann["w"] / 2, ann["y"] + ann["h"] / 2
    r = math.radians(ann["rotation"])
    out = []
    pts = ann["points"]
    for i in range(0, len(pts), 2):
        dx, dy = ann["x"] + pts[i] - cx, ann["y"] + pts[i + 1] - cy
        out.append((cx + dx * math.cos(r) - dy * math.sin(r), cy + dx * math.sin(r) + dy * math.cos(r)))
    return out


def handles(page: Page) -> list[tuple[float, float]]:
    """The point handles' centres in canvas pixels (= image pixels at 100 %)."""
    ox, oy = origin(page)
    boxes = [page.locator(".point-handle").nth(i).bounding_box() for i in range(page.locator(".point-handle").count())]
    return [(b["x"] + b["width"] / 2 - ox, b["y"] + b["height"] / 2 - oy) for b in boxes if b]


def wait_points(page: Page, ann_id: str, n: int) -> dict[str, Any]:
    wait_for(page, "([id, n]) => window.annotd.app.canvas.get(id)?.points.length === 2 * n", [ann_id, n])
    ann = model(page, ann_id)
    assert ann is not None
    return ann


def wait_point_at(page: Page, ann_id: str, i: int, x: float, y: float) -> dict[str, Any]:
    """Await point ``i`` of ``ann_id`` at (x, y) on the image (1/16 px quantum)."""
    wait_for(page, """([id, i, x, y]) => {
      const a = window.annotd.app.canvas.get(id);
      if (!a || a.points.length < 2 * i + 2) return false;
      const cx = a.x + a.w / 2, cy = a.y + a.h / 2, r = a.rotation * Math.PI / 180;
      const dx = a.x + a.points[2 * i] - cx, dy = a.y + a.points[2 * i + 1] - cy;
      return Math.abs(cx + dx * Math.cos(r) - dy * Math.sin(r) - x) < 0.1 && Math.abs(cy + dx * Math.sin(r) + dy * Math.cos(r) - y) < 0.1;
    }""", [ann_id, i, x, y])
    ann = model(page, ann_id)
    assert ann is not None
    return ann


def close(a: list[tuple[float, float]], b: list[tuple[float, float]], tol: float = 0.1) -> bool:
    return len(a) == len(b) and all(abs(p[0] - q[0]) < tol and abs(p[1] - q[1]) < tol for p, q in zip(a, b, strict=True))


def test_drag_add_delete_a_point_seen_by_the_other_page_and_undone_step_by_step(server: Server, open_page: PageFactory) -> None:
    rid = new_room(server, "points", TRIANGLE, LINE)
    a, b = alice_and_bob(open_page, rid)
    pa, pb = a.page, b.page
    wait_points(pb, "p1", 3)
    tool(pa, "select")
    pa.mouse.dblclick(origin(pa)[0] + 200, origin(pa)[1] + 100)  # on the top edge
    expect(pa.locator(".point-handle")).to_have_count(3)
    expect(pa.locator(".point-mid")).to_have_count(3)  # a closed polygon: the closing edge too
    assert close(handles(pa), [(100, 100), (300, 100), (200, 250)])

    # drag a point: Bob sees it move
    drag(pa, [(300, 100), (340, 80)])
    wait_point_at(pb, "p1", 1, 340, 80)
    assert close(world(wait_points(pb, "p1", 3)), [(100, 100), (340, 80), (200, 250)])

    # add one: drag the first edge's middle dot
    drag(pa, [(220, 90), (220, 40)])
    ann = wait_points(pb, "p1", 4)
    assert close(world(ann), [(100, 100), (220, 40), (340, 80), (200, 250)])
    expect(pa.locator(".point-handle")).to_have_count(4)

    # Bob edits the line's end meanwhile: Alice's undo must leave it alone
    tool(pb, "select")
    pb.mouse.dblclick(origin(pb)[0] + 600, origin(pb)[1] + 150)
    expect(pb.locator(".point-handle")).to_have_count(2)
    drag(pb, [(700, 200), (720, 260)])
    wait_point_at(pa, "l1", 1, 720, 260)

    # delete one: click it, Delete
    click(pa, 220, 40)
    expect(pa.locator(".point-handle.active")).to_have_count(1)
    pa.keyboard.press("Delete")
    ann = wait_points(pb, "p1", 3)
    assert close(world(ann), [(100, 100), (340, 80), (200, 250)])
    # never below a polygon's three points
    click(pa, 100, 100)
    pa.keyboard.press("Delete")
    expect(pa.locator(".toast.error")).to_contain_text("A polygon keeps at least 3 points")
    assert len(model(pa, "p1")["points"]) == 6  # type: ignore[index]

    # undo: the delete, then the add (with its drag: one step), then the first drag
    pa.keyboard.press("Control+z")
    wait_points(pb, "p1", 4)
    pa.keyboard.press("Control+z")
    assert close(world(wait_points(pb, "p1", 3)), [(100, 100), (340, 80), (200, 250)])
    pa.keyboard.press("Control+z")
    wait_point_at(pb, "p1", 1, 300, 100)
    assert close(world(wait_points(pb, "p1", 3)), [(100, 100), (300, 100), (200, 250)])
    # Bob's own edit stayed; his undo takes it back
    assert close(world(model(pa, "l1")), [(500, 100), (720, 260)])  # type: ignore[arg-type]
    pb.keyboard.press("Escape")
    expect(pb.locator(".point-handle")).to_have_count(0)
    pb.keyboard.press("Control+z")
    wait_point_at(pa, "l1", 1, 700, 200)

    # Escape leaves point editing and keeps the shape selected
    pa.keyboard.press("Escape")
    expect(pa.locator(".point-handle")).to_have_count(0)
    assert selected(pa) == ["p1"]
    anns = {x["id"]: x for x in server.annotations(rid)}
    assert close(world(anns["p1"]), [(100, 100), (300, 100), (200, 250)])
    assert not anns["p1"].get("issues")


def test_a_rotated_shape_moves_only_the_dragged_point(server: Server, open_page: PageFactory) -> None:
    rid = new_room(server, "points", {**TRIANGLE, "rotation": 30}, {"id": "a1", "type": "arrow", "x": 500, "y": 300,
                                                                     "rotation": 300, "points": [0, 0, 160, 40]})
    page = open_page(f"/r/{rid}", "Alice").page
    at_100(page)
    tool(page, "select")
    before = world(wait_points(page, "p1", 3))
    click(page, *before[0])
    page.keyboard.press("Enter")  # Enter edits the selected shape's points
    expect(page.locator(".point-handle")).to_have_count(3)
    assert close(handles(page), before, 0.6)
    drag(page, [before[2], (260, 330)])
    after = world(wait_point_at(page, "p1", 2, 260, 330))
    assert close(after[:2], before[:2])  # the others did not move
    assert model(page, "p1")["rotation"] == 30  # type: ignore[index]

    # an arrow: its end point, rotated too; a click elsewhere leaves
    click(page, 900, 700)
    expect(page.locator(".point-handle")).to_have_count(0)
    arrow = world(wait_points(page, "a1", 2))
    page.mouse.dblclick(origin(page)[0] + (arrow[0][0] + arrow[1][0]) / 2, origin(page)[1] + (arrow[0][1] + arrow[1][1]) / 2)
    expect(page.locator(".point-handle")).to_have_count(2)
    drag(page, [arrow[1], (760, 180)])
    assert close(world(wait_point_at(page, "a1", 1, 760, 180))[:1], arrow[:1])
    # shift snaps the edge to the point before to 15° steps, as when drawing
    page.keyboard.down("Shift")
    drag(page, [(760, 180), (820, 150)])
    page.keyboard.up("Shift")
    wait_for(page, """() => { const a = window.annotd.app.canvas.get('a1');
      const cx = a.x + a.w / 2, cy = a.y + a.h / 2, r = a.rotation * Math.PI / 180;
      const dx = a.x + a.points[2] - cx, dy = a.y + a.points[3] - cy;
      return Math.hypot(cx + dx * Math.cos(r) - dy * Math.sin(r) - 760, cy + dx * Math.sin(r) + dy * Math.cos(r) - 180) > 20; }""")
    (x0, y0), (x1, y1) = world(model(page, "a1"))  # type: ignore[arg-type]
    assert math.hypot(x1 - 820, y1 - 150) < 80  # near where it was dragged (turned at most 7.5°)
    angle = math.degrees(math.atan2(y1 - y0, x1 - x0))
    assert abs(angle / 15 - round(angle / 15)) < 0.01, angle
    assert close([(x0, y0)], arrow[:1])
    # a line or an arrow keeps two points
    click(page, x1, y1)
    page.keyboard.press("Delete")
    expect(page.locator(".toast.error")).to_contain_text("An arrow keeps at least 2 points")


def test_a_stroke_is_edited_through_its_key_points(server: Server, open_page: PageFactory) -> None:
    # a wave of 241 points: far too many handles; it gets key points at its turns
    pts: list[float] = []
    for i in range(241):
        pts += [i * 2, 40 + 40 * math.sin(i * math.pi / 60)]
    stroke = {"id": "f1", "type": "freehand", "x": 100, "y": 100, "points": pts, "pressures": [0.5] * 241}
    rid = new_room(server, "points", stroke)
    a, b = alice_and_bob(open_page, rid)
    pa, pb = a.page, b.page
    tool(pa, "select")
    orig = world(wait_points(pa, "f1", 241))
    click(pa, *orig[30])
    pa.keyboard.press("Enter")
    keys = handles(pa)
    assert 3 <= len(keys) <= 48
    assert close([keys[0], keys[-1]], [orig[0], orig[-1]], 0.6)
    expect(pa.locator(".point-mid")).to_have_count(0)  # a stroke has points everywhere

    # drag the crest (point 30, a key point): it moves by the drag, the stroke bends, the
    # neighbouring key points stay, nothing is added or lost
    k = min(range(len(keys)), key=lambda j: abs(keys[j][0] - orig[30][0]) + abs(keys[j][1] - orig[30][1]))
    assert close([keys[k]], [orig[30]], 0.6)
    drag(pa, [keys[k], (keys[k][0], keys[k][1] - 50)])
    bent = world(wait_point_at(pb, "f1", 30, orig[30][0], orig[30][1] - 50))
    assert len(bent) == 241
    assert close([bent[0], bent[-1]], [orig[0], orig[-1]])
    moved = [j for j in range(241) if abs(bent[j][1] - orig[j][1]) > 0.1]
    assert 30 in moved and 1 < len(moved) < 240  # a neighbourhood, not one spike, not all
    assert model(pb, "f1")["pressures"] == [0.5] * 241  # type: ignore[index]

    # delete the first key point: the stroke is trimmed back to the next one
    keys = handles(pa)
    click(pa, *keys[0])
    pa.keyboard.press("Backspace")
    wait_for(pb, "() => window.annotd.app.canvas.get('f1').points.length < 482")
    trimmed = model(pb, "f1")
    assert trimmed is not None and len(trimmed["pressures"]) * 2 == len(trimmed["points"])
    assert close(world(trimmed)[:1], [keys[1]], 0.6)
    pa.keyboard.press("Control+z")
    wait_points(pb, "f1", 241)
    pa.keyboard.press("Control+z")
    wait_point_at(pb, "f1", 30, *orig[30])


def test_a_long_stroke_is_previewed_while_dragged_and_written_once(server: Server, open_page: PageFactory) -> None:
    pts: list[float] = []
    for i in range(3000):
        pts += [i * 0.25, 40 + 40 * math.sin(i * math.pi / 750)]
    rid = new_room(server, "points", {"id": "f1", "type": "freehand", "x": 100, "y": 100, "points": pts})
    a, b = alice_and_bob(open_page, rid)
    pa, pb = a.page, b.page
    tool(pa, "select")
    orig = world(wait_points(pa, "f1", 3000))
    wait_points(pb, "f1", 3000)
    pb.evaluate("() => { window.__writes = 0; window.annotd.app.doc.on('update', () => window.__writes++); }")
    click(pa, *orig[375])
    pa.keyboard.press("Enter")
    keys = handles(pa)
    k = min(range(len(keys)), key=lambda j: abs(keys[j][0] - orig[375][0]) + abs(keys[j][1] - orig[375][1]))
    i = min(range(3000), key=lambda j: abs(keys[k][0] - orig[j][0]) + abs(keys[k][1] - orig[j][1]))  # its point
    ox, oy = origin(pa)
    pa.mouse.move(ox + keys[k][0], oy + keys[k][1])
    pa.mouse.down()
    for step in range(1, 6):
        pa.mouse.move(ox + keys[k][0], oy + keys[k][1] + 10 * step)
    # shown on Alice's page (the draft, its handle), not yet written: her own document is unchanged
    expect(pa.locator("svg.canvas .draft path")).not_to_have_count(0)
    assert close(handles(pa)[k:k + 1], [(keys[k][0], keys[k][1] + 50)], 0.6)
    assert world(model(pa, "f1")) == orig  # type: ignore[arg-type]
    pa.mouse.up()
    bent = world(wait_point_at(pb, "f1", i, orig[i][0], orig[i][1] + 50))
    assert len(bent) == 3000
    assert pb.evaluate("window.__writes") == 1  # the whole drag: one update
    expect(pa.locator("svg.canvas .draft path")).to_have_count(0)
    pa.keyboard.press("Control+z")
    wait_point_at(pb, "f1", i, *orig[i])


def test_a_locked_shape_is_not_point_edited_and_says_why(server: Server, open_page: PageFactory) -> None:
    rid = new_room(server, "points", {**TRIANGLE, "locked": True})
    page = open_page(f"/r/{rid}", "Alice").page
    at_100(page)
    tool(page, "select")
    wait_points(page, "p1", 3)
    page.mouse.dblclick(origin(page)[0] + 200, origin(page)[1] + 100)
    expect(page.locator(".toast.error")).to_contain_text("This annotation is locked: its points cannot change until you unlock it")
    expect(page.locator(".point-handle")).to_have_count(0)
    # unlocked, it edits; locked again by someone while editing, it leaves the mode
    assert server.request("PATCH", f"/v1/rooms/{rid}/annotations/p1", {"locked": False})[0] == 200
    wait_for(page, "() => window.annotd.app.canvas.get('p1').locked === false")
    page.keyboard.press("Enter")
    expect(page.locator(".point-handle")).to_have_count(3)
    assert server.request("PATCH", f"/v1/rooms/{rid}/annotations/p1", {"locked": True})[0] == 200
    expect(page.locator(".point-handle")).to_have_count(0)
    expect(page.locator(".sel-frame.locked")).to_have_count(1)


def test_a_finger_gets_44px_targets_and_deletes_a_point_with_the_panel(server: Server, open_page: PageFactory) -> None:
    rid = new_room(server, "points", {**TRIANGLE, "points": [0, 0, 300, 0, 300, 250, 0, 250]})
    w = open_page(f"/r/{rid}", "Alice", viewport={"width": 1024, "height": 768}, has_touch=True)
    page = w.page
    assert page.evaluate("matchMedia('(pointer: coarse)').matches")
    at_100(page)
    tool(page, "select")
    wait_points(page, "p1", 4)
    ox, oy = origin(page)
    page.touchscreen.tap(ox + 250, oy + 100)  # a double tap on the top edge
    page.touchscreen.tap(ox + 250, oy + 100)
    expect(page.locator(".point-handle")).to_have_count(4)
    # a finger drags a point (touch events through the DevTools protocol: Playwright's
    # touchscreen only taps)
    cdp = page.context.new_cdp_session(page)
    path = [(ox + 100 + 10, oy + 350 - 10), (ox + 80, oy + 370), (ox + 60, oy + 390)]
    for i, (x, y) in enumerate(path):
        kind = "touchStart" if i == 0 else "touchMove"
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    wait_point_at(page, "p1", 3, 50, 400)
    target = page.locator(".point-target[data-vertex='1']").bounding_box()
    assert target is not None and target["width"] >= 44 and target["height"] >= 44
    page.touchscreen.tap(ox + 400 + 15, oy + 100 + 10)  # inside the target, off the dot
    expect(page.locator(".point-handle.active")).to_have_count(1)
    page.locator("#panel-style").get_by_role("button", name="Delete").click()
    ann = wait_points(page, "p1", 3)
    assert close(world(ann), [(100, 100), (400, 350), (50, 400)])
    expect(page.locator(".point-handle")).to_have_count(3)  # still editing points
    # the `?` sheet explains point editing
    page.keyboard.press("Escape")
    page.keyboard.press("?")
    sheet = page.get_by_role("dialog", name="Keyboard shortcuts")
    points = sheet.locator("section", has=page.get_by_role("heading", name="Points", exact=True))
    expect(points).to_contain_text("Edit the points of a line, arrow, polygon or freehand stroke")
