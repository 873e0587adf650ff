/**
 * Validate an annotation as the server's API does before creating it
 * (annotd/canvas/validate.py `validate_annotation_create`): refuse, never repair, naming the
 * offending field with the server's dotted path (`annotation.style.strokeWidth`,
 * `annotation.points[3]`), and return the normalized copy the server would store (numbers,
 * points rounded to 1/16 px, rotation in [0, 360)).
 *
 * Why a client needs it: data that arrives from outside the document (a clipboard, a file)
 * is written by the client straight into the Yjs document, where the server could only
 * repair it afterwards. Checking it here first, by the server's own rules and constants,
 * means what a client writes is exactly what the API would have accepted. The rules are
 * mirrored, the numbers and names are the generated constants; a test feeds the same cases
 * to both and compares (tests/test_web_clipboard.py).
 */
import {
  ANNOTATION_TYPES,
  ARROWHEADS,
  COMMON_FIELDS,
  COORD_LIMIT,
  FONT_FAMILIES,
  FONT_WEIGHTS,
  MAX_FONT_SIZE,
  MAX_GROUP_DEPTH,
  MAX_POINTS,
  MAX_STROKE_WIDTH,
  MAX_TEXT_LENGTH,
  MIN_FONT_SIZE,
  MIN_POINTS,
  POINT_QUANTUM,
  SERVER_FIELDS,
  STROKE_STYLES,
  TEXT_ALIGNS,
  TYPE_FIELDS,
} from "../generated/constants.js";
import { COLOR_RE, ID_RE, isPointType, type AnnotationType } from "./schema.js";
import { isValidKey } from "./zorder.js";

/** A refused field, as the server's `invalid_params` names it (`data.field`). */
export class InvalidField extends Error {
  constructor(readonly field: string, readonly reason: string) {
    super(`${field}: ${reason}`);
    this.name = "InvalidField";
  }
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function range(lo: number, hi: number): string {
  if (lo === -Infinity && hi === Infinity) return "";
  if (hi === Infinity) return ` ≥ ${lo}`;
  if (lo === -Infinity) return ` ≤ ${hi}`;
  return ` in ${lo}..${hi}`;
}

function number(v: unknown, field: string, lo = -Infinity, hi = Infinity, what = ""): number {
  if (typeof v !== "number") throw new InvalidField(field, `must be a number${what}`);
  if (!Number.isFinite(v)) throw new InvalidField(field, "must be a finite number");
  if (v < lo || v > hi) throw new InvalidField(field, `must be a number${what || range(lo, hi)}`);
  return v;
}

function choice<T extends string>(v: unknown, field: string, choices: readonly T[]): T {
  if (typeof v !== "string" || !(choices as readonly string[]).includes(v)) throw new InvalidField(field, `must be one of ${choices.join(", ")}`);
  return v as T;
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== "boolean") throw new InvalidField(field, "must be true or false");
  return v;
}

/** C0 and C1 controls (Unicode category Cc), as Python's unicodedata reads them. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;

function text(v: unknown, field: string, max: number): string {
  if (typeof v !== "string") throw new InvalidField(field, "must be a string");
  const chars = [...v]; // code points, as Python counts
  if (chars.length > max) throw new InvalidField(field, `must be at most ${max} characters`);
  for (const ch of chars) if (ch !== "\n" && ch !== "\t" && CONTROL.test(ch)) throw new InvalidField(field, "must not contain control characters");
  return v;
}

function ids(v: unknown, field: string, max: number): string[] {
  if (!Array.isArray(v)) throw new InvalidField(field, "must be an array of ids");
  if (v.length > max) throw new InvalidField(field, `must hold 0 to ${max} ids`);
  const out = v.map((x, i) => {
    if (typeof x !== "string" || !ID_RE.test(x)) throw new InvalidField(`${field}[${i}]`, "must be 1 to 64 characters of A-Z, a-z, 0-9, _ or -");
    return x;
  });
  if (new Set(out).size !== out.length) throw new InvalidField(field, "must not repeat an id");
  return out;
}

function style(v: unknown, field: string): Obj {
  if (!isObj(v)) throw new InvalidField(field, "must be an object");
  const out: Obj = {};
  for (const [key, x] of Object.entries(v)) {
    const f = `${field}.${key}`;
    if (key === "stroke" || key === "fill") {
      if (typeof x !== "string" || !(x === "none" || COLOR_RE.test(x))) throw new InvalidField(f, "must be #rrggbb, #rrggbbaa or none");
      out[key] = x;
    } else if (key === "strokeWidth") out[key] = number(x, f, 0, MAX_STROKE_WIDTH, ` ≥ 0 and ≤ ${MAX_STROKE_WIDTH}`);
    else if (key === "strokeStyle") out[key] = choice(x, f, STROKE_STYLES);
    else if (key === "opacity") out[key] = number(x, f, 0, 1);
    else if (key === "fontFamily") out[key] = choice(x, f, FONT_FAMILIES);
    else if (key === "fontSize") out[key] = number(x, f, MIN_FONT_SIZE, MAX_FONT_SIZE);
    else if (key === "fontWeight") out[key] = choice(x, f, FONT_WEIGHTS);
    else if (key === "textAlign") out[key] = choice(x, f, TEXT_ALIGNS);
    else throw new InvalidField(f, "unknown style field");
  }
  return out;
}

function quantize(v: number): number {
  return Math.round(v / POINT_QUANTUM) * POINT_QUANTUM + 0;
}

function points(v: unknown, field: string, type: AnnotationType): number[] {
  if (!Array.isArray(v)) throw new InvalidField(field, "must be a flat array [x0, y0, x1, y1, …] of numbers");
  if (v.length % 2) throw new InvalidField(field, "must hold an even count of numbers (x, y pairs)");
  const n = v.length / 2;
  if (n > MAX_POINTS) throw new InvalidField(field, `must hold at most ${MAX_POINTS} points`);
  const min = (MIN_POINTS as Record<string, number>)[type] ?? 0;
  if (n < min) throw new InvalidField(field, `must hold at least ${min} points for a ${type}`);
  return v.map((x, i) => {
    if (typeof x !== "number") throw new InvalidField(`${field}[${i}]`, "must be a number");
    if (!(Number.isFinite(x) && -COORD_LIMIT <= x && x <= COORD_LIMIT)) throw new InvalidField(`${field}[${i}]`, `must be a finite number within ±${COORD_LIMIT}`);
    return quantize(x);
  });
}

const TYPE_FIELD_SETS = TYPE_FIELDS as Record<string, readonly string[]>;
const ANY_TYPE_FIELD = new Set(Object.values(TYPE_FIELD_SETS).flat());
const SERVER = new Set<string>(SERVER_FIELDS);

/**
 * A create payload as `annotations.upsert` accepts it (`field` prefixes the paths, as the
 * server's `annotation`): `type` required, `points` for point types, every other field
 * optional. Returns the given fields normalized; throws {@link InvalidField}.
 */
export function validateAnnotationCreate(payload: unknown, field = "annotation"): Obj {
  if (!isObj(payload)) throw new InvalidField(field, "must be an object");
  if (!("type" in payload)) throw new InvalidField(`${field}.type`, "required");
  const type = choice(payload.type, `${field}.type`, ANNOTATION_TYPES);
  const allowed = new Set<string>([...COMMON_FIELDS, ...(TYPE_FIELD_SETS[type] ?? [])]);
  const out: Obj = {};
  for (const [key, v] of Object.entries(payload)) {
    const f = `${field}.${key}`;
    if (!allowed.has(key)) throw new InvalidField(f, ANY_TYPE_FIELD.has(key) ? `not allowed for type ${type}` : "unknown field");
    if (SERVER.has(key)) throw new InvalidField(f, "set by the server");
    if (key === "id") {
      if (typeof v !== "string" || !ID_RE.test(v)) throw new InvalidField(f, "must be 1 to 64 characters of A-Z, a-z, 0-9, _ or -");
      out[key] = v;
    } else if (key === "type") out[key] = type;
    else if (key === "x" || key === "y") out[key] = number(v, f, -COORD_LIMIT, COORD_LIMIT);
    else if (key === "w" || key === "h") out[key] = number(v, f, 0, COORD_LIMIT, ` ≥ 0 and ≤ ${COORD_LIMIT}`);
    else if (key === "rotation") out[key] = ((number(v, f) % 360) + 360) % 360 + 0;
    else if (key === "z") {
      if (!isValidKey(v)) throw new InvalidField(f, "must be a fractional index key (base-62, e.g. a0)");
      out[key] = v;
    } else if (key === "groupIds") out[key] = ids(v, f, MAX_GROUP_DEPTH);
    else if (key === "locked" || key === "wrap" || key === "closed") out[key] = bool(v, f);
    else if (key === "style") out[key] = style(v, f);
    else if (key === "text") out[key] = text(v, f, MAX_TEXT_LENGTH);
    else if (key === "startArrowhead" || key === "endArrowhead") out[key] = choice(v, f, ARROWHEADS);
    else if (key === "points") out[key] = points(v, f, type);
  }
  if ("pressures" in payload) {
    const v = payload.pressures;
    const f = `${field}.pressures`;
    if (v === null) out.pressures = null;
    else {
      if (!Array.isArray(v)) throw new InvalidField(f, "must be an array of numbers in 0..1, one per point, or null");
      const pts = out.points as number[] | undefined;
      if (pts !== undefined && v.length !== pts.length / 2) throw new InvalidField(f, `must hold one number per point (${pts.length / 2})`);
      out.pressures = v.map((x, i) => number(x, `${f}[${i}]`, 0, 1));
    }
  }
  if (isPointType(type) && !("points" in out)) throw new InvalidField(`${field}.points`, `required for a ${type}`);
  return out;
}
