/**
 * Read one stored annotation into a repaired {@link Annotation}, by the same rules as the
 * server's materialized view (annotd/canvas/view.py `sanitize_annotation`): anything another
 * client wrote that breaks the schema is replaced by its default or clamped, never trusted,
 * and an entry that cannot be shown (bad key, unknown type) is skipped.
 */
import * as Y from "yjs";
import {
  ARROWHEADS,
  COLOR_RE,
  COORD_LIMIT,
  FONT_FAMILIES,
  FONT_WEIGHTS,
  MAX_FONT_SIZE,
  MAX_GROUP_DEPTH,
  MAX_POINTS,
  MAX_STROKE_WIDTH,
  MAX_TEXT_LENGTH,
  MAX_USER_LENGTH,
  MIN_FONT_SIZE,
  isPointType,
  STROKE_STYLES,
  STYLE_DEFAULTS,
  TEXT_ALIGNS,
  ANNOTATION_TYPES,
  FIRST_KEY,
  IMAGE_MIMES,
  MAX_IMAGE_SIDE,
  SHA256_RE,
  isId,
  type Annotation,
  type AnnotationType,
  type Arrowhead,
  type ImageRef,
  type Style,
} from "./schema.js";
import { isValidKey } from "./zorder.js";

export type Getter = (key: string) => unknown;

export function getter(raw: unknown): Getter | null {
  if (raw instanceof Y.Map) return (k) => raw.get(k);
  if (raw !== null && typeof raw === "object" && !Array.isArray(raw)) {
    const o = raw as Record<string, unknown>;
    return (k) => (Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined);
  }
  return null;
}

export function num(raw: unknown, def: number, lo: number, hi: number): number {
  if (typeof raw !== "number" || !Number.isFinite(raw)) return def;
  return Math.min(Math.max(raw, lo), hi);
}

export function choice<T extends string>(raw: unknown, choices: readonly T[], def: T): T {
  return typeof raw === "string" && (choices as readonly string[]).includes(raw) ? (raw as T) : def;
}

export function str(raw: unknown, def: string, max: number): string {
  if (raw instanceof Y.Text) raw = raw.toString();
  if (typeof raw !== "string") return def;
  return raw.length > max ? raw.slice(0, max) : raw;
}

export function bool(raw: unknown, def: boolean): boolean {
  return typeof raw === "boolean" ? raw : def;
}

function color(raw: unknown, def: string): string {
  return typeof raw === "string" && (raw === "none" || COLOR_RE.test(raw)) ? raw : def;
}

export function readStyle(raw: unknown): Style {
  const g = getter(raw);
  const d = STYLE_DEFAULTS;
  if (g === null) return { ...d };
  return {
    stroke: color(g("stroke"), d.stroke),
    fill: color(g("fill"), d.fill),
    strokeWidth: num(g("strokeWidth"), d.strokeWidth, 0, MAX_STROKE_WIDTH),
    strokeStyle: choice(g("strokeStyle"), STROKE_STYLES, d.strokeStyle),
    opacity: num(g("opacity"), d.opacity, 0, 1),
    fontFamily: choice(g("fontFamily"), FONT_FAMILIES, d.fontFamily),
    fontSize: num(g("fontSize"), d.fontSize, MIN_FONT_SIZE, MAX_FONT_SIZE),
    fontWeight: choice(g("fontWeight"), FONT_WEIGHTS, d.fontWeight),
    textAlign: choice(g("textAlign"), TEXT_ALIGNS, d.textAlign),
  };
}

function coord(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v) && Math.abs(v) <= COORD_LIMIT;
}

/** Flat points (nested [x, y, p?] pairs accepted, like the server) and their pressures. */
export function readPoints(raw: unknown, pressuresRaw: unknown): { points: number[]; pressures: number[] | null } {
  if (raw instanceof Y.Array) raw = raw.toArray();
  if (!Array.isArray(raw)) return { points: [], pressures: null };
  let flat: unknown[] = raw;
  if (flat.length > 0 && Array.isArray(flat[0])) {
    const nested = flat.slice(0, MAX_POINTS);
    flat = [];
    const ps: unknown[] = [];
    for (const item of nested) {
      if (Array.isArray(item) && item.length >= 2) {
        flat.push(item[0], item[1]);
        ps.push(item.length > 2 ? item[2] : null);
      } else {
        flat.push(null, null);
        ps.push(null);
      }
    }
    if (pressuresRaw === undefined && ps.some((p) => p !== null)) pressuresRaw = ps;
  }
  if (flat.length > 2 * MAX_POINTS) flat = flat.slice(0, 2 * MAX_POINTS);
  if (flat.length % 2) flat = flat.slice(0, -1);
  const points: number[] = [];
  let clean = true;
  for (let i = 0; i < flat.length; i += 2) {
    const x = flat[i];
    const y = flat[i + 1];
    if (coord(x) && coord(y)) points.push(x, y);
    else clean = false;
  }
  const n = points.length / 2;
  let pressures: number[] | null = null;
  if (clean && Array.isArray(pressuresRaw) && pressuresRaw.length >= n) {
    const ps = pressuresRaw.slice(0, n);
    if (ps.every((p) => typeof p === "number" && p >= 0 && p <= 1)) pressures = ps as number[];
  }
  return { points, pressures };
}

function groupIds(raw: unknown): string[] {
  if (!Array.isArray(raw)) return [];
  const out: string[] = [];
  for (const g of raw.slice(0, MAX_GROUP_DEPTH + 1)) if (isId(g) && !out.includes(g)) out.push(g);
  return out.slice(0, MAX_GROUP_DEPTH);
}

/** The repaired annotation stored under `key`, or null if it cannot be shown. */
export function readAnnotation(key: string, raw: unknown): Annotation | null {
  if (!isId(key)) return null;
  const g = getter(raw);
  if (g === null) return null;
  const type = g("type");
  if (typeof type !== "string" || !(ANNOTATION_TYPES as readonly string[]).includes(type)) return null;
  const t = type as AnnotationType;
  const zRaw = g("z");
  const rot = num(g("rotation"), 0, -Infinity, Infinity);
  const a: Annotation = {
    id: key,
    type: t,
    x: num(g("x"), 0, -COORD_LIMIT, COORD_LIMIT),
    y: num(g("y"), 0, -COORD_LIMIT, COORD_LIMIT),
    w: num(g("w"), 0, 0, COORD_LIMIT),
    h: num(g("h"), 0, 0, COORD_LIMIT),
    rotation: ((rot % 360) + 360) % 360,
    z: isValidKey(zRaw) ? zRaw : FIRST_KEY,
    groupIds: groupIds(g("groupIds")),
    locked: bool(g("locked"), false),
    style: readStyle(g("style")),
    createdBy: str(g("createdBy"), "", MAX_USER_LENGTH),
    updatedBy: str(g("updatedBy"), "", MAX_USER_LENGTH),
    updatedAt: Math.trunc(num(g("updatedAt"), 0, 0, 2 ** 53)),
    text: "",
    wrap: true,
    points: [],
    pressures: null,
    startArrowhead: "none",
    endArrowhead: "none",
    closed: true,
  };
  if (t === "text") {
    a.text = str(g("text"), "", MAX_TEXT_LENGTH);
    a.wrap = bool(g("wrap"), true);
  } else if (isPointType(t)) {
    const { points, pressures } = readPoints(g("points"), t === "freehand" ? g("pressures") : undefined);
    a.points = points;
    a.pressures = pressures;
    if (t === "line" || t === "arrow") {
      a.startArrowhead = choice<Arrowhead>(g("startArrowhead"), ARROWHEADS, "none");
      a.endArrowhead = choice<Arrowhead>(g("endArrowhead"), ARROWHEADS, t === "arrow" ? "arrow" : "none");
    } else if (t === "polygon") {
      a.closed = bool(g("closed"), true);
    }
  }
  return a;
}


export function readImage(raw: unknown): ImageRef | null {
  const g = getter(raw);
  if (g === null) return null;
  const sha = g("sha256");
  const w = g("width");
  const h = g("height");
  const mime = g("mime");
  const side = (v: unknown) => (typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= MAX_IMAGE_SIDE ? v : 0);
  if (typeof sha === "string" && SHA256_RE.test(sha) && side(w) && side(h) && typeof mime === "string" && (IMAGE_MIMES as readonly string[]).includes(mime)) {
    return { sha256: sha, width: side(w), height: side(h), mime };
  }
  return null;
}
