import { type DomainEvent, encodeEvent, EventStore, type StoredEvent, VersionConflict } from "@mm-gateway/domain"
import { Clock, Effect, Layer } from "effect"
import type { Database } from "./connection.js"
import { appendEncoded, readAllRows, readStreamRows } from "./event-log.js"
import { decodeRow, type Projection } from "./projection.js"
import { projectInline } from "./runner.js"
import { layerDatabase, SqliteDatabase, type SqliteOptions } from "./database.js"

/**
 * The `EventStore` port on SQLite. Appends check the expected version and insert in one immediate
 * transaction, and run the inline projections in that same transaction. Infrastructure failures are
 * defects; only `VersionConflict` is an expected error.
 */
export const makeEventStore = (db: Database, projections: ReadonlyArray<Projection>) =>
  EventStore.of({
    readStream: (streamId) =>
      Effect.sync(() => {
        const events = readStreamRows(db, streamId).map(decodeRow)
        return { version: events[events.length - 1]?.version ?? 0, events }
      }),
    append: (streamId, expected, events: ReadonlyArray<DomainEvent>) =>
      Effect.flatMap(Clock.currentTimeMillis, (recordedAt) =>
        Effect.suspend(() => {
          const outcome = appendEncoded(db, streamId, expected, events.map(encodeEvent), recordedAt, (positions, firstVersion) => {
            const stored: Array<StoredEvent> = events.map((event, i) => ({
              streamId,
              version: firstVersion + i,
              globalPosition: positions[i]!,
              event,
              recordedAt
            }))
            projectInline(db, projections, stored)
          })
          return outcome._tag === "Conflict"
            ? Effect.fail(new VersionConflict({ streamId, expected, actual: outcome.actual }))
            : Effect.succeed({
              nextVersion: outcome.nextVersion,
              lastGlobalPosition: outcome.positions[outcome.positions.length - 1] ?? null
            })
        })),
    readAll: (after, limit) => Effect.sync(() => readAllRows(db, after, limit).map(decodeRow))
  })

export const layerEventStore: Layer.Layer<EventStore, never, SqliteDatabase> = Layer.effect(
  EventStore,
  Effect.map(SqliteDatabase, ({ db, projections }) => makeEventStore(db, projections))
)

/** The event store alone on its own database (`:memory:` gives a fresh store each time it is built). */
export const layerEventStoreFor = (options: SqliteOptions): Layer.Layer<EventStore> =>
  Layer.provide(layerEventStore, layerDatabase(options))
