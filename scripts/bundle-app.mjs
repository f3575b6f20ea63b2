// Bundles an app (run from its directory) into dist/: one ESM file with every workspace package and
// library inlined except better-sqlite3 (a native addon), plus a package.json that declares it. The
// result runs with plain `node dist/main.js` here, and elsewhere after `npm install --omit=dev` in dist/.
// An app's `bundleAssets` (name → a built directory of a workspace package, `<package>/<path>`) are
// copied to dist/<name> beside the bundle (the api's operator console: packages/console).
import { build } from "esbuild"
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join, resolve } from "node:path"

const app = JSON.parse(readFileSync("package.json", "utf8"))
const external = ["better-sqlite3"]
mkdirSync("dist", { recursive: true })
await build({
  entryPoints: ["src/main.ts"],
  outfile: "dist/main.js",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  conditions: ["source"],
  external,
  sourcemap: true,
  logLevel: "warning",
  // Some bundled CommonJS code calls require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __mmgwCreateRequire } from 'node:module'; const require = __mmgwCreateRequire(import.meta.url);" }
})
const require = createRequire(resolve("package.json"))
for (const [name, source] of Object.entries(app.bundleAssets ?? {})) {
  const [scope, pkg, ...path] = source.split("/")
  const from = join(dirname(require.resolve(`${scope}/${pkg}/package.json`)), ...path)
  rmSync(join("dist", name), { recursive: true, force: true })
  cpSync(from, join("dist", name), { recursive: true })
}
const catalogVersion = (name) => {
  const workspace = readFileSync(join(import.meta.dirname, "..", "pnpm-workspace.yaml"), "utf8")
  const line = workspace.split("\n").find((l) => l.trim().replace(/"/g, "").startsWith(`${name}:`))
  if (line === undefined) throw new Error(`${name} is not in the pnpm catalog`)
  return line.split(":").slice(1).join(":").trim().replace(/"/g, "")
}
writeFileSync(
  join("dist", "package.json"),
  JSON.stringify(
    {
      name: `${app.name}-dist`,
      version: app.version,
      private: true,
      type: "module",
      main: "main.js",
      engines: { node: ">=20" },
      dependencies: Object.fromEntries(external.map((name) => [name, catalogVersion(name)]))
    },
    null,
    2
  ) + "\n"
)
