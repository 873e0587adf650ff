// How esbuild takes @annotd/client (../clients/js, a file: dependency) into the web bundle:
// from its TypeScript sources (the "annotd-source" export condition), so the app never
// needs the package built first; and with yjs resolved from web/ alone, because one page
// must hold one copy of yjs (two break its constructor checks, and it says so on the
// console) while the package's own folder has a yjs of its own for its tests.
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

export const sdkSource = {
  conditions: ["annotd-source", "module"], // "module" is esbuild's default, dropped when conditions are set
  alias: { yjs: resolve(here, "node_modules/yjs") },
};
