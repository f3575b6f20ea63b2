/**
 * The event table itself: appends with an expected version and reads, on encoded events. Decoding into
 * domain events and projecting happen in `event-store.ts`.
 */
import { EventStore } from "@mm-gateway/domain"
import { type Database, immediate } from "./connection.js"

export interface EncodedRecord {
  readonly type: string
  readonly schemaVersion: number
  readonly data: unknown
}

export interface EventRow {
  readonly global_position: number
  readonly stream_id: string
  readonly version: number
  readonly type: string
  readonly schema_version: number
  readonly data: string
  readonly recorded_at: number
}

export type AppendOutcome =
  | {
    readonly _tag: "Appended"
    readonly nextVersion: number
    /** Positions of the appended events, in order (empty when nothing was appended). */
    readonly positions: ReadonlyArray<number>
  }
  | { readonly _tag: "Conflict"; readonly actual: number }

interface Statements {
  readonly version: { get(streamId: string): { v: number | null } | undefined }
  readonly insert: { run(...params: Array<unknown>): { lastInsertRowid: number | bigint } }
  readonly stream: { all(streamId: string, afterVersion: number): Array<EventRow> }
  readonly after: { all(after: number, limit: number): Array<EventRow> }
  readonly between: { all(after: number, upTo: number): Array<EventRow> }
  readonly head: { get(): { p: number | null } | undefined }
}

const cache = new WeakMap<Database, Statements>()

const statements = (db: Database): Statements => {
  let s = cache.get(db)
  if (s === undefined) {
    s = {
      version: db.prepare("SELECT MAX(version) AS v FROM events WHERE stream_id = ?") as unknown as Statements["version"],
      insert: db.prepare(
        "INSERT INTO events (stream_id, version, type, schema_version, data, recorded_at) VALUES (?, ?, ?, ?, ?, ?)"
      ) as unknown as Statements["insert"],
      stream: db.prepare("SELECT * FROM events WHERE stream_id = ? AND version > ? ORDER BY version") as unknown as Statements["stream"],
      after: db.prepare("SELECT * FROM events WHERE global_position > ? ORDER BY global_position LIMIT ?") as unknown as Statements["after"],
      between: db.prepare(
        "SELECT * FROM events WHERE global_position > ? AND global_position <= ? ORDER BY global_position"
      ) as unknown as Statements["between"],
      head: db.prepare("SELECT MAX(global_position) AS p FROM events") as unknown as Statements["head"]
    }
    cache.set(db, s)
  }
  return s
}

export const streamVersion = (db: Database, streamId: string): number => statements(db).version.get(streamId)?.v ?? 0

/** Only the events table's own (stream_id, version) key means a lost race; anything else is a bug to surface. */
export const isVersionClash = (error: unknown): boolean => {
  const e = error as { code?: unknown; message?: unknown } | null
  return e?.code === "SQLITE_CONSTRAINT_UNIQUE" && typeof e.message === "string" && e.message.includes("events.stream_id")
}

/**
 * Inserts a stream's events numbered on from `afterVersion`, in the caller's transaction (which has
 * checked that version); their global positions, in order.
 */
export const insertEvents = (
  db: Database,
  streamId: string,
  afterVersion: number,
  events: ReadonlyArray<EncodedRecord>,
  recordedAt: number
): Array<number> => {
  const insert = statements(db).insert
  const positions: Array<number> = []
  let version = afterVersion
  for (const e of events) {
    version++
    positions.push(Number(insert.run(streamId, version, e.type, e.schemaVersion, JSON.stringify(e.data), recordedAt).lastInsertRowid))
  }
  return positions
}

/**
 * Checks the expected version and inserts, in one immediate transaction (the caller's, or one of its
 * own). A unique-constraint violation on (stream_id, version) in a transaction of its own is a lost
 * race and reported as a conflict; inside the caller's, the write lock was held since the version was
 * read, so a clash cannot be a race: it stays an error, and rolls the caller's transaction back.
 */
export const appendEncoded = (
  db: Database,
  streamId: string,
  expected: EventStore.ExpectedVersion,
  events: ReadonlyArray<EncodedRecord>,
  recordedAt: number
): AppendOutcome => {
  const ownTransaction = !db.inTransaction
  try {
    return immediate(db, (): AppendOutcome => {
      const actual = streamVersion(db, streamId)
      if (!EventStore.satisfies(expected, actual)) return { _tag: "Conflict", actual }
      return { _tag: "Appended", nextVersion: actual + events.length, positions: insertEvents(db, streamId, actual, events, recordedAt) }
    })
  } catch (error) {
    if (ownTransaction && isVersionClash(error)) return { _tag: "Conflict", actual: streamVersion(db, streamId) }
    throw error
  }
}

/** The events of a stream after `afterVersion` (0: all of them), in order. */
export const readStreamRows = (db: Database, streamId: string, afterVersion = 0): Array<EventRow> =>
  statements(db).stream.all(streamId, afterVersion)

export const readAllRows = (db: Database, after: number, limit: number): Array<EventRow> =>
  limit <= 0 ? [] : statements(db).after.all(after, Math.floor(limit))

export const readRowsBetween = (db: Database, after: number, upTo: number): Array<EventRow> =>
  statements(db).between.all(after, upTo)

export const headPosition = (db: Database): number => statements(db).head.get()?.p ?? 0
