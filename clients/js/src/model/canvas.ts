/**
 * CanvasDoc: the room's Yjs document read and written exactly as protocol.md says.
 *
 * Reads go through a per-annotation cache of repaired values (model/read.ts), invalidated by
 * a deep observer, so the renderer and tools never touch raw Yjs values. Every write is ONE
 * `doc.transact(fn, LOCAL_ORIGIN)`: one Yjs update on the wire, one undo step (model/undo.ts
 * tracks that origin only, so nobody ever undoes someone else's edit). Writers touch only
 * the keys they change, each on its own key of the annotation's nested map (and style
 * property by property), so a concurrent edit of another field by someone else survives.
 */
import * as Y from "yjs";
import { reportError } from "../emitter.js";
import { readAnnotation, readImage } from "./read.js";
import {
  MAX_GROUP_DEPTH,
  isPointType,
  ROOT_ANNOTATIONS,
  ROOT_COMMENTS,
  ROOT_META,
  STYLE_DEFAULTS,
  paintCompare,
  quantize,
  typeDefaults,
  type Annotation,
  type AnnotationPatch,
  type ImageRef,
  type NewAnnotation,
  type Style,
} from "./schema.js";
import { isValidKey, keyBetween, reorderKey, type Direction } from "./zorder.js";

/** Origin of every local edit: the undo manager tracks exactly this. */
export const LOCAL_ORIGIN = { local: true } as const;

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** A random 16-character id of [A-Za-z0-9_-] (like the server's `new_id`). */
export function newId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  let s = "";
  for (const b of bytes) s += ID_ALPHABET[b & 63];
  return s;
}

export type ChangeListener = (ids: ReadonlySet<string>, origin: unknown, local: boolean) => void;

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameValue(v, b[i]));
  return false;
}

function bbox(points: number[]): [number, number, number, number] {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let i = 0; i < points.length; i += 2) {
    const x = points[i]!, y = points[i + 1]!;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return points.length ? [x0, y0, x1, y1] : [0, 0, 0, 0];
}

export function quantizePoints(points: number[]): number[] {
  return points.map((v) => quantize(v) + 0); // +0 turns -0 into 0
}

/** Points as absolute image coordinates → (x, y) at their top-left and offsets from it. */
export function normalizePoints(abs: number[]): { x: number; y: number; points: number[] } {
  const [x0, y0] = bbox(abs);
  const points = quantizePoints(abs.map((v, i) => v - (i % 2 ? y0 : x0)));
  return { x: x0, y: y0, points };
}

export class CanvasDoc {
  readonly doc: Y.Doc;
  readonly annotations: Y.Map<unknown>;
  readonly meta: Y.Map<unknown>;
  readonly comments: Y.Map<unknown>;
  userId: string;
  now: () => number = () => Date.now();
  private cache = new Map<string, Annotation | null>();
  private sorted: Annotation[] | null = null;
  private listeners = new Set<ChangeListener>();
  private imageListeners = new Set<(img: ImageRef | null) => void>();

  constructor(doc: Y.Doc, userId: string) {
    this.doc = doc;
    this.userId = userId;
    this.annotations = doc.getMap(ROOT_ANNOTATIONS);
    this.meta = doc.getMap(ROOT_META);
    this.comments = doc.getMap(ROOT_COMMENTS);
    this.annotations.observeDeep((events, tr) => {
      const ids = new Set<string>();
      for (const ev of events) {
        if (ev.target === this.annotations) {
          for (const k of (ev as Y.YMapEvent<unknown>).keysChanged) ids.add(k);
        } else {
          const top = ev.path[0];
          if (typeof top === "string") ids.add(top);
        }
      }
      for (const id of ids) this.cache.delete(id);
      this.sorted = null;
      const local = tr.origin === LOCAL_ORIGIN;
      // A listener must never throw into Yjs: that would skip the transaction's 'update'
      // event, and the change would not be sent.
      for (const l of this.listeners) {
        try {
          l(ids, tr.origin, local);
        } catch (err) {
          reportError(err);
        }
      }
    });
    this.meta.observe((ev) => {
      if (ev.keysChanged.has("image")) {
        const img = this.image();
        for (const l of this.imageListeners) {
          try {
            l(img);
          } catch (err) {
            reportError(err);
          }
        }
      }
    });
  }

  /** Called after each transaction that changed annotations, with the ids it touched. */
  onChange(l: ChangeListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  onImage(l: (img: ImageRef | null) => void): () => void {
    this.imageListeners.add(l);
    return () => this.imageListeners.delete(l);
  }

  image(): ImageRef | null {
    return readImage(this.meta.get("image"));
  }

  get(id: string): Annotation | null {
    let a = this.cache.get(id);
    if (a === undefined) {
      a = this.annotations.has(id) ? readAnnotation(id, this.annotations.get(id)) : null;
      this.cache.set(id, a);
    }
    return a;
  }

  has(id: string): boolean {
    return this.get(id) !== null;
  }

  /** Every showable annotation in paint order (z, id). */
  list(): Annotation[] {
    if (this.sorted === null) {
      const out: Annotation[] = [];
      for (const id of this.annotations.keys()) {
        const a = this.get(id);
        if (a !== null) out.push(a);
      }
      out.sort(paintCompare);
      this.sorted = out;
    }
    return this.sorted;
  }

  transact<T>(fn: () => T): T {
    let out!: T;
    this.doc.transact(() => {
      out = fn();
    }, LOCAL_ORIGIN);
    return out;
  }

  private topZ(): string | null {
    let top: string | null = null;
    for (const a of this.list()) if (isValidKey(a.z) && (top === null || a.z > top)) top = a.z;
    return top;
  }

  /** Create an annotation (schema defaults for what is missing, z at the front); returns its id. */
  create(input: NewAnnotation): string {
    const id = input.id ?? newId();
    return this.transact(() => {
      const now = this.now();
      const fields: Record<string, unknown> = {
        id,
        type: input.type,
        x: 0,
        y: 0,
        w: 0,
        h: 0,
        rotation: 0,
        groupIds: [],
        locked: false,
        ...typeDefaults(input.type),
      };
      for (const [k, v] of Object.entries(input)) {
        if (k !== "style" && v !== undefined) fields[k] = v;
      }
      if (isPointType(input.type)) {
        const pts = quantizePoints((input.points ?? []) as number[]);
        fields.points = pts;
        const [x0, y0, x1, y1] = bbox(pts);
        if (input.w === undefined) fields.w = x1 - x0;
        if (input.h === undefined) fields.h = y1 - y0;
      }
      if (fields.pressures === null) delete fields.pressures;
      if (input.z === undefined) fields.z = keyBetween(this.topZ(), null);
      fields.createdBy = this.userId;
      fields.updatedBy = this.userId;
      fields.updatedAt = now;
      const style = new Y.Map<unknown>(Object.entries({ ...STYLE_DEFAULTS, ...(input.style ?? {}) }));
      const ymap = new Y.Map<unknown>(Object.entries(fields));
      ymap.set("style", style);
      this.annotations.set(id, ymap);
      return id;
    });
  }

  /** Write only the given fields of annotation `id` (style property by property). */
  patch(id: string, patch: AnnotationPatch): boolean {
    return this.transact(() => this.writePatch(id, patch));
  }

  /** Several patches as one update (a multi-selection drag is one step). */
  patchMany(entries: Iterable<[string, AnnotationPatch]>): void {
    this.transact(() => {
      for (const [id, p] of entries) this.writePatch(id, p);
    });
  }

  private writePatch(id: string, patch: AnnotationPatch): boolean {
    const current = this.get(id);
    if (current === null) return false;
    const fields: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(patch)) if (v !== undefined && k !== "style") fields[k] = v;
    if (isPointType(current.type) && Array.isArray(fields.points)) {
      const pts = quantizePoints(fields.points as number[]);
      fields.points = pts;
      const [x0, y0, x1, y1] = bbox(pts);
      if (fields.w === undefined) fields.w = x1 - x0;
      if (fields.h === undefined) fields.h = y1 - y0;
      if (current.type === "freehand" && !("pressures" in patch)) fields.pressures = null; // one per *old* point
    }
    const stylePatch: Partial<Style> = patch.style ?? {};
    let raw = this.annotations.get(id);
    if (!(raw instanceof Y.Map) || !(raw.get("style") instanceof Y.Map)) {
      // Written by another client as a plain object: rebuild it as nested maps from the
      // repaired view, so concurrent edits merge from now on.
      const full: Record<string, unknown> = { ...current };
      const styleMap = new Y.Map<unknown>(Object.entries({ ...current.style, ...stylePatch }));
      delete full.style;
      const ymap = new Y.Map<unknown>(Object.entries(full));
      ymap.set("style", styleMap);
      this.annotations.set(id, ymap);
      raw = ymap;
    }
    const ymap = raw as Y.Map<unknown>;
    let changed = false;
    for (const [k, v] of Object.entries(fields)) {
      if (v === null) {
        if (ymap.has(k)) {
          ymap.delete(k);
          changed = true;
        }
      } else if (!ymap.has(k) || !sameValue(ymap.get(k), v)) {
        ymap.set(k, v);
        changed = true;
      }
    }
    const style = ymap.get("style") as Y.Map<unknown>;
    for (const [k, v] of Object.entries(stylePatch)) {
      if (v !== undefined && style.get(k) !== v) {
        style.set(k, v);
        changed = true;
      }
    }
    if (changed) {
      ymap.set("updatedBy", this.userId);
      ymap.set("updatedAt", this.now());
    }
    return changed;
  }

  remove(ids: Iterable<string>): void {
    this.transact(() => {
      for (const id of ids) if (this.annotations.has(id)) this.annotations.delete(id);
    });
  }

  /** Move each of `ids` in the paint order; the selection keeps its own relative order. */
  reorder(ids: string[], direction: Direction): void {
    const wanted = new Set(ids);
    this.transact(() => {
      const ascending = direction === "front" || direction === "backward";
      const targets = this.list().filter((a) => wanted.has(a.id)).map((a) => a.id);
      if (!ascending) targets.reverse();
      for (const id of targets) {
        const order = this.list().map((a) => ({ z: a.z, id: a.id }));
        const index = order.findIndex((o) => o.id === id);
        const key = reorderKey(order, index, direction);
        if (key !== null) this.writePatch(id, { z: key });
      }
    });
  }

  /** Group `ids` (nested inside the groups all of them share); returns the new group id. */
  group(ids: string[], groupId: string = newId()): string | null {
    const anns = ids.map((id) => this.get(id)).filter((a): a is Annotation => a !== null);
    if (anns.length < 2) return null;
    const lists = anns.map((a) => [...a.groupIds]);
    let shared = 0;
    while (lists.every((g) => g.length > shared) && new Set(lists.map((g) => g[g.length - 1 - shared])).size === 1) shared++;
    if (lists.some((g) => g.length + 1 > MAX_GROUP_DEPTH)) return null;
    this.transact(() => {
      anns.forEach((a, i) => {
        const g = lists[i]!;
        const cut = g.length - shared;
        this.writePatch(a.id, { groupIds: [...g.slice(0, cut), groupId, ...g.slice(cut)] });
      });
    });
    return groupId;
  }

  ungroup(groupId: string): string[] {
    const members = this.list().filter((a) => a.groupIds.includes(groupId));
    this.transact(() => {
      for (const a of members) this.writePatch(a.id, { groupIds: a.groupIds.filter((g) => g !== groupId) });
    });
    return members.map((a) => a.id);
  }

  /** Copies of `ids` moved by (dx, dy), above everything; groups inside the copy are new groups. */
  duplicate(ids: string[], dx: number, dy: number): string[] {
    const wanted = new Set(ids);
    const src = this.list().filter((a) => wanted.has(a.id));
    const groupMap = new Map<string, string>();
    const out: string[] = [];
    this.transact(() => {
      let z = this.topZ();
      for (const a of src) {
        z = keyBetween(z, null);
        const groupIds = a.groupIds.map((g) => {
          if (!groupMap.has(g)) groupMap.set(g, newId());
          return groupMap.get(g)!;
        });
        const copy: NewAnnotation = {
          type: a.type, x: a.x + dx, y: a.y + dy, w: a.w, h: a.h, rotation: a.rotation, z, groupIds,
          locked: false, style: { ...a.style },
        };
        if (a.type === "text") Object.assign(copy, { text: a.text, wrap: a.wrap });
        if (isPointType(a.type)) copy.points = [...a.points];
        if (a.type === "freehand" && a.pressures) copy.pressures = [...a.pressures];
        if (a.type === "line" || a.type === "arrow") Object.assign(copy, { startArrowhead: a.startArrowhead, endArrowhead: a.endArrowhead });
        if (a.type === "polygon") copy.closed = a.closed;
        out.push(this.create(copy));
      }
    });
    return out;
  }

  /** Every annotation id sharing the outermost group of `id` (what one click selects). */
  groupMembers(id: string): string[] {
    const a = this.get(id);
    if (a === null) return [];
    const outer = a.groupIds[a.groupIds.length - 1];
    if (outer === undefined) return [id];
    return this.list().filter((b) => b.groupIds.includes(outer)).map((b) => b.id);
  }
}
