// Bundle the package's node tests (TypeScript) for `node --test`: node test/build.mjs OUTDIR
// (each test/*.test.ts becomes OUTDIR/*.test.mjs)
import { build } from "esbuild";
import { readdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
await build({
  entryPoints: readdirSync(here).filter((f) => f.endsWith(".test.ts")).map((f) => resolve(here, f)),
  outdir: resolve(process.argv[2]),
  outExtension: { ".js": ".mjs" },
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
  absWorkingDir: resolve(here, ".."),
});
