/**
 * Text: click to place a box (or drag one), type in place. The editor is a <textarea> laid
 * exactly over the box (same font file, size × zoom, line height 1.25, alignment, rotation),
 * while the SVG text of that annotation is hidden. Typing writes `text` (a plain string, last
 * writer wins) as you go, grows `h` to fit the lines, and sets presence `typing`. Escape,
 * Ctrl/Cmd+Enter or a click elsewhere ends editing; an empty text box is removed. Enter with
 * the tool active places a box at the centre of the view (place.ts), open for typing.
 */
import type { Annotation, Style } from "@annotd/client";
import { FONT_CSS, FONT_WEIGHT, LINE_HEIGHT } from "../render/text";
import { announcePlaced, isPlaceKey, placementBox } from "./place";
import type { PointerInfo, Tool, ToolContext } from "./tool";

/** A box made by a click (not a drag) is this many font sizes wide, in image pixels: it
 * belongs to the picture, so its width must not depend on how far the view is zoomed. About
 * twenty characters before the text wraps. */
const CLICK_WIDTH_EMS = 12;

export class TextTool implements Tool {
  readonly id = "text" as const;
  readonly cursor = "text";
  private start: [number, number] | null = null;

  constructor(private ctx: ToolContext) {}

  down(p: PointerInfo): void {
    if (this.ctx.readOnly()) return;
    this.start = [p.x, p.y];
  }

  move(p: PointerInfo): void {
    if (this.start === null) return;
    const [x0, y0] = this.start;
    const s = this.ctx.viewport.scale;
    this.ctx.scene.setDraft(null);
    if (Math.hypot(p.x - x0, p.y - y0) * s < 4) return;
    const box = document.querySelector(".text-draft-box") as HTMLElement | null;
    if (box) {
      const [sx, sy] = this.ctx.viewport.toScreen(Math.min(x0, p.x), Math.min(y0, p.y));
      Object.assign(box.style, { display: "block", left: `${sx}px`, top: `${sy}px`, width: `${Math.abs(p.x - x0) * s}px`, height: `${Math.abs(p.y - y0) * s}px` });
    }
  }

  up(p: PointerInfo): void {
    if (this.start === null) return;
    const [x0, y0] = this.start;
    this.start = null;
    const box = document.querySelector(".text-draft-box") as HTMLElement | null;
    if (box) box.style.display = "none";
    const style = this.ctx.newStyle();
    const s = this.ctx.viewport.scale;
    const dragged = Math.hypot(p.x - x0, p.y - y0) * s >= 4;
    const lh = LINE_HEIGHT * style.fontSize;
    const geom = dragged
      ? { x: Math.min(x0, p.x), y: Math.min(y0, p.y), w: Math.abs(p.x - x0), h: Math.max(lh, Math.abs(p.y - y0)) }
      : { x: x0, y: y0 - lh / 2, w: CLICK_WIDTH_EMS * style.fontSize, h: lh };
    this.create(geom, style);
  }

  /** Enter: a text box (as wide as a click makes one) centred in the view, open for typing. */
  key(e: KeyboardEvent): boolean {
    if (this.start !== null || !isPlaceKey(e) || this.ctx.readOnly()) return false;
    const style = this.ctx.newStyle();
    const lh = LINE_HEIGHT * style.fontSize;
    const w = CLICK_WIDTH_EMS * style.fontSize;
    const { x, y, w: bw, h: bh } = placementBox(this.ctx);
    this.create({ x: x + bw / 2 - w / 2, y: y + bh / 2 - lh / 2, w, h: lh }, style);
    announcePlaced("text");
    return true;
  }

  private create(geom: { x: number; y: number; w: number; h: number }, style: Style): void {
    this.ctx.undo.begin();
    const id = this.ctx.canvas.create({ type: "text", ...geom, text: "", wrap: true, style });
    this.ctx.setTool("select");
    this.ctx.selection.set([id]);
    this.ctx.editText(id); // nested gesture: creating and typing are one undo step
    this.ctx.undo.end();
  }

  cancel(): void {
    this.start = null;
  }
}

interface EditorHooks {
  onTyping(typing: boolean): void;
  onDone(id: string): void;
}

/** The in-place text editor (one at a time). */
export class TextEditor {
  private el: HTMLTextAreaElement;
  private id: string | null = null;
  private unsub: (() => void) | null = null;

  constructor(
    host: HTMLElement,
    private ctx: ToolContext,
    private hooks: EditorHooks,
  ) {
    this.el = document.createElement("textarea");
    this.el.className = "text-editor";
    this.el.setAttribute("aria-label", "Text of the annotation");
    this.el.spellcheck = false;
    this.el.style.display = "none";
    host.appendChild(this.el);
    this.el.addEventListener("input", () => this.write());
    this.el.addEventListener("blur", () => this.stop());
    this.el.addEventListener("keydown", (e) => {
      e.stopPropagation();
      if (e.key === "Escape" || (e.key === "Enter" && (e.ctrlKey || e.metaKey))) {
        e.preventDefault();
        this.stop();
      }
    });
    ctx.viewport.onChange(() => this.place());
  }

  get editing(): string | null {
    return this.id;
  }

  start(id: string, selectAll = false): void {
    if (this.id !== null) this.stop();
    const a = this.ctx.canvas.get(id);
    if (a === null || a.type !== "text") return;
    this.id = id;
    this.ctx.undo.begin();
    this.ctx.scene.setHidden(id, true);
    this.el.value = a.text;
    this.el.style.display = "block";
    this.place();
    this.unsub = this.ctx.canvas.onChange((ids, _o, local) => {
      if (!ids.has(id)) return;
      const cur = this.ctx.canvas.get(id);
      if (cur === null) {
        this.stop();
        return;
      }
      if (!local && cur.text !== this.el.value) this.el.value = cur.text;
      this.place();
    });
    this.el.focus();
    if (selectAll) this.el.select();
    else this.el.setSelectionRange(this.el.value.length, this.el.value.length);
  }

  private place(): void {
    if (this.id === null) return;
    const a = this.ctx.canvas.get(this.id);
    if (a === null) return;
    this.styleFor(a);
  }

  private styleFor(a: Annotation): void {
    const vp = this.ctx.viewport;
    const s = vp.scale;
    const [sx, sy] = vp.toScreen(a.x, a.y);
    const st = this.el.style;
    st.left = `${sx}px`;
    st.top = `${sy}px`;
    st.width = `${Math.max(a.w * s, 20)}px`;
    st.height = `${Math.max(a.h * s, LINE_HEIGHT * a.style.fontSize * s)}px`;
    st.fontFamily = FONT_CSS[a.style.fontFamily] ?? FONT_CSS.sans!;
    st.fontWeight = String(FONT_WEIGHT[a.style.fontWeight]);
    st.fontSize = `${a.style.fontSize * s}px`;
    st.lineHeight = String(LINE_HEIGHT);
    st.textAlign = a.style.textAlign;
    st.color = a.style.stroke === "none" ? "#1e1e1e" : a.style.stroke.slice(0, 7);
    st.background = a.style.fill === "none" ? "transparent" : a.style.fill; // the box's fill, hidden with the SVG text
    st.opacity = String(a.style.opacity);
    st.whiteSpace = a.wrap ? "pre-wrap" : "pre";
    st.transformOrigin = `${(a.w * s) / 2}px ${(a.h * s) / 2}px`;
    st.transform = a.rotation ? `rotate(${a.rotation}deg)` : "";
  }

  private write(): void {
    if (this.id === null) return;
    const a = this.ctx.canvas.get(this.id);
    if (a === null) return;
    const text = this.el.value;
    const need = this.ctx.layout.textHeight(text, a.w, a.style, a.wrap);
    this.ctx.canvas.patch(this.id, { text, h: Math.max(need, LINE_HEIGHT * a.style.fontSize) });
    this.hooks.onTyping(true);
  }

  stop(): void {
    const id = this.id;
    if (id === null) return;
    this.id = null;
    this.unsub?.();
    this.unsub = null;
    this.el.style.display = "none";
    this.ctx.scene.setHidden(id, false);
    const a = this.ctx.canvas.get(id);
    if (a !== null && a.text.trim() === "") {
      this.ctx.canvas.remove([id]);
      this.ctx.selection.clear();
    }
    this.ctx.undo.end();
    this.hooks.onTyping(false);
    this.hooks.onDone(id);
  }
}
