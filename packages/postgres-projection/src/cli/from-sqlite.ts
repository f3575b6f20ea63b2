/**
 * `node dist/src/cli/from-sqlite.js [sqlite file]` (`pnpm move-to-postgres` at the root) — copies the
 * SQLite deployment of the file (the argument, else `MMGW_DATABASE`, else `./data/mm-gateway.sqlite`)
 * into the empty PostgreSQL database `MMGW_DATABASE_URL` names, and rebuilds its read models and
 * snapshots there, in one transaction (docs/persistence.md#moving-from-sqlite). Stop the api and the
 * workers first. Exits 1, having written nothing, when it refuses or fails.
 */
import { Effect } from "effect"
import { describeDatabaseUrl, postgresConfig } from "../config.js"
import { moveFromSqlite } from "./from-sqlite-command.js"

const DEFAULT_DATABASE = "./data/mm-gateway.sqlite"

const program = Effect.gen(function*() {
  const { url } = yield* postgresConfig
  const file = process.argv[2] ?? process.env["MMGW_DATABASE"] ?? DEFAULT_DATABASE
  const started = Date.now()
  const moved = yield* moveFromSqlite(file, { url })
  return [
    `moved ${file} to ${describeDatabaseUrl(url)} in ${Date.now() - started} ms:`,
    `${moved.events} events, ${moved.apiKeys} API keys, ${moved.credentials} channel credentials,`,
    `${moved.inboxPending} webhooks to process and ${moved.inboxQuarantined} in quarantine, ${moved.parkedStatuses} parked statuses,`,
    `${moved.webhookEndpoints} webhook endpoints and ${moved.forwardDeliveries} forwarded deliveries;`,
    `read models and snapshots rebuilt from ${moved.replayed} events`
  ].join(" ")
})

Effect.runPromise(program).then(
  (line) => console.log(line),
  (error: unknown) => {
    console.error("move-to-postgres failed, nothing written:", error instanceof Error ? error.message : String(error))
    process.exitCode = 1
  }
)
