// @ts-check
// Child processes for the benchmarks: start, wait until they listen, sample their memory, stop.
import { spawn } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
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
 * CPU time (user + system) a process has used so far, in seconds, from /proc (Linux).
 * @param {number} pid
 * @returns {number | null}
 */
export const cpuSecondsOf = (pid) => {
  try {
    // The fields after the command name (which may hold spaces) start at the last ")": utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND
  } catch {
    return null
  }
}

/** USER_HZ: 100 on every Linux Node.js runs on. */
const CLOCK_TICKS_PER_SECOND = 100

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

/**
 * CPU time (user + system, in seconds) the PostgreSQL server listening on the port of `serverUrl` has
 * used so far: its postmaster (found by its command line), every process it forked that still runs
 * (backends, which retitle themselves, found by their parent), and those that have ended (the
 * postmaster's reaped children). Linux only.
 * @param {string} serverUrl
 * @returns {number}
 */
export const postgresCpuSecondsOf = (serverUrl) => {
  const port = new URL(serverUrl).port
  /** @type {Array<{ pid: string, ppid: string, args: Array<string>, fields: Array<string> }>} */
  const processes = []
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      processes.push({ pid, ppid: fields[1] ?? "", args, fields })
    } catch {
      // gone meanwhile
    }
  }
  const postmaster = processes.find((p) => p.args[0]?.endsWith("/postgres") && p.args[p.args.indexOf("-p") + 1] === port)
  if (postmaster === undefined) return 0
  // utime and stime are the 12th and 13th fields after the name, cutime and cstime the 14th and 15th.
  const own = (/** @type {Array<string>} */ f) => Number(f[11]) + Number(f[12])
  let ticks = own(postmaster.fields) + Number(postmaster.fields[13]) + Number(postmaster.fields[14])
  for (const p of processes) if (p.ppid === postmaster.pid) ticks += own(p.fields)
  return ticks / CLOCK_TICKS_PER_SECOND
}
