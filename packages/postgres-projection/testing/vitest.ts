/** The run's server and databases on it, inside vitest (the global setup provides the server). */
import { Effect, type Scope } from "effect"
import { inject } from "vitest"
import { createDatabase } from "./databases.js"

declare module "vitest" {
  export interface ProvidedContext {
    /** The superuser URL of the run's PostgreSQL server (see `PostgresServer.url`), from `global-setup.ts`. */
    readonly mmgwPostgresServerUrl: string
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
