import { Kysely, type Migration, Migrator, NO_MIGRATIONS, sql, SqliteDialect } from "kysely"
import { type Database, retryBusy } from "./connection.js"

/** Runs each statement of a migration; migrations are code so a bundled app carries them. */
const statements = (...ddl: ReadonlyArray<string>): Migration => ({
  up: async (db) => {
    for (const s of ddl) await sql.raw(s).execute(db)
  }
})

/**
 * The main database: the event log, checkpoints and leases first (0001), the read models after
 * (0002). Never edit a migration that has shipped; add the next one.
 */
export const mainMigrations: Readonly<Record<string, Migration>> = {
  "0001_event_log": statements(
    `CREATE TABLE events (
      global_position INTEGER PRIMARY KEY,
      stream_id TEXT NOT NULL,
      version INTEGER NOT NULL,
      type TEXT NOT NULL,
      schema_version INTEGER NOT NULL,
      data TEXT NOT NULL,
      recorded_at INTEGER NOT NULL,
      UNIQUE (stream_id, version)
    )`,
    `CREATE TABLE projection_checkpoints (
      name TEXT PRIMARY KEY,
      position INTEGER NOT NULL
    )`,
    `CREATE TABLE leases (
      name TEXT PRIMARY KEY,
      holder TEXT NOT NULL,
      expires_at INTEGER NOT NULL
    )`
  ),
  "0002_read_models": statements(
    `CREATE TABLE business_managers (
      id TEXT PRIMARY KEY,
      version INTEGER NOT NULL,
      name TEXT,
      registered INTEGER NOT NULL,
      invited_at INTEGER,
      invitation_link TEXT,
      terms_signed_at INTEGER,
      state TEXT NOT NULL
    )`,
    `CREATE TABLE wabas (
      id TEXT PRIMARY KEY,
      version INTEGER NOT NULL,
      business_manager_id TEXT,
      name TEXT,
      mm_status TEXT NOT NULL,
      mm_since INTEGER,
      mm_source TEXT,
      mm_reason TEXT,
      suspended_until INTEGER,
      as_of INTEGER NOT NULL,
      state TEXT NOT NULL
    )`,
    `CREATE INDEX wabas_by_business_manager ON wabas (business_manager_id, id)`,
    `CREATE INDEX wabas_by_status ON wabas (mm_status, id)`,
    `CREATE TABLE channels (
      phone_number_id TEXT PRIMARY KEY,
      version INTEGER NOT NULL,
      waba_id TEXT NOT NULL,
      display_phone_number TEXT NOT NULL,
      provider TEXT NOT NULL,
      credentials_ref TEXT NOT NULL,
      throughput_mps INTEGER NOT NULL,
      routing TEXT NOT NULL,
      registered_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    )`,
    `CREATE INDEX channels_by_waba ON channels (waba_id, phone_number_id)`,
    `CREATE TABLE partner_settings (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      version INTEGER NOT NULL,
      marketing_via_mm_api INTEGER NOT NULL,
      ttl_on_cloud_fallback TEXT NOT NULL,
      updated_at INTEGER NOT NULL
    )`,
    `CREATE TABLE templates (
      waba_id TEXT NOT NULL,
      name TEXT NOT NULL,
      language TEXT NOT NULL,
      version INTEGER NOT NULL,
      category TEXT,
      ttl_seconds INTEGER,
      status TEXT,
      status_reason TEXT,
      impending TEXT,
      updated_at INTEGER NOT NULL,
      state TEXT NOT NULL,
      PRIMARY KEY (waba_id, name, language)
    )`,
    `CREATE TABLE messages (
      id TEXT PRIMARY KEY,
      version INTEGER NOT NULL,
      channel TEXT NOT NULL,
      waba_id TEXT NOT NULL,
      campaign_id TEXT,
      recipient TEXT NOT NULL,
      wamid TEXT,
      status TEXT NOT NULL,
      route_decided TEXT NOT NULL,
      route_observed TEXT,
      route_mismatch INTEGER NOT NULL,
      funnel_stage INTEGER NOT NULL,
      clicked INTEGER NOT NULL,
      failure_codes TEXT NOT NULL,
      phase TEXT NOT NULL,
      attempt INTEGER NOT NULL,
      not_before INTEGER,
      expiry_deadline INTEGER,
      accepted_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      state TEXT NOT NULL,
      view TEXT NOT NULL
    )`,
    `CREATE INDEX messages_by_wamid ON messages (wamid) WHERE wamid IS NOT NULL`,
    `CREATE INDEX messages_by_campaign ON messages (campaign_id, id) WHERE campaign_id IS NOT NULL`,
    `CREATE INDEX messages_by_channel ON messages (channel, id)`,
    `CREATE INDEX messages_by_phase ON messages (phase, not_before)`,
    `CREATE TABLE clicks (
      stream_id TEXT PRIMARY KEY,
      position INTEGER NOT NULL UNIQUE,
      channel TEXT NOT NULL,
      action_type TEXT NOT NULL,
      kind TEXT NOT NULL,
      click_id TEXT,
      tracking_token TEXT,
      component TEXT,
      product_id TEXT,
      occurred_at INTEGER NOT NULL,
      message_id TEXT
    )`,
    `CREATE INDEX clicks_by_channel ON clicks (channel, position)`,
    `CREATE INDEX clicks_by_click_id ON clicks (click_id) WHERE click_id IS NOT NULL`,
    `CREATE TABLE click_attributions (
      click_id TEXT NOT NULL,
      message_id TEXT NOT NULL,
      position INTEGER NOT NULL,
      PRIMARY KEY (click_id, message_id)
    )`
  ),
  // The worker's look-ups: a status naming no known wamid is matched by (channel, recipient, time
  // window), and the TTL timer asks which messages reach their expiry deadline.
  "0003_worker_lookups": statements(
    `CREATE INDEX messages_by_recipient ON messages (channel, recipient, accepted_at)`,
    `CREATE INDEX messages_by_expiry ON messages (expiry_deadline) WHERE expiry_deadline IS NOT NULL`
  ),
  // Statuses that name no message the gateway knows yet: kept until the wamid becomes known (docs/domain.md#matching-statuses).
  // Worker state, not a read model: a rebuild leaves it alone.
  "0004_unmatched_statuses": statements(
    `CREATE TABLE unmatched_statuses (
      id INTEGER PRIMARY KEY,
      dedupe_key TEXT NOT NULL UNIQUE,
      wamid TEXT NOT NULL,
      channel TEXT NOT NULL,
      recipient TEXT,
      observation TEXT NOT NULL,
      received_at INTEGER NOT NULL
    )`,
    `CREATE INDEX unmatched_statuses_by_wamid ON unmatched_statuses (wamid)`,
    `CREATE INDEX unmatched_statuses_by_time ON unmatched_statuses (received_at, id)`
  ),
  // What the api keeps outside the event log: API keys (only a hash of the secret) and channel
  // credentials (AES-256-GCM ciphertext under the reference the Channel stream carries). Neither is a
  // read model: a rebuild leaves them alone.
  "0005_api_keys_and_credentials": statements(
    `CREATE TABLE api_keys (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      business_manager_ids TEXT NOT NULL,
      secret_hash TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      revoked_at INTEGER
    )`,
    `CREATE TABLE channel_credentials (
      ref TEXT PRIMARY KEY,
      ciphertext TEXT NOT NULL,
      created_at INTEGER NOT NULL
    )`
  ),
  // The dispatcher's queue: ready messages oldest first, read in pages on every sweep. A partial index
  // keeps that a walk over the ready rows in order instead of a sort of all of them.
  "0006_dispatch_queue": statements(
    `CREATE INDEX messages_ready_by_age ON messages (accepted_at, id) WHERE phase = 'Ready'`
  ),
  // A message's API view is derived from its state when read (`resourceOf`), no longer stored beside
  // it: every status rewrote both, and the view was half the JSON the status path serialised and wrote.
  "0007_messages_without_view": statements(`ALTER TABLE messages DROP COLUMN view`),
  // A click is tied to a message of its own channel only, and that is decided when read: a message id
  // stored on the click row was tied by click id alone, across channels and so across tenants.
  "0008_clicks_tied_when_read": statements(`ALTER TABLE clicks DROP COLUMN message_id`),
  // Each stream's state as of a version, written with the append: a command folds only what follows
  // it. Derived from the log, so it can be dropped and rebuilt (the rebuild command does both).
  "0009_snapshots": statements(
    `CREATE TABLE snapshots (
      stream_id TEXT PRIMARY KEY,
      version INTEGER NOT NULL,
      schema INTEGER NOT NULL,
      state TEXT NOT NULL
    ) WITHOUT ROWID`
  ),
  // One name for statuses waiting for their message: parked.
  "0010_parked_statuses": statements(
    `ALTER TABLE unmatched_statuses RENAME TO parked_statuses`,
    `DROP INDEX unmatched_statuses_by_wamid`,
    `DROP INDEX unmatched_statuses_by_time`,
    `CREATE INDEX parked_statuses_by_wamid ON parked_statuses (wamid)`,
    `CREATE INDEX parked_statuses_by_time ON parked_statuses (received_at, id)`
  ),
  // A snapshot is a stream's whole state, often more than a twentieth of a page: such rows belong in a
  // rowid table (the primary key as an index beside it), where reading and rewriting one is two to
  // three times cheaper than in a WITHOUT ROWID table's B-tree (measured on 1.5 KB states).
  "0011_snapshots_in_a_rowid_table": statements(
    `CREATE TABLE snapshots_by_rowid (
      stream_id TEXT PRIMARY KEY,
      version INTEGER NOT NULL,
      schema INTEGER NOT NULL,
      state TEXT NOT NULL
    )`,
    `INSERT INTO snapshots_by_rowid (stream_id, version, schema, state) SELECT stream_id, version, schema, state FROM snapshots`,
    `DROP TABLE snapshots`,
    `ALTER TABLE snapshots_by_rowid RENAME TO snapshots`
  ),
  // A message row keeps the message's state as its snapshot does (`{"_tag":"Requested","message":…}`),
  // so an append serialises the state once for both.
  "0012_message_rows_keep_the_stream_state": statements(
    `UPDATE messages SET state = json_object('_tag', 'Requested', 'message', json(state))`
  ),
  // An API key may also be scoped to channels (the drop-in send path's keys); older keys have none.
  "0013_api_keys_scoped_to_channels": statements(
    `ALTER TABLE api_keys ADD COLUMN channel_ids TEXT NOT NULL DEFAULT '[]'`
  ),
  // Many workers (docs/worker.md#many-workers): a lease knows since when its holder has it, each worker
  // instance keeps a heartbeat record, and a channel's dispatch starts are kept where a worker taking
  // the channel over can read them (a read model: one row per attempt, filled here from the log).
  "0014_many_workers": statements(
    `ALTER TABLE leases ADD COLUMN acquired_at INTEGER NOT NULL DEFAULT 0`,
    `CREATE INDEX leases_by_holder ON leases (holder)`,
    `CREATE TABLE workers (
      instance TEXT PRIMARY KEY,
      started_at INTEGER NOT NULL,
      heartbeat_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL
    )`,
    `CREATE TABLE dispatch_starts (
      channel TEXT NOT NULL,
      started_at INTEGER NOT NULL,
      message_id TEXT NOT NULL,
      attempt INTEGER NOT NULL,
      PRIMARY KEY (channel, started_at, message_id, attempt)
    ) WITHOUT ROWID`,
    `INSERT OR IGNORE INTO dispatch_starts (channel, started_at, message_id, attempt)
     SELECT m.channel, json_extract(e.data, '$.at'), m.id, json_extract(e.data, '$.attempt')
     FROM events e JOIN messages m ON m.id = json_extract(e.data, '$.messageId')
     WHERE e.type = 'DispatchStarted'`
  ),
  // Forwarding to the tenants' own apps (docs/forwarding.md): their endpoints, and the outbox the
  // inbox processor writes in the transaction that applies a webhook. Not derived from the event log:
  // a rebuild leaves both as they are.
  "0015_forwarding": statements(
    `CREATE TABLE webhook_endpoints (
      id TEXT PRIMARY KEY,
      url TEXT NOT NULL,
      events TEXT NOT NULL,
      business_manager_ids TEXT NOT NULL,
      channel_ids TEXT NOT NULL,
      secret_ciphertext TEXT NOT NULL,
      paused_at INTEGER,
      paused_reason TEXT,
      failing_since INTEGER,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    )`,
    `CREATE TABLE forward_deliveries (
      id TEXT PRIMARY KEY,
      endpoint_id TEXT NOT NULL,
      inbox_id INTEGER,
      events TEXT NOT NULL,
      body BLOB NOT NULL,
      received_at INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      deadline INTEGER NOT NULL,
      state TEXT NOT NULL,
      attempts INTEGER NOT NULL,
      next_attempt_at INTEGER,
      last_attempt_at INTEGER,
      last_status INTEGER,
      last_error TEXT,
      delivered_at INTEGER,
      latency_ms INTEGER,
      replayed_at INTEGER,
      claimed_by TEXT,
      claimed_until INTEGER NOT NULL DEFAULT 0
    )`,
    `CREATE INDEX forward_deliveries_due ON forward_deliveries (next_attempt_at, id) WHERE state = 'pending'`,
    `CREATE INDEX forward_deliveries_by_endpoint ON forward_deliveries (endpoint_id, created_at DESC, id)`,
    `CREATE INDEX forward_deliveries_delivered ON forward_deliveries (delivered_at) WHERE latency_ms IS NOT NULL`
  ),
  // The console looks a recipient's messages up across channels, newest first.
  "0016_messages_to_recipient": statements(`CREATE INDEX messages_to_recipient ON messages (recipient, accepted_at, id)`),
  // A parked status is tried again a handful of times, then only applied by its wamid, and forgotten
  // after seven days (docs/domain.md#matching-statuses). Those parked before are tried on the same
  // schedule from their receipt; the partial index holds only those still to be tried.
  "0017_parked_status_retries": statements(
    `ALTER TABLE parked_statuses ADD COLUMN retry_at INTEGER`,
    `UPDATE parked_statuses SET retry_at = received_at + 1000`,
    `CREATE INDEX parked_statuses_due ON parked_statuses (retry_at, id) WHERE retry_at IS NOT NULL`
  ),
  // The delivery log's retention forgets finished deliveries by their age (docs/forwarding.md#delivery).
  "0018_forward_deliveries_finished": statements(
    `CREATE INDEX forward_deliveries_finished ON forward_deliveries (created_at, id) WHERE state <> 'pending'`
  ),
  // The deliveries a claim held while their endpoint was paused (docs/forwarding.md#delivery), found
  // again by their endpoint once it is active.
  "0019_forward_deliveries_held": statements(
    `CREATE INDEX forward_deliveries_held ON forward_deliveries (endpoint_id) WHERE state = 'pending' AND next_attempt_at IS NULL`
  )
}

/** The webhook inbox lives in its own file so webhook ingestion never queues behind the worker's writes. */
export const inboxMigrations: Readonly<Record<string, Migration>> = {
  "0001_inbox": statements(
    `CREATE TABLE inbox (
      id INTEGER PRIMARY KEY,
      source TEXT NOT NULL,
      received_at INTEGER NOT NULL,
      headers TEXT NOT NULL,
      body BLOB NOT NULL,
      body_sha256 TEXT NOT NULL,
      state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'processed', 'quarantined')),
      reason TEXT,
      processed_at INTEGER,
      UNIQUE (source, body_sha256)
    )`,
    `CREATE INDEX inbox_by_state ON inbox (state, id)`
  ),
  // Several workers take pending bodies apart: each claims some until a time (docs/worker.md#many-workers).
  "0002_inbox_claims": statements(
    `ALTER TABLE inbox ADD COLUMN claimed_by TEXT`,
    `ALTER TABLE inbox ADD COLUMN claimed_until INTEGER`
  )
}

/** Every read-model table of the main database: what a rebuild clears. */
export const READ_MODEL_TABLES = [
  "business_managers",
  "wabas",
  "channels",
  "partner_settings",
  "templates",
  "messages",
  "clicks",
  "click_attributions",
  "dispatch_starts"
] as const

/**
 * Brings `db` to `target` (the latest by default). kysely does not run SQLite DDL in a transaction and
 * its migration lock is a no-op on SQLite, so the whole run is wrapped in one `BEGIN IMMEDIATE`: two
 * processes starting together migrate one after the other, and a failed migration leaves nothing behind.
 */
export const migrate = async (
  db: Database,
  migrations: Readonly<Record<string, Migration>>,
  target?: string | typeof NO_MIGRATIONS
): Promise<ReadonlyArray<string>> => {
  // The dialect wraps this connection; the Kysely instance is never destroyed because that would close it.
  const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: db }) })
  const migrator = new Migrator({ db: kysely, provider: { getMigrations: async () => ({ ...migrations }) } })
  retryBusy(() => db.exec("BEGIN IMMEDIATE"))
  try {
    const result = target === undefined ? await migrator.migrateToLatest() : await migrator.migrateTo(target)
    if (result.error !== undefined) throw result.error
    db.exec("COMMIT")
    return (result.results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName)
  } catch (error) {
    if (db.inTransaction) db.exec("ROLLBACK")
    throw error
  }
}

/** The migrations applied to `db`, oldest first (empty for a fresh file). */
export const appliedMigrations = (db: Database): ReadonlyArray<string> => {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kysely_migration'").get()
  if (exists === undefined) return []
  return (db.prepare("SELECT name FROM kysely_migration ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name)
}
