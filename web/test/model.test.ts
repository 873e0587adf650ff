/**
 * The document model against documents the Python server produced (tests/web/test_web_model.py
 * writes them into $ANNOTD_FIXTURES and checks what this file writes back). Run by pytest:
 * built with esbuild, executed with `node --test`.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import * as Y from "yjs";
import {
  CanvasDoc,
  isValidKey,
  keyBetween,
  MSG_SYNC,
  normalizePoints,
  parseFrame,
  readAnnotation,
  syncUpdate,
  withSeq,
  type Annotation,
} from "@annotd/client";

const dir = process.env.ANNOTD_FIXTURES;
if (!dir) throw new Error("ANNOTD_FIXTURES is not set (run through pytest: tests/web/test_web_model.py)");
const fixture = (name: string) => readFileSync(join(dir, name));
const json = (name: string) => JSON.parse(readFileSync(join(dir, name), "utf8"));

function load(name: string): CanvasDoc {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, new Uint8Array(fixture(name)));
  return new CanvasDoc(doc, "node-test");
}

/** The API JSON of an annotation (the server's annotation_to_json, without `issues`). */
function apiJson(a: Annotation): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: a.id, type: a.type, x: a.x, y: a.y, w: a.w, h: a.h, rotation: a.rotation, z: a.z, groupIds: a.groupIds,
    locked: a.locked, style: a.style, createdBy: a.createdBy, updatedBy: a.updatedBy, updatedAt: a.updatedAt,
  };
  if (a.type === "text") Object.assign(out, { text: a.text, wrap: a.wrap });
  if (a.type === "line" || a.type === "arrow") Object.assign(out, { points: a.points, startArrowhead: a.startArrowhead, endArrowhead: a.endArrowhead });
  if (a.type === "polygon") Object.assign(out, { points: a.points, closed: a.closed });
  if (a.type === "freehand") {
    out.points = a.points;
    if (a.pressures) out.pressures = a.pressures;
  }
  return out;
}

test("reads every annotation of a server document exactly as the server's view", () => {
  const canvas = load("server.bin");
  const expected = json("server-view.json") as Record<string, unknown>[];
  const got = canvas.list().map(apiJson);
  assert.deepEqual(got, expected.map((e) => {
    const { issues: _issues, ...rest } = e;
    return rest;
  }));
  assert.deepEqual(canvas.image(), json("server-image.json"));
});

test("repairs what a raw client wrote the way the server's view does", () => {
  const canvas = load("raw.bin");
  const expected = json("raw-view.json") as Record<string, unknown>[];
  assert.deepEqual(canvas.list().map(apiJson), expected.map((e) => {
    const { issues: _issues, ...rest } = e;
    return rest;
  }));
  // an entry the server skips (unknown type, bad key) is skipped here too
  assert.equal(readAnnotation("bad key!", { type: "rect" }), null);
  assert.equal(readAnnotation("ok", { type: "hexagon" }), null);
});

test("fractional keys equal the server's for the same intervals", () => {
  const cases = json("keys.json") as [string | null, string | null, string][];
  for (const [a, b, want] of cases) assert.equal(keyBetween(a, b), want, `between ${a} and ${b}`);
  for (const bad of ["", "a00", "A00000000000000000000000000", "a!", "b1"]) assert.equal(isValidKey(bad), false, bad);
  for (const good of ["a0", "a1V", "Zz", "b10"]) assert.equal(isValidKey(good), true, good);
});

test("reorder gives the keys the server's reorder gives", () => {
  const cases = json("reorder.json") as { id: string; direction: "forward" | "backward" | "front" | "back"; z: string }[];
  for (const c of cases) {
    const canvas = load("server.bin");
    canvas.reorder([c.id], c.direction);
    assert.equal(canvas.get(c.id)!.z, c.z, `${c.direction} ${c.id}`);
  }
});

test("group nests like the server's group: innermost first, inside shared groups", () => {
  const cases = json("group.json") as { ids: string[]; groupIds: Record<string, string[]> }[];
  for (const c of cases) {
    const canvas = load("server.bin");
    canvas.group(c.ids, "NEWGROUP");
    for (const [id, want] of Object.entries(c.groupIds)) assert.deepEqual(canvas.get(id)!.groupIds, want, id);
  }
});

test("seq frames unwrap to the inner sync message", () => {
  const inner = syncUpdate(new Uint8Array([1, 2, 3]));
  const f = parseFrame(withSeq(300, inner));
  assert.equal(f.seq, 300);
  assert.equal(f.kind, MSG_SYNC);
  const hex = Buffer.from(withSeq(300, inner)).toString("hex");
  assert.equal(hex.slice(0, 6), "64ac02"); // protocol.md's example: 64 ac 02 = 100, 300
});

test("writes a document the server reads without a single repair", () => {
  const doc = new Y.Doc();
  const canvas = new CanvasDoc(doc, "Alice#t1");
  canvas.now = () => 1764160000000;
  const ids: string[] = [];
  ids.push(canvas.create({ type: "rect", x: 10, y: 20, w: 100, h: 50, style: { stroke: "#1971c2", fill: "#ffec9933", strokeStyle: "dashed" } }));
  ids.push(canvas.create({ type: "ellipse", x: 200, y: 20, w: 80, h: 40, rotation: 30 }));
  ids.push(canvas.create({ type: "text", x: 10, y: 100, w: 200, h: 20, text: "Crack <b>in</b> the weld", style: { fontFamily: "serif", fontWeight: "bold", textAlign: "center", fontSize: 24 } }));
  const line = normalizePoints([300.03, 300.01, 250.5, 240.33]);
  ids.push(canvas.create({ type: "line", ...line, startArrowhead: "dot" }));
  ids.push(canvas.create({ type: "arrow", ...normalizePoints([10, 300, 90, 360]) }));
  ids.push(canvas.create({ type: "polygon", ...normalizePoints([400, 400, 520, 410, 460, 500]), closed: true }));
  ids.push(canvas.create({ type: "freehand", ...normalizePoints([50, 600, 60.51, 604.26, 75, 612.2]), pressures: [0.3, 0.5, 0.62] }));
  canvas.patch(ids[0]!, { style: { strokeWidth: 4 }, x: 12 });
  const g1 = canvas.group([ids[0]!, ids[1]!], "g1")!;
  canvas.group([ids[0]!, ids[1]!, ids[2]!], "g2");
  canvas.reorder([ids[1]!], "front");
  assert.equal(g1, "g1");
  assert.deepEqual(canvas.get(ids[0]!)!.groupIds, ["g1", "g2"]);
  writeFileSync(join(dir, "client.bin"), Y.encodeStateAsUpdate(doc));
  writeFileSync(join(dir, "client-view.json"), JSON.stringify(canvas.list().map(apiJson)));
  // structure: nested Y.Maps for annotations and styles, plain arrays for points and groups
  const raw = doc.getMap("annotations").get(ids[0]!);
  assert.ok(raw instanceof Y.Map);
  assert.ok(raw.get("style") instanceof Y.Map);
  assert.ok(Array.isArray(raw.get("groupIds")));
  for (const a of canvas.list()) for (const v of a.points) assert.equal(v * 16, Math.round(v * 16), `${a.type} point ${v}`);
});

test("an abandoned gesture is taken back and leaves no undo or redo step", async () => {
  const { Undo } = await import("../src/model/undo");
  const canvas = new CanvasDoc(new Y.Doc(), "node-test");
  let selection: string[] = [];
  const undo = new Undo(canvas, () => selection, (ids) => { selection = ids; });
  const kept = canvas.create({ type: "rect", x: 0, y: 0, w: 10, h: 10 });
  undo.boundary();
  undo.begin();
  const drawn = canvas.create({ type: "ellipse", x: 5, y: 5, w: 1, h: 1 });
  canvas.patch(drawn, { w: 40, h: 30 });
  undo.abandon();
  assert.equal(canvas.has(drawn), false);
  assert.equal(canvas.has(kept), true);
  assert.equal(undo.canRedo(), false);
  assert.equal(undo.manager.undoStack.length, 1, "only the kept rect's step");
  // a gesture that changed nothing abandons nothing
  undo.begin();
  undo.abandon();
  assert.equal(canvas.has(kept), true);
  assert.equal(undo.manager.undoStack.length, 1);
  // and the next gesture is a step of its own again
  undo.begin();
  const next = canvas.create({ type: "line", x: 0, y: 0, w: 5, h: 5 });
  undo.end();
  assert.equal(undo.manager.undoStack.length, 2);
  assert.ok(undo.undo() && !canvas.has(next) && canvas.has(kept));
});
