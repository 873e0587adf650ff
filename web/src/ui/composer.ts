/**
 * The new-comment box: a small form at the place the comment tool picked, with a draft pin
 * (and the dragged region outlined), placed beside what is commented on, never over it
 * (`beside.ts`). Enter sends, Shift+Enter starts a new line, Escape
 * cancels. The thread is created on the server (comments.create); on an error the words
 * stay in the box with the server's reason, nothing typed is lost.
 */
import type { Comments } from "../app/comments";
import { inWords } from "../app/errors";
import { MAX_BODY_LENGTH, bounds, newAnchorPin, union, type CanvasDoc, type NewAnchor, type Rect } from "@annotd/client";
import type { Scene } from "../render/scene";
import { svgEl } from "../render/svg";
import type { Viewport } from "../render/viewport";
import { beside } from "./beside";
import { button, h } from "./dom";
import type { Shell } from "./shell";

/** The box sits over the stage at its anchor and follows the view and the anchored shape. */
export interface ComposerContext {
  readonly canvas: Pick<CanvasDoc, "get" | "has" | "onChange">;
  readonly scene: Pick<Scene, "overlay">;
  readonly shell: Pick<Shell, "stage">;
  readonly viewport: Viewport;
}

export class Composer {
  readonly root: HTMLFormElement;
  readonly input: HTMLTextAreaElement;
  private error: HTMLElement;
  private pin: HTMLElement;
  private region: SVGRectElement | null = null;
  private off: (() => void)[] = [];
  private busy = false;
  /** The box's size, measured once it is in the page (placing it on every pan must not lay out). */
  private size: [number, number] | null = null;

  constructor(
    private app: ComposerContext,
    private comments: Comments,
    public anchor: NewAnchor,
    private done: (threadId: string | null) => void,
  ) {
    this.input = h("textarea", { class: "composer-input", rows: 3, maxlength: MAX_BODY_LENGTH, "aria-label": "Your comment",
      placeholder: "Add a comment… (Enter sends, Shift+Enter: new line)" });
    this.error = h("p", { class: "error", role: "alert" });
    const send = button("Post comment", { text: "Comment", cls: "primary" });
    send.type = "submit";
    const cancel = button("Cancel the new comment", { text: "Cancel", onClick: () => this.close(null) });
    this.root = h("form", { class: "composer", role: "dialog", "aria-label": "New comment" },
      h("p", { class: "composer-title" }, "New comment"), this.input, this.error, h("div", { class: "row end" }, cancel, send));
    this.pin = h("div", { class: "pin draft", "aria-hidden": "true" }, "+");
    for (const el of [this.root, this.pin]) {
      el.addEventListener("pointerdown", (e) => e.stopPropagation());
      el.addEventListener("wheel", (e) => e.stopPropagation(), { passive: true });
    }
    this.root.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.submit();
    });
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        void this.submit();
      } else if (e.key === "Escape") {
        e.preventDefault();
        this.close(null);
      }
    });
    this.input.addEventListener("input", () => {
      this.error.textContent = "";
      comments.typing(this.input.value.length > 0);
    });
    app.shell.stage.append(this.pin, this.root);
    if (anchor.kind === "region") {
      this.region = svgEl("rect", { class: "anchor-outline region draft" });
      app.scene.overlay.appendChild(this.region);
    }
    this.off.push(app.viewport.onChange(() => this.place()), app.canvas.onChange(() => this.place()));
    this.place();
    this.input.focus();
  }

  get hasText(): boolean {
    return this.input.value.trim().length > 0;
  }

  /** Move the box to a new place (the tool was used again before anything was typed). */
  moveTo(anchor: NewAnchor): void {
    this.anchor = anchor;
    if (anchor.kind === "region" && this.region === null) {
      this.region = svgEl("rect", { class: "anchor-outline region draft" });
      this.app.scene.overlay.appendChild(this.region);
    } else if (anchor.kind !== "region" && this.region !== null) {
      this.region.remove();
      this.region = null;
    }
    this.place();
    this.input.focus();
  }

  private place(): void {
    const v = this.app.viewport;
    const [x, y] = v.toScreen(...newAnchorPin(this.anchor, (id) => this.app.canvas.get(id)));
    this.pin.style.transform = `translate(${Math.round(x - 13)}px, ${Math.round(y - 13)}px)`;
    const a = this.anchor;
    // What the box must not cover: the draft pin, and the shape or region it is about.
    const covered: Rect[] = [{ x: x - 14, y: y - 14, w: 28, h: 28 }];
    const shape = a.kind === "annotation" ? this.app.canvas.get(a.annotationId) : null;
    const about = shape !== null ? bounds(shape) : a.kind === "region" ? { x: a.x, y: a.y, w: a.w, h: a.h } : null;
    if (about !== null) {
      const [sx, sy] = v.toScreen(about.x, about.y);
      covered.push({ x: sx, y: sy, w: about.w * v.scale, h: about.h * v.scale });
    }
    const target = union(covered)!;
    this.size ??= [this.root.offsetWidth || 280, this.root.offsetHeight || 170];
    const { left, top } = beside(target, this.size[0], this.size[1], v.width, v.height);
    this.root.style.transform = `translate(${Math.round(left)}px, ${Math.round(top)}px)`;
    if (this.region !== null && a.kind === "region") {
      const [x0, y0] = v.toScreen(a.x, a.y);
      for (const [k, val] of Object.entries({ x: x0, y: y0, width: a.w * v.scale, height: a.h * v.scale })) this.region.setAttribute(k, String(val));
    }
  }

  private async submit(): Promise<void> {
    if (this.busy) return;
    const body = this.input.value;
    if (!body.trim()) {
      this.error.textContent = "Write something first.";
      this.input.focus();
      return;
    }
    if (this.anchor.kind === "annotation" && !this.app.canvas.has(this.anchor.annotationId)) {
      this.error.textContent = "That annotation was just deleted: click Cancel and pin your comment elsewhere. Your text is kept here until then.";
      return;
    }
    this.busy = true;
    this.root.setAttribute("aria-busy", "true");
    try {
      const id = await this.comments.create(this.anchor, body);
      this.close(id);
    } catch (err) {
      this.error.textContent = `Your comment was not posted: ${inWords(err, { body: "Comment", anchor: "Place" })}`;
      this.input.focus();
    } finally {
      this.busy = false;
      this.root.removeAttribute("aria-busy");
    }
  }

  close(threadId: string | null): void {
    for (const f of this.off) f();
    this.off = [];
    this.comments.typing(false);
    this.root.remove();
    this.pin.remove();
    this.region?.remove();
    this.done(threadId);
  }
}
