// @ts-check
// B4 — rebuilding every read model from an event log of 1 000 000 events (the rebuild command's own
// function), side by side with a raw read + insert loop over the same log; and the rebuild's peak RSS.
import { copyFileSync } from "node:fs"
import { join } from "node:path"
import { ROOT } from "../scripts/stack.mjs"
import { runNodeForJson } from "./lib/proc.mjs"

/** @param {import("./run.mjs").BenchOptions} options */
export const b4 = async ({ quick, dir, log, store }) => {
  const events = quick ? 100_000 : 1_000_000
  const log0 = join(dir, "log.sqlite")
  const made = await runNodeForJson(join(ROOT, "bench/lib/make-log.mjs"), [log0, String(events)], process.env)
  log(`B4 log: ${made.events} events (${made.messages} messages)`)
  if (store.kind === "postgres") return onPostgres(store, log0, made, log)
  // Each side works on its own copy, so neither finds the other's pages in the file cache warmer.
  const forReference = join(dir, "reference.sqlite")
  const forGateway = join(dir, "gateway.sqlite")
  copyFileSync(log0, forReference)
  copyFileSync(log0, forGateway)
  const reference = await runNodeForJson(join(ROOT, "bench/reference/rebuild-loop.mjs"), [forReference], process.env)
  log(`B4 reference: ${reference.applied} rows in ${(reference.ms / 1000).toFixed(1)} s, peak RSS ${reference.maxRssMiB.toFixed(0)} MiB`)
  const gateway = await runNodeForJson(join(ROOT, "bench/lib/rebuild-child.mjs"), [forGateway], process.env)
  log(`B4 rebuild: ${gateway.applied} events in ${(gateway.ms / 1000).toFixed(1)} s, peak RSS ${gateway.maxRssMiB.toFixed(0)} MiB`)
  const figure = (gateway.applied / gateway.ms) * 1000
  const ref = (reference.applied / reference.ms) * 1000
  return {
    id: "B4",
    what: `rebuild of all read models from ${made.events.toLocaleString("en")} events`,
    figure,
    reference: ref,
    unit: "events/s",
    goal: { ratio: 0.25, peakRssMiB: 300 },
    details: { log: made, gateway, reference },
    verdictOf: (/** @type {number} */ ratio) => ratio >= 0.25 && gateway.maxRssMiB <= 300 && gateway.applied === made.events
  }
}

/**
 * B4 on PostgreSQL: the log loaded into a database once, then each side on a copy of it (a database made
 * from it as a template): the rebuild command's function, and the raw read + insert loop through `pg`.
 * @param {Extract<import("./lib/store.mjs").BenchStore, { kind: "postgres" }>} store
 * @param {string} file the log made on SQLite
 * @param {any} made
 * @param {(line: string) => void} log
 */
const onPostgres = async (store, file, made, log) => {
  const source = await store.newDatabase()
  const databases = [source]
  try {
    const loaded = await runNodeForJson(join(ROOT, "bench/lib/pg-log.mjs"), [file, source.url], process.env)
    log(`B4 log loaded into PostgreSQL: ${loaded.events} events in ${(loaded.ms / 1000).toFixed(1)} s`)
    const forReference = await store.newDatabase(source.name)
    const forGateway = await store.newDatabase(source.name)
    databases.push(forReference, forGateway)
    const reference = await runNodeForJson(join(ROOT, "bench/reference/rebuild-loop-pg.mjs"), [forReference.url], process.env)
    log(`B4 reference (pg): ${reference.applied} rows in ${(reference.ms / 1000).toFixed(1)} s, peak RSS ${reference.maxRssMiB.toFixed(0)} MiB`)
    const gateway = await runNodeForJson(join(ROOT, "bench/lib/rebuild-child-pg.mjs"), [forGateway.url], process.env)
    log(`B4 rebuild (PostgreSQL): ${gateway.applied} events in ${(gateway.ms / 1000).toFixed(1)} s, peak RSS ${gateway.maxRssMiB.toFixed(0)} MiB`)
    const figure = (gateway.applied / gateway.ms) * 1000
    const ref = (reference.applied / reference.ms) * 1000
    return {
      id: "B4",
      what: `rebuild of all read models from ${made.events.toLocaleString("en")} events`,
      figure,
      reference: ref,
      unit: "events/s",
      goal: { ratio: 0.25, peakRssMiB: 300 },
      details: { log: made, loaded, gateway, reference },
      verdictOf: (/** @type {number} */ ratio) => ratio >= 0.25 && gateway.maxRssMiB <= 300 && gateway.applied === made.events
    }
  } finally {
    for (const d of databases.reverse()) await d.drop()
  }
}
