/**
 * Select, move, resize (8 handles, shift keeps the ratio), rotate (shift snaps to 15°) and
 * marquee (shift adds). Clicking a grouped annotation selects its outermost group.
 * Every drag is one undo step; locked annotations can be selected but not moved.
 * Double-click (or Enter on) a line, arrow, polygon or stroke edits its points (points.ts).
 */
import {
  boxBounds,
  center,
  contains,
  pick,
  rotate,
  type Annotation,
  type AnnotationPatch,
  type Rect,
} from "@annotd/client";
import { selectionFrame, type Frame, type Handle } from "../render/overlay";
import { PointEditor } from "./points";
import type { PointerInfo, Tool, ToolContext } from "./tool";

type Drag =
  | { kind: "move"; startX: number; startY: number; orig: Annotation[]; moved: boolean; preview: boolean; dx: number; dy: number }
  | { kind: "resize"; handle: Handle; frame: Frame; orig: Annotation[] }
  | { kind: "rotate"; cx: number; cy: number; a0: number; orig: Annotation[]; frameRot: number }
  | { kind: "marquee"; x0: number; y0: number; base: string[] };

/**
 * Moving more annotations than this at once is previewed on this page (a CSS translate) and
 * written to the document once, on release: writing every step would repaint every moved
 * shape on every page each frame (1,000 shapes: ~130 ms a frame). Others see such a move
 * when it ends; smaller moves stay live for everyone.
 */
const LIVE_MOVE_LIMIT = 50;

const FRACTIONS: Record<string, [number, number]> = {
  nw: [0, 0], n: [0.5, 0], ne: [1, 0], e: [1, 0.5], se: [1, 1], s: [0.5, 1], sw: [0, 1], w: [0, 0.5],
};

function scalePoints(points: number[], sx: number, sy: number): number[] {
  return points.map((v, i) => v * (i % 2 ? sy : sx));
}

export class SelectTool implements Tool {
  readonly id = "select" as const;
  readonly cursor = "default";
  private drag: Drag | null = null;
  private readonly points: PointEditor;

  constructor(private ctx: ToolContext) {
    this.points = new PointEditor(ctx);
  }

  private selected(): Annotation[] {
    return this.ctx.selection.ids.map((id) => this.ctx.canvas.get(id)).filter((a): a is Annotation => a !== null);
  }

  down(p: PointerInfo): void {
    const { ctx } = this;
    // while editing points: a handle is the point editor's; elsewhere on the shape clears the
    // selected point and moves the shape as usual; anywhere else leaves point editing
    if (this.points.editing !== null) {
      if (this.points.down(p)) return;
      if (this.points.onShape(p)) this.points.select(null);
      else this.points.stop();
    }
    const handle = (p.event.target as Element | null)?.closest?.("[data-handle]")?.getAttribute("data-handle") as Handle | null;
    const sel = this.selected();
    if (handle && sel.length && !ctx.readOnly()) {
      const frame = selectionFrame(sel)!;
      ctx.undo.begin();
      if (handle === "rotate") {
        const [cx, cy] = center(frame);
        this.drag = { kind: "rotate", cx, cy, a0: Math.atan2(p.y - cy, p.x - cx), orig: sel, frameRot: frame.rotation };
      } else {
        this.drag = { kind: "resize", handle, frame, orig: sel };
      }
      return;
    }
    const hit = pick(ctx.canvas.list(), p.x, p.y, ctx.tolerance());
    if (hit === null) {
      if (!p.shift) ctx.selection.clear();
      this.drag = { kind: "marquee", x0: p.x, y0: p.y, base: p.shift ? [...ctx.selection.ids] : [] };
      return;
    }
    const members = ctx.canvas.groupMembers(hit.id);
    if (p.shift) ctx.selection.toggle(members);
    else if (!ctx.selection.has(hit.id)) ctx.selection.set(members);
    const movable = this.selected().filter((a) => !a.locked);
    if (movable.length && !ctx.readOnly() && ctx.selection.has(hit.id)) {
      ctx.undo.begin();
      this.drag = { kind: "move", startX: p.x, startY: p.y, orig: movable, moved: false, preview: movable.length > LIVE_MOVE_LIMIT, dx: 0, dy: 0 };
    }
  }

  move(p: PointerInfo): void {
    if (this.points.dragging) return this.points.move(p);
    const d = this.drag;
    if (d === null) return;
    const { canvas } = this.ctx;
    if (d.kind === "move") {
      let dx = p.x - d.startX;
      let dy = p.y - d.startY;
      if (p.shift) {
        if (Math.abs(dx) > Math.abs(dy)) dy = 0;
        else dx = 0;
      }
      if (!d.moved && Math.hypot(dx, dy) * this.ctx.viewport.scale < 2) return;
      d.moved = true;
      d.dx = dx;
      d.dy = dy;
      if (d.preview) {
        this.ctx.scene.movePreview(d.orig.map((a) => a.id), dx, dy);
        this.ctx.overlay.setMoveOffset([dx, dy]);
      } else {
        canvas.patchMany(d.orig.map((a) => [a.id, { x: a.x + dx, y: a.y + dy }]));
      }
    } else if (d.kind === "resize") {
      canvas.patchMany(this.resize(d.frame, d.handle, d.orig, p));
    } else if (d.kind === "rotate") {
      let delta = ((Math.atan2(p.y - d.cy, p.x - d.cx) - d.a0) * 180) / Math.PI;
      if (p.shift) delta = Math.round((d.frameRot + delta) / 15) * 15 - d.frameRot;
      canvas.patchMany(
        d.orig.map((a) => {
          const [acx, acy] = center(a);
          const [ncx, ncy] = d.orig.length > 1 ? rotate(acx, acy, d.cx, d.cy, delta) : [acx, acy];
          const rotation = (((a.rotation + delta) % 360) + 360) % 360;
          return [a.id, { x: ncx - a.w / 2, y: ncy - a.h / 2, rotation }];
        }),
      );
    } else {
      const r: Rect = { x: Math.min(d.x0, p.x), y: Math.min(d.y0, p.y), w: Math.abs(p.x - d.x0), h: Math.abs(p.y - d.y0) };
      this.ctx.overlay.setMarquee(r);
      const inside = canvas.list().filter((a) => contains(r, boxBounds(a)));
      const ids = new Set(d.base);
      for (const a of inside) for (const m of canvas.groupMembers(a.id)) ids.add(m);
      this.ctx.selection.set(ids);
    }
  }

  private resize(f: Frame, handle: Handle, orig: Annotation[], p: PointerInfo): [string, AnnotationPatch][] {
    const [fx, fy] = FRACTIONS[handle]!;
    const ax = fx === 0.5 ? 0.5 : 1 - fx;
    const ay = fy === 0.5 ? 0.5 : 1 - fy;
    const [cx, cy] = center(f);
    const [Ax, Ay] = rotate(f.x + ax * f.w, f.y + ay * f.h, cx, cy, f.rotation);
    const [vx, vy] = rotate(p.x - Ax, p.y - Ay, 0, 0, -f.rotation);
    const dirx = Math.sign(fx - ax);
    const diry = Math.sign(fy - ay);
    const minSize = 1 / this.ctx.viewport.scale;
    let w = dirx ? Math.max(minSize, dirx * vx) : f.w;
    let h = diry ? Math.max(minSize, diry * vy) : f.h;
    if (p.shift && dirx && diry && f.w > 0 && f.h > 0) {
      const s = Math.max(w / f.w, h / f.h);
      w = f.w * s;
      h = f.h * s;
    }
    const x0 = dirx > 0 ? 0 : dirx < 0 ? -w : -ax * w;
    const y0 = diry > 0 ? 0 : diry < 0 ? -h : -ay * h;
    const [lcx, lcy] = rotate(x0 + w / 2, y0 + h / 2, 0, 0, f.rotation);
    const nf = { x: Ax + lcx - w / 2, y: Ay + lcy - h / 2, w, h };
    const sx = f.w > 0 ? w / f.w : 1;
    const sy = f.h > 0 ? h / f.h : 1;
    return orig.map((a) => {
      const patch: AnnotationPatch = {};
      if (orig.length === 1) {
        Object.assign(patch, { x: nf.x, y: nf.y, w: nf.w, h: nf.h });
      } else {
        const [acx, acy] = center(a);
        const ncx = nf.x + (acx - f.x) * sx;
        const ncy = nf.y + (acy - f.y) * sy;
        Object.assign(patch, { x: ncx - (a.w * sx) / 2, y: ncy - (a.h * sy) / 2, w: a.w * sx, h: a.h * sy });
      }
      if (a.points.length) {
        const psx = a.w > 0 ? patch.w! / a.w : 1;
        const psy = a.h > 0 ? patch.h! / a.h : 1;
        patch.points = scalePoints(a.points, psx, psy);
        if (a.type === "freehand" && a.pressures) patch.pressures = a.pressures;
      }
      return [a.id, patch];
    });
  }

  up(): void {
    if (this.points.dragging) return this.points.up();
    const d = this.drag;
    this.drag = null;
    if (d === null) return;
    if (d.kind === "marquee") this.ctx.overlay.setMarquee(null);
    else {
      if (d.kind === "move") this.writePreviewedMove(d);
      this.ctx.undo.end();
    }
  }

  /** A previewed move becomes one document write (inside the drag's undo step). */
  private writePreviewedMove(d: Extract<Drag, { kind: "move" }>): void {
    if (!d.preview) return;
    this.ctx.scene.movePreview(null);
    this.ctx.overlay.setMoveOffset(null);
    if (d.moved && (d.dx !== 0 || d.dy !== 0)) {
      // only what is still there: someone may have deleted some of them meanwhile
      const ids = d.orig.filter((a) => this.ctx.canvas.has(a.id));
      this.ctx.canvas.patchMany(ids.map((a) => [a.id, { x: a.x + d.dx, y: a.y + d.dy }]));
    }
  }

  hover(p: PointerInfo): void {
    if (this.points.editing !== null && this.points.hover(p)) return;
    const handle = (p.event.target as Element | null)?.closest?.("[data-handle]")?.getAttribute("data-handle");
    if (handle) {
      this.ctx.setCursor(handle === "rotate" ? "grab" : this.resizeCursor(handle));
      return;
    }
    const hit = pick(this.ctx.canvas.list(), p.x, p.y, this.ctx.tolerance());
    this.ctx.setCursor(hit && !hit.locked ? "move" : "default");
  }

  private resizeCursor(h: string): string {
    const sel = this.selected();
    const rot = sel.length === 1 ? sel[0]!.rotation : 0;
    const base = { n: 0, ne: 45, e: 90, se: 135, s: 180, sw: 225, w: 270, nw: 315 }[h] ?? 0;
    const a = (((base + rot) % 180) + 180) % 180;
    const names = ["ns-resize", "nesw-resize", "ew-resize", "nwse-resize"];
    return names[Math.round(a / 45) % 4]!;
  }

  dblclick(p: PointerInfo): void {
    const hit = pick(this.ctx.canvas.list(), p.x, p.y, this.ctx.tolerance());
    if (hit && hit.type === "text" && !hit.locked && !this.ctx.readOnly()) this.ctx.editText(hit.id);
    else if (PointEditor.accepts(hit) && this.points.editing !== hit.id) this.points.start(hit);
  }

  /** Enter edits the points of the one selected line, arrow, polygon or stroke; while
   * editing, the point editor has the keys it knows. */
  key(e: KeyboardEvent): boolean {
    if (this.points.editing !== null) return this.points.key(e);
    const sel = this.selected();
    if (e.key !== "Enter" || e.ctrlKey || e.metaKey || e.altKey || sel.length !== 1 || !PointEditor.accepts(sel[0]!)) return false;
    this.points.start(sel[0]!);
    return true;
  }

  deleteOwn(): boolean {
    return this.points.deleteSelected();
  }

  deactivate(): void {
    this.points.stop();
  }

  cancel(): void {
    if (this.points.dragging) return this.points.up();
    const d = this.drag;
    this.drag = null;
    if (d?.kind === "marquee") this.ctx.overlay.setMarquee(null);
    else if (d) {
      // like a live move, what was moved so far stays (and is one undo step)
      if (d.kind === "move") this.writePreviewedMove(d);
      this.ctx.undo.end();
    }
  }
}
