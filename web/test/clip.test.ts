/**
 * The clipboard's checks against the server's: every create payload that
 * tests/test_web_clipboard.py wrote into $ANNOTD_FIXTURES/clip.json with the server's verdict
 * (annotd/canvas/validate.py) gets the same verdict here — accepted with the same normalized
 * fields, or refused naming the same field — and a clip of them reads back only when every
 * one is accepted. Built with esbuild, run with `node --test`.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { InvalidField, validateAnnotationCreate } from "@annotd/client";
import { CLIP_TYPE, decodeClip } from "../src/app/clip-format";

const dir = process.env.ANNOTD_FIXTURES;
if (!dir) throw new Error("ANNOTD_FIXTURES is not set (run through pytest: tests/test_web_clipboard.py)");
interface Case { payload: unknown; ok: boolean; field?: string; stored?: Record<string, unknown> }
const cases = JSON.parse(readFileSync(join(dir, "clip.json"), "utf8")) as Case[];

function verdict(payload: unknown, field = "annotation"): { ok: boolean; field?: string; stored?: unknown } {
  try {
    return { ok: true, stored: validateAnnotationCreate(payload, field) };
  } catch (err) {
    if (!(err instanceof InvalidField)) throw err;
    return { ok: false, field: err.field };
  }
}

test("every payload gets the server's verdict and the server's normalized fields", () => {
  for (const c of cases) {
    const got = verdict(c.payload);
    const what = JSON.stringify(c.payload).slice(0, 200);
    assert.equal(got.ok, c.ok, `${what}: ${JSON.stringify(got)}`);
    if (c.ok) assert.deepEqual(got.stored, c.stored, what);
    else assert.equal(got.field, c.field, what);
  }
});

test("a clip reads back when every annotation is valid, and names the first bad one", () => {
  const good = cases.filter((c) => c.ok).map((c) => c.payload);
  const clip = decodeClip(JSON.stringify({ type: CLIP_TYPE, version: 1, roomId: "r", annotations: good }));
  assert.equal(clip?.annotations.length, good.length);
  const firstBad = cases.findIndex((c) => !c.ok);
  const mixed = cases.map((c) => c.payload);
  assert.throws(() => decodeClip(JSON.stringify({ type: CLIP_TYPE, version: 1, annotations: mixed })),
    (err: unknown) => err instanceof InvalidField && err.field === `annotations[${firstBad}]${cases[firstBad]!.field!.slice("annotation".length)}`);
  assert.equal(decodeClip("just some text"), null);
  assert.equal(decodeClip(JSON.stringify({ type: "something else", annotations: [] })), null);
});
