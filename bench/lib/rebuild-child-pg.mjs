// @ts-check
// B4 on PostgreSQL, the gateway's side: the rebuild command's own function on the database at the URL,
// in a process of its own so its peak memory is its own.
import { rebuildDatabase } from "@mm-gateway/postgres-projection"
import { Effect } from "effect"

const url = process.argv[2]
if (url === undefined) process.exit(2)
const started = performance.now()
const applied = await Effect.runPromise(rebuildDatabase({ url }))
const ms = performance.now() - started
console.log(JSON.stringify({ applied, ms, maxRssMiB: process.resourceUsage().maxRSS / 1024 }))
