import { Events, EventStore, type UnitOfWork } from "@mm-gateway/domain"
import { Clock, Effect, Layer } from "effect"
import { type Database, PostgresDatabase, inTransaction, statements } from "./connection.js"
import { appendEncoded, type EventRow, readAllRows, readStreamRows } from "./event-log.js"
import { layerDatabase, type PostgresOptions } from "./database.js"
import { readSnapshotRows } from "./snapshots.js"
import { layerUnitOfWork } from "./unit-of-work.js"

export const decodeRow = (row: EventRow): EventStore.StoredEvent => ({
  streamId: row.stream_id,
  version: row.version,
  globalPosition: Number(row.global_position),
  event: Events.decodeStoredEvent({ type: row.type, schemaVersion: row.schema_version, data: row.data }),
  recordedAt: Number(row.recorded_at)
})

/**
 * The `EventStore` port on PostgreSQL. An append checks the expected version and inserts its events
 * and the snapshot in one transaction (its own, or the unit of work's), holding the append lock.
 * Infrastructure failures are defects; only `VersionConflict` is an expected error.
 */
export const makeEventStore = (db: Database) =>
  EventStore.EventStore.of({
    readStream: (streamId) =>
      statements(db, async (session) => {
        const events = (await readStreamRows(session, streamId)).map(decodeRow)
        return { version: events[events.length - 1]?.version ?? 0, events }
      }),
    readSnapshot: (streamId, schema) =>
      statements(db, async (session) => {
        const read = await readSnapshotRows(session, streamId, schema)
        const events = read.events.map(decodeRow)
        return { snapshot: read.snapshot, events, version: events[events.length - 1]?.version ?? read.snapshot?.version ?? 0 }
      }),
    append: (streamId, expected, events: ReadonlyArray<Events.DomainEvent>, snapshot?: EventStore.Snapshot) =>
      Effect.flatMap(Clock.currentTimeMillis, (recordedAt) =>
        Effect.flatMap(
          // Appending nothing only reads the version: no transaction, no lock.
          events.length === 0
            ? statements(db, (session) => appendEncoded(session, streamId, expected, [], recordedAt))
            : inTransaction(db, (session) => appendEncoded(session, streamId, expected, events.map(Events.encodeEvent), recordedAt, snapshot), {
              appendLock: true
            }),
          (outcome) =>
            outcome._tag === "Conflict"
              ? Effect.fail(new EventStore.VersionConflict({ streamId, expected, actual: outcome.actual }))
              : Effect.succeed({
                nextVersion: outcome.nextVersion,
                lastGlobalPosition: outcome.positions[outcome.positions.length - 1] ?? null
              })
        )),
    readAll: (after, limit) => statements(db, async (session) => (await readAllRows(session, after, limit)).map(decodeRow))
  })

export const layerEventStore: Layer.Layer<EventStore.EventStore, never, PostgresDatabase> = Layer.effect(
  EventStore.EventStore,
  Effect.map(PostgresDatabase, makeEventStore)
)

/** The event store and its unit of work on their own pool. */
export const layerEventStoreFor = (options: PostgresOptions): Layer.Layer<EventStore.EventStore | UnitOfWork.UnitOfWork> =>
  Layer.provide(Layer.merge(layerEventStore, layerUnitOfWork), layerDatabase(options))
