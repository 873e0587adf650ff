/**
 * The document schema of protocol.md ("Document schema"), as TypeScript types and constants.
 *
 * Why a module of its own: the reader (which repairs what other clients wrote), the writer
 * and the renderer must agree on every name, default and bound, exactly as the server's
 * annotd/canvas/schema.py does. Keep the two in step; the node tests check both against
 * documents the Python server produced.
 */

export const ROOT_META = "meta";
export const ROOT_ANNOTATIONS = "annotations";
export const ROOT_COMMENTS = "comments";
export const SCHEMA_VERSION = 1;

export const ANNOTATION_TYPES = ["text", "line", "arrow", "rect", "ellipse", "polygon", "freehand"] as const;
export type AnnotationType = (typeof ANNOTATION_TYPES)[number];
export const ARROWHEADS = ["none", "arrow", "triangle", "dot"] as const;
export type Arrowhead = (typeof ARROWHEADS)[number];
export const STROKE_STYLES = ["solid", "dashed", "dotted"] as const;
export type StrokeStyle = (typeof STROKE_STYLES)[number];
export const FONT_FAMILIES = ["sans", "serif", "mono"] as const;
export type FontFamily = (typeof FONT_FAMILIES)[number];
export const FONT_WEIGHTS = ["normal", "bold"] as const;
export type FontWeight = (typeof FONT_WEIGHTS)[number];
export const TEXT_ALIGNS = ["left", "center", "right"] as const;
export type TextAlign = (typeof TEXT_ALIGNS)[number];

export const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
export const COLOR_RE = /^#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$/;

export const MAX_ANNOTATIONS = 10_000;
export const MAX_POINTS = 10_000;
export const MAX_TEXT_LENGTH = 10_000;
export const MAX_GROUP_DEPTH = 32;
export const MAX_USER_LENGTH = 128;
export const COORD_LIMIT = 1_000_000;
export const MAX_STROKE_WIDTH = 1_000;
export const MIN_FONT_SIZE = 1;
export const MAX_FONT_SIZE = 2_000;
/** Stored point offsets are multiples of 1/16 px (exact in float32: 5 bytes in Yjs, not 9). */
export const POINT_QUANTUM = 1 / 16;
export const FIRST_KEY = "a0";

export interface Style {
  stroke: string;
  fill: string;
  strokeWidth: number;
  strokeStyle: StrokeStyle;
  opacity: number;
  fontFamily: FontFamily;
  fontSize: number;
  fontWeight: FontWeight;
  textAlign: TextAlign;
}

export const STYLE_DEFAULTS: Readonly<Style> = Object.freeze({
  stroke: "#e03131",
  fill: "none",
  strokeWidth: 2,
  strokeStyle: "solid",
  opacity: 1,
  fontFamily: "sans",
  fontSize: 16,
  fontWeight: "normal",
  textAlign: "left",
});
export const STYLE_KEYS = Object.keys(STYLE_DEFAULTS) as (keyof Style)[];

export const POINT_TYPES: ReadonlySet<AnnotationType> = new Set(["line", "arrow", "polygon", "freehand"]);
export const MIN_POINTS: Readonly<Record<string, number>> = { line: 2, arrow: 2, polygon: 3, freehand: 1 };

/** A repaired, fully defaulted annotation: what the screen draws (the server's view). */
export interface Annotation {
  id: string;
  type: AnnotationType;
  x: number;
  y: number;
  w: number;
  h: number;
  rotation: number;
  z: string;
  groupIds: string[];
  locked: boolean;
  style: Style;
  createdBy: string;
  updatedBy: string;
  updatedAt: number;
  text: string;
  wrap: boolean;
  /** Flat offsets from (x, y): [x0, y0, x1, y1, ...]; empty for rect/ellipse/text. */
  points: number[];
  /** Freehand only: one value in 0..1 per point, or null when the device had no pressure. */
  pressures: number[] | null;
  startArrowhead: Arrowhead;
  endArrowhead: Arrowhead;
  closed: boolean;
}

/** What a caller may write: any subset of the stored fields (style property by property). */
export interface AnnotationPatch {
  x?: number;
  y?: number;
  w?: number;
  h?: number;
  rotation?: number;
  z?: string;
  groupIds?: string[];
  locked?: boolean;
  style?: Partial<Style>;
  text?: string;
  wrap?: boolean;
  points?: number[];
  pressures?: number[] | null;
  startArrowhead?: Arrowhead;
  endArrowhead?: Arrowhead;
  closed?: boolean;
}

export interface NewAnnotation extends AnnotationPatch {
  type: AnnotationType;
  id?: string;
}

export interface ImageRef {
  sha256: string;
  width: number;
  height: number;
  mime: string;
}

/** Type-specific fields and their defaults (schema.py TYPE_DEFAULTS). */
export function typeDefaults(type: AnnotationType): Record<string, unknown> {
  switch (type) {
    case "text":
      return { text: "", wrap: true };
    case "line":
      return { points: [], startArrowhead: "none", endArrowhead: "none" };
    case "arrow":
      return { points: [], startArrowhead: "none", endArrowhead: "arrow" };
    case "polygon":
      return { points: [], closed: true };
    case "freehand":
      return { points: [] };
    default:
      return {};
  }
}

export function typeFields(type: AnnotationType): string[] {
  switch (type) {
    case "text":
      return ["text", "wrap"];
    case "line":
    case "arrow":
      return ["points", "startArrowhead", "endArrowhead"];
    case "polygon":
      return ["points", "closed"];
    case "freehand":
      return ["points", "pressures"];
    default:
      return [];
  }
}

export function quantize(v: number): number {
  return Math.round(v / POINT_QUANTUM) * POINT_QUANTUM;
}

export function isId(v: unknown): v is string {
  return typeof v === "string" && ID_RE.test(v);
}

/** Paint order: (z, id) ascending, plain string comparison (later paints on top). */
export function paintCompare(a: { z: string; id: string }, b: { z: string; id: string }): number {
  if (a.z !== b.z) return a.z < b.z ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
