import BetterSqlite3 from "better-sqlite3"
import { Context, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { type CheckpointMode, withCheckpointing } from "./checkpointer.js"
import { configure, type Database, DEFAULT_BUSY_TIMEOUT_MS, type Durability } from "./connection.js"
import { mainMigrations, migrate } from "./migrations.js"
import type { Projection } from "./projection.js"
import { allProjections } from "./projections/index.js"
import { catchUp } from "./runner.js"

export interface SqliteOptions {
  /** A file path, or `:memory:` for a private in-memory database. */
  readonly path: string
  /** `normal` by default (docs/persistence.md#durability). */
  readonly durability?: Durability
  /** The read models kept inline with every append; every read model by default (docs/persistence.md#projections). */
  readonly projections?: ReadonlyArray<Projection>
  readonly busyTimeoutMs?: number
  /** `"automatic"` by default; see `CheckpointMode`. */
  readonly checkpoint?: CheckpointMode
}

/** One open, migrated connection to the main database and the projections kept with it. */
export class SqliteDatabase extends Context.Tag("@mm-gateway/sqlite-projection/SqliteDatabase")<SqliteDatabase, {
  readonly db: Database
  readonly durability: Durability
  readonly projections: ReadonlyArray<Projection>
}>() {}

export const openDatabase = (file: string, durability: Durability = "normal", busyTimeoutMs = DEFAULT_BUSY_TIMEOUT_MS): Database => {
  if (file !== ":memory:" && file !== "") fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true })
  const db = new BetterSqlite3(file)
  try {
    configure(db, durability, busyTimeoutMs)
  } catch (error) {
    db.close()
    throw error
  }
  return db
}

/**
 * Opens the database, runs the migrations (from a fresh file or any earlier version), and catches every
 * projection up from its checkpoint before anything else uses it. Closed with the scope.
 */
export const layerDatabase = (options: SqliteOptions): Layer.Layer<SqliteDatabase> =>
  Layer.scoped(
    SqliteDatabase,
    Effect.acquireRelease(
      Effect.promise(async () => {
        const durability = options.durability ?? "normal"
        const projections = options.projections ?? allProjections
        const db = openDatabase(options.path, durability, options.busyTimeoutMs)
        try {
          await migrate(db, mainMigrations)
          catchUp(db, projections)
        } catch (error) {
          db.close()
          throw error
        }
        return { db, durability, projections, ...withCheckpointing(db, options.checkpoint) }
      }),
      ({ close }) => Effect.promise(close)
    )
  )
