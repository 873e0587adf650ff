// The published package: node build.mjs  (npm pack runs it as `prepack`)
// dist/index.js is one ESM file with yjs left as an import (a peer: the app's own copy, so
// Y.Doc instances and constructor checks stay one), fractional-indexing bundled in (a
// pure function, nothing to share); dist/*.d.ts are the types, emitted by tsc.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(here, "dist");
rmSync(dist, { recursive: true, force: true });
await build({
  entryPoints: [resolve(here, "src/index.ts")],
  outfile: resolve(dist, "index.js"),
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  external: ["yjs"],
  legalComments: "none",
  logLevel: "warning",
  absWorkingDir: here,
});
execFileSync(process.execPath, [resolve(here, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
  cwd: here,
  stdio: "inherit",
});
