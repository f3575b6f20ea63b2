import { Leases } from "@mm-gateway/ports"
import { type Context, Effect, Layer } from "effect"
import { type Database, inTransaction, PostgresDatabase, statements } from "./connection.js"

/** Heartbeat records lapsed for this long are forgotten (the port allows it after an hour). */
const FORGET_WORKERS_AFTER_MS = 60 * 60_000

interface LeaseRow {
  readonly name: string
  readonly holder: string
  readonly acquired_at: string
  readonly expires_at: string
}

interface WorkerRow {
  readonly instance: string
  readonly started_at: string
  readonly heartbeat_at: string
  readonly expires_at: string
}

/**
 * The leases (table `leases`) and the workers' heartbeats (table `workers`), each operation one
 * statement (the heartbeat two, in one transaction). Two processes racing for a free or expired lease
 * both reach the upsert; PostgreSQL makes the second wait for the first and then re-checks the
 * condition on the row the first wrote, so exactly one takes it.
 */
export const makeLeases = (db: Database): Context.Tag.Service<Leases> => {
  const changed = (name: string, text: string, values: ReadonlyArray<unknown>) =>
    statements(db, async (session) => (await session.query({ name, text, values })).length === 1)
  return {
    acquire: (name, holder, ttlMs, now) =>
      changed(
        "mmgw_lease_acquire",
        // A holder taking its own unexpired lease again renews it and keeps the time it took it.
        `INSERT INTO leases (name, holder, expires_at, acquired_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
           acquired_at = CASE WHEN leases.holder = excluded.holder AND leases.expires_at > $4 THEN leases.acquired_at ELSE excluded.acquired_at END
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
      }),
    held: (now) =>
      statements(db, async (session) =>
        (await session.query<LeaseRow>({
          name: "mmgw_leases_held",
          text: "SELECT name, holder, acquired_at, expires_at FROM leases WHERE expires_at > $1 ORDER BY name COLLATE \"C\"",
          values: [now]
        })).map((r) => ({ name: r.name, holder: r.holder, acquiredAt: Number(r.acquired_at), expiresAt: Number(r.expires_at) }))
      ),
    renewAll: (holder, ttlMs, now) =>
      statements(db, async (session) =>
        (await session.query<{ name: string }>({
          name: "mmgw_leases_renew_all",
          text: "UPDATE leases SET expires_at = $2 WHERE holder = $1 AND expires_at > $3 RETURNING name",
          values: [holder, now + ttlMs, now]
        })).map((r) => r.name).sort()
      ),
    releaseAll: (holder) =>
      statements(db, async (session) => {
        await session.query({ name: "mmgw_leases_release_all", text: "DELETE FROM leases WHERE holder = $1", values: [holder] })
      }),
    heartbeat: (instance, ttlMs, now) =>
      inTransaction(db, async (session) => {
        await session.query({
          name: "mmgw_worker_heartbeat",
          text: `INSERT INTO workers (instance, started_at, heartbeat_at, expires_at) VALUES ($1, $2, $2, $3)
                 ON CONFLICT (instance) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at`,
          values: [instance, now, now + ttlMs]
        })
        await session.query({ name: "mmgw_workers_forget", text: "DELETE FROM workers WHERE expires_at <= $1", values: [now - FORGET_WORKERS_AFTER_MS] })
      }),
    liveWorkers: (now) =>
      statements(db, async (session) =>
        (await session.query<WorkerRow>({
          name: "mmgw_workers_live",
          text: "SELECT instance, started_at, heartbeat_at, expires_at FROM workers WHERE expires_at > $1 ORDER BY instance COLLATE \"C\"",
          values: [now]
        })).map((r) => ({ instance: r.instance, startedAt: Number(r.started_at), heartbeatAt: Number(r.heartbeat_at), expiresAt: Number(r.expires_at) }))
      ),
    retire: (instance) =>
      statements(db, async (session) => {
        await session.query({ name: "mmgw_worker_retire", text: "DELETE FROM workers WHERE instance = $1", values: [instance] })
      })
  }
}

export const layerLeases: Layer.Layer<Leases, never, PostgresDatabase> = Layer.effect(Leases, Effect.map(PostgresDatabase, makeLeases))
