/** Databases of their own for tests, on any server a superuser's URL points to. Needs no vitest. */
import { randomBytes } from "node:crypto"
import pg from "pg"
import { openPool } from "../src/database.js"
import { migrate } from "../src/migrations.js"

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
 * Creates a database on the server `serverUrl` points to (a superuser's URL): empty (a copy of
 * `template1`), or a copy of `template` — a database nobody is connected to, such as the one
 * `createMigratedTemplate` made. It is copied file by file, which for a small database is quicker than
 * through the write-ahead log.
 */
export const createDatabase = async (serverUrl: string, options: { readonly template?: string } = {}): Promise<TestDatabase> => {
  const name = uniqueName()
  await withAdmin(serverUrl, (client) =>
    client.query(
      `CREATE DATABASE ${client.escapeIdentifier(name)}${
        options.template === undefined ? "" : ` TEMPLATE ${client.escapeIdentifier(options.template)}`
      } STRATEGY FILE_COPY`
    ))
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

/**
 * Empties a database for its next use: the sessions still connected to it are ended, then every row of
 * every table but kysely's migration records is deleted (identities are not reset: nothing may count
 * on ids starting from 1). For a test database of a few rows, far quicker than a new copy of a template.
 */
export const emptyDatabase = async (serverUrl: string, database: TestDatabase): Promise<void> => {
  await withAdmin(serverUrl, (client) =>
    client.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [database.name]))
  const client = new pg.Client({ connectionString: database.url })
  await client.connect()
  try {
    const tables = await client.query<{ name: string }>(
      "SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = current_schema() AND tablename NOT LIKE 'kysely\\_%'"
    )
    await client.query(tables.rows.map((t) => `DELETE FROM ${t.name};`).join("\n"))
  } finally {
    await client.end()
  }
}

/**
 * A database with every migration applied and nothing else, to copy (`createDatabase(url, { template })`):
 * copying it is several times quicker than migrating an empty one. Its name; nobody stays connected to it.
 */
export const createMigratedTemplate = async (serverUrl: string): Promise<string> => {
  const template = await createDatabase(serverUrl)
  const pool = openPool({ url: template.url, poolSize: 1 })
  try {
    await migrate(pool)
  } finally {
    await pool.end()
  }
  return template.name
}
