// Deterministic production build of the web client: node build.mjs [--outdir DIR]
// Same sources + same pinned esbuild => byte-identical app.js and app.css (bin/test checks).
import { build } from "esbuild";
import { sdkSource } from "./sdk.mjs";
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const i = process.argv.indexOf("--outdir");
const outdir = resolve(i > 0 ? process.argv[i + 1] : resolve(here, "../annotd/web/static"));
mkdirSync(outdir, { recursive: true });

const common = {
  bundle: true,
  ...sdkSource,
  minify: true,
  legalComments: "none",
  charset: "utf8",
  logLevel: "warning",
  absWorkingDir: here,
};

await build({
  ...common,
  entryPoints: { app: "src/main.ts" },
  outdir,
  format: "esm",
  target: ["chrome110", "firefox110", "safari16"],
  treeShaking: true,
});
await build({
  ...common,
  entryPoints: { app: "src/styles.css" },
  outdir,
  external: ["/fonts/*"],
});
