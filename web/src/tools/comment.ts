/**
 * The comment tool: click an annotation to pin a thread on it (at the clicked point of its
 * box, as fractions of the box, so the pin follows moves, resizes and rotations: the
 * inverse of the server's pin rule), click empty canvas for a point, or drag an area for a
 * region. What it picked goes to `place` (the new-comment box).
 */
import type { RoomApp } from "../app/room";
import { offsetsOn, pick, type NewAnchor } from "@annotd/client";
import { svgEl } from "../render/svg";
import type { PointerInfo, Tool } from "./tool";

const DRAG_PX = 5;

export class CommentTool implements Tool {
  readonly id = "comment" as const;
  readonly cursor = "crosshair";
  private start: PointerInfo | null = null;
  private rect: SVGRectElement | null = null;

  constructor(
    private app: RoomApp,
    private place: (anchor: NewAnchor) => void,
  ) {}

  down(p: PointerInfo): void {
    if (this.app.readOnly) return;
    this.start = p;
  }

  private dragged(p: PointerInfo): boolean {
    return this.start !== null && Math.hypot(p.sx - this.start.sx, p.sy - this.start.sy) >= DRAG_PX;
  }

  move(p: PointerInfo): void {
    if (this.start === null || !this.dragged(p)) return;
    if (this.rect === null) {
      this.rect = svgEl("rect", { class: "anchor-outline region draft" });
      this.app.scene.overlay.appendChild(this.rect);
    }
    const s = this.start;
    for (const [k, v] of Object.entries({ x: Math.min(s.sx, p.sx), y: Math.min(s.sy, p.sy), width: Math.abs(p.sx - s.sx), height: Math.abs(p.sy - s.sy) })) {
      this.rect.setAttribute(k, String(v));
    }
  }

  up(p: PointerInfo): void {
    const s = this.start;
    if (s === null) return;
    const region = this.dragged(p);
    this.cancel();
    const round = (v: number) => Math.round(v * 100) / 100;
    if (region) {
      this.place({ kind: "region", x: round(Math.min(s.x, p.x)), y: round(Math.min(s.y, p.y)), w: round(Math.abs(p.x - s.x)), h: round(Math.abs(p.y - s.y)) });
      return;
    }
    const hit = pick(this.app.canvas.list(), s.x, s.y, 6 / this.app.viewport.scale);
    if (hit !== null) {
      const [fx, fy] = offsetsOn(hit, s.x, s.y);
      this.place({ kind: "annotation", annotationId: hit.id, offsetX: Math.round(fx * 10_000) / 10_000, offsetY: Math.round(fy * 10_000) / 10_000 });
    } else {
      this.place({ kind: "point", x: round(s.x), y: round(s.y) });
    }
  }

  cancel(): void {
    this.start = null;
    this.rect?.remove();
    this.rect = null;
  }

  key(e: KeyboardEvent): boolean {
    if (e.key === "Escape" && this.start !== null) {
      this.cancel();
      return true;
    }
    return false;
  }
}
