// @ts-check
// B4 — rebuilding every read model from an event log of 1 000 000 events (the rebuild command's own
// function), side by side with a raw read + insert loop over the same log; and the rebuild's peak RSS.
import { copyFileSync } from "node:fs"
import { join } from "node:path"
import { ROOT } from "../scripts/stack.mjs"
import { runNodeForJson } from "./lib/proc.mjs"

/** @param {{ quick: boolean, dir: string, log: (line: string) => void }} options */
export const b4 = async ({ quick, dir, log }) => {
  const events = quick ? 100_000 : 1_000_000
  const log0 = join(dir, "log.sqlite")
  const made = await runNodeForJson(join(ROOT, "bench/lib/make-log.mjs"), [log0, String(events)], process.env)
  log(`B4 log: ${made.events} events (${made.messages} messages)`)
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
