/**
 * The read models kept from the log: inline in every append's transaction, caught up by the runner,
 * rebuilt from scratch (docs/persistence.md#postgresql). Every writer of the read models holds the
 * append lock, so they are written by one transaction at a time, in log order, and their one checkpoint
 * (`read_models`) moves in the transaction that applied the events.
 */
import type { EventStore } from "@mm-gateway/domain"
import { Effect } from "effect"
import { type Database, holdAppendLock, inTransaction, type Session, statements } from "./connection.js"
import { decodeRow, READ_MODELS_CHECKPOINT, readAllRows } from "./event-log.js"
import type { Projection, StatesAfter } from "./projection.js"

export const DEFAULT_BATCH_SIZE = 2000

/**
 * Beyond this many unprojected events before its own (a rebuild in progress), an append leaves the
 * backlog to the runner instead of holding the append lock for it; read-your-writes then resumes once
 * the runner has caught up.
 */
export const INLINE_GAP_LIMIT = 5000

const checkpointOf = async (session: Session): Promise<number> => {
  const [row] = await session.query<{ position: string }>({
    name: "mmgw_checkpoint",
    text: "SELECT position FROM projection_checkpoints WHERE name = $1",
    values: [READ_MODELS_CHECKPOINT]
  })
  return Number(row?.position ?? 0)
}

const moveCheckpoint = (session: Session, position: number) =>
  session.query({
    name: "mmgw_checkpoint_move",
    text: `INSERT INTO projection_checkpoints (name, position) VALUES ($1, $2)
      ON CONFLICT (name) DO UPDATE SET position = excluded.position`,
    values: [READ_MODELS_CHECKPOINT, position]
  })

const applyAll = async (session: Session, projections: ReadonlyArray<Projection>, events: ReadonlyArray<EventStore.StoredEvent>, after?: StatesAfter) => {
  for (const projection of projections) await projection.apply(session, events, after)
}

/**
 * Inline projection, inside the append's transaction (which holds the append lock) with the events it
 * just stored: what the append acknowledges is in the read models when it returns (read your writes).
 * The append's own statement moved the checkpoint past these events when it was right behind them
 * (`followed`, from `appendEncoded`); otherwise the events other writers left unprojected are applied
 * first, unless there are more than `INLINE_GAP_LIMIT` of them. `after` holds the streams' states after
 * these events, when the append has them (their snapshots).
 */
export const projectInline = async (
  session: Session,
  projections: ReadonlyArray<Projection>,
  appended: ReadonlyArray<EventStore.StoredEvent>,
  after: StatesAfter | undefined,
  followed: boolean
): Promise<void> => {
  const first = appended[0]
  const last = appended[appended.length - 1]
  if (first === undefined || last === undefined) return
  if (!followed) {
    const checkpoint = await checkpointOf(session)
    const gap = await session.query<Parameters<typeof decodeRow>[0]>({
      name: "mmgw_inline_gap",
      text: `SELECT global_position, stream_id, version, type, schema_version, data, recorded_at FROM events
        WHERE global_position > $1 AND global_position < $2 ORDER BY global_position LIMIT $3`,
      values: [checkpoint, first.globalPosition, INLINE_GAP_LIMIT + 1]
    })
    if (gap.length > INLINE_GAP_LIMIT) return
    await applyAll(session, projections, gap.map(decodeRow))
    await moveCheckpoint(session, last.globalPosition)
  }
  await applyAll(session, projections, appended, after)
}

/**
 * One batch of the runner: under the append lock, the events after the checkpoint, applied with the
 * checkpoint moved past them in one transaction. How many events it applied.
 */
const catchUpBatch = (db: Database, projections: ReadonlyArray<Projection>, batchSize: number) =>
  inTransaction(db, async (session) => {
    await holdAppendLock(session)
    const rows = await readAllRows(session, await checkpointOf(session), batchSize)
    const last = rows[rows.length - 1]
    if (last === undefined) return 0
    await applyAll(session, projections, rows.map(decodeRow))
    await moveCheckpoint(session, Number(last.global_position))
    return rows.length
  }, { appendLock: true })

/** Whether events are behind the checkpoint: one statement, no lock, so an idle runner costs nothing. */
const behind = (db: Database) =>
  statements(db, async (session) => {
    const [row] = await session.query<{ behind: boolean }>({
      name: "mmgw_checkpoint_behind",
      text: `SELECT EXISTS (SELECT 1 FROM events WHERE global_position >
        COALESCE((SELECT position FROM projection_checkpoints WHERE name = $1), 0)) AS behind`,
      values: [READ_MODELS_CHECKPOINT]
    })
    return row?.behind === true
  })

/**
 * Brings the read models to the end of the log, `batchSize` events per transaction (rows and checkpoint
 * commit together; a crash loses at most the batch in flight, which is redone). How many events it applied.
 */
export const catchUp = (db: Database, projections: ReadonlyArray<Projection>, batchSize = DEFAULT_BATCH_SIZE): Effect.Effect<number> =>
  Effect.gen(function*() {
    let applied = 0
    for (;;) {
      if (!(yield* behind(db))) return applied
      const n = yield* catchUpBatch(db, projections, batchSize)
      applied += n
      if (n < batchSize) return applied
    }
  })

/**
 * Clears the tables of `projections` and the checkpoint, then replays the whole log into them. Appends
 * meanwhile find the backlog too large to project inline and leave it to this replay.
 */
export const rebuild = (db: Database, projections: ReadonlyArray<Projection>, batchSize = DEFAULT_BATCH_SIZE): Effect.Effect<number> =>
  Effect.zipRight(
    inTransaction(db, async (session) => {
      await holdAppendLock(session)
      await session.query({ text: `TRUNCATE ${projections.flatMap((p) => p.tables).join(", ")}` })
      await moveCheckpoint(session, 0)
    }, { appendLock: true }),
    catchUp(db, projections, batchSize)
  )
