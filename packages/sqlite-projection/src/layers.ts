import type { EventStore, StatusMatching, UnitOfWork } from "@mm-gateway/domain"
import { Effect, Layer } from "effect"
import { gateOf } from "./connection.js"
import { layerDatabase, SqliteDatabase, type SqliteOptions } from "./database.js"
import { layerEventStore } from "./event-store.js"
import { layerLease, type WorkerLease } from "./lease.js"
import { layerReadModels, type ReadModels } from "./read-models.js"
import { catchUp, type CatchUpResult, rebuild } from "./runner.js"
import { layerStatusMatching } from "./status-matching.js"
import { layerUnitOfWork } from "./unit-of-work.js"
import { layerParkedStatuses, type ParkedStatuses } from "./parked-statuses.js"

/**
 * Everything on the main database file: the event store (with inline projections) and its unit of
 * work, read models, the lease, parked statuses and the domain's `StatusMatching` port over them.
 */
export const layer = (
  options: SqliteOptions
): Layer.Layer<SqliteDatabase | EventStore | UnitOfWork | ReadModels | WorkerLease | ParkedStatuses | StatusMatching> =>
  Layer.provideMerge(
    Layer.mergeAll(layerEventStore, layerUnitOfWork, layerReadModels, layerLease, layerParkedStatuses, layerStatusMatching),
    layerDatabase(options)
  )

/** Catches every configured projection up from its checkpoint (the worker's projection runner tick). */
export const catchUpProjections = (batchSize?: number): Effect.Effect<CatchUpResult, never, SqliteDatabase> =>
  Effect.flatMap(SqliteDatabase, ({ db, projections }) => gateOf(db).operation(Effect.sync(() => catchUp(db, projections, batchSize))))

/** Drops every read model and rebuilds it from the event log. */
export const rebuildProjections = (batchSize?: number): Effect.Effect<CatchUpResult, never, SqliteDatabase> =>
  Effect.flatMap(SqliteDatabase, ({ db, projections }) => gateOf(db).operation(Effect.sync(() => rebuild(db, projections, batchSize))))
