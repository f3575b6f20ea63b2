import { Events, EventStore, type UnitOfWork } from "@mm-gateway/domain"
import { Clock, Effect, Layer } from "effect"
import { type Database, inTransaction, PostgresDatabase, statements } from "./connection.js"
import { layerDatabase, type PostgresOptions } from "./database.js"
import { appendEncoded, appendManyEncoded, decodeRow, type EventRow, readAllRows, readStreamRows, streamVersion } from "./event-log.js"
import type { Projection } from "./projection.js"
import { allProjections } from "./read-models/index.js"
import { projectInline } from "./runner.js"
import { readSnapshotRows, readSnapshotsRows } from "./snapshots.js"
import { layerUnitOfWork } from "./unit-of-work.js"

/**
 * The `EventStore` port on PostgreSQL. An append checks the expected version and inserts its events
 * and the snapshot, then runs the inline projections over them, in one transaction (its own, or the
 * unit of work's) holding the append lock. Infrastructure failures are defects; only
 * `VersionConflict` is an expected error.
 */
export const makeEventStore = (db: Database, projections: ReadonlyArray<Projection> = allProjections) => {
  const snapshotRead = (snapshot: { readonly state: unknown; readonly version: number } | null, rows: ReadonlyArray<EventRow>): EventStore.SnapshotRead => {
    const events = rows.map(decodeRow)
    return { snapshot, events, version: events[events.length - 1]?.version ?? snapshot?.version ?? 0 }
  }
  /** One stream: one statement (the dispatcher's path). */
  const append = (streamId: string, expected: EventStore.ExpectedVersion, events: ReadonlyArray<Events.DomainEvent>, snapshot?: EventStore.Snapshot) =>
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
              await projectInline(session, projections, stored, snapshot === undefined ? undefined : new Map([[streamId, snapshot.state]]), outcome.followed)
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
      ))
  /** Several streams: their versions in one statement, then every event and snapshot in another (a webhook's statuses). */
  const appendMany = (appends: ReadonlyArray<EventStore.StreamAppend>): Effect.Effect<ReadonlyArray<EventStore.AppendResult>, EventStore.VersionConflict> => {
    if (appends.length === 1) {
      const { events, expected, snapshot, streamId } = appends[0]!
      return Effect.map(append(streamId, expected, events, snapshot), (result) => [result])
    }
    if (appends.every((a) => a.events.length === 0)) {
      return Effect.flatMap(
        statements(db, (session) => Promise.all(appends.map((a) => streamVersion(session, a.streamId)))),
        (actuals) => {
          const conflict = EventStore.conflictAmong(appends, actuals)
          return conflict !== null ? Effect.fail(conflict) : Effect.succeed(actuals.map((nextVersion) => ({ nextVersion, lastGlobalPosition: null })))
        }
      )
    }
    return Effect.flatMap(Clock.currentTimeMillis, (recordedAt) =>
      Effect.flatMap(
        inTransaction(db, async (session) => {
          const outcome = await appendManyEncoded(
            session,
            appends.map((a) => ({ ...a, events: a.events.map(Events.encodeEvent) })),
            recordedAt
          )
          if (outcome._tag === "Conflict") return outcome
          const stored: Array<EventStore.StoredEvent> = []
          const states = new Map<string, unknown>()
          appends.forEach((a, i) => {
            a.events.forEach((event, k) =>
              stored.push({ streamId: a.streamId, version: outcome.actuals[i]! + k + 1, globalPosition: outcome.positions[stored.length]!, event, recordedAt })
            )
            if (a.snapshot !== undefined && a.events.length > 0) states.set(a.streamId, a.snapshot.state)
          })
          await projectInline(session, projections, stored, states, outcome.followed)
          return outcome
        }, { appendLock: true }),
        (outcome) => {
          if (outcome._tag === "Conflict") return Effect.fail(outcome.conflict)
          let at = 0
          return Effect.succeed(appends.map((a, i): EventStore.AppendResult => {
            at += a.events.length
            return { nextVersion: outcome.actuals[i]! + a.events.length, lastGlobalPosition: a.events.length === 0 ? null : outcome.positions[at - 1]! }
          }))
        }
      ))
  }
  return EventStore.EventStore.of({
    readStream: (streamId) =>
      statements(db, async (session) => {
        const events = (await readStreamRows(session, streamId)).map(decodeRow)
        return { version: events[events.length - 1]?.version ?? 0, events }
      }),
    readSnapshot: (streamId, schema) =>
      statements(db, async (session) => {
        const read = await readSnapshotRows(session, streamId, schema)
        return snapshotRead(read.snapshot, read.events)
      }),
    readSnapshots: (streamIds, schema) =>
      streamIds.length === 0 ? Effect.succeed([]) : statements(db, async (session) => {
        const reads = await readSnapshotsRows(session, streamIds, schema)
        return streamIds.map((id) => {
          const read = reads.get(id)
          return snapshotRead(read?.snapshot ?? null, read?.events ?? [])
        })
      }),
    append,
    appendMany,
    readAll: (after, limit) => statements(db, async (session) => (await readAllRows(session, after, limit)).map(decodeRow))
  })
}

export const layerEventStore: Layer.Layer<EventStore.EventStore, never, PostgresDatabase> = Layer.effect(
  EventStore.EventStore,
  Effect.map(PostgresDatabase, (db) => makeEventStore(db))
)

/** The event store (with its inline projections) and its unit of work on their own pool. */
export const layerEventStoreFor = (options: PostgresOptions): Layer.Layer<EventStore.EventStore | UnitOfWork.UnitOfWork> =>
  Layer.provide(Layer.merge(layerEventStore, layerUnitOfWork), layerDatabase(options))
