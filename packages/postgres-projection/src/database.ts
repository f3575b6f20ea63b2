import { Effect, Layer, Redacted } from "effect"
import pg from "pg"
import { type DatabaseUrl, DEFAULT_POOL_SIZE, parseDatabaseUrl } from "./config.js"
import { makeDatabase, PostgresDatabase } from "./connection.js"
import { migrate } from "./migrations.js"

export interface PostgresOptions {
  /** `postgres://user:password@host:port/database` (see `parseDatabaseUrl`), or what it parsed to. */
  readonly url: string | Redacted.Redacted<string> | DatabaseUrl
  /** Connections in the pool; `DEFAULT_POOL_SIZE` by default. A unit of work holds one until it ends. */
  readonly poolSize?: number
  /** How long the server lets a transaction wait for its next statement; `IDLE_IN_TRANSACTION_TIMEOUT_MS` by default. */
  readonly idleInTransactionTimeoutMs?: number
}

/**
 * A unit of work sends its statements one after the other and never waits on anything else (no
 * network calls, docs/persistence.md#unit-of-work), so a transaction waiting 15 s for its next
 * statement is stuck: the server ends it (`idle_in_transaction_session_timeout`), which releases the
 * append lock it may hold — every writer of the deployment waits on that lock — and fails the stuck
 * unit of work (rolled back, nothing half written). 15 s is the default lease time: a worker that slow
 * has lost its leases anyway.
 */
export const IDLE_IN_TRANSACTION_TIMEOUT_MS = 15_000

const settingsOf = (url: PostgresOptions["url"]): DatabaseUrl => {
  if (typeof url === "object" && "host" in url) return url
  const parsed = parseDatabaseUrl(typeof url === "string" ? url : Redacted.value(url))
  if (parsed._tag === "Left") throw parsed.left
  return parsed.right
}

/** A pool on the database, `options.poolSize` connections at most. Nothing is sent until it is used. */
export const openPool = (options: PostgresOptions): pg.Pool => {
  const url = settingsOf(options.url)
  const pool = new pg.Pool({
    host: url.host,
    port: url.port,
    database: url.database,
    user: url.user,
    ...(url.password === null ? {} : { password: Redacted.value(url.password) }),
    ssl: url.ssl === false ? false : url.ssl.checkHostname
      ? { rejectUnauthorized: url.ssl.rejectUnauthorized }
      : { rejectUnauthorized: url.ssl.rejectUnauthorized, checkServerIdentity: () => undefined },
    max: options.poolSize ?? DEFAULT_POOL_SIZE,
    idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs ?? IDLE_IN_TRANSACTION_TIMEOUT_MS,
    ...(url.applicationName === null ? {} : { application_name: url.applicationName })
  })
  // An idle connection the server closes (a restart, an administrator) is dropped by the pool; without
  // a listener its error would end the process.
  pool.on("error", () => {})
  return pool
}

/**
 * A pool on the database, migrated to the latest version before anything else uses it (the
 * migration lock lets processes that start together do it one at a time). Closed with the scope.
 */
export const layerDatabase = (options: PostgresOptions): Layer.Layer<PostgresDatabase> =>
  Layer.scoped(
    PostgresDatabase,
    Effect.acquireRelease(
      Effect.promise(async () => {
        const pool = openPool(options)
        try {
          await migrate(pool)
        } catch (error) {
          await pool.end()
          throw error
        }
        return makeDatabase(pool)
      }),
      ({ pool }) => Effect.promise(() => pool.end())
    )
  )
