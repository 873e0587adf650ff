/**
 * Annotation → paint ops, by the export's rules (annotd/render/scene.py and DESIGN.md
 * "Visual conventions"): caps/joins per type, dash lengths, arrowhead sizes and trimming,
 * pressure strokes as discs + quads, ellipses as the same polygons, text colour = stroke and
 * fill = the text box. Decided here once, in image pixels; render/svg.ts only turns ops into
 * SVG elements. Keeping this a port of scene.py is what makes the screen match the export.
 */
import type { Annotation, Style } from "@annotd/client";
import type { TextLayout } from "./text";

export type Pt = [number, number];

export interface FillOp {
  kind: "fill";
  polys: Pt[][];
  color: string;
}

export interface StrokeOp {
  kind: "stroke";
  paths: { pts: Pt[]; closed: boolean }[];
  width: number;
  color: string;
  round: boolean;
  dash: [number, number] | null;
}

export interface TextLineOp {
  text: string;
  x: number;
  baseline: number;
  anchor: "l" | "m" | "r";
  /** The line's paragraph runs right to left: "start" is its right end. */
  rtl: boolean;
}

export interface TextOp {
  kind: "text";
  lines: TextLineOp[];
  family: string;
  weight: string;
  size: number;
  color: string;
}

export type Op = FillOp | StrokeOp | TextOp;

export function circleSegments(radius: number): number {
  if (radius <= 0.5) return 8;
  const n = Math.ceil(Math.PI / Math.acos(Math.max(-1, 1 - 0.1 / radius)));
  return Math.max(8, Math.min(128, n));
}

export function ellipsePoly(cx: number, cy: number, rx: number, ry: number, n = circleSegments(Math.max(rx, ry))): Pt[] {
  const step = (2 * Math.PI) / n;
  const out: Pt[] = [];
  for (let i = 0; i < n; i++) out.push([cx + rx * Math.cos(i * step), cy + ry * Math.sin(i * step)]);
  return out;
}

function signedArea(poly: Pt[]): number {
  let s = 0;
  for (let i = 0; i < poly.length; i++) {
    const [x1, y1] = poly[i]!;
    const [x2, y2] = poly[(i + 1) % poly.length]!;
    s += x1 * y2 - x2 * y1;
  }
  return s / 2;
}

function oriented(poly: Pt[]): Pt[] {
  return signedArea(poly) >= 0 ? poly : [...poly].reverse();
}

function dist(a: Pt, b: Pt): number {
  return Math.hypot(b[0] - a[0], b[1] - a[1]);
}

export function polylineLength(pts: Pt[]): number {
  let s = 0;
  for (let i = 1; i < pts.length; i++) s += dist(pts[i - 1]!, pts[i]!);
  return s;
}

/** (on, off) in image pixels, relative to the stroke width (scene.py `dash_pattern`). */
export function dashPattern(style: Style, roundCaps: boolean): [number, number] | null {
  const w = style.strokeWidth;
  if (style.strokeStyle === "dashed") return [Math.max(8, 4 * w), Math.max(6, 3 * w)];
  if (style.strokeStyle === "dotted") return roundCaps ? [0, Math.max(4, 2 * w)] : [w, Math.max(2, w * 2)];
  return null;
}

/** Stroke outline with round caps/joins as discs + quads (for pressure-varying width). */
export function roundStroke(pts: Pt[], radii: number[]): Pt[][] {
  const pieces: Pt[][] = [];
  for (let i = 0; i < pts.length; i++) {
    const p = pts[i]!;
    const r = radii[i]!;
    if (r > 0) pieces.push(ellipsePoly(p[0], p[1], r, r));
    if (i === 0) continue;
    const [x1, y1] = pts[i - 1]!;
    const [x2, y2] = p;
    const seg = Math.hypot(x2 - x1, y2 - y1);
    if (seg === 0) continue;
    const nx = -(y2 - y1) / seg;
    const ny = (x2 - x1) / seg;
    const r1 = radii[i - 1]!;
    pieces.push(oriented([[x1 + nx * r1, y1 + ny * r1], [x2 + nx * r, y2 + ny * r], [x2 - nx * r, y2 - ny * r], [x1 - nx * r1, y1 - ny * r1]]));
  }
  return pieces;
}

function lastDirection(pts: Pt[]): [Pt, Pt] | null {
  if (pts.length < 2) return null;
  const tip = pts[pts.length - 1]!;
  for (let i = pts.length - 2; i >= 0; i--) {
    const q = pts[i]!;
    const d = dist(q, tip);
    if (d > 1e-9) return [tip, [(tip[0] - q[0]) / d, (tip[1] - q[1]) / d]];
  }
  return null;
}

function arrowhead(kind: string, pts: Pt[], width: number, color: string, total: number): [Op[], number] {
  const d = lastDirection(pts);
  if (kind === "none" || d === null) return [[], 0];
  const [[tx, ty], [ux, uy]] = d;
  const size = Math.min(Math.max(10, 3 * width + 6), 0.45 * total);
  if (kind === "dot") {
    const r = Math.max(3, 1.5 * width);
    return [[{ kind: "fill", polys: [ellipsePoly(tx, ty, r, r)], color }], 0];
  }
  const nx = -uy;
  const ny = ux;
  const half = size * (kind === "triangle" ? 0.55 : 0.6);
  const bx = tx - ux * size;
  const by = ty - uy * size;
  const left: Pt = [bx + nx * half, by + ny * half];
  const right: Pt = [bx - nx * half, by - ny * half];
  if (kind === "triangle") return [[{ kind: "fill", polys: [oriented([[tx, ty], left, right])], color }], size * 0.6];
  return [[{ kind: "stroke", paths: [{ pts: [left, [tx, ty], right], closed: false }], width, color, round: true, dash: null }], 0];
}

function trimEnd(pts: Pt[], d: number): Pt[] {
  const out = [...pts];
  while (d > 0 && out.length >= 2) {
    const seg = dist(out[out.length - 2]!, out[out.length - 1]!);
    if (seg > d) {
      const [x1, y1] = out[out.length - 2]!;
      const [x2, y2] = out[out.length - 1]!;
      const t = (seg - d) / seg;
      out[out.length - 1] = [x1 + (x2 - x1) * t, y1 + (y2 - y1) * t];
      break;
    }
    d -= seg;
    out.pop();
  }
  return out;
}

export function absPoints(a: Annotation): Pt[] {
  const out: Pt[] = [];
  for (let i = 0; i + 1 < a.points.length; i += 2) out.push([a.x + a.points[i]!, a.y + a.points[i + 1]!]);
  return out;
}

function isPaint(c: string): boolean {
  return c !== "none";
}

function lineOps(a: Annotation): Op[] {
  const pts = absPoints(a);
  const s = a.style;
  if (!isPaint(s.stroke) || s.strokeWidth <= 0 || pts.length < 2) return [];
  const total = polylineLength(pts);
  const [headEnd, trimE] = arrowhead(a.endArrowhead, pts, s.strokeWidth, s.stroke, total);
  const [headStart, trimS] = arrowhead(a.startArrowhead, [...pts].reverse(), s.strokeWidth, s.stroke, total);
  const body = trimEnd(trimEnd(pts, trimE).reverse(), trimS).reverse();
  const ops: Op[] = [];
  if (body.length >= 2) ops.push({ kind: "stroke", paths: [{ pts: body, closed: false }], width: s.strokeWidth, color: s.stroke, round: true, dash: dashPattern(s, true) });
  return [...ops, ...headStart, ...headEnd];
}

function freehandOps(a: Annotation): Op[] {
  const s = a.style;
  if (!isPaint(s.stroke) || s.strokeWidth <= 0 || a.points.length < 2) return [];
  let pts = absPoints(a);
  if (pts.length === 1) pts = [pts[0]!, pts[0]!];
  if (a.pressures !== null && s.strokeStyle === "solid") {
    let pressure = a.pressures.map((p) => 0.5 + Math.min(1, Math.max(0, p)));
    if (pressure.length === 1) pressure = [pressure[0]!, pressure[0]!];
    if (pressure.length === pts.length) {
      const radii = pressure.map((f) => (s.strokeWidth / 2) * f);
      return [{ kind: "fill", polys: roundStroke(pts, radii), color: s.stroke }];
    }
  }
  return [{ kind: "stroke", paths: [{ pts, closed: false }], width: s.strokeWidth, color: s.stroke, round: true, dash: dashPattern(s, true) }];
}

function closedShapeOps(outline: Pt[], closed: boolean, s: Style): Op[] {
  const ops: Op[] = [];
  if (isPaint(s.fill) && closed && outline.length >= 3) ops.push({ kind: "fill", polys: [outline], color: s.fill });
  if (isPaint(s.stroke) && s.strokeWidth > 0 && outline.length >= 2) {
    ops.push({ kind: "stroke", paths: [{ pts: outline, closed }], width: s.strokeWidth, color: s.stroke, round: false, dash: dashPattern(s, false) });
  }
  return ops;
}

export function annotationOps(a: Annotation, layout: TextLayout): Op[] {
  const s = a.style;
  switch (a.type) {
    case "rect":
      return closedShapeOps([[a.x, a.y], [a.x + a.w, a.y], [a.x + a.w, a.y + a.h], [a.x, a.y + a.h]], true, s);
    case "ellipse": {
      const rx = Math.abs(a.w) / 2;
      const ry = Math.abs(a.h) / 2;
      const n = Math.max(circleSegments(Math.max(rx, ry)), 32);
      return closedShapeOps(ellipsePoly(a.x + a.w / 2, a.y + a.h / 2, rx, ry, n), true, s);
    }
    case "polygon":
      return closedShapeOps(absPoints(a), a.closed, s);
    case "line":
    case "arrow":
      return lineOps(a);
    case "freehand":
      return freehandOps(a);
    case "text": {
      const ops: Op[] = [];
      if (isPaint(s.fill)) ops.push({ kind: "fill", polys: [[[a.x, a.y], [a.x + a.w, a.y], [a.x + a.w, a.y + a.h], [a.x, a.y + a.h]]], color: s.fill });
      if (isPaint(s.stroke) && a.text) ops.push(layout.textOp(a.text, a.x, a.y, a.w, s, a.wrap));
      return ops;
    }
  }
}
