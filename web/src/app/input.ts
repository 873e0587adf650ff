/**
 * Input: pointer events on the stage go to the active tool (in image pixels); space-drag,
 * the middle button and the hand tool pan; the wheel zooms at the pointer (a trackpad's
 * two-finger scroll pans, its pinch — ctrl+wheel — zooms); two touch pointers pinch-zoom.
 * Keys go through the keymap table; image files dropped on the stage are uploaded.
 * Our cursor goes to presence (rate-limited there).
 */
import type { CanvasDoc, Presence } from "@annotd/client";
import type { Scene } from "../render/scene";
import type { Viewport } from "../render/viewport";
import type { TextEditor } from "../tools/text";
import type { PointerInfo, Tool, ToolId } from "../tools/tool";
import { isMod, SHORTCUTS } from "../ui/keymap";
import type { Shell } from "../ui/shell";
import type { Selection } from "./selection";
import { wheelZoomFactor } from "./wheel";

/**
 * Input turns the stage's pointer, wheel, key and drop events into tool calls, view moves
 * (as the user's), commands and uploads; it reports our cursor through presence.
 */
interface InputContext {
  readonly shell: Pick<Shell, "stage">;
  readonly viewport: Pick<Viewport, "toImage" | "panBy" | "zoomAt">;
  readonly canvas: Pick<CanvasDoc, "list" | "groupMembers">;
  readonly selection: Pick<Selection, "ids" | "set">;
  readonly scene: Pick<Scene, "commit">;
  readonly presence: Pick<Presence, "set">;
  readonly editor: Pick<TextEditor, "editing" | "stop">;
  readonly commands: ReadonlyMap<string, () => void>;
  readonly tool: ToolId;
  activeTool(): Tool;
  byUser(fn: () => void): void;
  run(command: string): void;
  nudge(dx: number, dy: number): void;
  upload(file: File): Promise<void>;
}

export function attachInput(app: InputContext): void {
  const stage = app.shell.stage;
  // Listeners sit on the stage: the drawing's <svg> and the chrome <svg> above it are both
  // inside it (handles are found with closest('[data-handle]') on the event target).
  let spaceDown = false;
  let pan: { x: number; y: number; id: number } | null = null;
  let toolPointer: number | null = null;
  const touches = new Map<number, { x: number; y: number }>();
  let pinch: { dist: number; cx: number; cy: number } | null = null;

  const local = (e: MouseEvent): [number, number] => {
    const r = stage.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };
  const info = (e: PointerEvent | MouseEvent): PointerInfo => {
    const [sx, sy] = local(e);
    const [x, y] = app.viewport.toImage(sx, sy);
    const pe = e as PointerEvent;
    return { x, y, sx, sy, shift: e.shiftKey, alt: e.altKey, mod: isMod(e), pressure: pe.pointerType === "pen" ? pe.pressure : null, event: e };
  };
  const userPan = (fn: () => void) => app.byUser(fn);
  /** Capture may fail for a pointer that is already gone (or a synthetic one): not fatal. */
  const capture = (id: number) => {
    try {
      stage.setPointerCapture(id);
    } catch {
      /* the pointer ended before we asked */
    }
  };

  stage.addEventListener("pointerdown", (e) => {
    if ((e.target as Element).closest("textarea, button, input, a")) return;
    if (app.editor.editing !== null) app.editor.stop();
    stage.focus({ preventScroll: true });
    if (e.pointerType === "touch") {
      touches.set(e.pointerId, { x: e.clientX, y: e.clientY });
      if (touches.size === 2) {
        if (toolPointer !== null) {
          app.activeTool().cancel?.();
          toolPointer = null;
        }
        const [a, b] = [...touches.values()];
        pinch = { dist: Math.hypot(a!.x - b!.x, a!.y - b!.y), cx: (a!.x + b!.x) / 2, cy: (a!.y + b!.y) / 2 };
        return;
      }
    }
    if (e.button === 1 || (e.button === 0 && (spaceDown || app.tool === "hand"))) {
      e.preventDefault();
      pan = { x: e.clientX, y: e.clientY, id: e.pointerId };
      capture(e.pointerId);
      stage.style.cursor = "grabbing";
      return;
    }
    if (e.button !== 0 || toolPointer !== null) return;
    toolPointer = e.pointerId;
    capture(e.pointerId);
    app.activeTool().down(info(e));
  });

  stage.addEventListener("pointermove", (e) => {
    const p = info(e);
    app.presence.set({ cursor: { x: Math.round(p.x * 10) / 10, y: Math.round(p.y * 10) / 10 } });
    if (touches.has(e.pointerId)) {
      touches.set(e.pointerId, { x: e.clientX, y: e.clientY });
      if (pinch && touches.size === 2) {
        const [a, b] = [...touches.values()];
        const dist = Math.hypot(a!.x - b!.x, a!.y - b!.y);
        const cx = (a!.x + b!.x) / 2;
        const cy = (a!.y + b!.y) / 2;
        const r = stage.getBoundingClientRect();
        userPan(() => {
          app.viewport.panBy(cx - pinch!.cx, cy - pinch!.cy, true);
          app.viewport.zoomAt(cx - r.left, cy - r.top, dist / Math.max(1, pinch!.dist), true);
        });
        pinch = { dist, cx, cy };
        return;
      }
    }
    if (pan && e.pointerId === pan.id) {
      const dx = e.clientX - pan.x;
      const dy = e.clientY - pan.y;
      pan = { ...pan, x: e.clientX, y: e.clientY };
      userPan(() => app.viewport.panBy(dx, dy, true));
      return;
    }
    if (toolPointer === e.pointerId) app.activeTool().move(p);
    else if (toolPointer === null) {
      const t = app.activeTool() as { hover?: (p: PointerInfo) => void; hoverMove?: (p: PointerInfo) => void };
      t.hover?.(p);
      t.hoverMove?.(p);
    }
  });

  const end = (e: PointerEvent) => {
    touches.delete(e.pointerId);
    if (touches.size < 2) pinch = null;
    if (pan && e.pointerId === pan.id) {
      pan = null;
      stage.style.cursor = app.activeTool().cursor;
      app.scene.commit();
      return;
    }
    if (toolPointer === e.pointerId) {
      toolPointer = null;
      if (e.type === "pointercancel") app.activeTool().cancel?.();
      else app.activeTool().up(info(e));
    }
  };
  stage.addEventListener("pointerup", end);
  stage.addEventListener("pointercancel", end);
  stage.addEventListener("pointerleave", () => app.presence.set({ cursor: null }));
  stage.addEventListener("dblclick", (e) => app.activeTool().dblclick?.(info(e)));
  stage.addEventListener("contextmenu", (e) => e.preventDefault());

  stage.addEventListener(
    "wheel",
    (e) => {
      e.preventDefault();
      const [sx, sy] = local(e);
      const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1;
      const dx = e.deltaX * unit;
      const dy = e.deltaY * unit;
      const mouseWheel = e.deltaMode !== 0 || (e.deltaX === 0 && Math.abs(e.deltaY) >= 50 && Number.isInteger(e.deltaY));
      userPan(() => {
        if (e.ctrlKey || e.metaKey || mouseWheel) app.viewport.zoomAt(sx, sy, wheelZoomFactor(dy, e.ctrlKey, mouseWheel), true);
        else app.viewport.panBy(-dx, -dy, true);
      });
    },
    { passive: false },
  );

  // Shortcuts work wherever focus is, except in text fields and dialogs; on a focused
  // control, Enter, Space and the arrows keep their usual meaning.
  const onKey = (e: KeyboardEvent) => {
    if (e.defaultPrevented) return;
    const t = e.target as HTMLElement;
    if (t.closest?.("input, textarea, select, [contenteditable], dialog")) return;
    // A modal dialog owns the keyboard even if focus slipped out of it onto the page.
    if (document.querySelector("dialog[open]")) return;
    const onControl = t !== stage && t.closest?.("button, a, [role=tab], [role=radio]");
    if (onControl && (e.key === "Enter" || e.key === " " || e.key.startsWith("Arrow"))) return;
    if (e.key === " ") {
      if (!spaceDown) {
        spaceDown = true;
        stage.style.cursor = "grab";
      }
      e.preventDefault();
      return;
    }
    if (app.activeTool().key?.(e)) {
      e.preventDefault();
      return;
    }
    if (e.key === "Tab" && t === stage && !isMod(e)) {
      // Tab / Shift+Tab on the canvas walk through the annotations in paint order
      const list = app.canvas.list();
      if (list.length === 0) return;
      e.preventDefault();
      const cur = list.findIndex((x) => x.id === app.selection.ids[0]);
      const next = cur < 0 ? (e.shiftKey ? list.length - 1 : 0) : (cur + (e.shiftKey ? list.length - 1 : 1)) % list.length;
      app.selection.set(app.canvas.groupMembers(list[next]!.id));
      return;
    }
    if (e.key.startsWith("Arrow") && !isMod(e)) {
      const step = e.shiftKey ? 10 : 1;
      const d = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[e.key];
      if (d) {
        e.preventDefault();
        app.nudge(d[0]!, d[1]!);
      }
      return;
    }
    for (const sc of SHORTCUTS) {
      if (sc.match(e) && app.commands.has(sc.command)) {
        e.preventDefault();
        app.run(sc.command);
        return;
      }
    }
  };
  document.addEventListener("keydown", onKey);
  document.addEventListener("keyup", (e) => {
    if (e.key === " " && spaceDown) {
      spaceDown = false;
      stage.style.cursor = app.activeTool().cursor;
    }
  });

  stage.addEventListener("dragover", (e) => {
    if (e.dataTransfer?.types.includes("Files")) {
      e.preventDefault();
      stage.classList.add("drop");
    }
  });
  stage.addEventListener("dragleave", () => stage.classList.remove("drop"));
  stage.addEventListener("drop", (e) => {
    stage.classList.remove("drop");
    const f = e.dataTransfer?.files[0];
    if (!f) return;
    e.preventDefault();
    void app.upload(f);
  });
}
