/**
 * Box geometry in image pixels: rotation about the box centre (clockwise degrees, y down, as
 * protocol.md says), bounds, and hit-testing done in each shape's unrotated frame.
 *
 * Hit-testing is geometric rather than DOM-based so thin strokes get a tolerance in screen
 * pixels and hollow shapes can be picked by their inside when nothing else is under the
 * pointer, without adding invisible elements to the drawing.
 */
import type { Annotation } from "./schema.js";

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export function rotate(px: number, py: number, cx: number, cy: number, deg: number): [number, number] {
  if (!deg) return [px, py];
  const r = (deg * Math.PI) / 180;
  const c = Math.cos(r);
  const s = Math.sin(r);
  const dx = px - cx;
  const dy = py - cy;
  return [cx + dx * c - dy * s, cy + dx * s + dy * c];
}

export function center(a: Rect): [number, number] {
  return [a.x + a.w / 2, a.y + a.h / 2];
}

/** The box corners after rotation: top-left, top-right, bottom-right, bottom-left. */
export function corners(a: Annotation): [number, number][] {
  const [cx, cy] = center(a);
  return [
    [a.x, a.y],
    [a.x + a.w, a.y],
    [a.x + a.w, a.y + a.h],
    [a.x, a.y + a.h],
  ].map(([x, y]) => rotate(x!, y!, cx, cy, a.rotation));
}

/** The point at fractions (fx, fy) of the box, rotated with it (comment pins use this). */
export function boxPoint(a: Annotation, fx: number, fy: number): [number, number] {
  const [cx, cy] = center(a);
  return rotate(a.x + fx * a.w, a.y + fy * a.h, cx, cy, a.rotation);
}

/** Axis-aligned bounds of the rotated box, with room for the stroke. */
export function bounds(a: Annotation): Rect {
  let x0 = a.x, y0 = a.y, x1 = a.x + a.w, y1 = a.y + a.h;
  for (let i = 0; i + 1 < a.points.length; i += 2) {
    const px = a.x + a.points[i]!, py = a.y + a.points[i + 1]!;
    x0 = Math.min(x0, px); y0 = Math.min(y0, py); x1 = Math.max(x1, px); y1 = Math.max(y1, py);
  }
  const [cx, cy] = center(a);
  const pts = a.rotation ? [[x0, y0], [x1, y0], [x1, y1], [x0, y1]].map(([x, y]) => rotate(x!, y!, cx, cy, a.rotation)) : [[x0, y0], [x1, y1]];
  let m = a.style.strokeWidth * 1.5 + 2;
  if (a.type === "line" || a.type === "arrow") m += Math.max(10, 3 * a.style.strokeWidth + 6);
  if (a.type === "text") m += a.style.fontSize;
  const xs = pts.map((p) => p[0]!);
  const ys = pts.map((p) => p[1]!);
  const bx = Math.min(...xs) - m, by = Math.min(...ys) - m;
  return { x: bx, y: by, w: Math.max(...xs) + m - bx, h: Math.max(...ys) + m - by };
}

export function union(rects: Rect[]): Rect | null {
  if (rects.length === 0) return null;
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const r of rects) {
    x0 = Math.min(x0, r.x); y0 = Math.min(y0, r.y); x1 = Math.max(x1, r.x + r.w); y1 = Math.max(y1, r.y + r.h);
  }
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

export function intersects(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

export function contains(outer: Rect, inner: Rect): boolean {
  return inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.w <= outer.x + outer.w && inner.y + inner.h <= outer.y + outer.h;
}

/** The rotated box itself, as an axis-aligned rect (without stroke margins). */
export function boxBounds(a: Annotation): Rect {
  const cs = corners(a);
  const xs = cs.map((p) => p[0]);
  const ys = cs.map((p) => p[1]);
  const x = Math.min(...xs), y = Math.min(...ys);
  return { x, y, w: Math.max(...xs) - x, h: Math.max(...ys) - y };
}

function segDist(px: number, py: number, x1: number, y1: number, x2: number, y2: number): number {
  const dx = x2 - x1, dy = y2 - y1;
  const len = dx * dx + dy * dy;
  let t = len ? ((px - x1) * dx + (py - y1) * dy) / len : 0;
  t = Math.max(0, Math.min(1, t));
  return Math.hypot(px - (x1 + t * dx), py - (y1 + t * dy));
}

function inPolygon(px: number, py: number, pts: number[], ox: number, oy: number): boolean {
  let inside = false;
  const n = pts.length / 2;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const xi = ox + pts[2 * i]!, yi = oy + pts[2 * i + 1]!;
    const xj = ox + pts[2 * j]!, yj = oy + pts[2 * j + 1]!;
    if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

export type Hit = "edge" | "inside" | null;

/**
 * Does (x, y) touch `a`? "edge": on its ink (stroke within `tol` image px, a filled
 * interior, a text box); "inside": within a hollow shape (a weaker hit).
 */
export function hitTest(a: Annotation, x: number, y: number, tol: number): Hit {
  const [cx, cy] = center(a);
  const [px, py] = rotate(x, y, cx, cy, -a.rotation);
  const sw = a.style.strokeWidth / 2 + tol;
  const filled = a.style.fill !== "none";
  switch (a.type) {
    case "text":
      return px >= a.x - tol && px <= a.x + a.w + tol && py >= a.y - tol && py <= a.y + a.h + tol ? "edge" : null;
    case "rect": {
      const inX = px >= a.x - sw && px <= a.x + a.w + sw;
      const inY = py >= a.y - sw && py <= a.y + a.h + sw;
      if (!inX || !inY) return null;
      const nearEdge = Math.abs(px - a.x) <= sw || Math.abs(px - a.x - a.w) <= sw || Math.abs(py - a.y) <= sw || Math.abs(py - a.y - a.h) <= sw;
      return nearEdge || filled ? "edge" : "inside";
    }
    case "ellipse": {
      const rx = a.w / 2, ry = a.h / 2;
      if (rx <= 0 || ry <= 0) return Math.hypot(px - cx, py - cy) <= sw ? "edge" : null;
      const d = Math.hypot((px - cx) / rx, (py - cy) / ry);
      const edgeTol = sw / Math.min(rx, ry);
      if (Math.abs(d - 1) <= edgeTol) return "edge";
      return d < 1 ? (filled ? "edge" : "inside") : null;
    }
    default: {
      const pts = a.points;
      const closed = a.type === "polygon" && a.closed;
      const n = pts.length / 2;
      let width = sw;
      if (a.type === "freehand" && a.pressures) width = (a.style.strokeWidth / 2) * 1.5 + tol;
      for (let i = 0; i < n - 1 + (closed ? 1 : 0); i++) {
        const j = (i + 1) % n;
        if (segDist(px, py, a.x + pts[2 * i]!, a.y + pts[2 * i + 1]!, a.x + pts[2 * j]!, a.y + pts[2 * j + 1]!) <= width) return "edge";
      }
      if (n === 1 && Math.hypot(px - a.x - pts[0]!, py - a.y - pts[1]!) <= width) return "edge";
      if (closed && n >= 3 && inPolygon(px, py, pts, a.x, a.y)) return filled ? "edge" : "inside";
      return null;
    }
  }
}

/** The annotation under (x, y): the top-most ink hit, else the smallest hollow shape around it. */
export function pick(list: Annotation[], x: number, y: number, tol: number): Annotation | null {
  let inside: Annotation | null = null;
  for (let i = list.length - 1; i >= 0; i--) {
    const a = list[i]!;
    const h = hitTest(a, x, y, tol);
    if (h === "edge") return a;
    if (h === "inside" && (inside === null || a.w * a.h < inside.w * inside.h)) inside = a;
  }
  return inside;
}
