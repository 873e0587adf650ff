/**
 * Point editing's geometry (src/model/points.ts) on annotations the server wrote:
 * tests/test_web_points.py puts them with the edits to make in $ANNOTD_FIXTURES/points.json;
 * this applies each edit and writes the resulting fields to points-out.json, which the
 * Python side writes back into a document and reads with the server's view and the
 * renderer's rotation: the edited point lands where asked, every other point stays where
 * it was on the image, nothing needs repair. Built with esbuild, run with `node --test`.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { Annotation, AnnotationPatch } from "@annotd/client";
import { bendStroke, cutStroke, insertPoint, movePoint, removePoint, strokeKeys } from "../src/model/points";

const dir = process.env.ANNOTD_FIXTURES;
if (!dir) throw new Error("ANNOTD_FIXTURES is not set (run through pytest: tests/test_web_points.py)");

interface Case {
  name: string;
  annotation: Annotation;
  edit: "move" | "insert" | "remove" | "bend" | "cut";
  index: number;
  x?: number;
  y?: number;
}

const cases = JSON.parse(readFileSync(join(dir, "points.json"), "utf8")) as Case[];

/** The server's JSON leaves out absent optional fields; the page's reader defaults them. */
function full(raw: Annotation): Annotation {
  return { ...raw, pressures: raw.pressures ?? null, closed: raw.closed ?? true };
}

function apply(c: Case): AnnotationPatch | null {
  const a = full(c.annotation);
  switch (c.edit) {
    case "move": return movePoint(a, c.index, c.x!, c.y!);
    case "insert": return insertPoint(a, c.index, c.x!, c.y!);
    case "remove": return removePoint(a, c.index);
    case "bend": return bendStroke(a, strokeKeys(a), c.index, c.x!, c.y!);
    case "cut": return cutStroke(a, strokeKeys(a), c.index);
  }
}

test("every edit gives fields (or null at the minimum)", () => {
  const out: Record<string, AnnotationPatch | null> = {};
  for (const c of cases) out[c.name] = apply(c);
  writeFileSync(join(dir, "points-out.json"), JSON.stringify(out));
  assert.equal(Object.keys(out).length, cases.length);
});

test("a stroke's key points keep both ends, in order, at most 48", () => {
  for (const c of cases) {
    if (c.annotation.type !== "freehand") continue;
    const keys = strokeKeys(full(c.annotation));
    const n = c.annotation.points.length / 2;
    assert.equal(keys[0], 0);
    assert.equal(keys[keys.length - 1], n - 1);
    assert.ok(keys.length <= 48 && keys.every((k, i) => i === 0 || k > keys[i - 1]!), c.name);
  }
});
