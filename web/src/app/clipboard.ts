/**
 * Copy, cut and paste through the system clipboard (Ctrl/Cmd+C, X, V, or the browser's
 * Edit menu), within a room, between rooms and between tabs.
 *
 * Copy writes the selection as annotd's clipboard text (clip-format.ts) in the `copy`
 * event, which always works, then asks the async Clipboard API to add a transparent PNG of
 * the selection painted by the screen's paint code (render/raster.ts) next to the same text,
 * for other apps; where the browser refuses that, the text alone stays. Cut is copy then
 * delete, one undo step; locked annotations are copied but stay, and the page says so.
 *
 * Paste, in order: annotd's text → copies with new ids and new groups, on top, selected, one
 * undo step, placed at the pointer when it is over the canvas, else where the originals were
 * plus a step per paste when that spot is in view (Figma's and Excalidraw's habit), else at
 * the centre of the view; every annotation is validated as the server would and one bad
 * field refuses the whole paste in words; the room's limits (annotations per room, document
 * size) are checked first and a refusal says which. An image file → the room's base image
 * (BaseImage.upload: a room that already has one asks first, as "Replace image" does). Other
 * text → a text box with it. Nothing is pasted into a read-only preview (the page says so),
 * and text fields keep the browser's own copy and paste.
 */
import * as Y from "yjs";
import {
  CanvasDoc,
  COORD_LIMIT,
  InvalidField,
  isValidKey,
  keyBetween,
  newId,
  validateAnnotationCreate,
  type Annotation,
  type NewAnnotation,
  type Style,
} from "@annotd/client";
import type { Undo } from "../model/undo";
import { annotationsPng } from "../render/raster";
import { LINE_HEIGHT, type TextLayout } from "../render/text";
import type { Viewport } from "../render/viewport";
import type { TextEditor } from "../tools/text";
import { cutLockNote } from "../ui/locked";
import type { Shell } from "../ui/shell";
import { toast } from "../ui/toast";
import { decodeClip, encodeClip, type Clip } from "./clip-format";
import type { ClientConfig } from "./http";
import type { Selection } from "./selection";

/** Copies land this many screen pixels right and down of the originals, per paste. */
const STEP_PX = 16;
/** A text box made from pasted text is this many font sizes wide (as one made by a click). */
const TEXT_WIDTH_EMS = 12;

/** What copy, cut and paste read and write: the selection, the document, the view and undo. */
interface ClipboardContext {
  readonly roomId: string;
  readonly config: Pick<ClientConfig, "limits">;
  readonly canvas: CanvasDoc;
  readonly undo: Pick<Undo, "boundary">;
  readonly selection: Pick<Selection, "set">;
  readonly viewport: Pick<Viewport, "toImage" | "visible" | "scale">;
  readonly layout: TextLayout;
  readonly shell: Pick<Shell, "stage">;
  readonly editor: Pick<TextEditor, "editing">;
  readonly readOnly: boolean;
  selectedAnnotations(): Annotation[];
  newStyle(): Style;
  upload(file: File): Promise<void>;
}

/** Whether a clipboard event belongs to the browser (a text field, a dialog, selected page text). */
function forTheBrowser(e: ClipboardEvent): boolean {
  const t = e.target as HTMLElement | null;
  if (t?.closest?.("input, textarea, select, [contenteditable], dialog")) return true;
  if (document.querySelector("dialog[open]")) return true;
  const sel = document.getSelection();
  return sel !== null && !sel.isCollapsed && sel.toString() !== "";
}

function plural(n: number, one: string): string {
  return `${n.toLocaleString("en")} ${one}${n === 1 ? "" : "s"}`;
}

/** The unrotated boxes' union: where a clip sits, to move it as a whole. */
function clipBox(list: NewAnnotation[]): { x: number; y: number; w: number; h: number } {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const a of list) {
    x0 = Math.min(x0, a.x ?? 0); y0 = Math.min(y0, a.y ?? 0);
    x1 = Math.max(x1, (a.x ?? 0) + (a.w ?? 0)); y1 = Math.max(y1, (a.y ?? 0) + (a.h ?? 0));
  }
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

export function attachClipboard(app: ClipboardContext): void {
  const stage = app.shell.stage;
  /** The pointer over the canvas, in image pixels (null when it is elsewhere). */
  let pointer: [number, number] | null = null;
  /** The last clip pasted and how often in a row (each paste steps further). */
  let last = { text: "", times: 0 };

  stage.addEventListener("pointermove", (e) => {
    const r = stage.getBoundingClientRect();
    pointer = app.viewport.toImage(e.clientX - r.left, e.clientY - r.top);
  });
  stage.addEventListener("pointerleave", () => { pointer = null; });

  /** Put `list` on the clipboard (`data`: the event's, written now); the PNG follows. */
  const copy = (list: Annotation[], data: DataTransfer): void => {
    const text = encodeClip(list, app.roomId);
    data.setData("text/plain", text);
    last = { text, times: 0 };
    if (typeof ClipboardItem === "undefined" || !navigator.clipboard?.write) return;
    const png = annotationsPng(list, app.layout).then((b) => b ?? new Blob([], { type: "image/png" }));
    const item = new ClipboardItem({ "text/plain": new Blob([text], { type: "text/plain" }), "image/png": png });
    // Refused (no permission, the page lost focus): the event's text is on the clipboard.
    navigator.clipboard.write([item]).catch(() => undefined);
  };

  const onCopy = (e: ClipboardEvent, cut: boolean): void => {
    if (forTheBrowser(e) || app.editor.editing !== null || !e.clipboardData) return;
    const list = app.selectedAnnotations();
    if (!list.length) return;
    e.preventDefault();
    copy(list, e.clipboardData);
    if (!cut) return;
    if (app.readOnly) {
      toast("Copied. This is a preview, so nothing was cut: go back to live to change the room.");
      return;
    }
    const free = list.filter((a) => !a.locked);
    const note = cutLockNote(list.length - free.length, list.length);
    if (note) toast(note, "info");
    if (!free.length) return;
    app.undo.boundary();
    app.canvas.remove(free.map((a) => a.id));
    app.undo.boundary();
    app.selection.set(list.filter((a) => a.locked).map((a) => a.id));
  };
  document.addEventListener("copy", (e) => onCopy(e, false));
  document.addEventListener("cut", (e) => onCopy(e, true));

  document.addEventListener("paste", (e) => {
    if (forTheBrowser(e) || app.editor.editing !== null || !e.clipboardData) return;
    const data = e.clipboardData;
    const text = data.getData("text/plain");
    const image = [...data.files].find((f) => f.type.startsWith("image/"));
    if (!text && !image) return;
    e.preventDefault();
    if (app.readOnly) {
      toast("Nothing pasted: this is a preview. Go back to live to paste.", "error");
      return;
    }
    let clip: Clip | null;
    try {
      clip = decodeClip(text);
    } catch (err) {
      if (!(err instanceof InvalidField)) throw err;
      toast(`Nothing pasted: the copied annotd data is not valid (${err.message}).`, "error", 10_000);
      return;
    }
    if (clip) pasteClip(clip, text);
    else if (image) void app.upload(image);
    else pasteText(text);
  });

  /** Where a clip of `box` goes: the offset to add to every annotation. */
  const offsetFor = (box: { x: number; y: number; w: number; h: number }, text: string | null): [number, number] => {
    const cx = box.x + box.w / 2;
    const cy = box.y + box.h / 2;
    if (pointer) return [pointer[0] - cx, pointer[1] - cy];
    const v = app.viewport.visible();
    const inView = text !== null && box.x >= v.x && box.y >= v.y && box.x + box.w <= v.x + v.w && box.y + box.h <= v.y + v.h;
    if (inView) {
      last = { text, times: last.text === text ? last.times + 1 : 1 };
      const d = (STEP_PX * last.times) / app.viewport.scale;
      return [d, d];
    }
    return [v.x + v.w / 2 - cx, v.y + v.h / 2 - cy];
  };

  /** Why `list` cannot be added to this room (its limits), or null. */
  const refusal = (list: NewAnnotation[]): string | null => {
    const { maxAnnotations, maxDocumentBytes } = app.config.limits;
    const have = app.canvas.list().length;
    if (have + list.length > maxAnnotations) {
      return `Nothing pasted: a room holds at most ${plural(maxAnnotations, "annotation")}; this one has ${have.toLocaleString("en")}, so ${plural(list.length, "more annotation")} would not fit.`;
    }
    if (maxDocumentBytes !== undefined) {
      // the paste written into an empty document: about what it adds to this one
      const scratch = new CanvasDoc(new Y.Doc(), app.canvas.userId);
      scratch.transact(() => { for (const a of list) scratch.create(a); });
      const adds = Y.encodeStateAsUpdate(scratch.doc).byteLength;
      const size = Y.encodeStateAsUpdate(app.canvas.doc).byteLength;
      if (size + adds > maxDocumentBytes) {
        const mb = (n: number) => `${(n / 1_048_576).toFixed(1)} MB`;
        return `Nothing pasted: the room's document is ${mb(size)} and may grow to ${mb(maxDocumentBytes)}; these ${plural(list.length, "annotation")} would add about ${mb(adds)}.`;
      }
    }
    return null;
  };

  /** `text`: the clipboard text the clip came from (null: not a copy of annotations). */
  const pasteClip = (clip: Clip, text: string | null): void => {
    const src = clip.annotations;
    if (!src.length) return;
    const [dx, dy] = offsetFor(clipBox(src), text);
    const groups = new Map<string, string>();
    let z = app.canvas.list().reduce<string | null>((top, a) => (isValidKey(a.z) && (top === null || a.z > top) ? a.z : top), null);
    const placed: NewAnnotation[] = [];
    for (const a of src) {
      const x = Math.min(COORD_LIMIT, Math.max(-COORD_LIMIT, (a.x ?? 0) + dx));
      const y = Math.min(COORD_LIMIT, Math.max(-COORD_LIMIT, (a.y ?? 0) + dy));
      const groupIds = (a.groupIds ?? []).map((g) => {
        if (!groups.has(g)) groups.set(g, newId());
        return groups.get(g)!;
      });
      z = keyBetween(z, null);
      placed.push({ ...a, id: undefined, x, y, z, groupIds, locked: false });
    }
    const why = refusal(placed);
    if (why) {
      toast(why, "error", 10_000);
      return;
    }
    app.undo.boundary();
    const ids = app.canvas.transact(() => placed.map((a) => app.canvas.create(a)));
    app.undo.boundary();
    app.selection.set(ids);
  };

  /** Plain text from another app: a text box with it, at the pointer or the view's centre. */
  const pasteText = (text: string): void => {
    const style = app.newStyle();
    const w = TEXT_WIDTH_EMS * style.fontSize;
    const h = text.split("\n").length * LINE_HEIGHT * style.fontSize;
    let payload: NewAnnotation;
    try {
      payload = validateAnnotationCreate({ type: "text", text, wrap: true, x: 0, y: 0, w, h, style }, "text") as unknown as NewAnnotation;
    } catch (err) {
      if (!(err instanceof InvalidField)) throw err;
      toast(`Nothing pasted: the copied text cannot be a text box (${err.reason}).`, "error", 10_000);
      return;
    }
    pasteClip({ roomId: null, annotations: [payload] }, null);
  };
}
