/**
 * Annotations → a PNG, painted from the same paint ops as the screen (render/paint.ts) onto a
 * canvas: fills, strokes with the export's caps, joins and dashes, text lines with the
 * served font files, each annotation rotated about its box centre and faded by its opacity,
 * in paint order. What the clipboard offers other apps when shapes are copied.
 *
 * A canvas rather than the SVG drawn into an <img>: an SVG image cannot load the page's
 * fonts, so its text would fall back to whatever the machine has; a canvas uses the
 * document's loaded faces, as the screen does.
 */
import { bounds, union, type Annotation } from "@annotd/client";
import type { Op } from "./ops";
import { annotationOps } from "./paint";
import { FONT_CSS, FONT_WEIGHT, type TextLayout } from "./text";

/** The longest side of a copied picture, in pixels (bigger selections are scaled down). */
const MAX_SIDE = 4096;

function paintOp(g: CanvasRenderingContext2D, op: Op): void {
  if (op.kind === "fill") {
    g.beginPath();
    for (const poly of op.polys) {
      poly.forEach(([x, y], i) => (i ? g.lineTo(x, y) : g.moveTo(x, y)));
      g.closePath();
    }
    g.fillStyle = op.color;
    g.fill("nonzero");
    return;
  }
  if (op.kind === "stroke") {
    g.beginPath();
    for (const { pts, closed } of op.paths) {
      pts.forEach(([x, y], i) => (i ? g.lineTo(x, y) : g.moveTo(x, y)));
      if (closed) g.closePath();
    }
    g.lineWidth = op.width;
    g.lineCap = op.round ? "round" : "butt";
    g.lineJoin = op.round ? "round" : "miter";
    g.setLineDash(op.dash ?? []);
    g.strokeStyle = op.color;
    g.stroke();
    return;
  }
  g.font = `${FONT_WEIGHT[op.weight] ?? 400} ${op.size}px ${FONT_CSS[op.family] ?? FONT_CSS.sans}`;
  g.fillStyle = op.color;
  g.textBaseline = "alphabetic";
  for (const line of op.lines) {
    if (!line.text) continue;
    g.direction = line.rtl ? "rtl" : "ltr";
    const start = line.rtl ? "r" : "l";
    g.textAlign = line.anchor === "m" ? "center" : line.anchor === start ? "start" : "end";
    g.fillText(line.text, line.x, line.baseline);
  }
}

/** A transparent PNG of `list` (paint order), cropped to their bounds; null when empty. */
export async function annotationsPng(list: Annotation[], layout: TextLayout): Promise<Blob | null> {
  const box = union(list.map(bounds));
  if (box === null || box.w <= 0 || box.h <= 0) return null;
  const k = Math.min(1, MAX_SIDE / Math.max(box.w, box.h));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.ceil(box.w * k));
  canvas.height = Math.max(1, Math.ceil(box.h * k));
  const g = canvas.getContext("2d");
  if (g === null) return null;
  await document.fonts.ready;
  for (const a of list) {
    g.save();
    g.setTransform(k, 0, 0, k, -box.x * k, -box.y * k);
    if (a.rotation) {
      const cx = a.x + a.w / 2;
      const cy = a.y + a.h / 2;
      g.translate(cx, cy);
      g.rotate((a.rotation * Math.PI) / 180);
      g.translate(-cx, -cy);
    }
    g.globalAlpha = Math.min(1, Math.max(0, a.style.opacity));
    for (const op of annotationOps(a, layout)) paintOp(g, op);
    g.restore();
  }
  return new Promise((resolve) => canvas.toBlob((b) => resolve(b), "image/png"));
}
