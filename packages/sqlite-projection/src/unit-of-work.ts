import { UnitOfWork } from "@mm-gateway/domain"
import { Effect, Layer } from "effect"
import { begin, commit, type Database, gateOf, rollback } from "./connection.js"
import { SqliteDatabase } from "./database.js"

/**
 * The unit of work on the main database: `BEGIN IMMEDIATE` … `COMMIT` around `work`, which may be
 * asynchronous. The connection's gate keeps every other operation of this process out meanwhile;
 * other processes wait for SQLite's write lock.
 */
export const makeUnitOfWork = (db: Database) =>
  UnitOfWork.UnitOfWork.of({
    transact: gateOf(db).transact({
      begin: () => void begin(db),
      commit: () => {
        for (const then of commit(db)) then()
      },
      rollback: () => rollback(db)
    })
  })

export const layerUnitOfWork: Layer.Layer<UnitOfWork.UnitOfWork, never, SqliteDatabase> = Layer.effect(
  UnitOfWork.UnitOfWork,
  Effect.map(SqliteDatabase, ({ db }) => makeUnitOfWork(db))
)
