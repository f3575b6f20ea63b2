// @ts-check
// `pnpm dev` (turbo runs it in apps/api, apps/worker and packages/sandbox): rebuild the process on
// every source change of its own or of a workspace package it uses, and restart it. Development only;
// the bundle goes to .dev/ so it never mixes with a release build in dist/.
import { spawn, spawnSync } from "node:child_process"
import { cpSync, mkdirSync, readFileSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join, resolve } from "node:path"
import { context } from "esbuild"
import { ROOT } from "./stack.mjs"

const bundle = resolve(".dev/main.js")

// The app's `bundleAssets` (see bundle-app.mjs), built and copied beside the development bundle.
const app = JSON.parse(readFileSync("package.json", "utf8"))
const require = createRequire(resolve("package.json"))
for (const [name, source] of Object.entries(app.bundleAssets ?? {})) {
  const [scope, pkg, ...path] = String(source).split("/")
  const built = spawnSync("pnpm", ["exec", "turbo", "run", "build", "--output-logs=errors-only", `--filter=${scope}/${pkg}`], { cwd: ROOT, stdio: "inherit" })
  if (built.status !== 0) process.exit(built.status ?? 1)
  mkdirSync(".dev", { recursive: true })
  rmSync(join(".dev", name), { recursive: true, force: true })
  cpSync(join(dirname(require.resolve(`${scope}/${pkg}/package.json`)), ...path), join(".dev", name), { recursive: true })
}

/** @type {import("node:child_process").ChildProcess | undefined} */
let child
const restart = () => {
  const start = () => {
    // From the repository's root, like `pnpm start`: the default ./data/mm-gateway.sqlite is then one
    // file for the api and the worker, not one per package directory.
    child = spawn(process.execPath, ["--enable-source-maps", bundle], { cwd: ROOT, stdio: "inherit" })
  }
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return start()
  child.once("exit", start)
  child.kill("SIGTERM")
}

const ctx = await context({
  entryPoints: ["src/main.ts"],
  outfile: bundle,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  conditions: ["source"],
  external: ["better-sqlite3"],
  sourcemap: true,
  logLevel: "warning",
  banner: { js: "import { createRequire as __mmgwCreateRequire } from 'node:module'; const require = __mmgwCreateRequire(import.meta.url);" },
  plugins: [{
    name: "restart",
    setup: (build) => build.onEnd((result) => {
      if (result.errors.length === 0) restart()
    })
  }]
})
await ctx.watch()
const stop = async () => {
  await ctx.dispose()
  if (child !== undefined && child.exitCode === null) {
    child.once("exit", () => process.exit(0))
    child.kill("SIGTERM")
  } else process.exit(0)
}
process.on("SIGINT", () => void stop())
process.on("SIGTERM", () => void stop())
