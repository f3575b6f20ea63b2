// @ts-check
// Summarizes a V8 .cpuprofile (`node --cpu-prof`) by self time: per function and per source file,
// mapped back through the bundle's source map to the files they came from (our packages, or the
// dependency's own file), as a percentage of the time the process was busy (idle time left out).
//
//   node bench/lib/cpu-profile.mjs <file.cpuprofile> [bundle.js with its .map beside it] [top N]
import { existsSync, readFileSync } from "node:fs"
import { SourceMap } from "node:module"
import { fileURLToPath, pathToFileURL } from "node:url"

/** `…/node_modules/.pnpm/effect@3.22.0/node_modules/effect/src/x.ts` → `effect/src/x.ts`; ours relative to the repository. */
const shortPath = (/** @type {string} */ path) => {
  const dependency = path.lastIndexOf("node_modules/")
  if (dependency !== -1) return path.slice(dependency + "node_modules/".length)
  const ours = /(?:apps|packages|bench|scripts)\/.*$/.exec(path)
  return ours === null ? path : ours[0]
}

/**
 * @param {any} profile a parsed .cpuprofile
 * @param {string | null} bundle the bundled script whose source map resolves positions
 * @param {number} [top]
 */
export const summarizeProfile = (profile, bundle, top = 25) => {
  /** @type {SourceMap | null} */
  let map = null
  const bundleUrl = bundle === null ? null : pathToFileURL(bundle).href
  if (bundle !== null && existsSync(`${bundle}.map`)) map = new SourceMap(JSON.parse(readFileSync(`${bundle}.map`, "utf8")))

  /** @type {Map<number, any>} */
  const nodes = new Map(profile.nodes.map((/** @type {any} */ n) => [n.id, n]))
  /** @type {Map<number, number>} */
  const selfUs = new Map()
  const samples = /** @type {Array<number>} */ (profile.samples)
  const deltas = /** @type {Array<number>} */ (profile.timeDeltas)
  for (let i = 0; i < samples.length; i++) {
    const id = /** @type {number} */ (samples[i])
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, deltas[i + 1] ?? 0))
  }

  /** @param {any} frame */
  const locate = (frame) => {
    const url = /** @type {string} */ (frame.url)
    if (url === "") return { file: `(${frame.functionName || "native"})`, line: 0, name: frame.functionName || "(anonymous)" }
    if (map !== null && url === bundleUrl) {
      const entry = /** @type {any} */ (map.findEntry(frame.lineNumber, frame.columnNumber))
      if (entry !== undefined && entry.originalSource !== undefined) {
        const source = entry.originalSource.startsWith("file:") ? fileURLToPath(entry.originalSource) : entry.originalSource
        return { file: shortPath(source), line: entry.originalLine + 1, name: frame.functionName || "(anonymous)" }
      }
    }
    const path = url.startsWith("file:") ? fileURLToPath(url) : url
    return { file: shortPath(path), line: frame.lineNumber + 1, name: frame.functionName || "(anonymous)" }
  }

  let totalUs = 0
  let idleUs = 0
  /** @type {Map<string, number>} */
  const byFunction = new Map()
  /** @type {Map<string, number>} */
  const byFile = new Map()
  for (const [id, us] of selfUs) {
    const node = nodes.get(id)
    totalUs += us
    if (node.callFrame.functionName === "(idle)") {
      idleUs += us
      continue
    }
    const where = locate(node.callFrame)
    const fn = where.line === 0 ? where.file : `${where.name} ${where.file}:${where.line}`
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us)
    byFile.set(where.file, (byFile.get(where.file) ?? 0) + us)
  }
  const busyUs = totalUs - idleUs
  const rank = (/** @type {Map<string, number>} */ m) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([what, us]) => ({ what, ms: Math.round(us / 1000), percent: Math.round((1000 * us) / busyUs) / 10 }))
  const functions = rank(byFunction)
  const files = rank(byFile)
  const line = (/** @type {{ what: string, ms: number, percent: number }} */ r) => `  ${r.percent.toFixed(1).padStart(5)} %  ${String(r.ms).padStart(6)} ms  ${r.what}`
  const text = [
    `busy ${Math.round(busyUs / 1000)} ms of ${Math.round(totalUs / 1000)} ms sampled (self time, % of busy)`,
    "by function:",
    ...functions.map(line),
    "by file:",
    ...files.map(line)
  ].join("\n")
  return { busyMs: Math.round(busyUs / 1000), totalMs: Math.round(totalUs / 1000), top: { functions, files }, text }
}

/**
 * @param {string} file
 * @param {string | null} bundle
 * @param {number} [top]
 */
export const summarizeProfileFile = (file, bundle, top) => summarizeProfile(JSON.parse(readFileSync(file, "utf8")), bundle, top)

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [file, bundle, topArg] = process.argv.slice(2)
  if (file === undefined) {
    console.error("usage: cpu-profile.mjs <file.cpuprofile> [bundle.js] [top N]")
    process.exit(2)
  }
  console.log(summarizeProfileFile(file, bundle ?? null, topArg === undefined ? 25 : Number(topArg)).text)
}
