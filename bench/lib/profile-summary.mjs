// @ts-check
// Summarises V8 CPU profiles (node --cpu-prof) by self time: per function and per file, with the
// share of all samples, and by total time (the function anywhere on the stack) for the functions of
// the workspace's own sources. Idle and garbage collection are listed as such. Frames of a bundled app
// (apps/*/dist/main.js) are mapped back to their sources through the bundle's source map. Native
// calls (a better-sqlite3 statement's step) count as self time of the JavaScript function calling them.
//
//   node bench/lib/profile-summary.mjs <file.cpuprofile | directory> [--top=30] [--callers=<text>] [--from=<s>] [--until=<s>]
//
// --until=<s>, --from=<s>: only the samples of each profile's first <s> seconds (B3's dispatch before
// its soak), or from <s> seconds on.
// --callers=<text>: for the samples whose self frame's function or file contains <text> (e.g.
// `ParseResult`), the nearest workspace function on the stack — who pays for it.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { SourceMap } from "node:module"
import { dirname, join, relative, resolve } from "node:path"

const args = process.argv.slice(2)
const target = args.find((a) => !a.startsWith("--"))
const top = Number(args.find((a) => a.startsWith("--top="))?.split("=")[1] ?? 30)
const callersOf = args.find((a) => a.startsWith("--callers="))?.slice("--callers=".length)
const untilArg = args.find((a) => a.startsWith("--until="))
const untilMicros = untilArg === undefined ? Infinity : Number(untilArg.slice("--until=".length)) * 1e6
const fromArg = args.find((a) => a.startsWith("--from="))
const fromMicros = fromArg === undefined ? 0 : Number(fromArg.slice("--from=".length)) * 1e6
if (target === undefined) {
  console.error("usage: profile-summary.mjs <file.cpuprofile | directory> [--top=30]")
  process.exit(2)
}
const files = statSync(target).isDirectory()
  ? readdirSync(target).filter((f) => f.endsWith(".cpuprofile")).map((f) => join(target, f))
  : [target]

/** @type {Map<string, number>} */
const byFunction = new Map()
/** @type {Map<string, number>} */
const byFile = new Map()
/** @type {Map<string, number>} */
const inclusive = new Map()
/** @type {Map<string, number>} */
const callers = new Map()
const OWN = / (packages|apps)\/[^ ]*\/src\//
let total = 0
const add = (/** @type {Map<string, number>} */ map, /** @type {string} */ key, /** @type {number} */ n) => map.set(key, (map.get(key) ?? 0) + n)

/** Where a script is, shortened: the package inside node_modules, or the path from the current directory. */
const place = (/** @type {string} */ url) => {
  if (url === "") return "(native)"
  const path = url.replace(/^file:\/\//, "")
  const nm = path.lastIndexOf("node_modules/")
  if (nm !== -1) return path.slice(nm + "node_modules/".length).replace(/^\.pnpm\/[^/]+\/node_modules\//, "")
  return path.startsWith("/") ? relative(process.cwd(), path) : path
}

/** @type {Map<string, SourceMap | null>} */
const maps = new Map()
const mapOf = (/** @type {string} */ path) => {
  let map = maps.get(path)
  if (map === undefined) {
    map = existsSync(`${path}.map`) ? new SourceMap(JSON.parse(readFileSync(`${path}.map`, "utf8"))) : null
    maps.set(path, map)
  }
  return map
}

/** The source position of a frame: through the source map when its script has one. */
const origin = (/** @type {any} */ frame) => {
  const path = frame.url.replace(/^file:\/\//, "")
  const map = path === "" ? null : mapOf(path)
  if (map !== null) {
    const entry = /** @type {any} */ (map.findEntry(frame.lineNumber, frame.columnNumber))
    if (entry?.originalSource !== undefined) {
      const source = resolve(dirname(path), entry.originalSource.replace(/^file:\/\//, ""))
      return { where: place(`file://${source}`), line: entry.originalLine + 1, name: entry.name }
    }
  }
  return { where: place(frame.url), line: frame.lineNumber + 1, name: undefined }
}

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, "utf8"))
  /** @type {Map<number, any>} */
  const nodes = new Map(profile.nodes.map((/** @type {any} */ n) => [n.id, n]))
  /** @type {Map<number, number>} */
  const parents = new Map()
  for (const n of profile.nodes) for (const child of n.children ?? []) parents.set(child, n.id)
  /** @type {Map<number, string>} */
  const keys = new Map()
  const keyOf = (/** @type {number} */ id) => {
    let key = keys.get(id)
    if (key === undefined) {
      const frame = nodes.get(id).callFrame
      const { where, line } = origin(frame)
      key = `${frame.functionName || "(anonymous)"}  ${where}:${line}`
      keys.set(id, key)
    }
    return key
  }
  /** @type {Map<number, number>} */
  const hits = new Map()
  let elapsed = 0
  profile.samples.forEach((/** @type {number} */ id, /** @type {number} */ i) => {
    elapsed += profile.timeDeltas?.[i] ?? 0
    if (elapsed >= fromMicros && elapsed <= untilMicros) hits.set(id, (hits.get(id) ?? 0) + 1)
  })
  for (const [id, n] of hits) {
    const frame = nodes.get(id).callFrame
    const { where } = origin(frame)
    const name = frame.functionName || "(anonymous)"
    add(byFunction, keyOf(id), n)
    /** @type {Set<string>} */
    const onStack = new Set()
    /** @type {string | null} */
    let nearest = null
    for (let at = /** @type {number | undefined} */ (id); at !== undefined; at = parents.get(at)) {
      const key = keyOf(at)
      if (OWN.test(key)) {
        onStack.add(key)
        nearest ??= key
      }
    }
    for (const key of onStack) add(inclusive, key, n)
    if (callersOf !== undefined && keyOf(id).includes(callersOf)) add(callers, nearest ?? "(none of the workspace's)", n)
    add(byFile, name.startsWith("(") && frame.url === "" ? name : where, n)
    total += n
  }
}

const table = (/** @type {string} */ title, /** @type {Map<string, number>} */ map) => {
  console.log(`\n${title}`)
  for (const [key, n] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((n / total) * 100).toFixed(1).padStart(6)} %  ${key}`)
  }
}
console.log(`${files.length} profile(s), ${total} samples`)
table("self time by function", byFunction)
table("self time by file", byFile)
table("total time of the workspace's functions", inclusive)
if (callersOf !== undefined) table(`who pays for ${callersOf} (nearest workspace function)`, callers)
