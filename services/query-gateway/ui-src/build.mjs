// Bundles src/map.js (with Cytoscape.js) into the gateway's packaged static files, and copies
// axe-core's release build next to the browser tests. `make ui` runs it; both outputs are
// committed, so running the product and its tests needs no npm. MESHQ_UI_OUT_DIR writes both
// elsewhere instead (the check that the committed files are what the lock builds).
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outDir = process.env.MESHQ_UI_OUT_DIR;
const bundle = outDir ? join(outDir, "map.js") : resolve(here, "../src/meshq_query_gateway/ui/static/map.js");
const axe = outDir ? join(outDir, "axe.min.js") : resolve(here, "../../../tests/browser/assets/axe.min.js");

await build({
  absWorkingDir: here,
  entryPoints: ["src/map.js"],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "eof",
  outfile: bundle,
  logLevel: "warning",
});
mkdirSync(dirname(axe), { recursive: true });
copyFileSync(resolve(here, "node_modules/axe-core/axe.min.js"), axe);
