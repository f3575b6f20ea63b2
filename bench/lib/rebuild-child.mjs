// @ts-check
// B4, the gateway's side: the rebuild command's own function on a copy of the log, in a process of its
// own so its peak memory is its own.
import { rebuildDatabase } from "@mm-gateway/sqlite-projection"

const file = process.argv[2]
if (file === undefined) process.exit(2)
const started = performance.now()
const result = await rebuildDatabase(file)
const ms = performance.now() - started
console.log(JSON.stringify({ applied: result.applied, ms, maxRssMiB: process.resourceUsage().maxRSS / 1024 }))
