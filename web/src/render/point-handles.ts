/**
 * The handles of point editing, in screen space: one per point (a stroke's key points only)
 * and one on the middle of each edge to add a point there. Drawn by the overlay from the
 * document every time, so another person's edit moves them too.
 *
 * On a coarse pointer (a finger) each handle carries an invisible 44 px target around the
 * visible dot, and edge handles are left out where the edge is too short on screen for
 * their target not to cover a point's.
 */
import type { Annotation } from "@annotd/client";
import { midpoints, worldPoints } from "../model/points";
import { svgEl } from "./svg";
import type { Viewport } from "./viewport";

/** Which annotation's points are being edited, which handles it shows, which is selected. */
export interface PointEditView {
  id: string;
  /** A stroke's key points (indices of points); null: every point has a handle. */
  keys: readonly number[] | null;
  /** The selected handle (an index into the handles: the point, or the key point), or null. */
  active: number | null;
  /** The shape as a drag shows it before it is written (a long stroke), else the document's. */
  shape?: Annotation;
}

const TOUCH_TARGET = 44;

function coarse(): boolean {
  return typeof matchMedia === "function" && matchMedia("(pointer: coarse)").matches;
}

/** The handles' elements: edge handles first, so a point's handle wins where they overlap. */
export function pointHandles(doc: Annotation, view: PointEditView, vp: Pick<Viewport, "toScreen">): SVGElement[] {
  const a = view.shape ?? doc;
  const big = coarse();
  const out: SVGElement[] = [];
  const world = worldPoints(a);
  const indices = view.keys ?? Array.from({ length: world.length / 2 }, (_, i) => i);
  const target = (cx: number, cy: number, attr: string, value: number) => {
    if (big) out.push(svgEl("circle", { class: "point-target", [attr]: value, cx, cy, r: TOUCH_TARGET / 2 }));
  };
  for (const [after, x, y] of midpoints(a)) {
    const [sx, sy] = vp.toScreen(x, y);
    const j = (after + 1) % (world.length / 2);
    const [ax, ay] = vp.toScreen(world[2 * after]!, world[2 * after + 1]!);
    const [bx, by] = vp.toScreen(world[2 * j]!, world[2 * j + 1]!);
    if (Math.hypot(bx - ax, by - ay) < (big ? 2 * TOUCH_TARGET : 24)) continue;
    target(sx, sy, "data-mid", after);
    out.push(svgEl("circle", { class: "point-mid", "data-mid": after, cx: sx, cy: sy, r: big ? 6 : 4 }));
  }
  indices.forEach((i, k) => {
    const [sx, sy] = vp.toScreen(world[2 * i]!, world[2 * i + 1]!);
    target(sx, sy, "data-vertex", k);
    out.push(svgEl("circle", { class: k === view.active ? "point-handle active" : "point-handle", "data-vertex": k, cx: sx, cy: sy, r: big ? 8 : 5 }));
  });
  return out;
}
