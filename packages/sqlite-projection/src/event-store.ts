import { type DomainEvent, encodeEvent, EventStore, type StoredEvent, type StreamRead, type UnitOfWork, VersionConflict } from "@mm-gateway/domain"
import { Clock, Effect, Layer } from "effect"
import { makeCommittedCache } from "./committed-cache.js"
import { type Database, gated, transactionLocal } from "./connection.js"
import { appendEncoded, appendedInTransaction, headPosition, readAllRows, readStreamRows } from "./event-log.js"
import { decodeRow, type Projection } from "./projection.js"
import { projectInline } from "./runner.js"
import { layerDatabase, SqliteDatabase, type SqliteOptions } from "./database.js"
import { layerUnitOfWork } from "./unit-of-work.js"

/** How many streams the SQLite event store keeps in memory, the most recently used. */
export const STREAM_CACHE_SIZE = 2000

/**
 * The `EventStore` port on SQLite. Appends check the expected version and insert in one immediate
 * transaction, and run the inline projections in that same transaction. Infrastructure failures are
 * defects; only `VersionConflict` is an expected error.
 */
export const makeEventStore = (db: Database, projections: ReadonlyArray<Projection>, cacheSize: number = STREAM_CACHE_SIZE) => {
  // The streams read or appended lately, as of a committed version. A read asks the table only for the
  // events after that version — whoever appended them, this process or another — so the cache is
  // never stale; it spares decoding again what was decoded before.
  //
  // Inside a transaction `immediate` opened it may not even ask: each entry remembers the epoch in
  // which it was last checked against the table. A transaction starts a new epoch unless the log's head
  // is where it was when this store's last transaction committed with every append of it in the cache
  // — then nobody appended since, and every entry of the current epoch is still the stream. Within the
  // transaction (it holds the write lock) only its own appends move a stream: an entry is trusted when
  // no append of this transaction went past it.
  const cache = makeCommittedCache<{ readonly read: StreamRead; readonly epoch: number }>(db, cacheSize)
  let epoch = 0
  let headSeen = -1
  const epochKey = {}
  const currentEpoch = (): number | null =>
    transactionLocal(db, epochKey, (tx) => {
      if (headPosition(db) !== headSeen) epoch++
      const current = epoch
      tx.beforeCommit.push(() => {
        let reflected = true
        appendedInTransaction(db)?.forEach((version, streamId) => {
          const cached = cache.get(streamId)
          if (cached !== undefined && (cached.epoch !== current || cached.read.version !== version)) reflected = false
        })
        const head = headPosition(db)
        tx.afterCommit.push(() => {
          if (reflected) headSeen = head
        })
      })
      return current
    })
  return EventStore.of({
    readStream: (streamId) =>
      Effect.sync(() => {
        const current = currentEpoch()
        const known = cache.get(streamId)
        if (
          known !== undefined && current !== null && known.epoch === current &&
          (appendedInTransaction(db)?.get(streamId) ?? known.read.version) === known.read.version
        ) {
          // Staged in the transaction: an append in it takes the stream's version from here.
          cache.remember(streamId, known)
          return known.read
        }
        const rows = readStreamRows(db, streamId, known?.read.version ?? 0)
        const epochNow = current ?? -1
        if (known !== undefined && rows.length === 0) {
          cache.remember(streamId, { read: known.read, epoch: epochNow })
          return known.read
        }
        const events = known === undefined ? rows.map(decodeRow) : known.read.events.concat(rows.map(decodeRow))
        const read: StreamRead = { version: events[events.length - 1]?.version ?? 0, events }
        cache.remember(streamId, { read, epoch: epochNow })
        return read
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
            const before = cache.get(streamId)
            if (before !== undefined && before.read.version === firstVersion - 1) {
              cache.remember(streamId, {
                read: { version: firstVersion + stored.length - 1, events: before.read.events.concat(stored) },
                epoch: currentEpoch() ?? -1
              })
            } else if (before !== undefined) {
              // Behind the stream now: the next read asks the table again.
              cache.remember(streamId, { read: before.read, epoch: -1 })
            }
          }, cache.staged(streamId)?.read.version)
          return outcome._tag === "Conflict"
            ? Effect.fail(new VersionConflict({ streamId, expected, actual: outcome.actual }))
            : Effect.succeed({
              nextVersion: outcome.nextVersion,
              lastGlobalPosition: outcome.positions[outcome.positions.length - 1] ?? null
            })
        })),
    readAll: (after, limit) => Effect.sync(() => readAllRows(db, after, limit).map(decodeRow))
  })
}

export const layerEventStore: Layer.Layer<EventStore, never, SqliteDatabase> = Layer.effect(
  EventStore,
  Effect.map(SqliteDatabase, ({ db, projections }) => gated(db, makeEventStore(db, projections)))
)

/** The event store and its unit of work on their own database (`:memory:` gives a fresh store each time it is built). */
export const layerEventStoreFor = (options: SqliteOptions): Layer.Layer<EventStore | UnitOfWork> =>
  Layer.provide(Layer.merge(layerEventStore, layerUnitOfWork), layerDatabase(options))
