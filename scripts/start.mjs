// @ts-check
// `pnpm start` (api + worker + sandbox) and `pnpm start:api|start:worker|start:sandbox` (one of them):
// build what is needed, start the processes with one configuration, show their logs, print the next
// steps, and stop everything cleanly on Ctrl-C.
import { spawnSync } from "node:child_process"
import { nextSteps } from "./next-steps.mjs"
import { prefixedWriter, ROOT, stackSettings, startStack } from "./stack.mjs"

/** @type {ReadonlyArray<import("./stack.mjs").ProcessName>} */
const ALL = ["sandbox", "api", "worker"]
const PACKAGE = { api: "@mm-gateway/api", worker: "@mm-gateway/worker", sandbox: "@mm-gateway/sandbox" }

const only = process.argv.slice(2)
for (const name of only) {
  if (!ALL.includes(/** @type {never} */ (name))) {
    console.error(`unknown process "${name}"; expected one of ${ALL.join(", ")}`)
    process.exit(2)
  }
}
const names = only.length === 0 ? ALL : /** @type {ReadonlyArray<import("./stack.mjs").ProcessName>} */ (only)

const built = spawnSync(
  "pnpm",
  ["exec", "turbo", "run", "build", "--output-logs=errors-only", ...names.map((n) => `--filter=${PACKAGE[n]}`)],
  { cwd: ROOT, stdio: "inherit" }
)
if (built.status !== 0) {
  console.error("the build failed; nothing was started")
  process.exit(built.status ?? 1)
}

const color = process.stdout.isTTY === true
const writers = Object.fromEntries(ALL.map((n) => [n, prefixedWriter(n, color)]))
const settings = stackSettings(process.env)

/** @type {Awaited<ReturnType<typeof startStack>> | undefined} */
let stack
let stopping = false
const stop = async (/** @type {number} */ code) => {
  if (stopping) return
  stopping = true
  if (stack === undefined) process.exit(code)
  console.log("\nstopping…")
  const exits = await stack.stop()
  const clean = exits.every((e) => e.code === 0)
  console.log(`stopped: ${stack.processes.map((p, i) => `${p.name} ${exits[i]?.signal ?? `exit ${exits[i]?.code}`}`).join(", ")}`)
  process.exit(clean ? code : 1)
}
// Ctrl-C reaches the children too (same process group); they shut down on it, and stop() makes sure.
process.on("SIGINT", () => void stop(0))
process.on("SIGTERM", () => void stop(0))

try {
  stack = await startStack({
    env: process.env,
    only: names,
    onLine: (name, line) => writers[name]?.(line)
  })
} catch (error) {
  console.error(String(error instanceof Error ? error.message : error))
  process.exit(1)
}
for (const p of stack.processes) {
  void p.exited.then(({ code, signal }) => {
    if (stopping) return
    console.error(`${p.name} exited (${signal ?? `code ${code}`}); stopping the others`)
    void stop(1)
  })
}

if (names.length === ALL.length) {
  console.log([
    "",
    "mm-gateway is running (development mode):",
    `  api      ${settings.apiUrl}   (OpenAPI: ${settings.apiUrl}/openapi.json, Swagger UI: ${settings.apiUrl}/docs)`,
    `  console  ${settings.apiUrl}/console   (sign in with the admin token below)`,
    `  sandbox  ${settings.sandboxUrl}   (stand-in provider; ${settings.sandboxUrl}/sandbox/stats)`,
    `  worker   dispatching to the sandbox, applying webhooks`,
    `  database ${settings.store}`,
    `  admin token: ${settings.adminToken}`,
    "",
    "Try a first send (paste into another terminal):",
    "",
    nextSteps({ apiUrl: settings.apiUrl, adminToken: settings.adminToken, appSecret: settings.appSecret }),
    "",
    "Ctrl-C stops all three.",
    ""
  ].join("\n"))
}
