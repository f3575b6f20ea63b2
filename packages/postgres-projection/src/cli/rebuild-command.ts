import { Effect } from "effect"
import { PostgresDatabase } from "../connection.js"
import { layerDatabase, type PostgresOptions } from "../database.js"
import { allProjections } from "../read-models/index.js"
import { rebuild } from "../runner.js"
import { snapshotsProjection } from "../snapshots.js"

/**
 * Opens (and migrates) the database, rebuilds every read model and the snapshots from the log, and
 * closes the pool. How many events it replayed.
 */
export const rebuildDatabase = (options: PostgresOptions): Effect.Effect<number> =>
  Effect.flatMap(PostgresDatabase, (db) => rebuild(db, [...allProjections, snapshotsProjection])).pipe(
    Effect.provide(layerDatabase({ poolSize: 2, ...options }))
  )
