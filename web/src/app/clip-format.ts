/**
 * The annotd clipboard format: copied annotations as JSON text, recognised on paste by its
 * marker, checked by the server's rules before anything is written.
 *
 * ```json
 * {"type": "application/x-annotd+json", "version": 1, "roomId": "r1",
 *  "annotations": [{"type": "rect", "x": 10, "y": 20, "w": 100, "h": 50, "rotation": 0,
 *                   "groupIds": ["g1"], "style": {…}}, …]}
 * ```
 *
 * Each annotation is in the shape `annotations.upsert` accepts when creating (protocol.md,
 * "Document schema"): no `id` or `z` (a paste makes new ones, on top, in the copied order),
 * no server stamps, no `locked` (a copy is unlocked, as Duplicate makes it). Comments are not
 * copied: a thread is a conversation about a place, not part of the shape. On paste, every
 * annotation is validated exactly as the server validates a create (validate.ts in
 * @annotd/client); one bad field refuses the whole paste, naming it.
 */
import {
  InvalidField,
  isPointType,
  MAX_ANNOTATIONS,
  validateAnnotationCreate,
  type Annotation,
  type NewAnnotation,
} from "@annotd/client";

/** The marker (`type`) and the MIME-ish name of the format. */
export const CLIP_TYPE = "application/x-annotd+json";
const VERSION = 1;

/** The create payload of a copy of `a` (what the API would accept). */
function copyOf(a: Annotation): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: a.type, x: a.x, y: a.y, w: a.w, h: a.h, rotation: a.rotation, groupIds: [...a.groupIds], style: { ...a.style },
  };
  if (a.type === "text") Object.assign(out, { text: a.text, wrap: a.wrap });
  if (isPointType(a.type)) out.points = [...a.points];
  if (a.type === "freehand" && a.pressures) out.pressures = [...a.pressures];
  if (a.type === "line" || a.type === "arrow") Object.assign(out, { startArrowhead: a.startArrowhead, endArrowhead: a.endArrowhead });
  if (a.type === "polygon") out.closed = a.closed;
  return out;
}

/** The clipboard text for `list` (in paint order), copied from room `roomId`. */
export function encodeClip(list: Annotation[], roomId: string): string {
  return JSON.stringify({ type: CLIP_TYPE, version: VERSION, roomId, annotations: list.map(copyOf) });
}

export interface Clip {
  roomId: string | null;
  annotations: NewAnnotation[];
}

/**
 * Read clipboard text: null when it is not annotd's format (plain text, another app's
 * JSON); a {@link Clip} of validated create payloads; throws {@link InvalidField} naming the
 * first bad field (`annotations[2].style.stroke`).
 */
export function decodeClip(text: string): Clip | null {
  if (!text.includes(CLIP_TYPE)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (raw === null || typeof raw !== "object" || (raw as { type?: unknown }).type !== CLIP_TYPE) return null;
  const o = raw as { version?: unknown; roomId?: unknown; annotations?: unknown };
  if (o.version !== VERSION) throw new InvalidField("version", `must be ${VERSION} (this page reads version ${VERSION} of the format)`);
  if (!Array.isArray(o.annotations)) throw new InvalidField("annotations", "must be an array");
  if (o.annotations.length > MAX_ANNOTATIONS) throw new InvalidField("annotations", `must hold at most ${MAX_ANNOTATIONS} annotations`);
  const annotations = o.annotations.map((a, i) => validateAnnotationCreate(a, `annotations[${i}]`) as unknown as NewAnnotation);
  return { roomId: typeof o.roomId === "string" ? o.roomId : null, annotations };
}
