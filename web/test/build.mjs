// Bundle the node tests (TypeScript) for `node --test`: node test/build.mjs OUTDIR
// (each test/*.test.ts becomes OUTDIR/*.test.mjs)
import { build } from "esbuild";
import { sdkSource } from "../sdk.mjs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
await build({
  entryPoints: [resolve(here, "model.test.ts"), resolve(here, "comments.test.ts"), resolve(here, "text.test.ts"), resolve(here, "points.test.ts"), resolve(here, "clip.test.ts")],
  outdir: resolve(process.argv[2]),
  outExtension: { ".js": ".mjs" },
  bundle: true,
  ...sdkSource,
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
  absWorkingDir: resolve(here, ".."),
});
