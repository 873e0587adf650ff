"""Dragging many selected shapes at once: shown moving on the dragging page without writing the
document on every step (a write per step repainted every moved shape on every page each frame:
1,000 shapes ran at ~15 fps), written once on release, one undo step, seen by everyone."""

from __future__ import annotations

from playwright.sync_api import expect

from .conftest import PageFactory, Server, wait_for
from .helpers import alice_and_bob, new_room, origin, tool

N = 80


def test_dragging_many_shapes_moves_them_all_in_one_write(server: Server, open_page: PageFactory) -> None:
    rid = new_room(server, "dragmany", *[
        {"id": f"m{i}", "type": "rect", "x": 20 + (i % 10) * 30, "y": 20 + (i // 10) * 30, "w": 20, "h": 20} for i in range(N)])
    a, b = alice_and_bob(open_page, rid)
    pa = a.page
    wait_for(pa, "n => window.annotd.app.canvas.list().length === n", N)
    tool(pa, "select")
    pa.keyboard.press("Control+a")
    wait_for(pa, "n => window.annotd.app.selection.ids.length === n", N)
    pa.evaluate("""() => { window.__writes = 0;
        window.annotd.app.canvas.onChange((ids, origin, local) => { if (local) window.__writes++; }); }""")
    ox, oy = origin(pa)
    pa.mouse.move(ox + 30, oy + 30)
    pa.mouse.down()
    for k in range(1, 11):
        pa.mouse.move(ox + 30 + 5 * k, oy + 30 + 3 * k)
    # shown where it goes (the dragged shape is under the pointer) but not yet written
    box = pa.locator("svg.moving-copy [data-annotation-id=m0]").bounding_box()
    assert box is not None, box
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    assert abs(cx - (ox + 30 + 50)) <= 2 and abs(cy - (oy + 30 + 30)) <= 2, (box, ox, oy)
    assert pa.evaluate("window.__writes") == 0
    assert pa.evaluate("window.annotd.app.canvas.get('m0').x") == 20
    pa.mouse.up()
    assert pa.evaluate("window.__writes") == 1
    expect(pa.locator("svg.moving-copy")).to_have_count(0)
    moved = pa.evaluate("() => window.annotd.app.canvas.list().map(a => [a.id, a.x, a.y])")
    assert all(x == 20 + (int(i[1:]) % 10) * 30 + 50 and y == 20 + (int(i[1:]) // 10) * 30 + 30 for i, x, y in moved), moved[:3]
    wait_for(b.page, "() => window.annotd.app.canvas.get('m79').x === 20 + 9 * 30 + 50")
    pa.keyboard.press("Control+z")
    wait_for(pa, "() => window.annotd.app.canvas.list().every(a => a.id !== 'm0' || a.x === 20)")
    wait_for(pa, "() => window.annotd.app.canvas.get('m79').x === 20 + 9 * 30 && window.annotd.app.canvas.get('m79').y === 20 + 7 * 30")
