import { Events, EventStore, type UnitOfWork } from "@mm-gateway/domain"
import { Clock, Effect, Layer } from "effect"
import { type Database, gated, immediate } from "./connection.js"
import { insertEvents, isVersionClash, readAllRows, readStreamRows, streamVersion } from "./event-log.js"
import { decodeRow, type Projection, type StateAfter } from "./projection.js"
import { projectInline } from "./runner.js"
import { layerDatabase, SqliteDatabase, type SqliteOptions } from "./database.js"
import { readSnapshotRow, readSnapshotRows, writeSnapshot } from "./snapshots.js"
import { layerUnitOfWork } from "./unit-of-work.js"

type Outcome =
  | { readonly _tag: "Appended"; readonly results: ReadonlyArray<EventStore.AppendResult> }
  | { readonly _tag: "Conflict"; readonly conflict: EventStore.VersionConflict }

/**
 * The appends of `append` and `appendMany`, in one immediate transaction (the caller's, or one of its
 * own): every stream's version checked first (the write lock is held from there to the commit, so
 * none can move meanwhile), then every stream's events inserted, the inline projections run over all
 * of them with the states the appends bring, and the snapshots stored.
 */
const appendAll = (
  db: Database,
  projections: ReadonlyArray<Projection>,
  appends: ReadonlyArray<EventStore.StreamAppend>,
  recordedAt: number
): Outcome => {
  const actualsNow = () => appends.map((a) => streamVersion(db, a.streamId))
  if (appends.every((a) => a.events.length === 0)) {
    // Appending nothing only reads the versions: no transaction, no lock.
    const actuals = actualsNow()
    const conflict = EventStore.conflictAmong(appends, actuals)
    return conflict !== null
      ? { _tag: "Conflict", conflict }
      : { _tag: "Appended", results: actuals.map((nextVersion) => ({ nextVersion, lastGlobalPosition: null })) }
  }
  const ownTransaction = !db.inTransaction
  try {
    return immediate(db, (): Outcome => {
      const actuals = actualsNow()
      const conflict = EventStore.conflictAmong(appends, actuals)
      if (conflict !== null) return { _tag: "Conflict", conflict }
      const stored: Array<EventStore.StoredEvent> = []
      const states = new Map<string, StateAfter>()
      const results = appends.map(({ events, snapshot, streamId }, i): EventStore.AppendResult => {
        const actual = actuals[i]!
        if (events.length === 0) return { nextVersion: actual, lastGlobalPosition: null }
        const positions = insertEvents(db, streamId, actual, events.map(Events.encodeEvent), recordedAt)
        events.forEach((event, k) => stored.push({ streamId, version: actual + k + 1, globalPosition: positions[k]!, event, recordedAt }))
        // One serialisation of the state, for the snapshot and for a read model that keeps it.
        if (snapshot !== undefined) states.set(streamId, { state: snapshot.state, json: JSON.stringify(snapshot.state) })
        return { nextVersion: actual + events.length, lastGlobalPosition: positions[positions.length - 1]! }
      })
      projectInline(db, projections, stored, states)
      appends.forEach(({ snapshot, streamId }, i) => {
        const after = states.get(streamId)
        if (snapshot !== undefined && after !== undefined) writeSnapshot(db, streamId, results[i]!.nextVersion, snapshot, after.json)
      })
      return { _tag: "Appended", results }
    })
  } catch (error) {
    // In a transaction of its own, a clash on (stream_id, version) is a lost race: rolled back, reported.
    const conflict = ownTransaction && isVersionClash(error) ? EventStore.conflictAmong(appends, actualsNow()) : null
    if (conflict === null) throw error
    return { _tag: "Conflict", conflict }
  }
}

/**
 * The `EventStore` port on SQLite. Appends check the expected versions and insert in one immediate
 * transaction, and run the inline projections and store the snapshots in that same transaction.
 * Infrastructure failures are defects; only `VersionConflict` is an expected error.
 */
export const makeEventStore = (db: Database, projections: ReadonlyArray<Projection>) => {
  const readSnapshotOf = (streamId: string, schema: number): EventStore.SnapshotRead => {
    const row = readSnapshotRow(db, streamId)
    const snapshot = row !== undefined && row.schema === schema ? { state: JSON.parse(row.state) as unknown, version: row.version } : null
    const events = readStreamRows(db, streamId, snapshot?.version ?? 0).map(decodeRow)
    return { snapshot, events, version: events[events.length - 1]?.version ?? snapshot?.version ?? 0 }
  }
  const appendMany = (appends: ReadonlyArray<EventStore.StreamAppend>) =>
    Effect.flatMap(Clock.currentTimeMillis, (recordedAt) =>
      Effect.suspend(() => {
        const outcome = appendAll(db, projections, appends, recordedAt)
        return outcome._tag === "Conflict" ? Effect.fail(outcome.conflict) : Effect.succeed(outcome.results)
      }))
  return EventStore.EventStore.of({
    readStream: (streamId) =>
      Effect.sync(() => {
        const events = readStreamRows(db, streamId).map(decodeRow)
        return { version: events[events.length - 1]?.version ?? 0, events }
      }),
    readSnapshot: (streamId, schema) => Effect.sync(() => readSnapshotOf(streamId, schema)),
    readSnapshots: (streamIds, schema) =>
      Effect.sync(() => {
        if (streamIds.length <= 1) return streamIds.map((id) => readSnapshotOf(id, schema))
        const rows = readSnapshotRows(db, streamIds, schema)
        return streamIds.map((streamId): EventStore.SnapshotRead => {
          const found = rows.get(streamId)
          const snapshot = found?.snapshot ?? null
          const events = (found?.events ?? []).map(decodeRow)
          return { snapshot, events, version: events[events.length - 1]?.version ?? snapshot?.version ?? 0 }
        })
      }),
    append: (streamId, expected, events, snapshot) =>
      Effect.map(appendMany([{ streamId, expected, events, ...(snapshot === undefined ? {} : { snapshot }) }]), (results) => results[0]!),
    appendMany,
    readAll: (after, limit) => Effect.sync(() => readAllRows(db, after, limit).map(decodeRow))
  })
}

export const layerEventStore: Layer.Layer<EventStore.EventStore, never, SqliteDatabase> = Layer.effect(
  EventStore.EventStore,
  Effect.map(SqliteDatabase, ({ db, projections }) => gated(db, makeEventStore(db, projections)))
)

/** The event store and its unit of work on their own database (`:memory:` gives a fresh store each time it is built). */
export const layerEventStoreFor = (options: SqliteOptions): Layer.Layer<EventStore.EventStore | UnitOfWork.UnitOfWork> =>
  Layer.provide(Layer.merge(layerEventStore, layerUnitOfWork), layerDatabase(options))
