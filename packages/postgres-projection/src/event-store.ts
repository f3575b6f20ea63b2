import { Events, EventStore, type UnitOfWork } from "@mm-gateway/domain"
import { Clock, Effect, Layer } from "effect"
import { type Database, inTransaction, PostgresDatabase, statements } from "./connection.js"
import { layerDatabase, type PostgresOptions } from "./database.js"
import { appendEncoded, decodeRow, readAllRows, readStreamRows } from "./event-log.js"
import type { Projection } from "./projection.js"
import { allProjections } from "./read-models/index.js"
import { projectInline } from "./runner.js"
import { readSnapshotRows } from "./snapshots.js"
import { layerUnitOfWork } from "./unit-of-work.js"

/**
 * The `EventStore` port on PostgreSQL. An append checks the expected version and inserts its events
 * and the snapshot, then runs the inline projections over them, in one transaction (its own, or the
 * unit of work's) holding the append lock. Infrastructure failures are defects; only
 * `VersionConflict` is an expected error.
 */
export const makeEventStore = (db: Database, projections: ReadonlyArray<Projection> = allProjections) =>
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
            : inTransaction(db, async (session) => {
              const outcome = await appendEncoded(session, streamId, expected, events.map(Events.encodeEvent), recordedAt, snapshot)
              if (outcome._tag === "Appended") {
                const firstVersion = outcome.nextVersion - events.length + 1
                const stored: Array<EventStore.StoredEvent> = events.map((event, i) => ({
                  streamId,
                  version: firstVersion + i,
                  globalPosition: outcome.positions[i]!,
                  event,
                  recordedAt
                }))
                await projectInline(session, projections, stored, snapshot === undefined ? undefined : { streamId, state: snapshot.state }, outcome.followed)
              }
              return outcome
            }, { appendLock: true }),
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
  Effect.map(PostgresDatabase, (db) => makeEventStore(db))
)

/** The event store (with its inline projections) and its unit of work on their own pool. */
export const layerEventStoreFor = (options: PostgresOptions): Layer.Layer<EventStore.EventStore | UnitOfWork.UnitOfWork> =>
  Layer.provide(Layer.merge(layerEventStore, layerUnitOfWork), layerDatabase(options))
