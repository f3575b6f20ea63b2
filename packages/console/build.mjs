// Builds the console into dist/console: index.html, console.js and console.css, everything bundled
// (no CDN, it works offline). Run by `build` and before the tests.
import { build } from "esbuild"
import { copyFileSync, mkdirSync, rmSync } from "node:fs"
import { join } from "node:path"

const here = import.meta.dirname
const out = join(here, "dist", "console")
rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
await build({
  entryPoints: { console: join(here, "src", "app", "main.tsx") },
  outdir: out,
  bundle: true,
  format: "esm",
  target: "es2022",
  platform: "browser",
  jsx: "automatic",
  jsxImportSource: "preact",
  minify: true,
  sourcemap: false,
  logLevel: "warning"
})
copyFileSync(join(here, "src", "app", "index.html"), join(out, "index.html"))
