/**
 * The page's text rules (src/render/text.ts) against the export's (annotd/render/textlayout.py,
 * bidi.py): the same UAX #14 break opportunities and the same paragraph direction for every
 * string tests/web/test_web_text.py writes into $ANNOTD_FIXTURES/text.json with Python's answers.
 * Built with esbuild, run with `node --test`.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { baseLevel, breakUnits } from "../src/render/text";

const dir = process.env.ANNOTD_FIXTURES;
if (!dir) throw new Error("ANNOTD_FIXTURES is not set (run through pytest: tests/web/test_web_text.py)");
const cases = JSON.parse(readFileSync(join(dir, "text.json"), "utf8")) as { text: string; units: string[]; base: number }[];

test("break opportunities are the export's (UAX #14)", () => {
  for (const c of cases) assert.deepEqual(breakUnits(c.text), c.units, c.text);
});

test("paragraph direction is the export's (first strong character)", () => {
  for (const c of cases) assert.equal(baseLevel(c.text), c.base, c.text);
});
