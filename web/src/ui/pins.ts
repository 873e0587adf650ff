/**
 * Comment pins on the canvas: one real <button> per shown thread (keyboard reachable,
 * labelled with the thread's number, author, first words and state), laid over the stage
 * in screen space at the thread's pin, so they keep their size at any zoom and follow the
 * anchored annotation as it moves, resizes or rotates (pins are recomputed from the live
 * annotation, with the server's rule, on every change). The active thread's anchor is
 * outlined in the screen-space overlay: the annotation's box, the region, or a ring.
 *
 * Colour is never the only signal: a resolved pin shows ✓, a new one a dot and "new" in
 * its label, a detached one (its annotation was deleted) a dashed ring and says so.
 * Pins are hidden while a version or a past step is previewed (comments are live).
 */
import type { Comments } from "../app/comments";
import type { RoomApp } from "../app/room";
import { corners, type Thread } from "@annotd/client";
import { svgEl } from "../render/svg";
import { h, keyedChildren } from "./dom";

const PIN = 26;

export function anchorWords(app: RoomApp, comments: Comments, t: Thread): string {
  if (comments.detached(t)) return "detached: its annotation was deleted";
  const a = t.anchor;
  if (a.kind === "annotation" && a.annotationId !== null) {
    const ann = app.canvas.get(a.annotationId);
    return ann ? `on ${article(TYPE_WORDS[ann.type] ?? ann.type)}` : "on an annotation";
  }
  if (a.kind === "region") return `on an area of ${Math.round(a.w)} × ${Math.round(a.h)} px`;
  return "on a point";
}

export const TYPE_WORDS: Record<string, string> = {
  rect: "rectangle", ellipse: "ellipse", line: "line", arrow: "arrow", polygon: "polygon", freehand: "drawing", text: "text box",
};

export function article(word: string): string {
  return /^[aeiou]/i.test(word) ? `an ${word}` : `a ${word}`;
}

export class PinLayer {
  readonly root: HTMLDivElement;
  private buttons = new Map<string, HTMLButtonElement>();
  private highlight: SVGGElement;

  constructor(
    private app: RoomApp,
    private comments: Comments,
    private open: (threadId: string) => void,
  ) {
    this.root = h("div", { class: "pins", role: "group", "aria-label": "Comment pins" });
    this.root.addEventListener("pointerdown", (e) => e.stopPropagation());
    app.shell.stage.appendChild(this.root);
    this.highlight = svgEl("g", { class: "comment-highlight" });
    app.scene.overlay.appendChild(this.highlight);
    comments.on("pins", () => this.render());
    comments.on("moved", () => this.position());
    app.viewport.onChange(() => this.position());
    app.onPreview(() => this.render());
    this.render();
  }

  private get hiddenNow(): boolean {
    return this.app.scene.isStatic;
  }

  render(): void {
    const shown = this.hiddenNow ? [] : this.comments.shown();
    keyedChildren(this.root, this.buttons, shown, (t) => t.id, (t) => {
      const b = h("button", { type: "button", class: "pin", "data-thread-id": t.id });
      b.addEventListener("click", () => this.open(t.id));
      return b;
    }, (b, t, i) => this.paint(b, t, i + 1), (b) => b);
    this.position();
  }

  private paint(b: HTMLButtonElement, t: Thread, n: number): void {
    const resolved = t.status === "resolved";
    const unread = this.comments.unread(t.id);
    const detached = this.comments.detached(t);
    const first = t.messages.find((m) => !m.deleted)?.body ?? "";
    const words = first.length > 60 ? `${first.slice(0, 57)}…` : first;
    const who = this.comments.nameOf(t.createdBy);
    const state = [resolved ? "resolved" : "open", detached ? anchorWords(this.app, this.comments, t) : "", unread ? `${unread} new` : ""].filter(Boolean).join(", ");
    b.setAttribute("aria-label", `Comment ${n} by ${who}: ${words} (${state})`);
    b.title = `${n}. ${who}: ${words}`;
    b.dataset.status = t.status;
    b.classList.toggle("unread", unread > 0);
    b.classList.toggle("detached", detached);
    b.classList.toggle("active", this.comments.active === t.id);
    b.setAttribute("aria-pressed", String(this.comments.active === t.id));
    b.replaceChildren(h("span", { class: "pin-num" }, resolved ? `✓${n}` : String(n)));
    if (unread) b.append(h("span", { class: "pin-new", "aria-hidden": "true" }));
  }

  /** Screen positions only (viewport changes, annotation moves). */
  position(): void {
    const v = this.app.viewport;
    for (const [id, b] of this.buttons) {
      const t = this.comments.get(id);
      if (!t) continue;
      const [x, y] = v.toScreen(...this.comments.pin(t));
      const off = x < -PIN || y < -PIN || x > v.width + PIN || y > v.height + PIN;
      b.hidden = off;
      b.style.transform = `translate(${Math.round(x - PIN / 2)}px, ${Math.round(y - PIN / 2)}px)`;
    }
    this.drawHighlight();
  }

  private drawHighlight(): void {
    const id = this.comments.active;
    const t = id === null || this.hiddenNow ? undefined : this.comments.get(id);
    if (!t) {
      this.highlight.replaceChildren();
      return;
    }
    const v = this.app.viewport;
    const a = t.anchor;
    const parts: SVGElement[] = [];
    const target = a.kind === "annotation" && a.annotationId !== null ? this.app.canvas.get(a.annotationId) : null;
    if (target) {
      const pts = corners(target).map(([x, y]) => v.toScreen(x, y));
      parts.push(svgEl("polygon", { class: "anchor-outline", "data-thread-id": t.id, points: pts.map((p) => `${p[0]},${p[1]}`).join(" ") }));
    } else if (a.kind === "region") {
      const [x0, y0] = v.toScreen(a.x, a.y);
      parts.push(svgEl("rect", { class: "anchor-outline region", "data-thread-id": t.id, x: x0, y: y0, width: a.w * v.scale, height: a.h * v.scale }));
    }
    const [px, py] = v.toScreen(...this.comments.pin(t));
    parts.push(svgEl("circle", { class: "anchor-ring", cx: px, cy: py, r: PIN / 2 + 6 }));
    this.highlight.replaceChildren(...parts);
  }

  element(threadId: string): HTMLButtonElement | undefined {
    return this.buttons.get(threadId);
  }
}
