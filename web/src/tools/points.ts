/**
 * Point editing, a mode of the select tool: with one line, arrow, polygon or freehand stroke
 * selected, a double-click on it (or Enter) shows a handle on each point and on the middle
 * of each edge. Drag a point to move it; drag (or click) an edge's handle to add a point
 * there; click a point and press Delete to remove it (never below the type's minimum);
 * Escape, Enter or a click elsewhere leaves. Tab walks through the points, the arrows nudge
 * the selected one. A stroke shows key points only (model/points.ts says what dragging and
 * removing them do).
 *
 * Every drag is one undo step of the person who made it; others see the point move while
 * it is dragged (a stroke of more than {@link LIVE_STROKE_POINTS} points: when it is
 * released). A locked shape cannot enter the mode and says why.
 */
import { pick, type Annotation, type AnnotationPatch } from "@annotd/client";
import {
  bendStroke,
  cutStroke,
  hasEditablePoints,
  insertPoint,
  midpoints,
  minPoints,
  movePoint,
  removePoint,
  strokeKeys,
  worldPoints,
} from "../model/points";
import type { PointEditView } from "../render/point-handles";
import { pointsLockNote } from "../ui/locked";
import { toast } from "../ui/toast";
import { snapAngle, type PointerInfo, type ToolContext } from "./tool";

/** Strokes longer than this (points) are previewed on this page while dragged and written
 * once, on release: each write replaces the whole stroke for everyone (a 10,000-point
 * stroke is ~100 kB an update), and every write is kept in the room's history. */
const LIVE_STROKE_POINTS = 1000;

interface PointDrag {
  orig: Annotation;
  /** The handle dragged (a point, or a stroke's key point). */
  handle: number;
  /** Where the pointer went down and where the point was (image px). */
  startX: number;
  startY: number;
  pointX: number;
  pointY: number;
  moved: boolean;
  /** A long stroke's drag: shown on this page only, written on release. */
  previewed: boolean;
  pending: AnnotationPatch | null;
}

const NAMES: Record<string, string> = { line: "A line", arrow: "An arrow", polygon: "A polygon", freehand: "A stroke" };

export class PointEditor {
  private view: PointEditView | null = null;
  private drag: PointDrag | null = null;

  constructor(private ctx: ToolContext) {
    ctx.selection.on("change", (ids) => {
      if (this.view && (ids.length !== 1 || ids[0] !== this.view.id)) this.stop();
    });
    ctx.canvas.onChange((ids) => {
      if (this.view && ids.has(this.view.id) && this.drag === null) this.refresh();
    });
  }

  /** The id of the annotation whose points are being edited, or null. */
  get editing(): string | null {
    return this.view?.id ?? null;
  }

  get dragging(): boolean {
    return this.drag !== null;
  }

  /** Whether `a` can enter point editing at all (its type and its points). */
  static accepts(a: Annotation | null): a is Annotation {
    return a !== null && hasEditablePoints(a);
  }

  /** Enter point editing of `a` (selecting it alone); a locked shape says why it cannot. */
  start(a: Annotation): boolean {
    if (this.ctx.readOnly() || !PointEditor.accepts(a)) return false;
    if (a.locked) {
      toast(pointsLockNote(), "error");
      return false;
    }
    this.ctx.selection.set([a.id]);
    this.view = { id: a.id, keys: a.type === "freehand" ? strokeKeys(a) : null, active: null };
    this.show();
    return true;
  }

  stop(): void {
    if (this.view === null) return;
    this.endDrag();
    this.view = null;
    this.show();
  }

  private show(): void {
    this.ctx.overlay.setPointEdit(this.view);
  }

  private current(): Annotation | null {
    return this.view ? this.ctx.canvas.get(this.view.id) : null;
  }

  /** After someone (or an undo) changed the shape: new key points, a selection that exists;
   * a shape locked meanwhile leaves the mode (its frame then shows it locked). */
  private refresh(): void {
    const a = this.current();
    if (this.view === null || a === null || !hasEditablePoints(a) || a.locked) return this.stop();
    const keys = a.type === "freehand" ? strokeKeys(a) : null;
    const count = keys ? keys.length : a.points.length / 2;
    const active = this.view.active !== null && this.view.active < count ? this.view.active : null;
    this.view = { ...this.view, keys, active };
    this.show();
  }

  /** Select a handle (null: none). */
  select(handle: number | null): void {
    if (this.view === null) return;
    this.view = { ...this.view, active: handle };
    this.show();
  }

  /** A pointer down on one of the handles starts its drag (true); anything else is not ours. */
  down(p: PointerInfo): boolean {
    const a = this.current();
    if (a === null || this.view === null) return false;
    const target = p.event.target as Element | null;
    const vertex = target?.closest?.("[data-vertex]")?.getAttribute("data-vertex");
    const mid = target?.closest?.("[data-mid]")?.getAttribute("data-mid");
    if (vertex == null && mid == null) return false;
    if (a.locked) {
      toast(pointsLockNote(), "error");
      return true;
    }
    this.ctx.undo.begin();
    let orig = a;
    let handle: number;
    if (vertex != null) {
      handle = Number(vertex);
    } else {
      const after = Number(mid);
      const edge = midpoints(a).find(([k]) => k === after);
      if (!edge) {
        this.ctx.undo.end();
        return true;
      }
      this.ctx.canvas.patch(a.id, insertPoint(a, after, edge[1], edge[2]));
      orig = this.ctx.canvas.get(a.id) ?? a;
      handle = after + 1;
    }
    const world = worldPoints(orig);
    const i = this.view.keys ? this.view.keys[handle]! : handle;
    this.drag = {
      orig, handle, startX: p.x, startY: p.y, pointX: world[2 * i]!, pointY: world[2 * i + 1]!,
      moved: false, previewed: orig.points.length / 2 > LIVE_STROKE_POINTS, pending: null,
    };
    this.select(handle);
    return true;
  }

  move(p: PointerInfo): void {
    const d = this.drag;
    if (d === null) return;
    const dx = p.x - d.startX;
    const dy = p.y - d.startY;
    if (!d.moved && Math.hypot(dx, dy) * this.ctx.viewport.scale < 2) return;
    d.moved = true;
    this.write(this.moved(d, dx, dy, p.shift));
  }

  /** The fields for the drag so far; with shift a point's edge to the point before it (the
   * first point: after it) snaps to multiples of 15°, as when drawing a line. */
  private moved(d: PointDrag, dx: number, dy: number, shift: boolean): AnnotationPatch {
    const keys = this.view?.keys;
    if (keys) return bendStroke(d.orig, keys as number[], d.handle, dx, dy);
    let x = d.pointX + dx;
    let y = d.pointY + dy;
    if (shift) {
      const world = worldPoints(d.orig);
      const j = d.handle > 0 ? d.handle - 1 : 1;
      const nx = world[2 * j]!, ny = world[2 * j + 1]!;
      const [sx, sy] = snapAngle(x - nx, y - ny);
      [x, y] = [nx + sx, ny + sy];
    }
    return movePoint(d.orig, d.handle, x, y);
  }

  /** A step of the drag: written at once, or for a long stroke shown here until release. */
  private write(patch: AnnotationPatch): void {
    const d = this.drag!;
    if (!d.previewed) {
      this.ctx.canvas.patch(d.orig.id, patch);
      return;
    }
    d.pending = patch;
    const shape: Annotation = { ...d.orig, ...patch, style: d.orig.style };
    this.ctx.scene.setHidden(d.orig.id, true);
    this.ctx.scene.setDraft(shape);
    if (this.view) this.view = { ...this.view, shape };
    this.show();
  }

  /** Write a previewed drag (one update) and show the document again. */
  private flush(): void {
    const d = this.drag;
    if (d === null || !d.previewed) return;
    if (d.pending && this.ctx.canvas.has(d.orig.id)) this.ctx.canvas.patch(d.orig.id, d.pending);
    d.pending = null;
    this.ctx.scene.setDraft(null);
    this.ctx.scene.setHidden(d.orig.id, false);
    if (this.view) this.view = { ...this.view, shape: undefined };
  }

  up(): void {
    this.endDrag();
  }

  /** The drag ends where it is (a cancelled one too, like a move): one undo step. */
  private endDrag(): void {
    if (this.drag === null) return;
    this.flush();
    this.drag = null;
    this.ctx.undo.end();
    this.refresh();
  }

  /** The cursor over a handle (true), or not ours. */
  hover(p: PointerInfo): boolean {
    const t = p.event.target as Element | null;
    if (t?.closest?.("[data-vertex]")) this.ctx.setCursor("move");
    else if (t?.closest?.("[data-mid]")) this.ctx.setCursor("copy");
    else return false;
    return true;
  }

  /** Keys while editing: Escape/Enter leave, Delete removes, Tab walks, arrows nudge. */
  key(e: KeyboardEvent): boolean {
    const a = this.current();
    if (a === null || this.view === null || e.ctrlKey || e.metaKey || e.altKey) return false;
    const count = this.view.keys ? this.view.keys.length : a.points.length / 2;
    const active = this.view.active;
    if (e.key === "Escape" || e.key === "Enter") {
      this.stop();
      return true;
    }
    if (e.key === "Tab") {
      const next = active === null ? (e.shiftKey ? count - 1 : 0) : (active + (e.shiftKey ? count - 1 : 1)) % count;
      this.select(next);
      return true;
    }
    if (e.key === "Delete" || e.key === "Backspace") {
      if (active === null) toast("Click a point first to delete it (Escape leaves point editing).");
      else this.remove(a, active);
      return true;
    }
    const step = e.shiftKey ? 10 : 1;
    const dir = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[e.key];
    if (dir && active !== null) {
      if (a.locked) toast(pointsLockNote(), "error");
      else {
        this.ctx.undo.boundary();
        const world = worldPoints(a);
        const i = this.view.keys ? this.view.keys[active]! : active;
        this.ctx.canvas.patch(a.id, this.view.keys
          ? bendStroke(a, this.view.keys as number[], active, dir[0]!, dir[1]!)
          : movePoint(a, i, world[2 * i]! + dir[0]!, world[2 * i + 1]! + dir[1]!));
      }
      return true;
    }
    return false;
  }

  /** Delete the selected point (the panel's Delete button while editing points, for
   * fingers); false when no point is selected. */
  deleteSelected(): boolean {
    const a = this.current();
    if (a === null || this.view?.active == null) return false;
    this.remove(a, this.view.active);
    return true;
  }

  private remove(a: Annotation, handle: number): void {
    if (a.locked) {
      toast(pointsLockNote(), "error");
      return;
    }
    const patch = this.view?.keys ? cutStroke(a, this.view.keys as number[], handle) : removePoint(a, handle);
    if (patch === null) {
      const n = minPoints(a);
      toast(`${NAMES[a.type] ?? "This shape"} keeps at least ${n} point${n === 1 ? "" : "s"}: to remove it, leave point editing (Escape) and press Delete.`, "error");
      return;
    }
    this.ctx.undo.boundary();
    this.ctx.canvas.patch(a.id, patch);
    this.ctx.undo.boundary();
    this.select(null);
  }

  /** Whether a pointer down at `p` (not on a handle) is on the edited shape itself. */
  onShape(p: PointerInfo): boolean {
    const hit = pick(this.ctx.canvas.list(), p.x, p.y, this.ctx.tolerance());
    return hit !== null && hit.id === this.view?.id;
  }
}
