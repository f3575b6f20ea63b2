/**
 * Moving a SQLite deployment onto PostgreSQL (docs/persistence.md#moving-from-sqlite): what is not
 * derived from the event log is copied as it is — the log itself, API keys, channel credentials, the
 * webhook inbox's bodies still to process and those in quarantine, statuses parked for a message not
 * yet known — and everything derived (read models, snapshots) is rebuilt from the copied log. All of it
 * in one transaction of the target: it commits whole or leaves the target as it was. Forwarding's
 * endpoints and outbox are copied too (docs/forwarding.md): neither is derived from the log.
 */
import {
  type Database as SqliteFile,
  inboxMigrations,
  inboxPathFor,
  mainMigrations,
  migrate as migrateSqlite,
  openDatabase as openSqlite
} from "@mm-gateway/sqlite-projection"
import { Data, Effect } from "effect"
import * as fs from "node:fs"
import { begin, commit, makeDatabase, rollback, type Session, type Transaction } from "../connection.js"
import { openPool, type PostgresOptions } from "../database.js"
import { migrate } from "../migrations.js"
import { allProjections } from "../read-models/index.js"
import { rebuild } from "../runner.js"
import { snapshotsProjection } from "../snapshots.js"

/** Why nothing was copied. */
export class MoveRefused extends Data.TaggedError("MoveRefused")<{ readonly reason: string }> {
  override get message(): string {
    return this.reason
  }
}

/** What was copied, and how many events the rebuild replayed. */
export interface MoveSummary {
  readonly events: number
  readonly apiKeys: number
  readonly credentials: number
  readonly inboxPending: number
  readonly inboxQuarantined: number
  readonly parkedStatuses: number
  readonly webhookEndpoints: number
  readonly forwardDeliveries: number
  readonly replayed: number
}

/** The tables of the target that must be empty: what the copy fills (the rest is derived from them). */
const COPIED_TABLES = ["events", "api_keys", "channel_credentials", "inbox", "parked_statuses", "webhook_endpoints", "forward_deliveries"] as const

/** Rows read from SQLite and written to PostgreSQL per statement. */
const BATCH_ROWS = 1000
/** Inbox bodies are up to 3 MB each: a batch of them stops at about this many bytes. */
const BATCH_BYTES = 16 * 1024 * 1024
/** Inbox rows read from SQLite at a time, so a page of large bodies stays small in memory. */
const INBOX_PAGE_ROWS = 20

/**
 * Copies the SQLite deployment whose main database is `sqliteFile` (the inbox beside it) into the empty
 * PostgreSQL database `target` (migrated first), and rebuilds its read models and snapshots. Refuses
 * (nothing written) when the file is missing, a worker is still live on it, or the target already has
 * any of the copied tables' rows; the SQLite files are brought to the current migrations first, as the
 * api would on start, and are otherwise only read, each in one read transaction.
 */
export const moveFromSqlite = (sqliteFile: string, target: PostgresOptions, now: () => number = Date.now): Effect.Effect<MoveSummary, MoveRefused> =>
  Effect.tryPromise({
    try: () => move(sqliteFile, target, now),
    catch: (error) => (error instanceof MoveRefused ? error : new MoveRefused({ reason: error instanceof Error ? error.message : String(error) }))
  })

const move = async (sqliteFile: string, target: PostgresOptions, now: () => number): Promise<MoveSummary> => {
  if (!fs.existsSync(sqliteFile)) throw new MoveRefused({ reason: `there is no SQLite database at ${sqliteFile}` })
  const inboxFile = inboxPathFor(sqliteFile)
  if (!fs.existsSync(inboxFile)) throw new MoveRefused({ reason: `there is no webhook inbox beside it (${inboxFile})` })
  const main = openSqlite(sqliteFile)
  const inbox = openSqlite(inboxFile)
  const pool = openPool({ poolSize: 2, ...target })
  try {
    await migrateSqlite(main, mainMigrations)
    await migrateSqlite(inbox, inboxMigrations)
    const live = main.prepare("SELECT instance FROM workers WHERE expires_at > ? ORDER BY instance").all(now()) as Array<{ instance: string }>
    if (live.length > 0) {
      throw new MoveRefused({ reason: `a worker is still running on ${sqliteFile} (${live.map((w) => w.instance).join(", ")}): stop the api and every worker first` })
    }
    await migrate(pool)
    const db = makeDatabase(pool)
    const transaction = await begin(pool, { appendLock: true })
    try {
      const summary = await copyAndRebuild(db, transaction, main, inbox)
      await commit(transaction)
      return summary
    } catch (error) {
      if (transaction.open) await rollback(transaction)
      throw error
    }
  } finally {
    main.close()
    inbox.close()
    await pool.end()
  }
}

const sessionOf = (transaction: Transaction): Session => ({
  transaction,
  query: async (statement) => {
    const config = statement.values === undefined ? { text: statement.text } : { text: statement.text, values: [...statement.values] }
    return (await transaction.client.query(config)).rows
  }
})

/** Every row of `table` that `where` takes, in pages of `limit` in the order of its integer `key`. */
const pages = function*<R extends Record<string, unknown>>(
  file: SqliteFile,
  table: string,
  where: string,
  key: keyof R & string,
  limit = BATCH_ROWS
): Generator<Array<R>> {
  const statement = file.prepare(`SELECT * FROM ${table} WHERE (${where}) AND ${key} > ? ORDER BY ${key} LIMIT ${limit}`)
  let after = 0
  for (;;) {
    const rows = statement.all(after) as Array<R>
    if (rows.length === 0) return
    yield rows
    after = Number(rows[rows.length - 1]![key])
  }
}

const copyAndRebuild = async (db: ReturnType<typeof makeDatabase>, transaction: Transaction, main: SqliteFile, inbox: SqliteFile): Promise<MoveSummary> => {
  const session = sessionOf(transaction)
  // Nothing else may write the copied tables until this commits, and what is in them now decides.
  await session.query({ text: `LOCK TABLE ${COPIED_TABLES.join(", ")} IN ACCESS EXCLUSIVE MODE` })
  for (const table of COPIED_TABLES) {
    const [row] = await session.query<{ some: boolean }>({ text: `SELECT EXISTS (SELECT 1 FROM ${table}) AS some` })
    if (row?.some === true) {
      throw new MoveRefused({ reason: `the target database is not empty (its ${table} table has rows): moving from SQLite needs an empty database` })
    }
  }
  // One consistent view of each file for the whole copy.
  main.exec("BEGIN")
  inbox.exec("BEGIN")
  try {
    const events = await copyEvents(session, main)
    const apiKeys = await copyApiKeys(session, main)
    const credentials = await copyCredentials(session, main)
    const parkedStatuses = await copyParked(session, main)
    const { pending, quarantined } = await copyInbox(session, inbox)
    const webhookEndpoints = await copyWebhookEndpoints(session, main)
    const forwardDeliveries = await copyForwardDeliveries(session, main)
    const replayed = await Effect.runPromise(
      Effect.locally(rebuild(db, [...allProjections, snapshotsProjection]), db.current, transaction)
    )
    const [count] = await session.query<{ n: string }>({ text: "SELECT count(*) AS n FROM events" })
    if (Number(count?.n) !== events || replayed !== events) {
      throw new Error(`the copy is incomplete: ${events} events read, ${String(count?.n)} stored, ${replayed} replayed`)
    }
    return {
      events,
      apiKeys,
      credentials,
      inboxPending: pending,
      inboxQuarantined: quarantined,
      parkedStatuses,
      webhookEndpoints,
      forwardDeliveries,
      replayed
    }
  } finally {
    main.exec("COMMIT")
    inbox.exec("COMMIT")
  }
}

/** Moves an identity column's sequence past the copied ids, so new rows carry on after them. */
const continueAfter = async (session: Session, table: string, column: string, max: number) => {
  if (max > 0) await session.query({ text: `SELECT setval(pg_get_serial_sequence('${table}', '${column}'), $1)`, values: [max] })
}

interface SqliteEvent extends Record<string, unknown> {
  readonly global_position: number
  readonly stream_id: string
  readonly version: number
  readonly type: string
  readonly schema_version: number
  readonly data: string
  readonly recorded_at: number
}

/** The log with its positions: clicks and cursors keep their order, and a rebuild replays the same sequence. */
const copyEvents = async (session: Session, main: SqliteFile): Promise<number> => {
  let copied = 0
  let last = 0
  for (const rows of pages<SqliteEvent>(main, "events", "1", "global_position")) {
    await session.query({
      text: `INSERT INTO events (global_position, stream_id, version, type, schema_version, data, recorded_at) OVERRIDING SYSTEM VALUE
        SELECT p, s, v, t, sv, d::json, r FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::int[], $6::text[], $7::bigint[]) AS u(p, s, v, t, sv, d, r)`,
      values: [
        rows.map((r) => r.global_position),
        rows.map((r) => r.stream_id),
        rows.map((r) => r.version),
        rows.map((r) => r.type),
        rows.map((r) => r.schema_version),
        rows.map((r) => r.data),
        rows.map((r) => r.recorded_at)
      ]
    })
    copied += rows.length
    last = rows[rows.length - 1]!.global_position
  }
  await continueAfter(session, "events", "global_position", last)
  return copied
}

const copyApiKeys = async (session: Session, main: SqliteFile): Promise<number> => {
  const rows = main.prepare("SELECT * FROM api_keys ORDER BY id").all() as Array<{
    id: string
    name: string
    business_manager_ids: string
    channel_ids: string
    secret_hash: string
    created_at: number
    revoked_at: number | null
  }>
  for (const r of rows) {
    await session.query({
      text: `INSERT INTO api_keys (id, name, business_manager_ids, channel_ids, secret_hash, created_at, revoked_at)
        VALUES ($1, $2, $3::text[], $4::text[], $5, $6, $7)`,
      values: [r.id, r.name, JSON.parse(r.business_manager_ids), JSON.parse(r.channel_ids), r.secret_hash, r.created_at, r.revoked_at]
    })
  }
  return rows.length
}

const copyCredentials = async (session: Session, main: SqliteFile): Promise<number> => {
  const rows = main.prepare("SELECT ref, ciphertext, created_at FROM channel_credentials ORDER BY ref").all() as Array<{
    ref: string
    ciphertext: string
    created_at: number
  }>
  for (const r of rows) {
    await session.query({ text: "INSERT INTO channel_credentials (ref, ciphertext, created_at) VALUES ($1, $2, $3)", values: [r.ref, r.ciphertext, r.created_at] })
  }
  return rows.length
}

interface SqliteParked extends Record<string, unknown> {
  readonly id: number
  readonly dedupe_key: string
  readonly wamid: string
  readonly channel: string
  readonly recipient: string | null
  readonly observation: string
  readonly received_at: number
  readonly retry_at: number | null
}

const copyParked = async (session: Session, main: SqliteFile): Promise<number> => {
  let copied = 0
  let last = 0
  for (const rows of pages<SqliteParked>(main, "parked_statuses", "1", "id")) {
    await session.query({
      text: `INSERT INTO parked_statuses (id, dedupe_key, wamid, channel, recipient, observation, received_at, retry_at) OVERRIDING SYSTEM VALUE
        SELECT i, k, w, c, r, o::json, t, a
        FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[]) AS u(i, k, w, c, r, o, t, a)`,
      values: [
        rows.map((r) => r.id),
        rows.map((r) => r.dedupe_key),
        rows.map((r) => r.wamid),
        rows.map((r) => r.channel),
        rows.map((r) => r.recipient),
        rows.map((r) => r.observation),
        rows.map((r) => r.received_at),
        rows.map((r) => r.retry_at)
      ]
    })
    copied += rows.length
    last = rows[rows.length - 1]!.id
  }
  await continueAfter(session, "parked_statuses", "id", last)
  return copied
}

interface SqliteInboxRow extends Record<string, unknown> {
  readonly id: number
  readonly source: string
  readonly received_at: number
  readonly headers: string
  readonly body: Buffer
  readonly body_sha256: string
  readonly state: "pending" | "quarantined"
  readonly reason: string | null
  readonly processed_at: number | null
}

/**
 * The bodies still to process and those in quarantine, with their ids (the operator's replay names
 * them) and without their claims (no worker of the target holds any). Processed bodies are done with.
 */
const copyInbox = async (session: Session, inbox: SqliteFile): Promise<{ pending: number; quarantined: number }> => {
  const counts = { pending: 0, quarantined: 0 }
  const insert = async (rows: ReadonlyArray<SqliteInboxRow>) => {
    if (rows.length === 0) return
    await session.query({
      text: `INSERT INTO inbox (id, source, received_at, headers, body, body_sha256, state, reason, processed_at) OVERRIDING SYSTEM VALUE
        SELECT i, s, r, h::json, b, h256, st, re, p FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::bytea[], $6::text[], $7::text[], $8::text[], $9::bigint[])
          AS u(i, s, r, h, b, h256, st, re, p)`,
      values: [
        rows.map((r) => r.id),
        rows.map((r) => r.source),
        rows.map((r) => r.received_at),
        rows.map((r) => r.headers),
        rows.map((r) => r.body),
        rows.map((r) => r.body_sha256),
        rows.map((r) => r.state),
        rows.map((r) => r.reason),
        rows.map((r) => r.processed_at)
      ]
    })
    for (const r of rows) counts[r.state] += 1
  }
  for (const rows of pages<SqliteInboxRow>(inbox, "inbox", "state IN ('pending', 'quarantined')", "id", INBOX_PAGE_ROWS)) {
    let batch: Array<SqliteInboxRow> = []
    let bytes = 0
    for (const row of rows) {
      if (batch.length > 0 && bytes + row.body.byteLength > BATCH_BYTES) {
        await insert(batch)
        batch = []
        bytes = 0
      }
      batch.push(row)
      bytes += row.body.byteLength
    }
    await insert(batch)
  }
  // New bodies are numbered after every id the SQLite inbox gave out, processed ones included.
  const [max] = inbox.prepare("SELECT COALESCE(MAX(id), 0) AS id FROM inbox").all() as Array<{ id: number }>
  await continueAfter(session, "inbox", "id", max?.id ?? 0)
  return counts
}

/** The tenants' endpoints, as they are (their secrets still sealed under `MMGW_SECRET_KEY`). */
const copyWebhookEndpoints = async (session: Session, main: SqliteFile): Promise<number> => {
  const rows = main.prepare("SELECT * FROM webhook_endpoints ORDER BY id").all() as Array<{
    id: string
    url: string
    events: string
    business_manager_ids: string
    channel_ids: string
    secret_ciphertext: string
    paused_at: number | null
    paused_reason: string | null
    failing_since: number | null
    created_at: number
    updated_at: number
  }>
  for (const r of rows) {
    await session.query({
      text: `INSERT INTO webhook_endpoints (id, url, events, business_manager_ids, channel_ids, secret_ciphertext, paused_at, paused_reason,
          failing_since, created_at, updated_at)
        VALUES ($1, $2, $3::text[], $4::text[], $5::text[], $6, $7, $8, $9, $10, $11)`,
      values: [
        r.id,
        r.url,
        JSON.parse(r.events),
        JSON.parse(r.business_manager_ids),
        JSON.parse(r.channel_ids),
        r.secret_ciphertext,
        r.paused_at,
        r.paused_reason,
        r.failing_since,
        r.created_at,
        r.updated_at
      ]
    })
  }
  return rows.length
}

interface SqliteDelivery {
  readonly rowid: number
  readonly id: string
  readonly endpoint_id: string
  readonly inbox_id: number
  readonly events: string
  readonly body: Buffer
  readonly received_at: number
  readonly created_at: number
  readonly deadline: number
  readonly state: string
  readonly attempts: number
  readonly next_attempt_at: number | null
  readonly last_attempt_at: number | null
  readonly last_status: number | null
  readonly last_error: string | null
  readonly delivered_at: number | null
  readonly latency_ms: number | null
  readonly replayed_at: number | null
}

/**
 * The outbox, every delivery (those still to make, and the log the operator reads and replays from),
 * without claims: no worker of the target holds any.
 */
const copyForwardDeliveries = async (session: Session, main: SqliteFile): Promise<number> => {
  const page = main.prepare(`SELECT rowid, * FROM forward_deliveries WHERE rowid > ? ORDER BY rowid LIMIT ${INBOX_PAGE_ROWS}`)
  let after = 0
  let copied = 0
  for (;;) {
    const rows = page.all(after) as Array<SqliteDelivery>
    if (rows.length === 0) return copied
    for (const r of rows) {
      await session.query({
        text: `INSERT INTO forward_deliveries (id, endpoint_id, inbox_id, events, body, received_at, created_at, deadline, state, attempts,
            next_attempt_at, last_attempt_at, last_status, last_error, delivered_at, latency_ms, replayed_at)
          VALUES ($1, $2, $3, $4::text[], $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
        values: [
          r.id,
          r.endpoint_id,
          r.inbox_id,
          JSON.parse(r.events),
          r.body,
          r.received_at,
          r.created_at,
          r.deadline,
          r.state,
          r.attempts,
          r.next_attempt_at,
          r.last_attempt_at,
          r.last_status,
          r.last_error,
          r.delivered_at,
          r.latency_ms,
          r.replayed_at
        ]
      })
    }
    copied += rows.length
    after = rows[rows.length - 1]!.rowid
  }
}
