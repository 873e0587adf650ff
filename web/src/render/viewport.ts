/**
 * Pan and zoom: screen = image × scale + (tx, ty). Geometry stays in image pixels; only the
 * world group's transform changes, so a pan or zoom repaints without touching any shape.
 *
 * `live` changes (a wheel, pinch or drag in progress) are shown by the scene as a
 * compositor-only CSS transform and committed when the gesture pauses (render/scene.ts).
 */
import type { Viewport as Rect } from "@annotd/client";

export const MIN_SCALE = 0.02;
export const MAX_SCALE = 32;

export class Viewport {
  scale = 1;
  tx = 0;
  ty = 0;
  width = 1;
  height = 1;
  /** True while the last change belongs to a gesture still in progress. */
  live = false;
  private listeners = new Set<() => void>();

  onChange(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private emit(): void {
    for (const l of this.listeners) l();
  }

  setSize(w: number, h: number): void {
    this.width = Math.max(1, w);
    this.height = Math.max(1, h);
    this.emit();
  }

  set(scale: number, tx: number, ty: number, live = false): void {
    this.scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale));
    this.tx = tx;
    this.ty = ty;
    this.live = live;
    this.emit();
  }

  toImage(sx: number, sy: number): [number, number] {
    return [(sx - this.tx) / this.scale, (sy - this.ty) / this.scale];
  }

  toScreen(x: number, y: number): [number, number] {
    return [x * this.scale + this.tx, y * this.scale + this.ty];
  }

  panBy(dx: number, dy: number, live = false): void {
    this.set(this.scale, this.tx + dx, this.ty + dy, live);
  }

  /** Zoom by `factor` keeping the image point under (sx, sy) fixed. */
  zoomAt(sx: number, sy: number, factor: number, live = false): void {
    const next = Math.min(MAX_SCALE, Math.max(MIN_SCALE, this.scale * factor));
    const [ix, iy] = this.toImage(sx, sy);
    this.set(next, sx - ix * next, sy - iy * next, live);
  }

  zoomCenter(factor: number): void {
    this.zoomAt(this.width / 2, this.height / 2, factor);
  }

  /** Show the image-pixel rectangle `r` whole, centred (fit, follow). */
  showRect(r: Rect, margin = 0): void {
    const s = Math.min((this.width - 2 * margin) / Math.max(r.w, 1), (this.height - 2 * margin) / Math.max(r.h, 1));
    const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, s));
    this.set(scale, this.width / 2 - (r.x + r.w / 2) * scale, this.height / 2 - (r.y + r.h / 2) * scale);
  }

  /** 100 %: one image pixel per CSS pixel, keeping the centre. */
  actualSize(): void {
    const [cx, cy] = this.toImage(this.width / 2, this.height / 2);
    this.set(1, Math.round(this.width / 2 - cx), Math.round(this.height / 2 - cy));
  }

  /** The visible image-pixel rectangle (what presence sends as `viewport`). */
  visible(): Rect {
    const [x, y] = this.toImage(0, 0);
    return { x, y, w: this.width / this.scale, h: this.height / this.scale };
  }

  transform(): string {
    return `matrix(${this.scale} 0 0 ${this.scale} ${this.tx} ${this.ty})`;
  }
}
