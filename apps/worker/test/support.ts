import { bundle } from "@mm-gateway/worker-test-stack"
import { spawn } from "node:child_process"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"

const WORKER_MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url))
// Under the worker's own .dev/, so that the bundle's better-sqlite3 resolves from the worker's dependencies.
const WORKER_DEV = fileURLToPath(new URL("../.dev", import.meta.url))

export interface WorkerProcess {
  /** The identity it holds the lease under, from its start line. */
  readonly instance: string
  /** What it logged so far, a line each. */
  readonly lines: ReadonlyArray<string>
  /** Sends `signal` (SIGTERM stops it gracefully, SIGKILL as a crash would); the exit code, once it exited. */
  readonly stop: (signal: "SIGTERM" | "SIGKILL") => Promise<number | null>
}

/**
 * The worker's own process (`src/main.ts`, bundled), configured through the environment as in
 * production: `env` on top of this process's environment without its `MMGW_*` variables.
 */
export const startWorkerProcess = async (env: Record<string, string>): Promise<WorkerProcess> => {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("MMGW_")))
  const child = spawn(process.execPath, [await bundle(WORKER_MAIN, WORKER_DEV)], { env: { ...inherited, ...env }, stdio: ["ignore", "pipe", "pipe"] })
  const lines: Array<string> = []
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  const instance = new Promise<string>((resolve, reject) => {
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on("line", (line) => {
        lines.push(line)
        const match = /\(instance (\S+)\)/.exec(line)
        if (match !== null) resolve(match[1]!)
      })
    }
    void exited.then((code) => reject(new Error(`the worker exited with ${code}:\n${lines.join("\n")}`)))
  })
  return {
    instance: await instance,
    lines,
    stop: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    }
  }
}
