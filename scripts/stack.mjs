// @ts-check
// The three processes of a development stack — api, worker, sandbox — started from their built
// artifacts with one shared configuration. Used by `pnpm start`, `pnpm demo`, the end-to-end test and
// the benchmarks, so all of them run the same thing.
import { spawn } from "node:child_process"
import { createServer } from "node:net"
import { dirname, join, resolve } from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..")

/** Where each process's entry point is after `pnpm build` (see each package's `build` script). */
export const ENTRY = {
  api: join(ROOT, "apps/api/dist/main.js"),
  worker: join(ROOT, "apps/worker/dist/main.js"),
  sandbox: join(ROOT, "packages/sandbox/dist/main.js")
}

/**
 * The public development defaults the apps fall back on when a secret is not set
 * (`DEVELOPMENT_SECRETS` in packages/http-adapter/src/api/config.ts, `DEV_APP_SECRET` in the sandbox).
 * `pnpm start` prints them; production mode refuses to start without real values.
 */
export const DEVELOPMENT_DEFAULTS = {
  MMGW_ADMIN_TOKEN: "dev-admin-token",
  MMGW_META_APP_SECRET: "dev-app-secret",
  MMGW_META_VERIFY_TOKEN: "dev-verify-token"
}

/**
 * A database URL without its password, for what the stack prints; the processes check the URL itself.
 * @param {string} text
 */
const withoutPassword = (text) => {
  try {
    const url = new URL(text)
    url.password = ""
    return url.toString()
  } catch {
    return "(a URL that does not parse)"
  }
}

/**
 * The stack's settings from the `MMGW_*` variables (README.md#configuration), with their defaults. Every process gets
 * the same environment, so the sandbox signs its webhooks with the secret the api checks and the
 * worker sends to the sandbox the api's channels name.
 * @param {NodeJS.ProcessEnv} env
 */
export const stackSettings = (env) => {
  const host = env.MMGW_HOST || "127.0.0.1"
  const apiPort = Number(env.MMGW_API_PORT || 8080)
  const sandboxPort = Number(env.MMGW_SANDBOX_PORT || 8090)
  const apiUrl = `http://${host}:${apiPort}`
  const sandboxUrl = `http://${host}:${sandboxPort}`
  return {
    host,
    apiPort,
    sandboxPort,
    apiUrl,
    sandboxUrl,
    database: resolve(env.MMGW_DATABASE || join(ROOT, "data/mm-gateway.sqlite")),
    /** Where the api and the worker keep their data: PostgreSQL when `MMGW_DATABASE_URL` is set (shown without its password), else the SQLite file. */
    store: env.MMGW_DATABASE_URL?.trim() ? `PostgreSQL ${withoutPassword(env.MMGW_DATABASE_URL.trim())}` : resolve(env.MMGW_DATABASE || join(ROOT, "data/mm-gateway.sqlite")),
    adminToken: env.MMGW_ADMIN_TOKEN || DEVELOPMENT_DEFAULTS.MMGW_ADMIN_TOKEN,
    appSecret: env.MMGW_META_APP_SECRET || DEVELOPMENT_DEFAULTS.MMGW_META_APP_SECRET,
    webhookUrl: env.MMGW_SANDBOX_WEBHOOK_URL || `${apiUrl}/webhooks/meta`
  }
}

/** @typedef {ReturnType<typeof stackSettings>} StackSettings */
/** @typedef {"api" | "worker" | "sandbox"} ProcessName */

/** A free TCP port on loopback (for tests and benchmarks that run beside a developer's stack). */
export const freePort = () =>
  new Promise((resolvePort, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolvePort(port))
    })
  })

const COLORS = { api: 36, worker: 35, sandbox: 33 }

/**
 * Prefixes every line of a process's output with its name, so three logs read as one.
 * @param {ProcessName} name
 * @param {boolean} color
 * @returns {(line: string) => void}
 */
export const prefixedWriter = (name, color) => {
  const label = name.padEnd(7)
  const prefix = color ? `\u001b[${COLORS[name]}m${label}\u001b[0m │ ` : `${label} │ `
  return (line) => process.stdout.write(`${prefix}${line}\n`)
}

/**
 * Starts one process of the stack.
 * @param {ProcessName} name
 * @param {NodeJS.ProcessEnv} env
 * @param {(line: string) => void} onLine
 */
export const startProcess = (name, env, onLine) => {
  const child = spawn(process.execPath, [ENTRY[name]], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] })
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", onLine)
  }
  // "close", not "exit": it comes after the output pipes are drained, so a process's last lines (the
  // worker's "leases released") are shown before a caller that awaits this exits.
  /** @type {Promise<{ code: number | null, signal: NodeJS.Signals | null }>} */
  const exited = new Promise((resolveExit) => child.once("close", (code, signal) => resolveExit({ code, signal })))
  return { name, child, exited }
}

/** @typedef {ReturnType<typeof startProcess>} StackProcess */

/**
 * Polls `url` until it answers 200 or `timeoutMs` passes.
 * @param {string} url
 * @param {number} timeoutMs
 * @param {() => boolean} [gaveUp] stop early (a process died)
 */
export const waitUntilUp = async (url, timeoutMs, gaveUp = () => false) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const response = await fetch(url)
      await response.arrayBuffer()
      if (response.ok) return
    } catch {
      // not listening yet
    }
    if (gaveUp()) throw new Error(`${url}: the process exited before it was ready`)
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/**
 * Stops processes with SIGTERM (they shut down gracefully), then SIGKILL after `graceMs`. Resolves
 * to how each one exited, in the order given.
 * @param {ReadonlyArray<StackProcess>} processes
 * @param {number} [graceMs]
 */
export const stopProcesses = (processes, graceMs = 10_000) =>
  Promise.all(processes.map(async (p) => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return p.exited
    p.child.kill("SIGTERM")
    const timer = setTimeout(() => p.child.kill("SIGKILL"), graceMs)
    const result = await p.exited
    clearTimeout(timer)
    return result
  }))

/**
 * Starts api, worker and sandbox with one environment and waits until the api is ready and the
 * sandbox answers. The caller stops them with `stop()`.
 * @param {{ env: NodeJS.ProcessEnv, onLine?: (name: ProcessName, line: string) => void, only?: ReadonlyArray<ProcessName>, readyTimeoutMs?: number }} options
 */
export const startStack = async (options) => {
  const settings = stackSettings(options.env)
  const env = {
    ...options.env,
    MMGW_HOST: settings.host,
    MMGW_API_PORT: String(settings.apiPort),
    MMGW_SANDBOX_PORT: String(settings.sandboxPort),
    MMGW_DATABASE: settings.database,
    MMGW_SANDBOX_WEBHOOK_URL: settings.webhookUrl
  }
  const onLine = options.onLine ?? (() => {})
  const names = options.only ?? /** @type {const} */ (["sandbox", "api", "worker"])
  /** The last lines of each process, to say why one did not come up. */
  /** @type {Map<ProcessName, Array<string>>} */
  const recent = new Map(names.map((name) => [name, []]))
  /** @type {Array<StackProcess>} */
  const processes = names.map((name) =>
    startProcess(name, env, (line) => {
      const lines = /** @type {Array<string>} */ (recent.get(name))
      if (lines.push(line) > 20) lines.shift()
      onLine(name, line)
    })
  )
  const dead = () => processes.some((p) => p.child.exitCode !== null || p.child.signalCode !== null)
  const timeout = options.readyTimeoutMs ?? 30_000
  try {
    if (names.includes("sandbox")) await waitUntilUp(`${settings.sandboxUrl}/healthz`, timeout, dead)
    if (names.includes("api")) await waitUntilUp(`${settings.apiUrl}/readyz`, timeout, dead)
    // An answer on a port some other process took in the meantime is not ours coming up.
    if (dead()) throw new Error("a process exited while the stack came up")
  } catch (error) {
    const exited = processes.filter((p) => p.child.exitCode !== null || p.child.signalCode !== null)
    await stopProcesses(processes)
    const why = exited.map((p) => `${p.name} exited (${p.child.exitCode ?? p.child.signalCode}); its last lines:\n${(recent.get(p.name) ?? []).join("\n")}`)
    throw why.length === 0 ? error : new Error(`${/** @type {Error} */ (error).message}\n${why.join("\n")}`)
  }
  return {
    settings,
    env,
    processes,
    /** @param {ProcessName} name */
    process: (name) => {
      const found = processes.find((p) => p.name === name)
      if (found === undefined) throw new Error(`${name} is not part of this stack`)
      return found
    },
    stop: () => stopProcesses(processes)
  }
}
