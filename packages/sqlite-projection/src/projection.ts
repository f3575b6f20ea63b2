import { Events, type EventStore } from "@mm-gateway/domain"
import type BetterSqlite3 from "better-sqlite3"
import { type Database, transactionLocal } from "./connection.js"
import type { EventRow } from "./event-log.js"

/**
 * A read model fed by the event log. `apply` takes consecutive events in log order (one append's, or a
 * runner's batch), runs inside the caller's transaction and must be idempotent (rows remember the
 * stream version they reflect), so applying an event twice equals once; the checkpoint is written by
 * the caller in the same transaction. Taking a batch lets a projection fold several events of one row
 * in memory and write the row once.
 */
export interface Projection {
  readonly name: string
  /** The tables this projection owns; a rebuild clears them. */
  readonly tables: ReadonlyArray<string>
  readonly apply: (db: Database, events: ReadonlyArray<EventStore.StoredEvent>, after?: StatesAfter) => void
  /**
   * `false`: the projection keeps no checkpoint. It is applied to every batch it is given and skips
   * what it has seen by its rows' stream versions; for what appends keep current themselves (the
   * snapshots), where a checkpoint would only go stale.
   */
  readonly checkpointed?: false
}

/**
 * The state of a stream an append wrote, after its events: the command handler folded it (it is the
 * snapshot the append stores). Inline projection passes them along, by stream id, so a projection
 * whose row is a function of the stream's state needs neither to read its row back nor to fold the
 * events again. A runner's batch has none.
 */
export interface StateAfter {
  readonly state: unknown
  /** `state` as JSON, as the snapshot stores it: a row that keeps the state stores the same text. */
  readonly json: string
}

export type StatesAfter = ReadonlyMap<string, StateAfter>

/** A projection whose rows are written event by event. */
export const eachEvent = (applyOne: (db: Database, event: EventStore.StoredEvent) => void): Projection["apply"] => (db, events) => {
  for (const event of events) applyOne(db, event)
}

/** Prepared statements per connection, so projections prepare each statement once. */
type Statement = BetterSqlite3.Statement<Array<unknown>, unknown>

const cache = new WeakMap<Database, Map<string, Statement>>()

export const prepared = (db: Database, source: string): Statement => {
  let perDb = cache.get(db)
  if (perDb === undefined) {
    perDb = new Map()
    cache.set(db, perDb)
  }
  let statement = perDb.get(source)
  if (statement === undefined) {
    statement = db.prepare<Array<unknown>, unknown>(source)
    perDb.set(source, statement)
  }
  return statement
}

export const decodeRow = (row: EventRow): EventStore.StoredEvent => ({
  streamId: row.stream_id,
  version: row.version,
  globalPosition: row.global_position,
  event: Events.decodeStoredEvent({ type: row.type, schemaVersion: row.schema_version, data: JSON.parse(row.data) }),
  recordedAt: row.recorded_at
})

const readCheckpoint = (db: Database, name: string): number =>
  (prepared(db, "SELECT position FROM projection_checkpoints WHERE name = ?").get(name) as { position: number } | undefined)
    ?.position ?? 0

const writeCheckpoint = (db: Database, name: string, position: number): void => {
  prepared(
    db,
    "INSERT INTO projection_checkpoints (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position"
  ).run(name, position)
}

interface TransactionCheckpoints {
  readonly positions: Map<string, number>
  readonly moved: Set<string>
}

const CHECKPOINTS = "projection-checkpoints"

/**
 * Inside a transaction `immediate` opened, checkpoints are read once and written once, just before the
 * commit: an inbox batch appends a thousand times, and each append moves every projection's
 * checkpoint. The transaction holds the write lock, so no other writer can move them meanwhile.
 */
const inTransaction = (db: Database): TransactionCheckpoints | null =>
  transactionLocal(db, CHECKPOINTS, (tx) => {
    const created: TransactionCheckpoints = { positions: new Map(), moved: new Set() }
    tx.beforeCommit.push(() => {
      for (const name of created.moved) writeCheckpoint(db, name, created.positions.get(name)!)
    })
    return created
  })

export const getCheckpoint = (db: Database, name: string): number => {
  const known = inTransaction(db)
  if (known === null) return readCheckpoint(db, name)
  let position = known.positions.get(name)
  if (position === undefined) {
    position = readCheckpoint(db, name)
    known.positions.set(name, position)
  }
  return position
}

export const setCheckpoint = (db: Database, name: string, position: number): void => {
  const known = inTransaction(db)
  if (known === null) return writeCheckpoint(db, name, position)
  known.positions.set(name, position)
  known.moved.add(name)
}

export const json = (value: unknown): string => JSON.stringify(value)
export const parse = <A>(text: string): A => JSON.parse(text) as A
export const bool = (b: boolean): number => (b ? 1 : 0)
