/**
 * Drawing from the keyboard: with a shape tool active, Enter places a shape of a default size
 * at the centre of the view, selects it and hands back to select, as a drag would; the arrow
 * keys then move it (input.ts's nudge, Shift for larger steps) and Escape deselects. The
 * default size is a fixed size on screen (160 × 100 CSS px, whatever the zoom), so the shape
 * is as easy to see and to move at any zoom. A polygon is placed as a triangle in that box;
 * a line or an arrow runs across it, left to right; text is a box as wide as a click makes
 * one, centred, open for typing (text.ts). A freehand stroke is a path a pointer traces: Enter with the
 * freehand tool says so instead of inventing one.
 *
 * One placement is one undo step. The toast area is the page's live region, so a screen
 * reader hears what was placed and how to move it.
 */
import { normalizePoints, type AnnotationType } from "@annotd/client";
import { toast } from "../ui/toast";
import type { ToolContext } from "./tool";

/** The default shape's box on screen, in CSS pixels. */
const BOX_W = 160;
const BOX_H = 100;

const NAMES: Record<AnnotationType, string> = {
  rect: "Rectangle", ellipse: "Ellipse", line: "Line", arrow: "Arrow", polygon: "Triangle", text: "Text box", freehand: "Freehand",
};

/** Whether `e` asks the active drawing tool to place its shape (a plain Enter). */
export function isPlaceKey(e: KeyboardEvent): boolean {
  return e.key === "Enter" && !e.ctrlKey && !e.metaKey && !e.altKey && !e.shiftKey;
}

/** The box (image pixels) a placed shape fills: BOX_W × BOX_H screen px around the view's centre. */
export function placementBox(ctx: Pick<ToolContext, "viewport">): { x: number; y: number; w: number; h: number } {
  const v = ctx.viewport;
  const [cx, cy] = v.toImage(v.width / 2, v.height / 2);
  const w = BOX_W / v.scale;
  const h = BOX_H / v.scale;
  return { x: cx - w / 2, y: cy - h / 2, w, h };
}

/**
 * Place a `type` shape at the centre of the view with the style of new shapes, select it and
 * switch to select; returns its id (null while read-only, or for freehand, which is told).
 */
export function placeShape(ctx: ToolContext, type: Exclude<AnnotationType, "text">): string | null {
  if (ctx.readOnly()) return null;
  if (type === "freehand") {
    toast("Freehand follows a pointer: draw it with the mouse, a pen or a finger. From the keyboard, use the line or polygon tool.");
    return null;
  }
  const box = placementBox(ctx);
  const style = ctx.newStyle();
  ctx.undo.boundary();
  let id: string;
  if (type === "rect" || type === "ellipse") {
    id = ctx.canvas.create({ type, ...box, style });
  } else if (type === "polygon") {
    const { x, y, w, h } = box;
    id = ctx.canvas.create({ type, ...normalizePoints([x + w / 2, y, x + w, y + h, x, y + h]), closed: true, style });
  } else {
    const { x, y, w, h } = box;
    id = ctx.canvas.create({ type, ...normalizePoints([x, y + h, x + w, y]), style, ...ctx.newArrowheads(type) });
  }
  ctx.undo.boundary();
  ctx.setTool("select");
  ctx.selection.set([id]);
  announcePlaced(type);
  return id;
}

/** Tell a screen reader (and everyone else) what Enter placed and how to move it. */
export function announcePlaced(type: AnnotationType): void {
  const how = type === "text" ? "type its text, then Escape" : "arrow keys move it (Shift: 10 px), Escape deselects";
  toast(`${NAMES[type]} placed at the centre of the view: ${how}.`);
}
