import { UnitOfWork } from "@mm-gateway/domain"
import { Effect, Exit, FiberRef, Layer } from "effect"
import { begin, commit, type Database, PostgresDatabase, rollback } from "./connection.js"

/**
 * The unit of work on PostgreSQL: one transaction on one connection of the pool for everything `work`
 * does through the store, which may be asynchronous. The transaction is the fiber's (`db.current`, a
 * FiberRef, as the domain's transaction gate keeps its holder), so the store's operations of that
 * fiber and of the fibers it forks run in it, and a `transact` inside it joins it. Every other fiber
 * works on other connections and sees nothing of it before it commits: unlike SQLite's single
 * connection, nothing has to wait for it, except another append (the append lock).
 */
export const makeUnitOfWork = (db: Database) =>
  UnitOfWork.UnitOfWork.of({
    transact: <A, E, R>(work: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Effect.flatMap(FiberRef.get(db.current), (joined) =>
        joined !== null ? work : Effect.uninterruptibleMask((restore) =>
          Effect.flatMap(Effect.promise(() => begin(db.pool, { appendLock: false })), (transaction) =>
            Effect.flatMap(Effect.exit(restore(Effect.locally(work, db.current, transaction))), (exit) =>
              Exit.isSuccess(exit)
                ? Effect.as(Effect.promise(() => commit(transaction)), exit.value)
                : Effect.zipRight(Effect.promise(() => rollback(transaction)), exit)))))
  })

export const layerUnitOfWork: Layer.Layer<UnitOfWork.UnitOfWork, never, PostgresDatabase> = Layer.effect(
  UnitOfWork.UnitOfWork,
  Effect.map(PostgresDatabase, makeUnitOfWork)
)
