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
  ),
  // The read models the API and the worker ask (docs/persistence.md#projections), kept inline by every
  // append, and the one checkpoint they move together (no row yet: nothing projected). Each row keeps
  // the stream version it reflects and the folded state as JSON, beside the columns the queries filter
  // and sort on. Keys and sort columns compare byte by byte (COLLATE "C"), as the other stores order
  // them, whatever the database's own collation.
  "0005_read_models": statements(
    `CREATE TABLE projection_checkpoints (
      name text PRIMARY KEY,
      position bigint NOT NULL
    )`,
    `CREATE TABLE business_managers (
      id text COLLATE "C" PRIMARY KEY,
      version integer NOT NULL,
      name text,
      invited_at bigint,
      invitation_link text,
      terms_signed_at bigint,
      state json NOT NULL
    )`,
    `CREATE TABLE wabas (
      id text COLLATE "C" PRIMARY KEY,
      version integer NOT NULL,
      business_manager_id text COLLATE "C",
      name text,
      mm_status text NOT NULL,
      mm_since bigint,
      mm_source text,
      mm_reason text,
      suspended_until bigint,
      as_of bigint NOT NULL,
      state json NOT NULL
    )`,
    `CREATE INDEX wabas_by_business_manager ON wabas (business_manager_id, id)`,
    `CREATE TABLE channels (
      phone_number_id text COLLATE "C" PRIMARY KEY,
      version integer NOT NULL,
      waba_id text COLLATE "C" NOT NULL,
      registered_at bigint NOT NULL,
      updated_at bigint NOT NULL,
      state json NOT NULL
    )`,
    `CREATE TABLE partner_settings (
      id integer PRIMARY KEY CHECK (id = 1),
      version integer NOT NULL,
      updated_at bigint NOT NULL,
      state json NOT NULL
    )`,
    `CREATE TABLE templates (
      waba_id text COLLATE "C" NOT NULL,
      name text COLLATE "C" NOT NULL,
      language text COLLATE "C" NOT NULL,
      version integer NOT NULL,
      status_reason text,
      updated_at bigint NOT NULL,
      state json NOT NULL,
      PRIMARY KEY (waba_id, name, language)
    )`,
    `CREATE TABLE messages (
      id text COLLATE "C" PRIMARY KEY,
      version integer NOT NULL,
      channel text COLLATE "C" NOT NULL,
      waba_id text COLLATE "C" NOT NULL,
      campaign_id text COLLATE "C",
      recipient text COLLATE "C" NOT NULL,
      accepted_at bigint NOT NULL,
      wamid text COLLATE "C",
      phase text NOT NULL,
      not_before bigint,
      expiry_deadline bigint,
      status text NOT NULL,
      route_decided text NOT NULL,
      route_observed text,
      route_mismatch boolean NOT NULL,
      funnel_stage smallint NOT NULL,
      clicked boolean NOT NULL,
      failure_codes integer[] NOT NULL,
      attempt integer NOT NULL,
      updated_at bigint NOT NULL,
      state json NOT NULL
    )`,
    `CREATE INDEX messages_by_wamid ON messages (wamid) WHERE wamid IS NOT NULL`,
    `CREATE INDEX messages_by_campaign ON messages (campaign_id) WHERE campaign_id IS NOT NULL`,
    `CREATE INDEX messages_by_recipient ON messages (channel, recipient, accepted_at)`,
    `CREATE INDEX messages_by_phase ON messages (phase, id)`,
    // The dispatcher's sweep: ready messages oldest first, a walk over the ready rows only.
    `CREATE INDEX messages_ready_by_age ON messages (accepted_at, id) WHERE phase = 'Ready'`,
    `CREATE INDEX messages_by_expiry ON messages (expiry_deadline, id) WHERE expiry_deadline IS NOT NULL`,
    `CREATE TABLE clicks (
      stream_id text PRIMARY KEY,
      position bigint NOT NULL UNIQUE,
      channel text COLLATE "C" NOT NULL,
      action_type text NOT NULL,
      kind text NOT NULL,
      click_id text COLLATE "C",
      tracking_token text,
      component text,
      product_id text,
      occurred_at bigint NOT NULL
    )`,
    `CREATE INDEX clicks_by_channel ON clicks (channel, position)`,
    `CREATE INDEX clicks_by_click_id ON clicks (click_id) WHERE click_id IS NOT NULL`,
    `CREATE TABLE click_attributions (
      click_id text COLLATE "C" NOT NULL,
      message_id text COLLATE "C" NOT NULL,
      position bigint NOT NULL,
      PRIMARY KEY (click_id, message_id)
    )`
  ),
  // Statuses that name no message the gateway knows yet, kept until the wamid becomes known
  // (docs/domain.md#matching-statuses). Worker state, not a read model: a rebuild leaves it alone.
  "0006_parked_statuses": statements(
    `CREATE TABLE parked_statuses (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      dedupe_key text NOT NULL UNIQUE,
      wamid text NOT NULL,
      channel text NOT NULL,
      recipient text,
      observation json NOT NULL,
      received_at bigint NOT NULL
    )`,
    `CREATE INDEX parked_statuses_by_wamid ON parked_statuses (wamid)`,
    `CREATE INDEX parked_statuses_by_time ON parked_statuses (received_at, id)`
  ),
  // What the api keeps outside the event log: API keys (only a hash of the secret) and channel
  // credentials (ciphertext under the reference the Channel stream carries). Neither is a read model.
  "0007_api_keys_and_credentials": statements(
    `CREATE TABLE api_keys (
      id text COLLATE "C" PRIMARY KEY,
      name text NOT NULL,
      business_manager_ids text[] NOT NULL,
      channel_ids text[] NOT NULL,
      secret_hash text NOT NULL,
      created_at bigint NOT NULL,
      revoked_at bigint
    )`,
    `CREATE TABLE channel_credentials (
      ref text PRIMARY KEY,
      ciphertext text NOT NULL,
      created_at bigint NOT NULL
    )`
  ),
  // Many workers (docs/worker.md#many-workers): a lease knows since when its holder has it, each worker
  // instance keeps a heartbeat record, the workers claim pending inbox bodies apart, and a channel's
  // dispatch starts are kept where a worker taking the channel over can read them (a read model: one
  // row per attempt, filled here from the log).
  "0008_many_workers": statements(
    `ALTER TABLE leases ADD COLUMN acquired_at bigint NOT NULL DEFAULT 0`,
    `CREATE INDEX leases_by_holder ON leases (holder)`,
    `CREATE TABLE workers (
      instance text COLLATE "C" PRIMARY KEY,
      started_at bigint NOT NULL,
      heartbeat_at bigint NOT NULL,
      expires_at bigint NOT NULL
    )`,
    `ALTER TABLE inbox ADD COLUMN claimed_by text`,
    `ALTER TABLE inbox ADD COLUMN claimed_until bigint`,
    `CREATE TABLE dispatch_starts (
      channel text COLLATE "C" NOT NULL,
      started_at bigint NOT NULL,
      message_id text COLLATE "C" NOT NULL,
      attempt integer NOT NULL,
      PRIMARY KEY (channel, started_at, message_id, attempt)
    )`,
    `INSERT INTO dispatch_starts (channel, started_at, message_id, attempt)
     SELECT m.channel, (e.data->>'at')::bigint, m.id, (e.data->>'attempt')::integer
     FROM events e JOIN messages m ON m.id = e.data->>'messageId'
     WHERE e.type = 'DispatchStarted'
     ON CONFLICT DO NOTHING`
  ),
  // Forwarding to the tenants' own apps (docs/forwarding.md): their endpoints, and the outbox the
  // inbox processor writes in the transaction that applies a webhook. Not derived from the event log:
  // a rebuild leaves both as they are.
  "0009_forwarding": statements(
    `CREATE TABLE webhook_endpoints (
      id text COLLATE "C" PRIMARY KEY,
      url text NOT NULL,
      events text[] NOT NULL,
      business_manager_ids text[] NOT NULL,
      channel_ids text[] NOT NULL,
      secret_ciphertext text NOT NULL,
      paused_at bigint,
      paused_reason text,
      failing_since bigint,
      created_at bigint NOT NULL,
      updated_at bigint NOT NULL
    )`,
    `CREATE INDEX webhook_endpoints_by_business_manager ON webhook_endpoints USING gin (business_manager_ids)`,
    `CREATE INDEX webhook_endpoints_by_channel ON webhook_endpoints USING gin (channel_ids)`,
    `CREATE TABLE forward_deliveries (
      id text COLLATE "C" PRIMARY KEY,
      endpoint_id text COLLATE "C" NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
      inbox_id bigint,
      events text[] NOT NULL,
      body bytea NOT NULL,
      received_at bigint NOT NULL,
      created_at bigint NOT NULL,
      deadline bigint NOT NULL,
      state text NOT NULL,
      attempts integer NOT NULL,
      next_attempt_at bigint,
      last_attempt_at bigint,
      last_status integer,
      last_error text,
      delivered_at bigint,
      latency_ms bigint,
      replayed_at bigint,
      claimed_by text,
      claimed_until bigint NOT NULL DEFAULT 0
    )`,
    `CREATE INDEX forward_deliveries_due ON forward_deliveries (next_attempt_at, id) WHERE state = 'pending'`,
    `CREATE INDEX forward_deliveries_by_endpoint ON forward_deliveries (endpoint_id, created_at DESC, id)`,
    `CREATE INDEX forward_deliveries_delivered ON forward_deliveries (delivered_at) WHERE latency_ms IS NOT NULL`
  ),
  // The console looks a recipient's messages up across channels, newest first.
  "0010_messages_to_recipient": statements(`CREATE INDEX messages_to_recipient ON messages (recipient, accepted_at, id)`),
  // A parked status is tried again a handful of times, then only applied by its wamid, and forgotten
  // after seven days (docs/domain.md#matching-statuses). Those parked before are tried on the same
  // schedule from their receipt; the partial index holds only those still to be tried.
  "0011_parked_status_retries": statements(
    `ALTER TABLE parked_statuses ADD COLUMN retry_at bigint`,
    `UPDATE parked_statuses SET retry_at = received_at + 1000`,
    `CREATE INDEX parked_statuses_due ON parked_statuses (retry_at, id) WHERE retry_at IS NOT NULL`
  ),
  // The delivery log's retention forgets finished deliveries by their age (docs/forwarding.md#delivery).
  "0012_forward_deliveries_finished": statements(
    `CREATE INDEX forward_deliveries_finished ON forward_deliveries (created_at, id) WHERE state <> 'pending'`
  ),
  // The deliveries a claim held while their endpoint was paused (docs/forwarding.md#delivery), found
  // again by their endpoint once it is active.
  "0013_forward_deliveries_held": statements(
    `CREATE INDEX forward_deliveries_held ON forward_deliveries (endpoint_id) WHERE state = 'pending' AND next_attempt_at IS NULL`
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
