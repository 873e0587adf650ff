/**
 * Per-user undo/redo: a Y.UndoManager that tracks LOCAL_ORIGIN only, so remote updates
 * (origin: the socket) are never undone by this user (excalidraw #7353 is the bug avoided).
 *
 * One gesture = one step: a drag calls begin()/end(); in between, every transaction merges
 * into one stack item whatever the pauses. Outside gestures, edits closer than
 * CAPTURE_MS merge (typing a burst). A gesture can also be abandoned: what it did is taken
 * back and leaves no step. The selection before each step is kept in the stack
 * item's meta and restored with it. A server-side revert clears both stacks (clear()).
 */
import * as Y from "yjs";
import { LOCAL_ORIGIN, type CanvasDoc } from "@annotd/client";

const CAPTURE_MS = 300;

export class Undo {
  readonly manager: Y.UndoManager;
  private gestures = 0;
  private stackAtBegin = 0;
  private listeners = new Set<() => void>();

  constructor(
    canvas: CanvasDoc,
    private getSelection: () => string[],
    private setSelection: (ids: string[]) => void,
  ) {
    this.manager = new Y.UndoManager([canvas.annotations], {
      trackedOrigins: new Set([LOCAL_ORIGIN]),
      captureTimeout: CAPTURE_MS,
    });
    this.manager.on("stack-item-added", (ev: { stackItem: { meta: Map<string, unknown> }; type: string }) => {
      if (!ev.stackItem.meta.has("selection")) ev.stackItem.meta.set("selection", this.getSelection());
      this.emit();
    });
    this.manager.on("stack-item-popped", (ev: { stackItem: { meta: Map<string, unknown> } }) => {
      const sel = ev.stackItem.meta.get("selection");
      if (Array.isArray(sel)) this.setSelection(sel.filter((id) => canvas.has(id)));
      this.emit();
    });
    this.manager.on("stack-cleared", () => this.emit());
  }

  onChange(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private emit(): void {
    for (const l of this.listeners) l();
  }

  /** Start a gesture: everything until end() is one undo step. */
  begin(): void {
    if (this.gestures++ === 0) {
      this.manager.stopCapturing();
      this.manager.captureTimeout = Number.MAX_SAFE_INTEGER;
      this.stackAtBegin = this.manager.undoStack.length;
    }
  }

  /**
   * End the current gesture and take back what it did, leaving neither an undo nor a redo
   * step (a shape abandoned half-drawn: Escape, a second finger, a cancelled pointer).
   */
  abandon(): void {
    if (this.gestures === 0) return;
    this.gestures = 1;
    this.end();
    if (this.manager.undoStack.length > this.stackAtBegin) {
      this.manager.undo();
      this.manager.redoStack.pop();
      this.emit();
    }
  }

  end(): void {
    if (this.gestures > 0 && --this.gestures === 0) {
      this.manager.captureTimeout = CAPTURE_MS;
      this.manager.stopCapturing();
    }
  }

  /** Close the current step (e.g. a style change) so the next edit starts a new one. */
  boundary(): void {
    this.manager.stopCapturing();
  }

  undo(): boolean {
    return this.manager.undo() !== null;
  }

  redo(): boolean {
    return this.manager.redo() !== null;
  }

  canUndo(): boolean {
    return this.manager.undoStack.length > 0;
  }

  canRedo(): boolean {
    return this.manager.redoStack.length > 0;
  }

  clear(): void {
    this.manager.clear();
  }
}
