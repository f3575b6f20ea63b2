// @ts-check
// Child processes for the benchmarks: start, wait until they listen, sample their memory, stop.
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { createInterface } from "node:readline"

/**
 * Resident and peak resident memory of a process, in MiB, from /proc (Linux).
 * @param {number} pid
 * @returns {{ rssMiB: number, peakMiB: number } | null}
 */
export const memoryOf = (pid) => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8")
    const kib = (/** @type {string} */ key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? NaN)
    return { rssMiB: kib("VmRSS") / 1024, peakMiB: kib("VmHWM") / 1024 }
  } catch {
    return null
  }
}

/**
 * CPU time a process has used so far (user + system), in milliseconds, from /proc (Linux).
 * @param {number} pid
 * @returns {number | null}
 */
export const cpuMsOf = (pid) => {
  try {
    // Fields after the command name (which may contain spaces) start at the closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
  } catch {
    return null
  }
}

/**
 * Starts `node <script> ...args` and collects its output (shown when it fails).
 * @param {string} script
 * @param {ReadonlyArray<string>} args
 * @param {NodeJS.ProcessEnv} env
 * @param {ReadonlyArray<string>} [nodeFlags]
 */
export const startNode = (script, args, env, nodeFlags = []) => {
  const child = spawn(process.execPath, [...nodeFlags, script, ...args], { env, stdio: ["ignore", "pipe", "pipe"] })
  /** @type {Array<string>} */
  const output = []
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => {
      output.push(line)
      if (output.length > 200) output.shift()
    })
  }
  /** @type {Promise<{ code: number | null, signal: NodeJS.Signals | null }>} */
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })))
  return {
    child,
    output,
    exited,
    /** Graceful stop (SIGTERM), then SIGKILL after 10 s. */
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return exited
      child.kill("SIGTERM")
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
      const result = await exited
      clearTimeout(timer)
      return result
    }
  }
}

/**
 * Polls `url` until it answers 2xx.
 * @param {string} url
 * @param {ReturnType<typeof startNode>} proc
 * @param {number} [timeoutMs]
 */
export const waitForHttp = async (url, proc, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const r = await fetch(url)
      await r.arrayBuffer()
      if (r.ok) return
    } catch {
      // not yet
    }
    if (proc.child.exitCode !== null) throw new Error(`${url}: the process exited:\n${proc.output.join("\n")}`)
    if (Date.now() > deadline) throw new Error(`${url} did not come up:\n${proc.output.join("\n")}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/**
 * Runs a child script to completion and parses the last line of its stdout as JSON (the child's result).
 * @param {string} script
 * @param {ReadonlyArray<string>} args
 * @param {NodeJS.ProcessEnv} env
 * @param {ReadonlyArray<string>} [nodeFlags]
 */
export const runNodeForJson = async (script, args, env, nodeFlags = []) => {
  const proc = startNode(script, args, env, nodeFlags)
  const { code, signal } = await proc.exited
  const last = [...proc.output].reverse().find((l) => l.startsWith("{"))
  if (code !== 0 || last === undefined) {
    throw new Error(`${script} failed (${signal ?? `exit ${code}`}):\n${proc.output.join("\n")}`)
  }
  return JSON.parse(last)
}
