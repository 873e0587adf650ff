/**
 * Screen-space overlay: the local selection (outline, 8 resize handles, rotate handle), the
 * marquee, other people's selections outlined in their colour with their name, and their
 * cursors with name labels. Drawn in CSS pixels (never scaled), recomputed from the model
 * whenever the viewport, the selection, presence or a selected annotation changes.
 *
 * Colour is never the only signal: remote selections and cursors carry the person's name.
 */
import {
  boxBounds,
  center,
  corners,
  rotate,
  union,
  type Annotation,
  type CanvasDoc,
  type Peer,
  type Rect,
} from "@annotd/client";
import { pointHandles, type PointEditView } from "./point-handles";
import { svgEl } from "./svg";
import type { Viewport } from "./viewport";

const HANDLES = ["nw", "n", "ne", "e", "se", "s", "sw", "w"] as const;
export type Handle = (typeof HANDLES)[number] | "rotate";
const HANDLE_FRACTIONS: Record<string, [number, number]> = {
  nw: [0, 0], n: [0.5, 0], ne: [1, 0], e: [1, 0.5], se: [1, 1], s: [0.5, 1], sw: [0, 1], w: [0, 0.5],
};
const HANDLE_SIZE = 9;
const ROTATE_OFFSET = 24;

/** The frame the handles belong to: a single annotation's rotated box, or the selection bounds. */
export interface Frame {
  x: number;
  y: number;
  w: number;
  h: number;
  rotation: number;
}

export function selectionFrame(anns: Annotation[]): Frame | null {
  if (anns.length === 0) return null;
  if (anns.length === 1) {
    const a = anns[0]!;
    return { x: a.x, y: a.y, w: a.w, h: a.h, rotation: a.rotation };
  }
  const r = union(anns.map(boxBounds))!;
  return { ...r, rotation: 0 };
}

/** A handle's position in image pixels. */
function handlePoint(f: Frame, h: Handle, scale: number): [number, number] {
  const [cx, cy] = center(f);
  if (h === "rotate") return rotate(f.x + f.w / 2, f.y - ROTATE_OFFSET / scale, cx, cy, f.rotation);
  const [fx, fy] = HANDLE_FRACTIONS[h]!;
  return rotate(f.x + fx * f.w, f.y + fy * f.h, cx, cy, f.rotation);
}

export class Overlay {
  private local: SVGGElement;
  private remote: SVGGElement;
  private cursors: SVGGElement;
  private marquee: SVGRectElement;
  peers: Map<string, Peer> = new Map();
  selection: readonly string[] = [];
  /** A move being previewed (image pixels): the local selection is drawn shifted by it. */
  private moveOffset: [number, number] | null = null;
  readOnly = false;
  /** Point editing of a selected annotation: its point handles replace the frame's. */
  private pointEdit: PointEditView | null = null;

  constructor(
    layer: SVGGElement,
    private canvas: CanvasDoc,
    private viewport: Viewport,
  ) {
    this.remote = svgEl("g", { class: "remote-selections" });
    this.local = svgEl("g", { class: "local-selection" });
    this.cursors = svgEl("g", { class: "cursors" });
    this.marquee = svgEl("rect", { class: "marquee", display: "none" });
    layer.append(this.remote, this.local, this.marquee, this.cursors);
  }

  setMarquee(r: Rect | null): void {
    if (r === null) {
      this.marquee.setAttribute("display", "none");
      return;
    }
    const [x0, y0] = this.viewport.toScreen(r.x, r.y);
    const [x1, y1] = this.viewport.toScreen(r.x + r.w, r.y + r.h);
    this.marquee.removeAttribute("display");
    this.marquee.setAttribute("x", String(Math.min(x0, x1)));
    this.marquee.setAttribute("y", String(Math.min(y0, y1)));
    this.marquee.setAttribute("width", String(Math.abs(x1 - x0)));
    this.marquee.setAttribute("height", String(Math.abs(y1 - y0)));
  }

  private outline(a: Annotation, cls: string, color?: string): SVGPolygonElement {
    const pts = corners(a).map(([x, y]) => this.viewport.toScreen(x, y));
    const el = svgEl("polygon", { class: cls, points: pts.map((p) => `${p[0]},${p[1]}`).join(" ") });
    if (color) el.setAttribute("stroke", color);
    return el;
  }

  render(): void {
    this.renderLocal();
    this.renderRemote();
  }

  setPointEdit(view: PointEditView | null): void {
    this.pointEdit = view;
    this.renderLocal();
  }

  /** Draw the local selection shifted by (dx, dy) image pixels; null: where it is. */
  setMoveOffset(offset: [number, number] | null): void {
    this.moveOffset = offset;
    this.placeLocal();
  }

  private placeLocal(): void {
    const o = this.moveOffset;
    // the members' outlines are left out while moving: a thousand of them would be redrawn
    // each frame; the frame and its handles show where the selection goes
    this.local.classList.toggle("moving", o !== null);
    if (o === null) this.local.removeAttribute("transform");
    else this.local.setAttribute("transform", `translate(${o[0] * this.viewport.scale} ${o[1] * this.viewport.scale})`);
  }

  private renderLocal(): void {
    this.placeLocal();
    const anns = this.selection.map((id) => this.canvas.get(id)).filter((a): a is Annotation => a !== null);
    const pe = this.pointEdit;
    if (pe && anns.length === 1 && anns[0]!.id === pe.id && !this.readOnly) {
      this.local.replaceChildren(...pointHandles(anns[0]!, pe, this.viewport));
      return;
    }
    const parts: SVGElement[] = [];
    if (anns.length > 1) for (const a of anns) parts.push(this.outline(a, "sel-member"));
    const frame = selectionFrame(anns);
    if (frame !== null) {
      const s = this.viewport.scale;
      const locked = anns.some((a) => a.locked);
      const box = (["nw", "ne", "se", "sw"] as const).map((h) => this.viewport.toScreen(...handlePoint(frame, h, s)));
      parts.push(svgEl("polygon", { class: locked ? "sel-frame locked" : "sel-frame", points: box.map((p) => `${p[0]},${p[1]}`).join(" ") }));
      if (!locked && !this.readOnly) {
        const top = this.viewport.toScreen(...handlePoint(frame, "n", s));
        const rot = this.viewport.toScreen(...handlePoint(frame, "rotate", s));
        parts.push(svgEl("line", { class: "sel-stem", x1: top[0], y1: top[1], x2: rot[0], y2: rot[1] }));
        parts.push(svgEl("circle", { class: "handle rotate", "data-handle": "rotate", cx: rot[0], cy: rot[1], r: HANDLE_SIZE / 2 + 1 }));
        for (const h of HANDLES) {
          const [x, y] = this.viewport.toScreen(...handlePoint(frame, h, s));
          const el = svgEl("rect", {
            class: `handle ${h}`, "data-handle": h, x: x - HANDLE_SIZE / 2, y: y - HANDLE_SIZE / 2, width: HANDLE_SIZE, height: HANDLE_SIZE,
            transform: frame.rotation ? `rotate(${frame.rotation} ${x} ${y})` : "",
          });
          parts.push(el);
        }
      }
    }
    this.local.replaceChildren(...parts);
  }

  private label(x: number, y: number, text: string, color: string, cls: string): SVGGElement {
    const g = svgEl("g", { class: cls, transform: `translate(${Math.round(x)} ${Math.round(y)})` });
    const w = Math.min(220, 8 + text.length * 7.2);
    g.append(svgEl("rect", { x: 0, y: 0, width: w, height: 18, rx: 4, fill: color }));
    const t = svgEl("text", { x: 5, y: 13 });
    t.textContent = text;
    g.append(t);
    return g;
  }

  private renderRemote(): void {
    const sel: SVGElement[] = [];
    const cur: SVGElement[] = [];
    for (const p of this.peers.values()) {
      const anns = p.selection.map((id) => this.canvas.get(id)).filter((a): a is Annotation => a !== null);
      if (anns.length) {
        for (const a of anns) {
          const el = this.outline(a, "remote-sel", p.color);
          el.setAttribute("data-session", p.session);
          sel.push(el);
        }
        const r = union(anns.map(boxBounds))!;
        const [lx, ly] = this.viewport.toScreen(r.x, r.y);
        const lab = this.label(lx, ly - 20, p.name, p.color, "remote-sel-label");
        lab.setAttribute("data-session", p.session);
        sel.push(lab);
      }
      if (p.cursor) {
        const [x, y] = this.viewport.toScreen(p.cursor.x, p.cursor.y);
        const g = svgEl("g", { class: "cursor", "data-session": p.session, "data-user": p.userId, transform: `translate(${Math.round(x)} ${Math.round(y)})` });
        g.append(svgEl("path", { d: "M0 0 L0 16 L4.5 12 L8 19 L10.5 18 L7 11 L12.5 11 Z", fill: p.color, stroke: "#fff", "stroke-width": 1.2 }));
        const lab = this.label(14, 14, p.typing ? `${p.name} is typing…` : p.name, p.color, "cursor-label");
        g.append(lab);
        cur.push(g);
      }
    }
    this.remote.replaceChildren(...sel);
    this.cursors.replaceChildren(...cur);
  }
}
