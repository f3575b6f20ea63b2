import { Leases } from "@mm-gateway/ports"
import { type Context, Effect, Layer } from "effect"
import { type Database, gated, retryBusy } from "./connection.js"
import { SqliteDatabase } from "./database.js"

/** The leases in the main database (table `leases`), each operation a single statement. */
export const makeLease = (db: Database): Context.Tag.Service<Leases> => {
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

export const layerLease: Layer.Layer<Leases, never, SqliteDatabase> = Layer.effect(
  Leases,
  Effect.map(SqliteDatabase, ({ db }) => gated(db, makeLease(db)))
)
