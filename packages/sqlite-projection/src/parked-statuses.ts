import type { Status } from "@mm-gateway/domain"
import { Context, Effect, Layer } from "effect"
import { type Database, gated, immediate, retryBusy } from "./connection.js"
import { SqliteDatabase } from "./database.js"
import { clampLimit } from "@mm-gateway/ports"

export interface ParkedStatusRecord {
  readonly id: number
  readonly dedupeKey: string
  readonly channel: string
  readonly observation: Status.StatusObservation
  readonly receivedAt: number
  /** When matching it is tried again (`null`: not again). */
  readonly retryAt: number | null
}

/**
 * Status reports whose wamid names no message yet (the dispatch result has not been recorded, or the
 * outcome was unknown). The worker parks them here and applies them when the wamid becomes known; with
 * unit of work the apply and the `resolve` commit together.
 */
export interface ParkedStatuses {
  /** Idempotent by `dedupeKey`: the same webhook parked twice is kept once. */
  readonly park: (status: Omit<ParkedStatusRecord, "id">) => Effect.Effect<void>
  /** Oldest first. */
  readonly forWamids: (wamids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<ParkedStatusRecord>>
  /** Those due to be tried again at `now`, soonest first. */
  readonly due: (now: number, limit: number) => Effect.Effect<ReadonlyArray<ParkedStatusRecord>>
  readonly retryAt: (id: number, at: number | null) => Effect.Effect<void>
  /** Forgets those received before `before`; how many. */
  readonly dropBefore: (before: number) => Effect.Effect<number>
  readonly resolve: (ids: ReadonlyArray<number>) => Effect.Effect<void>
  readonly count: () => Effect.Effect<number>
}

export const ParkedStatuses = Context.GenericTag<ParkedStatuses>("@mm-gateway/sqlite-projection/ParkedStatuses")

interface Row {
  readonly id: number
  readonly dedupe_key: string
  readonly channel: string
  readonly observation: string
  readonly received_at: number
  readonly retry_at: number | null
}

const toStatus = (r: Row): ParkedStatusRecord => ({
  id: r.id,
  dedupeKey: r.dedupe_key,
  channel: r.channel,
  observation: JSON.parse(r.observation) as Status.StatusObservation,
  receivedAt: r.received_at,
  retryAt: r.retry_at
})

export const makeParkedStatuses = (db: Database): ParkedStatuses => {
  const insert = db.prepare<[string, string, string, string | null, string, number, number | null]>(
    `INSERT INTO parked_statuses (dedupe_key, wamid, channel, recipient, observation, received_at, retry_at)
     VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`
  )
  const byWamids = db.prepare<[string], Row>("SELECT * FROM parked_statuses WHERE wamid IN (SELECT value FROM json_each(?)) ORDER BY id")
  const due = db.prepare<[number, number], Row>(
    "SELECT * FROM parked_statuses WHERE retry_at IS NOT NULL AND retry_at <= ? ORDER BY retry_at, id LIMIT ?"
  )
  const setRetry = db.prepare<[number | null, number]>("UPDATE parked_statuses SET retry_at = ? WHERE id = ?")
  const dropBefore = db.prepare<[number]>("DELETE FROM parked_statuses WHERE received_at < ?")
  const remove = db.prepare<[number]>("DELETE FROM parked_statuses WHERE id = ?")
  const count = db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM parked_statuses")
  return {
    park: (s) =>
      Effect.sync(() => {
        retryBusy(() =>
          insert.run(s.dedupeKey, s.observation.wamid, s.channel, s.observation.recipient, JSON.stringify(s.observation), s.receivedAt, s.retryAt)
        )
      }),
    forWamids: (wamids) => Effect.sync(() => (wamids.length === 0 ? [] : byWamids.all(JSON.stringify(wamids)).map(toStatus))),
    due: (now, limit) => Effect.sync(() => due.all(now, clampLimit(limit)).map(toStatus)),
    retryAt: (id, at) => Effect.sync(() => void retryBusy(() => setRetry.run(at, id))),
    dropBefore: (before) => Effect.sync(() => retryBusy(() => dropBefore.run(before)).changes),
    resolve: (ids) =>
      Effect.sync(() => {
        if (ids.length > 0) immediate(db, () => ids.forEach((id) => remove.run(id)))
      }),
    count: () => Effect.sync(() => count.get()!.n)
  }
}

export const layerParkedStatuses: Layer.Layer<ParkedStatuses, never, SqliteDatabase> = Layer.effect(
  ParkedStatuses,
  Effect.map(SqliteDatabase, ({ db }) => gated(db, makeParkedStatuses(db)))
)
