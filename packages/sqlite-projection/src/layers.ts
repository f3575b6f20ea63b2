import type { EventStore } from "@mm-gateway/domain"
import { Effect, Layer } from "effect"
import { layerDatabase, SqliteDatabase, type SqliteOptions } from "./database.js"
import { layerEventStore } from "./event-store.js"
import { layerLease, type WorkerLease } from "./lease.js"
import { layerReadModels, type ReadModels } from "./read-models.js"
import { catchUp, type CatchUpResult, rebuild } from "./runner.js"

/** Everything on the main database file: the event store (with inline projections), read models and the lease. */
export const layer = (options: SqliteOptions): Layer.Layer<SqliteDatabase | EventStore | ReadModels | WorkerLease> =>
  Layer.provideMerge(Layer.mergeAll(layerEventStore, layerReadModels, layerLease), layerDatabase(options))

/** Catches every configured projection up from its checkpoint (the worker's projection runner tick). */
export const catchUpProjections = (batchSize?: number): Effect.Effect<CatchUpResult, never, SqliteDatabase> =>
  Effect.flatMap(SqliteDatabase, ({ db, projections }) => Effect.sync(() => catchUp(db, projections, batchSize)))

/** Drops every read model and rebuilds it from the event log. */
export const rebuildProjections = (batchSize?: number): Effect.Effect<CatchUpResult, never, SqliteDatabase> =>
  Effect.flatMap(SqliteDatabase, ({ db, projections }) => Effect.sync(() => rebuild(db, projections, batchSize)))
