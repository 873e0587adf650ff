/**
 * What a tool is and what it may use. Tools get pointer positions already converted to image
 * pixels and write through CanvasDoc (one transaction per change, LOCAL_ORIGIN, so undo
 * tracks them); a drag is wrapped in undo.begin()/end() so one gesture is one undo step.
 */
import type { Selection } from "../app/selection";
import type { AnnotationType, Arrowhead, CanvasDoc, Style } from "@annotd/client";
import type { Undo } from "../model/undo";
import type { Overlay } from "../render/overlay";
import type { Scene } from "../render/scene";
import type { TextLayout } from "../render/text";
import type { Viewport } from "../render/viewport";

export type ToolId = "select" | "hand" | "comment" | AnnotationType;

export interface PointerInfo {
  /** Image pixels. */
  x: number;
  y: number;
  /** Screen (CSS) pixels relative to the canvas. */
  sx: number;
  sy: number;
  shift: boolean;
  alt: boolean;
  mod: boolean;
  pressure: number | null;
  /** The raw event (handles are found with `target.closest('[data-handle]')`). */
  event: PointerEvent | MouseEvent;
}

export interface ToolContext {
  canvas: CanvasDoc;
  scene: Scene;
  viewport: Viewport;
  selection: Selection;
  undo: Undo;
  overlay: Overlay;
  layout: TextLayout;
  /** Style for new annotations (what the style panel shows with nothing selected). */
  newStyle(): Style;
  newArrowheads(type: "line" | "arrow"): { startArrowhead: Arrowhead; endArrowhead: Arrowhead };
  setTool(id: ToolId): void;
  editText(id: string, selectAll?: boolean): void;
  readOnly(): boolean;
  /** Hit tolerance in image pixels (a few screen pixels whatever the zoom). */
  tolerance(): number;
  setCursor(css: string): void;
}

export interface Tool {
  readonly id: ToolId;
  readonly cursor: string;
  down(p: PointerInfo): void;
  move(p: PointerInfo): void;
  up(p: PointerInfo): void;
  hover?(p: PointerInfo): void;
  dblclick?(p: PointerInfo): void;
  /** Return true when the key was used. */
  key?(e: KeyboardEvent): boolean;
  cancel?(): void;
  /** Delete what the tool itself has selected (a point being edited) instead of the
   * selected annotations; false when it has nothing of its own selected. */
  deleteOwn?(): boolean;
  activate?(): void;
  deactivate?(): void;
}

/** Snap the vector (dx, dy) to multiples of 15° (shift while drawing lines and rotating). */
export function snapAngle(dx: number, dy: number): [number, number] {
  const len = Math.hypot(dx, dy);
  const step = Math.PI / 12;
  const a = Math.round(Math.atan2(dy, dx) / step) * step;
  return [Math.cos(a) * len, Math.sin(a) * len];
}
