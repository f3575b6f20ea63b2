// @ts-check
// `pnpm bench` — the benchmarks of bench/README.md, each side by side with its reference in the same run.
//
//   pnpm bench               # the full run (fits in 10 minutes on 2 cores)
//   pnpm bench --quick       # a smaller version, about a minute
//   pnpm bench --only B1,B4  # some of them
//   pnpm bench --store postgres   # B1–B5 on PostgreSQL against references on PostgreSQL, and B6
//   BENCH_CPU_PROF=<dir> pnpm bench --only B2,B3   # and profile the worker (bench/lib/profile-summary.mjs)
//
// Prints one table (figure, reference, ratio, goal, verdict) and writes bench/results/latest.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { cpus, tmpdir, totalmem } from "node:os"
import { join } from "node:path"
import { ROOT } from "../scripts/stack.mjs"
import { b1 } from "./b1-webhooks.mjs"
import { b2 } from "./b2-statuses.mjs"
import { b3 } from "./b3-dispatch.mjs"
import { b4 } from "./b4-rebuild.mjs"
import { b5 } from "./b5-rate.mjs"
import { b6 } from "./b6-workers.mjs"
import { b7 } from "./b7-forwarding.mjs"
import { startStore, storeKindFrom } from "./lib/store.mjs"

const args = process.argv.slice(2)
const quick = args.includes("--quick")
const onlyArg = args.find((a) => a.startsWith("--only"))
const onlyValue = onlyArg === undefined ? undefined : onlyArg.includes("=") ? onlyArg.split("=")[1] : args[args.indexOf(onlyArg) + 1]
const only = onlyValue === undefined ? null : new Set(onlyValue.split(",").map((s) => s.trim().toUpperCase()))

const storeKind = storeKindFrom(args)

/** @typedef {{ quick: boolean, dir: string, log: (line: string) => void, store: import("./lib/store.mjs").BenchStore }} BenchOptions */
/** @type {Record<string, (options: BenchOptions) => Promise<any>>} */
const BENCHMARKS = { B1: b1, B2: b2, B3: b3, B4: b4, B5: b5, B6: b6, B7: b7 }
/** B6 is many workers on one database: PostgreSQL only. B7 (forwarding) runs on SQLite. */
const ON = { sqlite: ["B1", "B2", "B3", "B4", "B5", "B7"], postgres: ["B1", "B2", "B3", "B4", "B5", "B6"] }
const selected = ON[storeKind].filter((id) => only === null || only.has(id))
if (selected.length === 0) {
  console.error(`nothing to run; known on ${storeKind}: ${ON[storeKind].join(", ")}`)
  process.exit(2)
}

const started = Date.now()
const log = (/** @type {string} */ line) => console.log(`  ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s  ${line}`)
console.log(`mm-gateway benchmarks (${quick ? "quick" : "full"}, ${storeKind}): ${selected.join(", ")} on ${cpus().length} cores, Node ${process.version}`)

const { store, stop: stopStore } = await startStore(storeKind)
const results = []
for (const id of selected) {
  const dir = mkdtempSync(join(tmpdir(), `mmgw-bench-${id.toLowerCase()}-`))
  try {
    const r = await BENCHMARKS[id]({ quick, dir, log, store })
    const ratio = r.reference === 0 ? 0 : r.figure / r.reference
    results.push({ ...r, ratio, verdict: r.verdictOf(ratio) ? "met" : "not met", verdictOf: undefined })
  } catch (error) {
    results.push({ id, what: "failed to run", error: error instanceof Error ? error.message : String(error), verdict: "error" })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const fmt = (/** @type {number | undefined} */ n) => (n === undefined ? "" : n >= 100 ? n.toFixed(0) : n.toFixed(2))
const goalText = (/** @type {any} */ g) =>
  g === undefined ? "" : Object.entries(g).map(([k, v]) => (k === "ratio" ? `≥ ${v}×` : k === "note" ? v : `${k} ≤ ${v}`)).join(", ")
console.log("")
console.table(Object.fromEntries(results.map((r) => [r.id, {
  what: r.what,
  figure: r.figure === undefined ? "" : `${fmt(r.figure)} ${r.unit ?? ""}`,
  reference: r.reference === undefined ? "" : `${fmt(r.reference)} ${r.unit ?? ""}`,
  ratio: r.ratio === undefined ? "" : `${r.ratio.toFixed(2)}×`,
  goal: goalText(r.goal),
  verdict: r.verdict
}])))
for (const r of results) if (r.error !== undefined) console.error(`${r.id}: ${r.error}`)
await stopStore()

mkdirSync(join(ROOT, "bench/results"), { recursive: true })
const report = {
  date: new Date().toISOString(),
  mode: quick ? "quick" : "full",
  store: storeKind,
  machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? "", memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
  durationSeconds: Math.round((Date.now() - started) / 1000),
  results
}
writeFileSync(join(ROOT, "bench/results/latest.json"), JSON.stringify(report, null, 2) + "\n")
console.log(`\nwritten to bench/results/latest.json (${report.durationSeconds} s)`)
process.exit(results.some((r) => r.verdict === "error") ? 1 : 0)
