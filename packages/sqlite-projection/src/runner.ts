import type { EventStore } from "@mm-gateway/domain"
import { type Database, immediate } from "./connection.js"
import { headPosition, readAllRows, readRowsBetween } from "./event-log.js"
import { decodeRow, getCheckpoint, type Projection, setCheckpoint, type StatesAfter } from "./projection.js"

export const DEFAULT_BATCH_SIZE = 2000

/**
 * Applies `events` (consecutive, ascending) to one projection from its checkpoint on and moves the
 * checkpoint, inside the caller's transaction. Events at or below the checkpoint are skipped, so a
 * batch seen twice is applied once.
 */
const applyTo = (db: Database, projection: Projection, events: ReadonlyArray<EventStore.StoredEvent>, after?: StatesAfter): void => {
  const last = events[events.length - 1]
  if (last === undefined) return
  if (projection.checkpointed === false) return projection.apply(db, events, after)
  const checkpoint = getCheckpoint(db, projection.name)
  if (checkpoint >= last.globalPosition) return
  projection.apply(db, events[0]!.globalPosition > checkpoint ? events : events.filter((e) => e.globalPosition > checkpoint), after)
  setCheckpoint(db, projection.name, last.globalPosition)
}

/**
 * Beyond this many unprojected events (a rebuild or a new projection in progress elsewhere) an append
 * leaves the backlog to the runner instead of holding the write lock for it; read-your-writes then
 * resumes once the runner has caught up.
 */
export const INLINE_GAP_LIMIT = 5000

/**
 * Inline projection, called inside the append's transaction with the events just stored: what the
 * append acknowledges is already in the read models when it returns (read your writes). If another
 * writer left events unprojected before these, they are applied first so checkpoints never skip.
 * `after` holds the appended streams' states after these events, when the append has them (their snapshots).
 */
export const projectInline = (
  db: Database,
  projections: ReadonlyArray<Projection>,
  appended: ReadonlyArray<EventStore.StoredEvent>,
  after?: StatesAfter
): void => {
  const first = appended[0]
  if (first === undefined) return
  for (const projection of projections) {
    const checkpoint = getCheckpoint(db, projection.name)
    const gap = first.globalPosition - 1 - checkpoint
    if (gap > INLINE_GAP_LIMIT) continue
    if (gap > 0) {
      applyTo(db, projection, readRowsBetween(db, checkpoint, first.globalPosition - 1).map(decodeRow))
    }
    applyTo(db, projection, appended, after)
  }
}

export interface CatchUpResult {
  readonly applied: number
  readonly position: number
}

/**
 * Brings every projection up to the end of the log, `batchSize` events per immediate transaction (rows
 * and checkpoints commit together; a crash loses at most the batch in flight, which is redone).
 */
export const catchUp = (
  db: Database,
  projections: ReadonlyArray<Projection>,
  batchSize: number = DEFAULT_BATCH_SIZE
): CatchUpResult => {
  let applied = 0
  // From the oldest checkpoint; a projection without one is given the whole log.
  const tracked = projections.filter((p) => p.checkpointed !== false)
  let position = projections.length === 0
    ? headPosition(db)
    : tracked.length < projections.length
    ? 0
    : Math.min(...tracked.map((p) => getCheckpoint(db, p.name)))
  for (;;) {
    const rows = readAllRows(db, position, batchSize)
    const last = rows[rows.length - 1]
    if (last === undefined) break
    const events = rows.map(decodeRow)
    immediate(db, () => {
      for (const projection of projections) applyTo(db, projection, events)
    })
    applied += rows.length
    position = last.global_position
  }
  return { applied, position }
}

/** Clears every read model of `projections` and their checkpoints, then replays the whole log into them. */
export const rebuild = (
  db: Database,
  projections: ReadonlyArray<Projection>,
  batchSize: number = DEFAULT_BATCH_SIZE
): CatchUpResult => {
  immediate(db, () => {
    for (const projection of projections) {
      for (const table of projection.tables) db.exec(`DELETE FROM "${table}"`)
      if (projection.checkpointed !== false) db.prepare("DELETE FROM projection_checkpoints WHERE name = ?").run(projection.name)
    }
  })
  return catchUp(db, projections, batchSize)
}
