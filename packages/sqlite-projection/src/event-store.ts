import { type DomainEvent, encodeEvent, EventStore, type StoredEvent, type StreamRead, VersionConflict } from "@mm-gateway/domain"
import { Clock, Effect, Layer } from "effect"
import { makeCommittedCache } from "./committed-cache.js"
import type { Database } from "./connection.js"
import { appendEncoded, readAllRows, readStreamRows } from "./event-log.js"
import { decodeRow, type Projection } from "./projection.js"
import { projectInline } from "./runner.js"
import { layerDatabase, SqliteDatabase, type SqliteOptions } from "./database.js"

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
  const cache = makeCommittedCache<StreamRead>(db, cacheSize)
  return EventStore.of({
    readStream: (streamId) =>
      Effect.sync(() => {
        const known = cache.get(streamId)
        const rows = readStreamRows(db, streamId, known?.version ?? 0)
        if (known !== undefined && rows.length === 0) return known
        const events = known === undefined ? rows.map(decodeRow) : known.events.concat(rows.map(decodeRow))
        const read: StreamRead = { version: events[events.length - 1]?.version ?? 0, events }
        cache.remember(streamId, read)
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
            if (before !== undefined && before.version === firstVersion - 1) {
              cache.remember(streamId, { version: firstVersion + stored.length - 1, events: before.events.concat(stored) })
            }
          }, cache.staged(streamId)?.version)
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
  Effect.map(SqliteDatabase, ({ db, projections }) => makeEventStore(db, projections))
)

/** The event store alone on its own database (`:memory:` gives a fresh store each time it is built). */
export const layerEventStoreFor = (options: SqliteOptions): Layer.Layer<EventStore> =>
  Layer.provide(layerEventStore, layerDatabase(options))
