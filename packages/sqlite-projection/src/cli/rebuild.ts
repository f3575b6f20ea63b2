/**
 * `node dist/cli/rebuild.js [database-file]` — drops every read model and rebuilds it from the event
 * log. The file defaults to `MMGW_DATABASE`, then `./data/mm-gateway.sqlite`. Safe to run while the
 * api and worker are up (they leave a large backlog to the runner instead of projecting it inline),
 * but their reads are incomplete until it finishes.
 */
import { openDatabase } from "../database.js"
import { mainMigrations, migrate } from "../migrations.js"
import { allProjections } from "../projections/index.js"
import { rebuild } from "../runner.js"

const file = process.argv[2] ?? process.env["MMGW_DATABASE"] ?? "./data/mm-gateway.sqlite"
const durability = process.env["MMGW_DURABILITY"] === "full" ? "full" : "normal"

const main = async () => {
  const db = openDatabase(file, durability)
  try {
    await migrate(db, mainMigrations)
    const started = Date.now()
    const result = rebuild(db, allProjections)
    console.log(`rebuilt ${allProjections.length} read models from ${result.applied} events (up to position ${result.position}) in ${Date.now() - started} ms`)
  } finally {
    db.close()
  }
}

main().catch((error: unknown) => {
  console.error("rebuild failed:", error instanceof Error ? error.message : error)
  process.exitCode = 1
})
