/** The run's server and databases on it, inside vitest (the global setup provides the server). */
import { Effect, type Scope } from "effect"
import { afterAll, inject } from "vitest"
import { createDatabase, emptyDatabase, type TestDatabase } from "./databases.js"

declare module "vitest" {
  export interface ProvidedContext {
    /** The superuser URL of the run's PostgreSQL server (see `PostgresServer.url`), from `global-setup.ts`. */
    readonly mmgwPostgresServerUrl: string
    /** A database with every migration applied, for `migratedDatabase` to copy, from `global-setup.ts`. */
    readonly mmgwPostgresTemplate: string
  }
}

/** The superuser URL of the server the run's global setup started. */
export const serverUrl = (): string => inject("mmgwPostgresServerUrl")

const scoped = (options: { readonly template?: string }): Effect.Effect<string, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.promise(() => createDatabase(serverUrl(), options)),
      (database) => Effect.promise(() => database.drop())
    ),
    (database) => database.url
  )

/** A new, empty database on the run's server for as long as the scope is open; dropped when it closes. */
export const freshDatabase: Effect.Effect<string, never, Scope.Scope> = Effect.suspend(() => scoped({}))

/** Migrated databases this test file has used and emptied again, ready for its next test. */
const idle: Array<TestDatabase> = []
afterAll(async () => {
  await Promise.all(idle.splice(0).map((database) => database.drop()))
})

/**
 * A database with every migration applied and nothing in it, for as long as the scope is open: one this
 * test file used before and emptied again, or else a new copy of the run's migrated template (several
 * times quicker than migrating an empty database, and emptying one is quicker still). When the scope
 * closes it is emptied for the file's next test; dropped after the file's last.
 */
export const migratedDatabase: Effect.Effect<string, never, Scope.Scope> = Effect.map(
  Effect.acquireRelease(
    Effect.promise(async () => idle.pop() ?? (await createDatabase(serverUrl(), { template: inject("mmgwPostgresTemplate") }))),
    (database) =>
      Effect.promise(() =>
        emptyDatabase(serverUrl(), database).then(
          () => void idle.push(database),
          () => database.drop()
        )
      )
  ),
  (database) => database.url
)
