/**
 * The page's built-in commands (the keymap's names: undo, delete, group, zoomIn, …), each
 * registered once with RoomApp.registerCommand so a shortcut, a button and a panel run the
 * same code. Edits go through CanvasDoc between two undo boundaries (one undo step each) and
 * do nothing while the page is read-only; locked annotations are not moved or deleted.
 * Tools register their own `tool.<id>` commands (RoomApp.addTool).
 */
import type { Annotation, CanvasDoc } from "@annotd/client";
import type { Undo } from "../model/undo";
import type { Overlay } from "../render/overlay";
import type { Viewport } from "../render/viewport";
import type { TextEditor } from "../tools/text";
import type { Tool } from "../tools/tool";
import { showHelp } from "../ui/help";
import { deleteLockNote } from "../ui/locked";
import { toast } from "../ui/toast";
import type { Selection } from "./selection";
import type { Styling } from "./style";

/** What a nudge needs: the editable selection and one undo step per press. */
interface NudgeContext {
  readonly canvas: Pick<CanvasDoc, "patchMany">;
  readonly undo: Pick<Undo, "boundary">;
  readonly readOnly: boolean;
  selectedAnnotations(): Annotation[];
}

/**
 * The built-in commands edit the model between undo boundaries, move the view as the user
 * (ending following), and reach the active tool and the text editor for Escape and Enter.
 */
interface CommandsContext extends NudgeContext {
  readonly canvas: CanvasDoc;
  readonly undo: Undo;
  readonly selection: Selection;
  readonly viewport: Viewport;
  readonly overlay: Pick<Overlay, "render">;
  readonly editor: Pick<TextEditor, "start">;
  readonly following: string | null;
  registerCommand(id: string, fn: () => void): void;
  activeTool(): Tool;
  follow(session: string | null): void;
  byUser(fn: () => void): void;
  fit(): void;
}

export function registerCommands(app: CommandsContext, styling: Pick<Styling, "changed">): void {
  const c = (id: string, fn: () => void) => app.registerCommand(id, fn);
  const { canvas, undo, selection, viewport } = app;
  const editable = () => (app.readOnly ? [] : app.selectedAnnotations());
  const ids = () => editable().map((a) => a.id);
  c("undo", () => { if (!app.readOnly) undo.undo(); });
  c("redo", () => { if (!app.readOnly) undo.redo(); });
  c("selectAll", () => selection.set(canvas.list().map((a) => a.id)));
  c("deselect", () => {
    app.activeTool().cancel?.();
    if (app.following) app.follow(null);
    else selection.clear();
  });
  c("delete", () => {
    if (!app.readOnly && app.activeTool().deleteOwn?.()) return;
    const all = editable();
    const list = all.filter((a) => !a.locked);
    const note = deleteLockNote(all.length - list.length, all.length);
    if (note) toast(note, list.length ? "info" : "error");
    if (!list.length) return;
    undo.boundary();
    canvas.remove(list.map((a) => a.id));
    undo.boundary();
    selection.clear();
  });
  c("duplicate", () => {
    const list = ids();
    if (!list.length) return;
    const step = 16 / viewport.scale;
    undo.boundary();
    const copies = canvas.duplicate(list, step, step);
    undo.boundary();
    selection.set(copies);
  });
  for (const dir of ["forward", "backward", "front", "back"] as const) {
    c(dir, () => {
      const list = ids();
      if (!list.length) return;
      undo.boundary();
      canvas.reorder(list, dir);
      undo.boundary();
    });
  }
  c("group", () => {
    const list = ids();
    if (list.length < 2) return;
    undo.boundary();
    if (canvas.group(list) === null) toast(`Groups can nest at most 32 deep.`, "error");
    undo.boundary();
    styling.changed();
  });
  c("ungroup", () => {
    const outer = new Set(editable().map((a) => a.groupIds[a.groupIds.length - 1]).filter((g): g is string => !!g));
    if (!outer.size) return;
    undo.boundary();
    canvas.transact(() => { for (const g of outer) canvas.ungroup(g); });
    undo.boundary();
    styling.changed();
  });
  c("lock", () => {
    const list = editable();
    if (!list.length) return;
    const lock = !list.every((a) => a.locked);
    undo.boundary();
    canvas.patchMany(list.map((a) => [a.id, { locked: lock }]));
    undo.boundary();
    styling.changed();
    app.overlay.render();
  });
  c("editText", () => {
    const sel = editable();
    if (sel.length === 1 && sel[0]!.type === "text" && !sel[0]!.locked) app.editor.start(sel[0]!.id, true);
  });
  c("zoomIn", () => app.byUser(() => viewport.zoomCenter(1.25)));
  c("zoomOut", () => app.byUser(() => viewport.zoomCenter(0.8)));
  c("zoomFit", () => app.byUser(() => app.fit()));
  c("zoom100", () => app.byUser(() => viewport.actualSize()));
  c("help", () => showHelp());
}

/** Arrow-key nudge of the selection: 1 image px (10 with shift), one undo step per press. */
export function nudge(app: NudgeContext, dx: number, dy: number): void {
  const list = app.selectedAnnotations().filter((a) => !a.locked);
  if (!list.length || app.readOnly) return;
  app.undo.boundary();
  app.canvas.patchMany(list.map((a) => [a.id, { x: a.x + dx, y: a.y + dy }]));
}
