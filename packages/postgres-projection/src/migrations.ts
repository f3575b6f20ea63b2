import { Kysely, type Migration, Migrator, NO_MIGRATIONS, PostgresDialect, sql } from "kysely"
import type pg from "pg"

/** Runs each statement of a migration; migrations are code so a bundled app carries them. */
const statements = (...ddl: ReadonlyArray<string>): Migration => ({
  up: async (db) => {
    for (const s of ddl) await sql.raw(s).execute(db)
  }
})

/**
 * The tables, as on SQLite where they mean the same (docs/persistence.md). Never edit a migration that
 * has shipped; add the next one.
 */
export const migrations: Readonly<Record<string, Migration>> = {
  // The log. Positions come from an identity column, taken under the append lock (docs/persistence.md#postgresql).
  "0001_event_log": statements(
    `CREATE TABLE events (
      global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      stream_id text NOT NULL,
      version integer NOT NULL,
      type text NOT NULL,
      schema_version integer NOT NULL,
      data json NOT NULL,
      recorded_at bigint NOT NULL,
      UNIQUE (stream_id, version)
    )`
  ),
  // Each stream's state as of a version, written with the append: a command folds only what follows
  // it. Derived from the log, so it can be dropped and rebuilt.
  "0002_snapshots": statements(
    `CREATE TABLE snapshots (
      stream_id text PRIMARY KEY,
      version integer NOT NULL,
      schema integer NOT NULL,
      state json NOT NULL
    )`
  ),
  // Named leases: who holds one, until when (times from the caller, epoch ms).
  "0003_leases": statements(
    `CREATE TABLE leases (
      name text PRIMARY KEY,
      holder text NOT NULL,
      expires_at bigint NOT NULL
    )`
  ),
  // The webhook inbox: every verified delivery, raw, before it is answered. The partial indexes keep
  // the worker's look-ups walks over the rows in that state only, in arrival order.
  "0004_inbox": statements(
    `CREATE TABLE inbox (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      source text NOT NULL,
      received_at bigint NOT NULL,
      headers json NOT NULL,
      body bytea NOT NULL,
      body_sha256 text NOT NULL,
      state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'processed', 'quarantined')),
      reason text,
      processed_at bigint,
      UNIQUE (source, body_sha256)
    )`,
    `CREATE INDEX inbox_pending ON inbox (id) WHERE state = 'pending'`,
    `CREATE INDEX inbox_quarantined ON inbox (id) WHERE state = 'quarantined'`
  )
}

/**
 * The key of the session-level advisory lock every process takes before migrating ("mmgw-mig" in
 * ASCII): processes that start together migrate one after the other, and the later ones find
 * nothing left to do.
 */
export const MIGRATION_LOCK_KEY = "7885072284156520807"

/**
 * Brings the database to `target` (the latest by default) and returns the names of the migrations it
 * applied.
 * Everything runs on one connection that holds the migration lock — kysely's own bookkeeping tables
 * too, whose creation kysely does not serialise — and kysely runs the migrations in one transaction,
 * so a failed one leaves nothing behind.
 */
export const migrate = async (pool: pg.Pool, target?: string | typeof NO_MIGRATIONS): Promise<ReadonlyArray<string>> => {
  // Most starts find every migration applied: one query, no waiting for the lock. Migrations are only
  // ever added, so nothing can be left to do once all of these are there.
  if (target === undefined) {
    const applied = new Set(await appliedMigrations(pool))
    if (Object.keys(migrations).every((name) => applied.has(name))) return []
  }
  const client = await pool.connect()
  let broken: Error | undefined
  try {
    await client.query(`SELECT pg_advisory_lock(${MIGRATION_LOCK_KEY})`)
    try {
      // A pool of this one connection: kysely "releases" it after each use, which must not give it back.
      const only = { query: client.query.bind(client), release: () => {} } as unknown as pg.PoolClient
      const kysely = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: { connect: async () => only, end: async () => {} } }) })
      const migrator = new Migrator({ db: kysely, provider: { getMigrations: async () => ({ ...migrations }) } })
      const result = target === undefined ? await migrator.migrateToLatest() : await migrator.migrateTo(target)
      await kysely.destroy()
      if (result.error !== undefined) throw result.error
      return (result.results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName)
    } finally {
      await client.query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY})`)
    }
  } catch (error) {
    broken = error instanceof Error ? error : new Error(String(error))
    throw error
  } finally {
    client.release(broken)
  }
}

/** The migrations applied to the database, oldest first (empty for a fresh one). */
export const appliedMigrations = async (pool: pg.Pool): Promise<ReadonlyArray<string>> => {
  const exists = await pool.query<{ t: string | null }>("SELECT to_regclass('kysely_migration')::text AS t")
  if (exists.rows[0]?.t == null) return []
  return (await pool.query<{ name: string }>("SELECT name FROM kysely_migration ORDER BY name")).rows.map((r) => r.name)
}
