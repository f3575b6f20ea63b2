// @ts-check
// `pnpm dev` (turbo runs it in apps/api, apps/worker and packages/sandbox): rebuild the process on
// every source change of its own or of a workspace package it uses, and restart it. Development only;
// the bundle goes to .dev/ so it never mixes with a release build in dist/.
import { spawn } from "node:child_process"
import { resolve } from "node:path"
import { context } from "esbuild"
import { ROOT } from "./stack.mjs"

const bundle = resolve(".dev/main.js")

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
