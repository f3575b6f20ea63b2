import { Leases } from "@mm-gateway/ports"
import { type Context, Effect, Layer } from "effect"
import { type Database, PostgresDatabase, statements } from "./connection.js"

/**
 * The leases (table `leases`), each operation one statement. Two processes racing for a free or
 * expired lease both reach the upsert; PostgreSQL makes the second wait for the first and then
 * re-checks the condition on the row the first wrote, so exactly one takes it.
 */
export const makeLeases = (db: Database): Context.Tag.Service<Leases> => {
  const changed = (name: string, text: string, values: ReadonlyArray<unknown>) =>
    statements(db, async (session) => (await session.query({ name, text, values })).length === 1)
  return {
    acquire: (name, holder, ttlMs, now) =>
      changed(
        "mmgw_lease_acquire",
        `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE leases.holder = excluded.holder OR leases.expires_at <= $4
         RETURNING 1`,
        [name, holder, now + ttlMs, now]
      ),
    renew: (name, holder, ttlMs, now) =>
      changed(
        "mmgw_lease_renew",
        "UPDATE leases SET expires_at = $3 WHERE name = $1 AND holder = $2 AND expires_at > $4 RETURNING 1",
        [name, holder, now + ttlMs, now]
      ),
    release: (name, holder) => Effect.asVoid(changed("mmgw_lease_release", "DELETE FROM leases WHERE name = $1 AND holder = $2 RETURNING 1", [name, holder])),
    holderOf: (name, now) =>
      statements(db, async (session) => {
        const rows = await session.query<{ holder: string }>({
          name: "mmgw_lease_holder",
          text: "SELECT holder FROM leases WHERE name = $1 AND expires_at > $2",
          values: [name, now]
        })
        return rows[0]?.holder ?? null
      })
  }
}

export const layerLeases: Layer.Layer<Leases, never, PostgresDatabase> = Layer.effect(Leases, Effect.map(PostgresDatabase, makeLeases))
