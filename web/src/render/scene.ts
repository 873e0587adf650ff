/**
 * The drawing: one <svg>, the base <image>, a <g transform> for pan/zoom and one
 * <g data-annotation-id> per annotation, geometry in image pixels.
 *
 * Updates are synchronous with the Yjs transaction that caused them (no frame of delay, which
 * is most of the browser-to-browser latency budget): only the annotations a transaction
 * touched are repainted, and children are re-ordered only when a z key changed or an
 * annotation appeared. Off-screen annotations are culled (display: none) on pan/zoom, which
 * keeps pan/zoom of a 1,000-annotation room cheap. `showStatic` draws a fixed list instead of
 * the live document (read-only previews of versions and history, issue 9).
 */
import type { CanvasDoc } from "../model/canvas";
import { bounds, intersects, type Rect } from "../model/geometry";
import { paintCompare, type Annotation } from "../model/schema";
import { annotationOps } from "./paint";
import { opElement, svgEl } from "./svg";
import type { TextLayout } from "./text";
import type { Viewport } from "./viewport";

interface Entry {
  el: SVGGElement;
  z: string;
  box: Rect;
  culled: boolean;
}

export function paintInto(g: SVGGElement, a: Annotation, layout: TextLayout): void {
  g.replaceChildren(...annotationOps(a, layout).map(opElement));
  if (a.rotation) g.setAttribute("transform", `rotate(${a.rotation} ${a.x + a.w / 2} ${a.y + a.h / 2})`);
  else g.removeAttribute("transform");
  const o = Math.min(1, Math.max(0, a.style.opacity));
  if (o < 1) g.setAttribute("opacity", String(o));
  else g.removeAttribute("opacity");
}

export class Scene {
  readonly svg: SVGSVGElement;
  readonly world: SVGGElement;
  readonly image: SVGImageElement;
  readonly shapes: SVGGElement;
  /** Image-space layer above the shapes for drafts and tool previews. */
  readonly worldOverlay: SVGGElement;
  /** Screen-space layer (selection handles, remote cursors): never scaled. */
  readonly overlay: SVGGElement;
  private entries = new Map<string, Entry>();
  private hidden = new Set<string>();
  private staticList: Annotation[] | null = null;
  private listeners = new Set<(ids: ReadonlySet<string>) => void>();
  private draftEl: SVGGElement;
  cullingEnabled = true;

  constructor(
    host: HTMLElement,
    private canvas: CanvasDoc,
    private viewport: Viewport,
    private layout: TextLayout,
  ) {
    this.svg = svgEl("svg", { class: "canvas", role: "img", "aria-label": "Annotation canvas" });
    this.world = svgEl("g", { class: "world" });
    this.image = svgEl("image", { class: "base", x: 0, y: 0, preserveAspectRatio: "none" });
    this.shapes = svgEl("g", { class: "shapes" });
    this.worldOverlay = svgEl("g", { class: "world-overlay" });
    this.draftEl = svgEl("g", { class: "draft" });
    this.worldOverlay.appendChild(this.draftEl);
    this.overlay = svgEl("g", { class: "overlay" });
    this.world.append(this.image, this.shapes, this.worldOverlay);
    this.svg.append(this.world, this.overlay);
    host.appendChild(this.svg);
    canvas.onChange((ids) => {
      if (this.staticList === null) this.update(ids);
    });
    viewport.onChange(() => {
      this.world.setAttribute("transform", viewport.transform());
      this.cull();
    });
    this.world.setAttribute("transform", viewport.transform());
  }

  /** Called after each repaint with the ids repainted (tests and overlays hook here). */
  onRendered(l: (ids: ReadonlySet<string>) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  setImage(url: string | null, width: number, height: number): void {
    if (url === null) {
      this.image.removeAttribute("href");
      this.image.setAttribute("width", "0");
      this.image.setAttribute("height", "0");
      return;
    }
    this.image.setAttribute("href", url);
    this.image.setAttribute("width", String(width));
    this.image.setAttribute("height", String(height));
  }

  private source(): Annotation[] {
    return this.staticList ?? this.canvas.list();
  }

  private lookup(id: string): Annotation | null {
    if (this.staticList !== null) return this.staticList.find((a) => a.id === id) ?? null;
    return this.canvas.get(id);
  }

  /** Repaint everything (first render after sync, fonts loaded, source switched). */
  renderAll(): void {
    const ids = new Set<string>(this.entries.keys());
    for (const a of this.source()) ids.add(a.id);
    this.update(ids);
  }

  update(ids: ReadonlySet<string>): void {
    let reorder = false;
    const visible = this.viewport.visible();
    for (const id of ids) {
      const a = this.lookup(id);
      let e = this.entries.get(id);
      if (a === null) {
        if (e !== undefined) {
          e.el.remove();
          this.entries.delete(id);
        }
        continue;
      }
      if (e === undefined) {
        const el = svgEl("g");
        el.setAttribute("data-annotation-id", id);
        el.setAttribute("data-type", a.type);
        e = { el, z: a.z, box: bounds(a), culled: false };
        this.entries.set(id, e);
        reorder = true;
      } else if (e.z !== a.z) {
        e.z = a.z;
        reorder = true;
      }
      paintInto(e.el, a, this.layout);
      e.box = bounds(a);
      this.applyVisibility(id, e, visible);
    }
    if (reorder) this.reorder();
    for (const l of this.listeners) l(ids);
  }

  private reorder(): void {
    const list = this.source();
    const sorted = [...list].sort(paintCompare);
    let prev: Element | null = null;
    for (const a of sorted) {
      const e = this.entries.get(a.id);
      if (e === undefined) continue;
      const want: Element | null = prev === null ? this.shapes.firstElementChild : prev.nextElementSibling;
      if (want !== e.el) this.shapes.insertBefore(e.el, want);
      prev = e.el;
    }
  }

  private applyVisibility(id: string, e: Entry, visible: Rect): void {
    const culled = this.cullingEnabled && !intersects(e.box, visible);
    const hide = culled || this.hidden.has(id);
    if (hide !== e.culled) {
      e.culled = hide;
      if (hide) e.el.setAttribute("display", "none");
      else e.el.removeAttribute("display");
    }
  }

  private cull(): void {
    const visible = this.viewport.visible();
    for (const [id, e] of this.entries) this.applyVisibility(id, e, visible);
  }

  /** Hide one annotation (the text being edited in place is shown by the editor instead). */
  setHidden(id: string, hidden: boolean): void {
    if (hidden) this.hidden.add(id);
    else this.hidden.delete(id);
    const e = this.entries.get(id);
    if (e !== undefined) this.applyVisibility(id, e, this.viewport.visible());
  }

  /** Draw a fixed list read-only instead of the live document; null goes back to live. */
  showStatic(list: Annotation[] | null): void {
    this.staticList = list === null ? null : [...list].sort(paintCompare);
    this.renderAll();
  }

  get isStatic(): boolean {
    return this.staticList !== null;
  }

  /** A tool's preview (not in the document), painted like an annotation. */
  setDraft(a: Annotation | null): void {
    if (a === null) this.draftEl.replaceChildren();
    else paintInto(this.draftEl, a, this.layout);
  }

  element(id: string): SVGGElement | null {
    return this.entries.get(id)?.el ?? null;
  }

  get size(): number {
    return this.entries.size;
  }
}
