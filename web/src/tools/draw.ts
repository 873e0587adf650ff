/**
 * Drawing tools: rect and ellipse (drag a box; shift = square/circle), line and arrow (drag;
 * shift snaps to 15°), freehand (pointer events, coalesced samples, pressure from pens) and
 * polygon (click points; Enter, a double-click or a click on the first point closes it,
 * Backspace removes the last point, Escape cancels).
 *
 * A shape is created once the pointer moved a few pixels and then patched as it grows, so
 * the others see it being drawn; freehand strokes are written at most every 50 ms (a stroke
 * is one plain array, replaced whole). After drawing, the tool hands back to select with the
 * new shape selected. A shape abandoned half-drawn (Escape, a tool switch, a second finger,
 * a cancelled pointer) is taken back and leaves no undo step. Point offsets are normalized so (x, y) is the points' top-left.
 * Enter with no gesture under way places a default shape at the view's centre (place.ts).
 */
import { MAX_POINTS, normalizePoints, STYLE_DEFAULTS, type Annotation, type AnnotationType } from "@annotd/client";
import { isPlaceKey, placeShape } from "./place";
import { snapAngle, type PointerInfo, type Tool, type ToolContext } from "./tool";

const START_PX = 3;

abstract class DragTool implements Tool {
  abstract readonly id: Exclude<AnnotationType, "text">;
  readonly cursor = "crosshair";
  protected start: [number, number] | null = null;
  protected created: string | null = null;

  constructor(protected ctx: ToolContext) {}

  down(p: PointerInfo): void {
    if (this.ctx.readOnly()) return;
    this.start = [p.x, p.y];
    this.created = null;
    this.ctx.selection.clear();
    this.ctx.undo.begin();
  }

  move(p: PointerInfo): void {
    if (this.start === null) return;
    const [x0, y0] = this.start;
    if (this.created === null && Math.hypot(p.x - x0, p.y - y0) * this.ctx.viewport.scale < START_PX) return;
    this.apply(p);
  }

  protected abstract apply(p: PointerInfo): void;

  up(p: PointerInfo): void {
    if (this.start === null) return;
    if (this.created !== null) this.apply(p);
    this.finish();
  }

  protected finish(): void {
    const id = this.created;
    this.start = null;
    this.created = null;
    this.ctx.undo.end();
    if (id !== null) {
      this.ctx.setTool("select");
      this.ctx.selection.set([id]);
    }
  }

  /** Abandon the shape being drawn: it disappears and leaves no undo step. */
  cancel(): void {
    if (this.start === null) return;
    this.start = null;
    this.created = null;
    this.ctx.undo.abandon();
  }

  key(e: KeyboardEvent): boolean {
    if (this.start !== null || !isPlaceKey(e)) return false;
    placeShape(this.ctx, this.id);
    return true;
  }
}

export class BoxTool extends DragTool {
  constructor(ctx: ToolContext, readonly id: "rect" | "ellipse") {
    super(ctx);
  }

  protected apply(p: PointerInfo): void {
    const [x0, y0] = this.start!;
    let w = p.x - x0;
    let h = p.y - y0;
    if (p.shift) {
      const m = Math.max(Math.abs(w), Math.abs(h));
      w = Math.sign(w || 1) * m;
      h = Math.sign(h || 1) * m;
    }
    const box = { x: Math.min(x0, x0 + w), y: Math.min(y0, y0 + h), w: Math.abs(w), h: Math.abs(h) };
    if (this.created === null) this.created = this.ctx.canvas.create({ type: this.id, ...box, style: this.ctx.newStyle() });
    else this.ctx.canvas.patch(this.created, box);
  }
}

export class LineTool extends DragTool {
  constructor(ctx: ToolContext, readonly id: "line" | "arrow") {
    super(ctx);
  }

  protected apply(p: PointerInfo): void {
    const [x0, y0] = this.start!;
    let [dx, dy] = [p.x - x0, p.y - y0];
    if (p.shift) [dx, dy] = snapAngle(dx, dy);
    const n = normalizePoints([x0, y0, x0 + dx, y0 + dy]);
    if (this.created === null) {
      this.created = this.ctx.canvas.create({ type: this.id, ...n, style: this.ctx.newStyle(), ...this.ctx.newArrowheads(this.id) });
    } else this.ctx.canvas.patch(this.created, n);
  }
}

export class FreehandTool implements Tool {
  readonly id = "freehand" as const;
  readonly cursor = "crosshair";
  private pts: number[] | null = null;
  private pressures: number[] = [];
  private hasPressure = false;
  private created: string | null = null;
  private lastWrite = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private ctx: ToolContext) {}

  down(p: PointerInfo): void {
    if (this.ctx.readOnly()) return;
    this.pts = [p.x, p.y];
    this.hasPressure = p.pressure !== null;
    this.pressures = [p.pressure ?? 0.5];
    this.created = null;
    this.ctx.selection.clear();
    this.ctx.undo.begin();
  }

  private add(x: number, y: number, pressure: number | null): void {
    const pts = this.pts!;
    const lx = pts[pts.length - 2]!;
    const ly = pts[pts.length - 1]!;
    if (Math.hypot(x - lx, y - ly) * this.ctx.viewport.scale < 1 || pts.length >= 2 * MAX_POINTS) return;
    pts.push(x, y);
    this.pressures.push(pressure ?? 0.5);
  }

  move(p: PointerInfo): void {
    if (this.pts === null) return;
    const ev = p.event as PointerEvent;
    const samples = typeof ev.getCoalescedEvents === "function" ? ev.getCoalescedEvents() : [];
    if (samples.length > 1) {
      const rect = (ev.currentTarget as Element | null)?.getBoundingClientRect?.();
      for (const s of samples) {
        if (rect === undefined) break;
        const [x, y] = this.ctx.viewport.toImage(s.clientX - rect.left, s.clientY - rect.top);
        this.add(x, y, this.hasPressure ? s.pressure : null);
      }
    } else {
      this.add(p.x, p.y, p.pressure);
    }
    if (this.created === null && this.pts.length < 4) return;
    this.scheduleWrite();
  }

  private scheduleWrite(): void {
    const wait = this.lastWrite + 50 - performance.now();
    if (wait <= 0) this.write();
    else if (this.timer === null) this.timer = setTimeout(() => this.write(), wait);
  }

  private write(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pts === null) return;
    this.lastWrite = performance.now();
    const n = normalizePoints(this.pts);
    const pressures = this.hasPressure ? this.pressures.map((v) => Math.round(Math.min(1, Math.max(0, v)) * 1000) / 1000) : null;
    if (this.created === null) {
      this.created = this.ctx.canvas.create({ type: "freehand", ...n, pressures, style: this.ctx.newStyle() });
    } else this.ctx.canvas.patch(this.created, { ...n, pressures });
  }

  up(p: PointerInfo): void {
    if (this.pts === null) return;
    this.add(p.x, p.y, p.pressure);
    if (this.created !== null || this.pts.length >= 4) this.write();
    const id = this.created;
    this.pts = null;
    this.created = null;
    this.ctx.undo.end();
    if (id !== null) this.ctx.selection.set([]);
  }

  key(e: KeyboardEvent): boolean {
    if (this.pts !== null || !isPlaceKey(e)) return false;
    placeShape(this.ctx, "freehand");
    return true;
  }

  /** Abandon the stroke being drawn: it disappears and leaves no undo step. */
  cancel(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pts !== null) this.ctx.undo.abandon();
    this.pts = null;
    this.created = null;
  }
}

export class PolygonTool implements Tool {
  readonly id = "polygon" as const;
  readonly cursor = "crosshair";
  private pts: number[] = [];
  private cursorAt: [number, number] | null = null;

  constructor(private ctx: ToolContext) {}

  private draft(): void {
    const pts = this.cursorAt ? [...this.pts, ...this.cursorAt] : this.pts;
    if (pts.length < 4) {
      this.ctx.scene.setDraft(null);
      return;
    }
    const n = normalizePoints(pts);
    const style = { ...STYLE_DEFAULTS, ...this.ctx.newStyle() };
    const draft: Annotation = {
      id: "draft", type: "polygon", x: n.x, y: n.y, w: 0, h: 0, rotation: 0, z: "a0", groupIds: [], locked: false, style,
      createdBy: "", updatedBy: "", updatedAt: 0, text: "", wrap: true, points: n.points, pressures: null,
      startArrowhead: "none", endArrowhead: "none", closed: false,
    };
    this.ctx.scene.setDraft(draft);
  }

  down(p: PointerInfo): void {
    if (this.ctx.readOnly()) return;
    if (this.pts.length >= 6) {
      const [sx, sy] = this.ctx.viewport.toScreen(this.pts[0]!, this.pts[1]!);
      if (Math.hypot(sx - p.sx, sy - p.sy) <= 8) {
        this.commit();
        return;
      }
    }
    this.pts.push(p.x, p.y);
    this.draft();
  }

  move(p: PointerInfo): void {
    this.cursorAt = [p.x, p.y];
    if (this.pts.length) this.draft();
  }

  hoverMove(p: PointerInfo): void {
    this.move(p);
  }

  up(): void {}

  dblclick(): void {
    // the double-click's two clicks added the same point twice: drop the repeat
    const n = this.pts.length;
    if (n >= 4 && this.pts[n - 1] === this.pts[n - 3] && this.pts[n - 2] === this.pts[n - 4]) this.pts.splice(n - 2, 2);
    this.commit();
  }

  key(e: KeyboardEvent): boolean {
    if (!this.pts.length) {
      if (!isPlaceKey(e)) return false;
      placeShape(this.ctx, "polygon");
      return true;
    }
    if (e.key === "Enter") {
      this.commit();
      return true;
    }
    if (e.key === "Escape") {
      this.reset();
      return true;
    }
    if (e.key === "Backspace") {
      this.pts.splice(-2, 2);
      this.draft();
      return true;
    }
    return false;
  }

  private commit(): void {
    const pts = this.pts;
    this.reset();
    if (pts.length < 6) return;
    const n = normalizePoints(pts);
    const id = this.ctx.canvas.create({ type: "polygon", ...n, closed: true, style: this.ctx.newStyle() });
    this.ctx.undo.boundary();
    this.ctx.setTool("select");
    this.ctx.selection.set([id]);
  }

  private reset(): void {
    this.pts = [];
    this.cursorAt = null;
    this.ctx.scene.setDraft(null);
  }

  cancel(): void {
    this.reset();
  }

  deactivate(): void {
    this.reset();
  }
}
