/**
 * Comment threads read from the document (`comments` root), repaired exactly like the
 * server's view (annotd/canvas/view.py `_thread`, `_anchor`, `_message`): a thread is never
 * dropped for a bad field — a discussion is not lost to a bad anchor — its anchor falls back
 * to a point. Pins follow the server's rule: an annotation anchor pins at the box point at
 * its offsets, rotated with the box ({@link boxPoint}); a region at its top-right corner; a
 * point (and a thread whose annotation is gone) at its x, y.
 *
 * Why reads come from the document and writes go through JSON-RPC (see web/DESIGN.md):
 * the document is live and complete on every client, so the list and the pins update in
 * the same transaction as everything else; writes go to the server so that it validates
 * them and stamps author and time (and refuses editing someone else's message).
 */
import * as Y from "yjs";
import { boxPoint, center, rotate } from "./geometry.js";
import { bool, choice, getter, num, str } from "./read.js";
import { MAX_BODY_LENGTH, MAX_MESSAGES_PER_THREAD, MAX_THREADS, THREAD_STATUSES as STATUSES } from "../generated/constants.js";
import { COORD_LIMIT, MAX_USER_LENGTH, isId, type Annotation } from "./schema.js";

export { MAX_BODY_LENGTH, MAX_MESSAGES_PER_THREAD, MAX_THREADS };
export type ThreadStatus = (typeof STATUSES)[number];

export interface Anchor {
  kind: "annotation" | "point" | "region";
  annotationId: string | null;
  offsetX: number;
  offsetY: number;
  x: number;
  y: number;
  w: number;
  h: number;
  /** A point anchor the server made when the thread's annotation was deleted. */
  detachedFrom: string | null;
}

export interface Message {
  id: string;
  author: string;
  body: string;
  createdAt: number;
  editedAt: number | null;
  deleted: boolean;
}

export interface Thread {
  id: string;
  anchor: Anchor;
  status: ThreadStatus;
  createdBy: string;
  createdAt: number;
  resolvedBy: string | null;
  resolvedAt: number | null;
  messages: Message[];
}

/** A map as the server's view accepts one: a Y.Map or a plain object (not an array or other Y type). */
function mapGetter(raw: unknown): ((key: string) => unknown) | null {
  if (raw instanceof Y.Map) return getter(raw);
  if (raw === null || typeof raw !== "object" || Array.isArray(raw) || raw instanceof Y.AbstractType) return null;
  return getter(raw);
}

function mapKeys(raw: unknown): string[] {
  return raw instanceof Y.Map ? [...raw.keys()] : Object.keys(raw as object);
}

/** A non-negative integer (ms timestamps), like the server's `_integer`. */
function integer(raw: unknown, def: number | null): number | null {
  if (raw === undefined || (raw === null && def === null)) return def;
  if (typeof raw !== "number" || !Number.isFinite(raw)) return def;
  return Math.trunc(Math.min(Math.max(raw, 0), 2 ** 53));
}

export function readAnchor(raw: unknown): Anchor {
  const base: Anchor = { kind: "point", annotationId: null, offsetX: 0.5, offsetY: 0.5, x: 0, y: 0, w: 0, h: 0, detachedFrom: null };
  const g = mapGetter(raw);
  if (g === null) return base;
  const x = num(g("x"), 0, -COORD_LIMIT, COORD_LIMIT);
  const y = num(g("y"), 0, -COORD_LIMIT, COORD_LIMIT);
  const kind = g("kind");
  if (kind === "annotation") {
    const id = g("annotationId");
    if (!isId(id)) return { ...base, x, y };
    return { ...base, kind: "annotation", annotationId: id, offsetX: num(g("offsetX"), 0.5, 0, 1), offsetY: num(g("offsetY"), 0.5, 0, 1), x, y };
  }
  if (kind === "region") {
    return { ...base, kind: "region", x, y, w: num(g("w"), 0, 0, COORD_LIMIT), h: num(g("h"), 0, 0, COORD_LIMIT) };
  }
  const detached = g("detachedFrom");
  return { ...base, x, y, detachedFrom: isId(detached) ? detached : null };
}

function readMessage(key: string, raw: unknown): Message | null {
  const g = isId(key) ? mapGetter(raw) : null;
  if (g === null) return null;
  const deleted = bool(g("deleted"), false);
  return {
    id: key,
    author: str(g("author"), "", MAX_USER_LENGTH),
    body: deleted ? "" : str(g("body"), "", MAX_BODY_LENGTH),
    createdAt: integer(g("createdAt"), 0) ?? 0,
    editedAt: integer(g("editedAt"), null),
    deleted,
  };
}

const byTimeThenId = (a: { createdAt: number; id: string }, b: { createdAt: number; id: string }): number =>
  a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export function readThread(key: string, raw: unknown): Thread | null {
  const g = isId(key) ? mapGetter(raw) : null;
  if (g === null) return null;
  const status = choice(g("status"), STATUSES, "open");
  const resolved = status === "resolved";
  const messages: Message[] = [];
  const rawMessages = g("messages");
  const mg = mapGetter(rawMessages);
  if (mg !== null) {
    const keys = mapKeys(rawMessages).sort();
    for (const mid of keys.slice(0, MAX_MESSAGES_PER_THREAD)) {
      const m = readMessage(mid, mg(mid));
      if (m !== null) messages.push(m);
    }
    messages.sort(byTimeThenId);
  }
  return {
    id: key,
    anchor: readAnchor(g("anchor")),
    status,
    createdBy: str(g("createdBy"), "", MAX_USER_LENGTH),
    createdAt: integer(g("createdAt"), 0) ?? 0,
    resolvedBy: resolved ? str(g("resolvedBy"), "", MAX_USER_LENGTH) || null : null,
    resolvedAt: resolved ? integer(g("resolvedAt"), null) : null,
    messages,
  };
}

/** Every thread of a `comments` map, in the server's view order (createdAt, id). */
export function readThreads(comments: Y.Map<unknown>): Thread[] {
  const keys = [...comments.keys()].sort().slice(0, MAX_THREADS);
  const out: Thread[] = [];
  for (const k of keys) {
    const t = readThread(k, comments.get(k));
    if (t !== null) out.push(t);
  }
  return out.sort(byTimeThenId);
}

/** Where a thread's pin is (image pixels), given the annotations as they are now. */
export function pinOf(t: Thread, get: (id: string) => Annotation | null): [number, number] {
  const a = t.anchor;
  if (a.kind === "annotation" && a.annotationId !== null) {
    const target = get(a.annotationId);
    return target === null ? [a.x, a.y] : boxPoint(target, a.offsetX, a.offsetY);
  }
  if (a.kind === "region") return [a.x + a.w, a.y];
  return [a.x, a.y];
}

/** True when the thread lost its annotation (detached by the server, or not yet). */
export function isDetached(t: Thread, has: (id: string) => boolean): boolean {
  const a = t.anchor;
  if (a.kind === "point") return a.detachedFrom !== null;
  return a.kind === "annotation" && a.annotationId !== null && !has(a.annotationId);
}

/** The offsets (0..1 of the box) of image point (x, y) on `a`: the inverse of boxPoint. */
export function offsetsOn(a: Annotation, x: number, y: number): [number, number] {
  const [cx, cy] = center(a);
  const [px, py] = rotate(x, y, cx, cy, -a.rotation);
  const f = (v: number, o: number, size: number) => (size > 0 ? Math.min(1, Math.max(0, (v - o) / size)) : 0.5);
  return [f(px, a.x, a.w), f(py, a.y, a.h)];
}

/** A plain anchor object for `comments.create` (the server adds x, y to annotation anchors). */
export type NewAnchor =
  | { kind: "annotation"; annotationId: string; offsetX: number; offsetY: number }
  | { kind: "point"; x: number; y: number }
  | { kind: "region"; x: number; y: number; w: number; h: number };

export function newAnchorPin(a: NewAnchor, get: (id: string) => Annotation | null): [number, number] {
  if (a.kind === "annotation") {
    const target = get(a.annotationId);
    return target === null ? [0, 0] : boxPoint(target, a.offsetX, a.offsetY);
  }
  if (a.kind === "region") return [a.x + a.w, a.y];
  return [a.x, a.y];
}
