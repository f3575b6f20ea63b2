import { Events, EventStore, type UnitOfWork } from "@mm-gateway/domain"
import { Clock, Effect, Layer } from "effect"
import { type Database, gated } from "./connection.js"
import { appendEncoded, readAllRows, readStreamRows } from "./event-log.js"
import { decodeRow, type Projection } from "./projection.js"
import { projectInline } from "./runner.js"
import { layerDatabase, SqliteDatabase, type SqliteOptions } from "./database.js"
import { readSnapshotRow, writeSnapshot } from "./snapshots.js"
import { layerUnitOfWork } from "./unit-of-work.js"

/**
 * The `EventStore` port on SQLite. Appends check the expected version and insert in one immediate
 * transaction, and run the inline projections and store the snapshot in that same transaction.
 * Infrastructure failures are defects; only `VersionConflict` is an expected error.
 */
export const makeEventStore = (db: Database, projections: ReadonlyArray<Projection>) =>
  EventStore.EventStore.of({
    readStream: (streamId) =>
      Effect.sync(() => {
        const events = readStreamRows(db, streamId).map(decodeRow)
        return { version: events[events.length - 1]?.version ?? 0, events }
      }),
    readSnapshot: (streamId, schema) =>
      Effect.sync(() => {
        const row = readSnapshotRow(db, streamId)
        const snapshot = row !== undefined && row.schema === schema ? { state: JSON.parse(row.state) as unknown, version: row.version } : null
        const events = readStreamRows(db, streamId, snapshot?.version ?? 0).map(decodeRow)
        return { snapshot, events, version: events[events.length - 1]?.version ?? snapshot?.version ?? 0 }
      }),
    append: (streamId, expected, events: ReadonlyArray<Events.DomainEvent>, snapshot?: EventStore.Snapshot) =>
      Effect.flatMap(Clock.currentTimeMillis, (recordedAt) =>
        Effect.suspend(() => {
          const outcome = appendEncoded(db, streamId, expected, events.map(Events.encodeEvent), recordedAt, (positions, firstVersion) => {
            const stored: Array<EventStore.StoredEvent> = events.map((event, i) => ({
              streamId,
              version: firstVersion + i,
              globalPosition: positions[i]!,
              event,
              recordedAt
            }))
            if (snapshot === undefined) {
              projectInline(db, projections, stored)
              return
            }
            // One serialisation of the state, for the snapshot and for a read model that keeps it.
            const json = JSON.stringify(snapshot.state)
            projectInline(db, projections, stored, { streamId, state: snapshot.state, json })
            writeSnapshot(db, streamId, firstVersion + events.length - 1, snapshot, json)
          })
          return outcome._tag === "Conflict"
            ? Effect.fail(new EventStore.VersionConflict({ streamId, expected, actual: outcome.actual }))
            : Effect.succeed({
              nextVersion: outcome.nextVersion,
              lastGlobalPosition: outcome.positions[outcome.positions.length - 1] ?? null
            })
        })),
    readAll: (after, limit) => Effect.sync(() => readAllRows(db, after, limit).map(decodeRow))
  })

export const layerEventStore: Layer.Layer<EventStore.EventStore, never, SqliteDatabase> = Layer.effect(
  EventStore.EventStore,
  Effect.map(SqliteDatabase, ({ db, projections }) => gated(db, makeEventStore(db, projections)))
)

/** The event store and its unit of work on their own database (`:memory:` gives a fresh store each time it is built). */
export const layerEventStoreFor = (options: SqliteOptions): Layer.Layer<EventStore.EventStore | UnitOfWork.UnitOfWork> =>
  Layer.provide(Layer.merge(layerEventStore, layerUnitOfWork), layerDatabase(options))
