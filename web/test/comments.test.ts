/**
 * The comments model (@annotd/client model/comments.ts) against documents the Python server produced
 * (tests/web/test_web_comments.py writes them into $ANNOTD_FIXTURES): every thread read like the
 * server's view (repairs included), every pin where the server puts it, and the comment
 * tool's offsets the inverse of the pin rule. Built with esbuild, run with `node --test`.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import * as Y from "yjs";
import {
  boxPoint,
  CanvasDoc,
  isDetached,
  offsetsOn,
  pinOf,
  readThreads,
  type Anchor,
  type Thread,
} from "@annotd/client";

const dir = process.env.ANNOTD_FIXTURES;
if (!dir) throw new Error("ANNOTD_FIXTURES is not set (run through pytest: tests/web/test_web_comments.py)");

function load(name: string): CanvasDoc {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, new Uint8Array(readFileSync(join(dir!, name))));
  return new CanvasDoc(doc, "node-test");
}

/** The server's anchor_to_json. */
function anchorJson(a: Anchor): Record<string, unknown> {
  if (a.kind === "annotation") return { kind: a.kind, annotationId: a.annotationId, offsetX: a.offsetX, offsetY: a.offsetY, x: a.x, y: a.y };
  if (a.kind === "region") return { kind: a.kind, x: a.x, y: a.y, w: a.w, h: a.h };
  const out: Record<string, unknown> = { kind: a.kind, x: a.x, y: a.y };
  if (a.detachedFrom !== null) out.detachedFrom = a.detachedFrom;
  return out;
}

/** The server's thread_to_json, with the pin computed by the client's rule. */
function threadJson(t: Thread, canvas: CanvasDoc): Record<string, unknown> {
  const [x, y] = pinOf(t, (id) => canvas.get(id));
  return {
    id: t.id, anchor: anchorJson(t.anchor), pin: { x, y }, status: t.status, createdBy: t.createdBy, createdAt: t.createdAt,
    resolvedBy: t.resolvedBy, resolvedAt: t.resolvedAt, messages: t.messages,
  };
}

function close(got: Record<string, unknown>[], want: Record<string, unknown>[]): void {
  // pins are floats from rotation: equal to 1e-9 px; everything else exactly
  assert.equal(got.length, want.length);
  got.forEach((g, i) => {
    const w = want[i]!;
    const gp = g.pin as { x: number; y: number };
    const wp = w.pin as { x: number; y: number };
    assert.ok(Math.abs(gp.x - wp.x) < 1e-9 && Math.abs(gp.y - wp.y) < 1e-9, `pin of ${String(w.id)}: ${JSON.stringify(gp)} vs ${JSON.stringify(wp)}`);
    assert.deepEqual({ ...g, pin: null }, { ...w, pin: null });
  });
}

test("reads every thread of a server document like the server's view, pins included", () => {
  const canvas = load("comments.bin");
  const threads = readThreads(canvas.comments);
  close(threads.map((t) => threadJson(t, canvas)), JSON.parse(readFileSync(join(dir, "comments-view.json"), "utf8")));
  const detached = threads.filter((t) => isDetached(t, (id) => canvas.has(id))).map((t) => t.id);
  assert.deepEqual(detached.sort(), ["gone", "orphan"]);
});

test("repairs broken threads the way the server's view does (never drops a discussion)", () => {
  const canvas = load("raw-comments.bin");
  close(readThreads(canvas.comments).map((t) => threadJson(t, canvas)), JSON.parse(readFileSync(join(dir, "raw-comments-view.json"), "utf8")));
});

test("the comment tool's offsets are the inverse of the pin rule (rotated boxes too)", () => {
  const canvas = load("comments.bin");
  for (const a of canvas.list()) {
    for (const [fx, fy] of [[0, 0], [1, 0], [0.25, 0.75], [0.5, 0.5], [1, 1]] as const) {
      const [x, y] = boxPoint(a, fx, fy);
      const [gx, gy] = offsetsOn(a, x, y);
      if (a.w > 0) assert.ok(Math.abs(gx - fx) < 1e-9, `${a.id} fx ${fx} -> ${gx}`);
      if (a.h > 0) assert.ok(Math.abs(gy - fy) < 1e-9, `${a.id} fy ${fy} -> ${gy}`);
    }
    const [ox, oy] = offsetsOn(a, a.x - 1000, a.y - 1000);
    assert.ok(ox >= 0 && ox <= 1 && oy >= 0 && oy <= 1, "outside the box: clamped to it");
  }
});
