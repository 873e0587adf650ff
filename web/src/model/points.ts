/**
 * Point editing's geometry, pure (no DOM, no document): where each point of a line, arrow,
 * polygon or freehand stroke is on the image, and the fields that move, add or remove one.
 *
 * Points are offsets from the box's (x, y) and `rotation` turns the whole shape about the
 * box centre (protocol.md, Document schema). Moving one point changes the points' bounding
 * box and so the centre the others turn about: every edit therefore works on the points'
 * positions on the image (rotation applied), changes those, and finds the box that puts the
 * untouched points exactly where they were ({@link placePoints}), so only the edited point
 * moves on screen whatever the rotation.
 *
 * A freehand stroke has up to 10,000 points: it is edited through a few key points
 * ({@link strokeKeys}, a Douglas–Peucker simplification). Dragging a key point bends the
 * stretch between its neighbouring key points with a smooth falloff ({@link bendStroke});
 * removing one straightens that stretch, or, at an end, trims the stroke back to the next
 * key point ({@link cutStroke}). web/DESIGN.md "Point editing" says why.
 */
import { center, MIN_POINTS, rotate, type Annotation, type AnnotationPatch } from "@annotd/client";

/** Whether `a` is edited point by point (lines, arrows, polygons, freehand strokes). */
export function hasEditablePoints(a: Annotation): boolean {
  return (a.type === "line" || a.type === "arrow" || a.type === "polygon" || a.type === "freehand") && a.points.length >= 2;
}

/** The fewest points a shape of this type may keep (the server's rule, generated). */
export function minPoints(a: Annotation): number {
  return (MIN_POINTS as Record<string, number>)[a.type] ?? 1;
}

/** Every point on the image (rotation applied), flat [x0, y0, x1, y1, …]. */
export function worldPoints(a: Annotation): number[] {
  const [cx, cy] = center(a);
  const out: number[] = new Array(a.points.length);
  for (let i = 0; i + 1 < a.points.length; i += 2) {
    const [x, y] = rotate(a.x + a.points[i]!, a.y + a.points[i + 1]!, cx, cy, a.rotation);
    out[i] = x;
    out[i + 1] = y;
  }
  return out;
}

/**
 * The box and offsets that put `a`'s points at `world` (image positions, rotation applied)
 * while keeping `a.rotation`: the positions are turned back about the old centre, their
 * bounding box becomes the new box, and its centre is placed where the old rotation puts it.
 */
function placePoints(a: Annotation, world: number[]): Required<Pick<AnnotationPatch, "x" | "y" | "w" | "h" | "points">> {
  const [ocx, ocy] = center(a);
  const local: number[] = new Array(world.length);
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let i = 0; i + 1 < world.length; i += 2) {
    const [x, y] = rotate(world[i]!, world[i + 1]!, ocx, ocy, -a.rotation);
    local[i] = x;
    local[i + 1] = y;
    x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
  }
  const w = x1 - x0, h = y1 - y0;
  const [ncx, ncy] = rotate(x0 + w / 2, y0 + h / 2, ocx, ocy, a.rotation);
  const points = local.map((v, i) => v - (i % 2 ? y0 : x0));
  return { x: ncx - w / 2, y: ncy - h / 2, w, h, points };
}

/** Fields that move point `i` (index of the pair) to (x, y) on the image. */
export function movePoint(a: Annotation, i: number, x: number, y: number): AnnotationPatch {
  const world = worldPoints(a);
  world[2 * i] = x;
  world[2 * i + 1] = y;
  return { ...placePoints(a, world), ...(a.pressures ? { pressures: a.pressures } : {}) };
}

/** The edges a new point can be added on: `[after, x, y]` with the edge's middle on the
 * image (a closed polygon's closing edge too); none for freehand strokes. */
export function midpoints(a: Annotation): [number, number, number][] {
  if (a.type === "freehand") return [];
  const world = worldPoints(a);
  const n = world.length / 2;
  const edges = a.type === "polygon" && a.closed ? n : n - 1;
  const out: [number, number, number][] = [];
  for (let k = 0; k < edges; k++) {
    const j = (k + 1) % n;
    out.push([k, (world[2 * k]! + world[2 * j]!) / 2, (world[2 * k + 1]! + world[2 * j + 1]!) / 2]);
  }
  return out;
}

/** Fields that add a point at (x, y) after point `after` (it becomes point `after + 1`). */
export function insertPoint(a: Annotation, after: number, x: number, y: number): AnnotationPatch {
  const world = worldPoints(a);
  world.splice(2 * (after + 1), 0, x, y);
  return placePoints(a, world);
}

/** Fields that remove point `i`, or null when the shape would fall below its minimum. */
export function removePoint(a: Annotation, i: number): AnnotationPatch | null {
  const n = a.points.length / 2;
  if (n - 1 < minPoints(a)) return null;
  const world = worldPoints(a);
  world.splice(2 * i, 2);
  const patch: AnnotationPatch = placePoints(a, world);
  if (a.pressures) patch.pressures = a.pressures.filter((_, k) => k !== i);
  return patch;
}

/** The most key points a stroke shows (more would cover a short stroke in handles). */
const MAX_KEYS = 48;

/**
 * A stroke's key points: indices of the points a Douglas–Peucker simplification keeps at a
 * tolerance of 1/50 of the stroke's size (at least 2 px), both ends always, at most
 * {@link MAX_KEYS} (evenly thinned beyond). In the stroke's own offsets: rotation does not
 * change which points are kept.
 */
export function strokeKeys(a: Annotation): number[] {
  const p = a.points;
  const n = p.length / 2;
  if (n <= 2) return n === 2 ? [0, 1] : [0];
  const tol = Math.max(2, Math.hypot(a.w, a.h) / 50);
  const keep = new Uint8Array(n);
  keep[0] = keep[n - 1] = 1;
  const stack: [number, number][] = [[0, n - 1]];
  while (stack.length) {
    const [s, e] = stack.pop()!;
    const sx = p[2 * s]!, sy = p[2 * s + 1]!, ex = p[2 * e]!, ey = p[2 * e + 1]!;
    const len = Math.hypot(ex - sx, ey - sy);
    let best = -1, far = tol;
    for (let i = s + 1; i < e; i++) {
      const px = p[2 * i]!, py = p[2 * i + 1]!;
      const d = len > 0 ? Math.abs((ex - sx) * (sy - py) - (sx - px) * (ey - sy)) / len : Math.hypot(px - sx, py - sy);
      if (d > far) { far = d; best = i; }
    }
    if (best >= 0) {
      keep[best] = 1;
      stack.push([s, best], [best, e]);
    }
  }
  let keys: number[] = [];
  for (let i = 0; i < n; i++) if (keep[i]) keys.push(i);
  if (keys.length > MAX_KEYS) {
    const step = (keys.length - 1) / (MAX_KEYS - 1);
    keys = Array.from({ length: MAX_KEYS }, (_, k) => keys[Math.round(k * step)]!);
  }
  return keys;
}

/** Cumulative length along `world` from point `from` to each point up to `to`. */
function arcLengths(world: number[], from: number, to: number): number[] {
  const out = [0];
  for (let i = from + 1; i <= to; i++) {
    out.push(out[out.length - 1]! + Math.hypot(world[2 * i]! - world[2 * i - 2]!, world[2 * i + 1]! - world[2 * i - 1]!));
  }
  return out;
}

/** 1 at t = 0 falling smoothly to 0 at t = 1 (a half cosine: no kink where it starts). */
function falloff(t: number): number {
  return 0.5 + 0.5 * Math.cos(Math.PI * Math.min(1, Math.max(0, t)));
}

/**
 * Fields that move key point `keys[k]` of stroke `a` by (dx, dy) on the image, carrying the
 * stretch to each neighbouring key point with it, less and less (by length along the stroke),
 * so the stroke bends instead of growing a spike; the neighbouring key points stay put.
 */
export function bendStroke(a: Annotation, keys: number[], k: number, dx: number, dy: number): AnnotationPatch {
  const world = worldPoints(a);
  const i = keys[k]!;
  const moveBy = (j: number, wgt: number) => {
    world[2 * j] = world[2 * j]! + dx * wgt;
    world[2 * j + 1] = world[2 * j + 1]! + dy * wgt;
  };
  const before = k > 0 ? keys[k - 1]! : i;
  const after = k < keys.length - 1 ? keys[k + 1]! : i;
  const back = arcLengths(world, before, i);
  const total0 = back[back.length - 1]!;
  const ahead = arcLengths(world, i, after);
  const total1 = ahead[ahead.length - 1]!;
  for (let j = before + 1; j < i; j++) moveBy(j, falloff(total0 > 0 ? (total0 - back[j - before]!) / total0 : 1));
  for (let j = i + 1; j < after; j++) moveBy(j, falloff(total1 > 0 ? ahead[j - i]! / total1 : 1));
  moveBy(i, 1);
  return { ...placePoints(a, world), ...(a.pressures ? { pressures: a.pressures } : {}) };
}

/**
 * Fields that remove key point `keys[k]` of stroke `a`: an inner one straightens the stretch
 * between its neighbours (the points in between go), an end one trims the stroke back to the
 * next key point. Null when nothing would be left but one point of a one-key stroke.
 */
export function cutStroke(a: Annotation, keys: number[], k: number): AnnotationPatch | null {
  if (keys.length < 2) return null;
  const n = a.points.length / 2;
  let from: number, to: number; // the points [from, to) go
  if (k === 0) [from, to] = [0, keys[1]!];
  else if (k === keys.length - 1) [from, to] = [keys[k - 1]! + 1, n];
  else [from, to] = [keys[k - 1]! + 1, keys[k + 1]!];
  const world = worldPoints(a);
  world.splice(2 * from, 2 * (to - from));
  if (world.length / 2 < minPoints(a)) return null;
  const patch: AnnotationPatch = placePoints(a, world);
  if (a.pressures) patch.pressures = a.pressures.filter((_, j) => j < from || j >= to);
  return patch;
}
