/** Databases of their own for tests, on the run's server (`global-setup.ts`) or any other. */
import { randomBytes } from "node:crypto"
import { Effect, type Scope } from "effect"
import pg from "pg"
import { inject } from "vitest"

declare module "vitest" {
  export interface ProvidedContext {
    /** The superuser URL of the run's PostgreSQL server (see `PostgresServer.url`), from `global-setup.ts`. */
    readonly mmgwPostgresServerUrl: string
  }
}

export interface TestDatabase {
  /** The URL of the new, empty database, as the server's superuser. */
  readonly url: string
  readonly name: string
  /** Drops it, closing whatever connections are still open to it. */
  readonly drop: () => Promise<void>
}

let created = 0

/** A name no other database on the server has: this process's id, a counter and a random part. */
const uniqueName = (): string => `mmgw_test_${process.pid}_${++created}_${randomBytes(4).toString("hex")}`

const withAdmin = async <A>(serverUrl: string, f: (client: pg.Client) => Promise<A>): Promise<A> => {
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

/**
 * Creates an empty database on the server `serverUrl` points to (a superuser's URL). It is copied from
 * `template1` file by file, which for a small template is quicker than through the write-ahead log.
 */
export const createDatabase = async (serverUrl: string): Promise<TestDatabase> => {
  const name = uniqueName()
  await withAdmin(serverUrl, (client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)} STRATEGY FILE_COPY`))
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  let dropped: Promise<void> | null = null
  return {
    url: url.toString(),
    name,
    drop: () =>
      (dropped ??= withAdmin(serverUrl, async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`)
      }))
  }
}

/** The superuser URL of the server the run's global setup started. */
export const serverUrl = (): string => inject("mmgwPostgresServerUrl")

/** A new, empty database on the run's server for as long as the scope is open; dropped when it closes. */
export const freshDatabase: Effect.Effect<string, never, Scope.Scope> = Effect.map(
  Effect.acquireRelease(
    Effect.promise(() => createDatabase(serverUrl())),
    (database) => Effect.promise(() => database.drop())
  ),
  (database) => database.url
)
