import { Context, Effect, Layer } from "effect"
import { createHash } from "node:crypto"
import { type Database, type Durability, immediate, retryBusy } from "./connection.js"
import { type CheckpointMode, withCheckpointing } from "./checkpointer.js"
import { openDatabase } from "./database.js"
import { inboxMigrations, migrate } from "./migrations.js"
import { type Accepted, decodeCursor, type InboxEntry, type InboxSource, type InboxState, pageOf, WebhookInbox } from "@mm-gateway/ports"

interface InboxRow {
  readonly id: number
  readonly source: InboxSource
  readonly received_at: number
  readonly headers: string
  readonly body: Buffer
  readonly state: InboxState
  readonly reason: string | null
  readonly processed_at: number | null
}

const toEntry = (r: InboxRow): InboxEntry => ({
  id: r.id,
  source: r.source,
  receivedAt: r.received_at,
  headers: JSON.parse(r.headers) as Record<string, string>,
  body: new Uint8Array(r.body.buffer, r.body.byteOffset, r.body.byteLength),
  state: r.state,
  reason: r.reason,
  processedAt: r.processed_at
})


export const sha256 = (body: Uint8Array): string => createHash("sha256").update(body).digest("hex")

/** `<db>.inbox.sqlite` beside the main database file (`:memory:` stays in memory). */
export const inboxPathFor = (mainPath: string): string =>
  mainPath === ":memory:" || mainPath === "" ? ":memory:" : `${mainPath.replace(/\.sqlite3?$|\.db$/, "")}.inbox.sqlite`

/**
 * The inbox on SQLite: the `WebhookInbox` port, plus `appendGrouped` (group commit: deliveries
 * arriving in the same turn of the event loop share one transaction — one fsync under
 * `durability: "full"` — and every promise resolves after it), which `accept` is made of.
 */
export interface SqliteInbox extends Context.Tag.Service<WebhookInbox> {
  readonly appendGrouped: (body: Uint8Array, headers: Readonly<Record<string, string>>, source: InboxSource, receivedAt: number) => Promise<Accepted>
}

export const makeInbox = (db: Database): SqliteInbox => {
  const insert = db.prepare<[string, number, string, Uint8Array, string]>(
    "INSERT INTO inbox (source, received_at, headers, body, body_sha256) VALUES (?, ?, ?, ?, ?) ON CONFLICT (source, body_sha256) DO NOTHING"
  )
  const existing = db.prepare<[string, string], { id: number }>("SELECT id FROM inbox WHERE source = ? AND body_sha256 = ?")
  // One statement: two workers claiming at once get disjoint rows (SQLite runs one writer at a time).
  const claim = db.prepare<[{ claimant: string; now: number; until: number; limit: number }], InboxRow>(
    `UPDATE inbox SET claimed_by = @claimant, claimed_until = @until
     WHERE id IN (
       SELECT id FROM inbox INDEXED BY inbox_by_state
       WHERE state = 'pending' AND (claimed_until IS NULL OR claimed_until <= @now OR claimed_by = @claimant)
       ORDER BY id LIMIT @limit
     )
     RETURNING id, source, received_at, headers, body, state, reason, processed_at`
  )
  const claims = db.prepare<[number], { claimant: string; bodies: number }>(
    `SELECT claimed_by AS claimant, COUNT(*) AS bodies FROM inbox
     WHERE state = 'pending' AND claimed_until > ? GROUP BY claimed_by ORDER BY claimed_by`
  )
  const processed = db.prepare<[number, number]>(
    "UPDATE inbox SET state = 'processed', reason = NULL, processed_at = ? WHERE id = ? AND state = 'pending'"
  )
  const quarantined = db.prepare<[string, number, number]>(
    "UPDATE inbox SET state = 'quarantined', reason = ?, processed_at = ? WHERE id = ? AND state = 'pending'"
  )
  const listQuarantined = db.prepare<[number, number], InboxRow>(
    "SELECT * FROM inbox WHERE state = 'quarantined' AND id > ? ORDER BY id LIMIT ?"
  )
  const replay = db.prepare<[number]>(
    "UPDATE inbox SET state = 'pending', reason = NULL, processed_at = NULL, claimed_by = NULL, claimed_until = NULL WHERE id = ? AND state = 'quarantined'"
  )
  const byId = db.prepare<[number], InboxRow>("SELECT * FROM inbox WHERE id = ?")
  const count = db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM inbox WHERE state = 'pending'")
  // Among the oldest `limit` processed rows only (ids follow processing closely): the timers run this
  // every second, and a filter over every processed row would read the whole retention each time.
  const dropProcessed = db.prepare<[number, number]>(
    `DELETE FROM inbox WHERE id IN (
       SELECT id FROM (SELECT id, processed_at FROM inbox INDEXED BY inbox_by_state WHERE state = 'processed' ORDER BY id LIMIT ?)
       WHERE processed_at < ?
     )`
  )

  const store = (body: Uint8Array, headers: Readonly<Record<string, string>>, source: InboxSource, receivedAt: number): Accepted => {
    const hash = sha256(body)
    const r = insert.run(source, receivedAt, JSON.stringify(headers), body, hash)
    if (r.changes === 1) return { id: Number(r.lastInsertRowid), duplicate: false }
    return { id: existing.get(source, hash)!.id, duplicate: true }
  }

  type Waiting = {
    readonly args: Parameters<typeof store>
    readonly resolve: (a: Accepted) => void
    readonly reject: (e: unknown) => void
  }
  let queue: Array<Waiting> = []
  const flush = () => {
    const batch = queue
    queue = []
    try {
      const results = immediate(db, () => batch.map((w) => store(...w.args)))
      batch.forEach((w, i) => w.resolve(results[i]!))
    } catch (error) {
      for (const w of batch) w.reject(error)
    }
  }

  const appendGrouped = (body: Uint8Array, headers: Readonly<Record<string, string>>, source: InboxSource, receivedAt: number) =>
    new Promise<Accepted>((resolve, reject) => {
      if (queue.length === 0) setImmediate(flush)
      queue.push({ args: [body, headers, source, receivedAt], resolve, reject })
    })

  return {
    appendGrouped,
    accept: (body, headers, source, receivedAt) => Effect.promise(() => appendGrouped(body, headers, source, receivedAt)),
    claimPending: (limit, claimant, now, ttlMs) =>
      Effect.sync(() => {
        const n = Math.max(0, Math.floor(limit))
        if (n === 0) return []
        return retryBusy(() => claim.all({ claimant, now, until: now + ttlMs, limit: n })).sort((a, b) => a.id - b.id).map(toEntry)
      }),
    claims: (now) => Effect.sync(() => claims.all(now)),
    markProcessed: (ids, at) =>
      Effect.sync(() => {
        if (ids.length > 0) immediate(db, () => ids.forEach((id) => processed.run(at, id)))
      }),
    quarantine: (id, reason, at) => Effect.sync(() => void retryBusy(() => quarantined.run(reason, at, id))),
    listQuarantined: (limit, cursor) =>
      Effect.sync(() => {
        const after = decodeCursor<[number]>(cursor)?.[0] ?? 0
        const n = Math.max(1, Math.floor(limit))
        return pageOf(listQuarantined.all(after, n).map(toEntry), n, (e) => [e.id])
      }),
    replay: (id) => Effect.sync(() => retryBusy(() => replay.run(id)).changes === 1),
    get: (id) => Effect.sync(() => {
      const row = byId.get(id)
      return row === undefined ? null : toEntry(row)
    }),
    pendingCount: () => Effect.sync(() => count.get()!.n),
    dropProcessed: (processedBefore, limit) =>
      Effect.sync(() => retryBusy(() => dropProcessed.run(Math.max(0, Math.floor(limit)), processedBefore)).changes)
  }
}

export interface InboxOptions {
  /** The inbox file; see `inboxPathFor`. */
  readonly path: string
  readonly durability?: Durability
  readonly busyTimeoutMs?: number
  /** `"automatic"` by default; `"background"` for the process that takes webhooks (the api). See `CheckpointMode`. */
  readonly checkpoint?: CheckpointMode
}

/**
 * Page cache of an inbox connection, in KiB. Every insert lands at a random place of the dedupe index
 * (a SHA-256), so once that index outgrows SQLite's default 2 MiB cache each insert reads pages back
 * from the OS; 64 MiB keeps millions of deliveries' index pages in memory (profiled under benchmark B1:
 * SQLite's share of the hot path fell from 44 % to 18 %).
 */
export const INBOX_CACHE_KIB = 65_536

/** Opens and migrates the inbox database; async because kysely's migrator is. */
export const openInbox = async (
  options: InboxOptions
): Promise<{ readonly db: Database; readonly inbox: SqliteInbox; readonly close: () => Promise<void> }> => {
  const db = openDatabase(options.path, options.durability ?? "normal", options.busyTimeoutMs)
  db.pragma(`cache_size = -${INBOX_CACHE_KIB}`)
  try {
    await migrate(db, inboxMigrations)
  } catch (error) {
    db.close()
    throw error
  }
  return { db, inbox: makeInbox(db), ...withCheckpointing(db, options.checkpoint) }
}

export const layerInbox = (options: InboxOptions): Layer.Layer<WebhookInbox> =>
  Layer.scoped(
    WebhookInbox,
    Effect.map(
      Effect.acquireRelease(Effect.promise(() => openInbox(options)), ({ close }) => Effect.promise(close)),
      ({ inbox }) => inbox
    )
  )
