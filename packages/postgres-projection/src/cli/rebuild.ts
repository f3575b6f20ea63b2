/**
 * `node dist/src/cli/rebuild.js` — rebuilds every read model and the snapshots of the database
 * `MMGW_DATABASE_URL` names from its event log. Safe to run while the api and worker are up (their
 * appends leave a large backlog to the rebuild instead of projecting it inline), but their reads are
 * incomplete until it finishes.
 */
import { Effect } from "effect"
import { describeDatabaseUrl, postgresConfig } from "../config.js"
import { allProjections } from "../read-models/index.js"
import { rebuildDatabase } from "./rebuild-command.js"

const program = Effect.gen(function*() {
  const { url } = yield* postgresConfig
  const started = Date.now()
  const applied = yield* rebuildDatabase({ url })
  return `rebuilt ${allProjections.length} read models and the snapshots of ${describeDatabaseUrl(url)} from ${applied} events in ${Date.now() - started} ms`
})

Effect.runPromise(program).then(
  (line) => console.log(line),
  (error: unknown) => {
    console.error("rebuild failed:", error instanceof Error ? error.message : String(error))
    process.exitCode = 1
  }
)
