import { Context, Effect, Layer } from "effect"
import { type Database, gated, retryBusy } from "./connection.js"
import { SqliteDatabase } from "./database.js"

/**
 * A named lease in the main database (one dispatcher at a time, docs/worker.md#leases). Each operation is a single
 * statement, hence atomic across processes; times come from the caller so tests need no clock.
 * `holder` must name one process, not a name several may be configured with: the lease counts any
 * holder equal to its own as itself.
 */
export interface WorkerLease {
  /** Takes the lease when it is free, expired, or already ours (which renews it). */
  readonly acquire: (name: string, holder: string, ttlMs: number, now: number) => Effect.Effect<boolean>
  /** Extends a lease we still hold; false when it expired and someone else may have it. */
  readonly renew: (name: string, holder: string, ttlMs: number, now: number) => Effect.Effect<boolean>
  readonly release: (name: string, holder: string) => Effect.Effect<void>
  readonly holderOf: (name: string, now: number) => Effect.Effect<string | null>
}

export const WorkerLease = Context.GenericTag<WorkerLease>("@mm-gateway/sqlite-projection/WorkerLease")

export const makeLease = (db: Database): WorkerLease => {
  const acquire = db.prepare<[{ name: string; holder: string; expiresAt: number; now: number }]>(
    `INSERT INTO leases (name, holder, expires_at) VALUES (@name, @holder, @expiresAt)
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
     WHERE leases.holder = excluded.holder OR leases.expires_at <= @now`
  )
  const renew = db.prepare<[number, string, string, number]>(
    "UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ? AND expires_at > ?"
  )
  const release = db.prepare<[string, string]>("DELETE FROM leases WHERE name = ? AND holder = ?")
  const holder = db.prepare<[string, number], { holder: string }>("SELECT holder FROM leases WHERE name = ? AND expires_at > ?")
  return {
    acquire: (name, who, ttlMs, now) => Effect.sync(() => retryBusy(() => acquire.run({ name, holder: who, expiresAt: now + ttlMs, now })).changes === 1),
    renew: (name, who, ttlMs, now) => Effect.sync(() => retryBusy(() => renew.run(now + ttlMs, name, who, now)).changes === 1),
    release: (name, who) => Effect.sync(() => void retryBusy(() => release.run(name, who))),
    holderOf: (name, now) => Effect.sync(() => holder.get(name, now)?.holder ?? null)
  }
}

export const layerLease: Layer.Layer<WorkerLease, never, SqliteDatabase> = Layer.effect(
  WorkerLease,
  Effect.map(SqliteDatabase, ({ db }) => gated(db, makeLease(db)))
)
