import type { EventStore, StatusMatching } from "@mm-gateway/domain"
import { Effect, Exit, Layer, Runtime } from "effect"
import { immediate } from "./connection.js"
import { layerDatabase, SqliteDatabase, type SqliteOptions } from "./database.js"
import { layerEventStore } from "./event-store.js"
import { layerLease, type WorkerLease } from "./lease.js"
import { layerReadModels, type ReadModels } from "./read-models.js"
import { catchUp, type CatchUpResult, rebuild } from "./runner.js"
import { layerStatusMatching } from "./status-matching.js"
import { layerUnmatchedStatuses, type UnmatchedStatuses } from "./unmatched-statuses.js"

/**
 * Everything on the main database file: the event store (with inline projections), read models, the
 * lease, parked statuses and the domain's `StatusMatching` port over them.
 */
export const layer = (
  options: SqliteOptions
): Layer.Layer<SqliteDatabase | EventStore | ReadModels | WorkerLease | UnmatchedStatuses | StatusMatching> =>
  Layer.provideMerge(
    Layer.mergeAll(layerEventStore, layerReadModels, layerLease, layerUnmatchedStatuses, layerStatusMatching),
    layerDatabase(options)
  )

/** Catches every configured projection up from its checkpoint (the worker's projection runner tick). */
export const catchUpProjections = (batchSize?: number): Effect.Effect<CatchUpResult, never, SqliteDatabase> =>
  Effect.flatMap(SqliteDatabase, ({ db, projections }) => Effect.sync(() => catchUp(db, projections, batchSize)))

/** Drops every read model and rebuilds it from the event log. */
export const rebuildProjections = (batchSize?: number): Effect.Effect<CatchUpResult, never, SqliteDatabase> =>
  Effect.flatMap(SqliteDatabase, ({ db, projections }) => Effect.sync(() => rebuild(db, projections, batchSize)))

const rollback = Symbol("rollback")

/**
 * Runs `effect` inside one immediate transaction on the main database: many commands, one commit (the
 * worker applying a webhook's statuses in a batch). A failure or defect rolls everything back. The
 * effect must be synchronous end to end — the SQLite store is — and free of side effects outside the
 * database, because a busy retry runs it again; an asynchronous step makes it a defect.
 */
export const inOneTransaction = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R | SqliteDatabase> =>
  Effect.gen(function*() {
    const { db } = yield* SqliteDatabase
    const runSync = Runtime.runSyncExit(yield* Effect.runtime<R>())
    let exit: Exit.Exit<A, E> = Exit.die(new Error("transaction did not run"))
    try {
      immediate(db, () => {
        exit = runSync(effect)
        if (Exit.isFailure(exit)) throw rollback
      })
    } catch (error) {
      if (error !== rollback) return yield* Effect.die(error)
    }
    return yield* exit
  })
