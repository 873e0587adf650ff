/**
 * The document schema of protocol.md ("Document schema"), as TypeScript types over the
 * constants generated from the server's annotd/canvas/schema.py (generated/constants.ts).
 *
 * Why a module of its own: the reader (which repairs what other clients wrote), the writer
 * and the renderer must agree on every name, default and bound, exactly as the server does;
 * the values come from the server's source, only the types and helpers are written here.
 */
import {
  ANNOTATION_TYPES,
  ARROWHEADS,
  COLOR_PATTERN,
  FONT_FAMILIES,
  FONT_WEIGHTS,
  ID_PATTERN,
  POINT_QUANTUM,
  POINT_TYPES,
  SHA256_PATTERN,
  STROKE_STYLES,
  STYLE_DEFAULTS,
  TAG_PATTERN,
  TEXT_ALIGNS,
  TYPE_DEFAULTS,
  TYPE_FIELDS,
} from "../generated/constants.js";

export {
  ANNOTATION_TYPES,
  ARROWHEADS,
  COORD_LIMIT,
  FIRST_KEY,
  FONT_FAMILIES,
  FONT_WEIGHTS,
  IMAGE_MIMES,
  MAX_ANNOTATIONS,
  MAX_FONT_SIZE,
  MAX_GROUP_DEPTH,
  MAX_IMAGE_SIDE,
  MAX_POINTS,
  MAX_STROKE_WIDTH,
  MAX_TEXT_LENGTH,
  MAX_USER_LENGTH,
  MIN_FONT_SIZE,
  MIN_POINTS,
  POINT_QUANTUM,
  POINT_TYPES,
  ROOT_ANNOTATIONS,
  ROOT_COMMENTS,
  ROOT_META,
  SCHEMA_VERSION,
  STROKE_STYLES,
  STYLE_DEFAULTS,
  TEXT_ALIGNS,
} from "../generated/constants.js";

export type AnnotationType = (typeof ANNOTATION_TYPES)[number];
export type Arrowhead = (typeof ARROWHEADS)[number];
export type StrokeStyle = (typeof STROKE_STYLES)[number];
export type FontFamily = (typeof FONT_FAMILIES)[number];
export type FontWeight = (typeof FONT_WEIGHTS)[number];
export type TextAlign = (typeof TEXT_ALIGNS)[number];

/** A server pattern (matched against the whole string there) as a whole-string RegExp. */
export function whole(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

export const ID_RE = whole(ID_PATTERN);
export const TAG_RE = whole(TAG_PATTERN);
export const COLOR_RE = whole(COLOR_PATTERN);
export const SHA256_RE = whole(SHA256_PATTERN);

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

export const STYLE_KEYS = Object.keys(STYLE_DEFAULTS) as (keyof Style)[];

const POINT_TYPE_SET: ReadonlySet<string> = new Set(POINT_TYPES);

/** Whether annotations of this type are drawn through `points`. */
export function isPointType(type: string): boolean {
  return POINT_TYPE_SET.has(type);
}

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
  return structuredClone(TYPE_DEFAULTS[type]) as Record<string, unknown>;
}

export function typeFields(type: AnnotationType): string[] {
  return [...TYPE_FIELDS[type]];
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
