/** Databases of their own for tests, on any server a superuser's URL points to. Needs no vitest. */
import { randomBytes } from "node:crypto"
import pg from "pg"

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
