import { Leases } from "@mm-gateway/ports"
import { type Context, Effect, Layer } from "effect"
import { type Database, gated, immediate, retryBusy } from "./connection.js"
import { SqliteDatabase } from "./database.js"

/** Heartbeat records lapsed for this long are forgotten (the port allows it after an hour). */
const FORGET_WORKERS_AFTER_MS = 60 * 60_000

interface LeaseRow {
  readonly name: string
  readonly holder: string
  readonly acquired_at: number
  readonly expires_at: number
}

interface WorkerRow {
  readonly instance: string
  readonly started_at: number
  readonly heartbeat_at: number
  readonly expires_at: number
}

/**
 * The leases and the workers' heartbeats in the main database (tables `leases`, `workers`), each
 * operation a single statement (the heartbeat two, in one transaction).
 */
export const makeLease = (db: Database): Context.Tag.Service<Leases> => {
  // A holder taking its own unexpired lease again renews it and keeps the time it took it.
  const acquire = db.prepare<[{ name: string; holder: string; expiresAt: number; now: number }]>(
    `INSERT INTO leases (name, holder, expires_at, acquired_at) VALUES (@name, @holder, @expiresAt, @now)
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
       acquired_at = CASE WHEN leases.holder = excluded.holder AND leases.expires_at > @now THEN leases.acquired_at ELSE excluded.acquired_at END
     WHERE leases.holder = excluded.holder OR leases.expires_at <= @now`
  )
  const renew = db.prepare<[number, string, string, number]>(
    "UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ? AND expires_at > ?"
  )
  const renewAll = db.prepare<[number, string, number], { name: string }>(
    "UPDATE leases SET expires_at = ? WHERE holder = ? AND expires_at > ? RETURNING name"
  )
  const release = db.prepare<[string, string]>("DELETE FROM leases WHERE name = ? AND holder = ?")
  const releaseAll = db.prepare<[string]>("DELETE FROM leases WHERE holder = ?")
  const holder = db.prepare<[string, number], { holder: string }>("SELECT holder FROM leases WHERE name = ? AND expires_at > ?")
  const held = db.prepare<[number], LeaseRow>("SELECT name, holder, acquired_at, expires_at FROM leases WHERE expires_at > ? ORDER BY name")
  const beat = db.prepare<[{ instance: string; now: number; expiresAt: number }]>(
    `INSERT INTO workers (instance, started_at, heartbeat_at, expires_at) VALUES (@instance, @now, @now, @expiresAt)
     ON CONFLICT (instance) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at`
  )
  const forget = db.prepare<[number]>("DELETE FROM workers WHERE expires_at <= ?")
  const live = db.prepare<[number], WorkerRow>("SELECT instance, started_at, heartbeat_at, expires_at FROM workers WHERE expires_at > ? ORDER BY instance")
  const retire = db.prepare<[string]>("DELETE FROM workers WHERE instance = ?")
  return {
    acquire: (name, who, ttlMs, now) => Effect.sync(() => retryBusy(() => acquire.run({ name, holder: who, expiresAt: now + ttlMs, now })).changes === 1),
    renew: (name, who, ttlMs, now) => Effect.sync(() => retryBusy(() => renew.run(now + ttlMs, name, who, now)).changes === 1),
    release: (name, who) => Effect.sync(() => void retryBusy(() => release.run(name, who))),
    holderOf: (name, now) => Effect.sync(() => holder.get(name, now)?.holder ?? null),
    held: (now) =>
      Effect.sync(() => held.all(now).map((r) => ({ name: r.name, holder: r.holder, acquiredAt: r.acquired_at, expiresAt: r.expires_at }))),
    renewAll: (who, ttlMs, now) => Effect.sync(() => retryBusy(() => renewAll.all(now + ttlMs, who, now)).map((r) => r.name).sort()),
    releaseAll: (who) => Effect.sync(() => void retryBusy(() => releaseAll.run(who))),
    heartbeat: (instance, ttlMs, now) =>
      Effect.sync(() =>
        immediate(db, () => {
          beat.run({ instance, now, expiresAt: now + ttlMs })
          forget.run(now - FORGET_WORKERS_AFTER_MS)
        })
      ),
    liveWorkers: (now) =>
      Effect.sync(() =>
        live.all(now).map((r) => ({ instance: r.instance, startedAt: r.started_at, heartbeatAt: r.heartbeat_at, expiresAt: r.expires_at }))
      ),
    retire: (instance) => Effect.sync(() => void retryBusy(() => retire.run(instance)))
  }
}

export const layerLease: Layer.Layer<Leases, never, SqliteDatabase> = Layer.effect(
  Leases,
  Effect.map(SqliteDatabase, ({ db }) => gated(db, makeLease(db)))
)
