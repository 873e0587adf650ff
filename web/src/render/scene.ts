/**
 * The drawing: one <svg>, the base <image>, a <g transform> for pan/zoom and one
 * <g data-annotation-id> per annotation, geometry in image pixels.
 *
 * Updates are synchronous with the Yjs transaction that caused them (no frame of delay, which
 * is most of the browser-to-browser latency budget): only the annotations a transaction
 * touched are repainted, and children are re-ordered only when a z key changed or an
 * annotation appeared. Off-screen annotations (beyond a margin of half a view) are culled
 * (display: none).
 *
 * Pan and zoom gestures (`viewport.live`) do not touch the SVG at all: the <svg> sits in a
 * composited wrapper whose CSS transform shows the change relative to the last committed
 * view, so the compositor scales the picture it already has (momentarily soft when zooming
 * in). When the gesture pauses for SETTLE_MS the transform is committed to the world group
 * and the SVG repaints crisp. Screen-space chrome lives in a second <svg> on top, drawn from
 * the live viewport, so handles and cursors stay exact during a gesture. `showStatic` draws a fixed list instead of
 * the live document (read-only previews of versions and history).
 */
import { bounds, intersects, paintCompare, type Annotation, type CanvasDoc, type Rect } from "@annotd/client";
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

const SETTLE_MS = 120;

function paintInto(g: SVGGElement, a: Annotation, layout: TextLayout): void {
  g.replaceChildren(...annotationOps(a, layout).map(opElement));
  if (a.rotation) g.setAttribute("transform", `rotate(${a.rotation} ${a.x + a.w / 2} ${a.y + a.h / 2})`);
  else g.removeAttribute("transform");
  const o = Math.min(1, Math.max(0, a.style.opacity));
  if (o < 1) g.setAttribute("opacity", String(o));
  else g.removeAttribute("opacity");
}

/** From this zoom on, the base image is drawn with its pixels as squares (no smoothing). */
const PIXELATED_FROM = 4;

export class Scene {
  readonly svg: SVGSVGElement;
  /** The composited wrapper of `svg` (its CSS transform shows gestures in progress). */
  readonly layer: HTMLDivElement;
  /** The screen-space SVG above the drawing (holds `overlay`). */
  readonly chrome: SVGSVGElement;
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
  private staticById = new Map<string, Annotation>();
  private listeners = new Set<(ids: ReadonlySet<string>) => void>();
  private draftEl: SVGGElement;
  private committed = { scale: 1, tx: 0, ty: 0 };
  private settleTimer: ReturnType<typeof setTimeout> | null = null;
  private moveCopy: { layer: HTMLDivElement; world: SVGGElement; dx: number; dy: number } | null = null;
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
    this.svg.append(this.world);
    this.layer = document.createElement("div");
    this.layer.className = "world-layer";
    this.layer.appendChild(this.svg);
    this.chrome = svgEl("svg", { class: "canvas-overlay", "aria-hidden": "true" });
    this.chrome.appendChild(this.overlay);
    host.append(this.layer, this.chrome);
    canvas.onChange((ids) => {
      if (this.staticList === null) this.update(ids);
    });
    viewport.onChange(() => {
      if (viewport.live) this.preview();
      else this.commit();
    });
    this.commit();
  }

  /** Show a gesture in progress as a CSS transform relative to the committed view. */
  private preview(): void {
    const v = this.viewport;
    const c = this.committed;
    const k = v.scale / c.scale;
    this.layer.style.transform = `matrix(${k}, 0, 0, ${k}, ${v.tx - k * c.tx}, ${v.ty - k * c.ty})`;
    if (this.settleTimer !== null) clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => this.commit(), SETTLE_MS);
    this.placeMoveCopy();
  }

  /** Make the SVG itself show the current view (crisp), and cull for it. */
  commit(): void {
    if (this.settleTimer !== null) {
      clearTimeout(this.settleTimer);
      this.settleTimer = null;
    }
    const v = this.viewport;
    this.committed = { scale: v.scale, tx: v.tx, ty: v.ty };
    this.world.setAttribute("transform", v.transform());
    // Zoomed in this far people look at pixels: show them as squares, not smoothed.
    this.svg.classList.toggle("pixels", v.scale >= PIXELATED_FROM);
    this.layer.style.transform = "";
    this.cull();
    this.placeMoveCopy();
  }

  /** The image-pixel area kept painted: the view plus half a view on each side. */
  private paintArea(): Rect {
    const r = this.viewport.visible();
    return { x: r.x - r.w / 2, y: r.y - r.h / 2, w: r.w * 2, h: r.h * 2 };
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
    if (this.staticList !== null) return this.staticById.get(id) ?? null;
    return this.canvas.get(id);
  }

  /** Repaint everything (first render after sync, fonts loaded, source switched). */
  renderAll(): void {
    const ids = new Set<string>(this.entries.keys());
    for (const a of this.source()) ids.add(a.id);
    this.update(ids);
  }

  /**
   * Show `ids` moved by (dx, dy) image pixels without touching the document (null ends it).
   * Why a copy: moving the shapes themselves, even by one CSS rule, repaints the whole
   * drawing every frame (1,000 shapes: 15–60 ms). Instead, at the first step, copies of the
   * moving shapes (in paint order) go into their own composited layer above the drawing and
   * the originals are hidden; each further step only changes that layer's CSS transform,
   * which the compositor applies without repainting. While moving, those shapes are drawn
   * above the others; the copy is dropped when the move ends.
   */
  movePreview(ids: readonly string[] | null, dx = 0, dy = 0): void {
    if (ids === null) {
      this.moveCopy?.layer.remove();
      this.moveCopy = null;
      for (const el of this.shapes.querySelectorAll(".moving")) el.classList.remove("moving");
      return;
    }
    if (this.moveCopy === null) {
      const moving = new Set(ids);
      const world = svgEl("g", {});
      for (const el of this.shapes.children) {
        const id = el.getAttribute("data-annotation-id");
        if (id === null || !moving.has(id)) continue;
        world.appendChild(el.cloneNode(true));
        el.classList.add("moving");
      }
      const svg = svgEl("svg", { class: "canvas moving-copy", "aria-hidden": "true" });
      svg.appendChild(world);
      const layer = document.createElement("div");
      layer.className = "world-layer";
      layer.appendChild(svg);
      this.layer.after(layer);
      this.moveCopy = { layer, world, dx, dy };
    }
    this.moveCopy.dx = dx;
    this.moveCopy.dy = dy;
    this.placeMoveCopy();
  }

  /** The copy follows the committed view, any gesture in progress and the move. */
  private placeMoveCopy(): void {
    const m = this.moveCopy;
    if (m === null) return;
    m.world.setAttribute("transform", this.world.getAttribute("transform") ?? "");
    const c = this.committed;
    m.layer.style.transform = `${this.layer.style.transform} translate(${m.dx * c.scale}px, ${m.dy * c.scale}px)`;
  }

  update(ids: ReadonlySet<string>): void {
    let reorder = false;
    const visible = this.paintArea();
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
    const visible = this.paintArea();
    for (const [id, e] of this.entries) this.applyVisibility(id, e, visible);
  }

  /** Hide one annotation (the text being edited in place is shown by the editor instead). */
  setHidden(id: string, hidden: boolean): void {
    if (hidden) this.hidden.add(id);
    else this.hidden.delete(id);
    const e = this.entries.get(id);
    if (e !== undefined) this.applyVisibility(id, e, this.paintArea());
  }

  /** Draw a fixed list read-only instead of the live document; null goes back to live. */
  showStatic(list: Annotation[] | null): void {
    this.staticList = list === null ? null : [...list].sort(paintCompare);
    this.staticById = new Map((this.staticList ?? []).map((a) => [a.id, a]));
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
