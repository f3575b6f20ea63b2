/**
 * `node dist/cli/rebuild.js [database-file]` — drops every read model and the snapshots and rebuilds
 * them from the event log. The file defaults to `MMGW_DATABASE`, then `./data/mm-gateway.sqlite`. Safe to run while the
 * api and worker are up (they leave a large backlog to the runner instead of projecting it inline),
 * but their reads are incomplete until it finishes.
 */
import { allProjections } from "../projections/index.js"
import { databaseFileFrom, rebuildDatabase } from "./rebuild-command.js"

const file = databaseFileFrom(process.argv.slice(2), process.env)
const started = Date.now()

rebuildDatabase(file, process.env["MMGW_DURABILITY"] === "full" ? "full" : "normal").then(
  (result) => {
    console.log(
      `rebuilt ${allProjections.length} read models and the snapshots of ${file} from ${result.applied} events (up to position ${result.position}) in ${Date.now() - started} ms`
    )
  },
  (error: unknown) => {
    console.error("rebuild failed:", error instanceof Error ? error.message : error)
    process.exitCode = 1
  }
)
