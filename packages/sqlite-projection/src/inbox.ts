import { Context, Effect, Layer } from "effect"
import { createHash } from "node:crypto"
import { type Database, type Durability, immediate, retryBusy } from "./connection.js"
import { type CheckpointMode, withCheckpointing } from "./checkpointer.js"
import { openDatabase } from "./database.js"
import { inboxMigrations, migrate } from "./migrations.js"
import { type Page, pageOf, decodeCursor } from "./pagination.js"

export type InboxSource = "meta" | "360dialog"
export type InboxState = "pending" | "processed" | "quarantined"

export interface InboxEntry {
  readonly id: number
  readonly source: InboxSource
  readonly receivedAt: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
  readonly state: InboxState
  readonly reason: string | null
  readonly processedAt: number | null
}

export interface Accepted {
  readonly id: number
  /** The same source had already delivered this exact body: nothing new was stored. */
  readonly duplicate: boolean
}

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

/**
 * The durable webhook inbox: every verified delivery is stored raw before it is answered, and the
 * worker turns pending rows into commands. Identical deliveries (same source, same body bytes) are
 * stored once and answered as accepted again.
 */
export interface WebhookInbox {
  /** Stores a delivery and commits it at once; synchronous and cheap (prepared statements), for the webhook hot path. */
  readonly append: (body: Uint8Array, headers: Readonly<Record<string, string>>, source: InboxSource, receivedAt: number) => Accepted
  /**
   * Group commit: deliveries arriving in the same turn of the event loop share one transaction (one
   * fsync under `durability: "full"`); every promise resolves after that commit.
   */
  readonly appendGrouped: (
    body: Uint8Array,
    headers: Readonly<Record<string, string>>,
    source: InboxSource,
    receivedAt: number
  ) => Promise<Accepted>
  /** The oldest pending deliveries, in arrival order. Rows stay pending until marked, so a crash only redoes work. */
  readonly claimPending: (limit: number) => Effect.Effect<ReadonlyArray<InboxEntry>>
  readonly markProcessed: (ids: ReadonlyArray<number>, at: number) => Effect.Effect<void>
  readonly quarantine: (id: number, reason: string, at: number) => Effect.Effect<void>
  readonly listQuarantined: (limit: number, cursor: string | null) => Effect.Effect<Page<InboxEntry>>
  /** Back to pending (after an upgrade taught the decoder what it could not read). False when no such quarantined row. */
  readonly replay: (id: number) => Effect.Effect<boolean>
  readonly get: (id: number) => Effect.Effect<InboxEntry | null>
  /** For the `mmgw_webhook_inbox_pending` gauge. */
  readonly pendingCount: () => Effect.Effect<number>
}

export const WebhookInbox = Context.GenericTag<WebhookInbox>("@mm-gateway/sqlite-projection/WebhookInbox")

/**
 * The headers worth keeping with a delivery: enough to re-verify or debug it later. An allowlist, so a
 * shared-secret header (360dialog's custom webhook header) can never end up stored.
 */
export const HEADERS_KEPT = ["content-type", "user-agent", "x-hub-signature-256", "x-360dialog-signature", "x-request-id"] as const

export const headersToKeep = (headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>): Record<string, string> => {
  const kept: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase()
    if (value === undefined || !(HEADERS_KEPT as ReadonlyArray<string>).includes(lower)) continue
    kept[lower] = typeof value === "string" ? value : value.join(", ")
  }
  return kept
}

export const sha256 = (body: Uint8Array): string => createHash("sha256").update(body).digest("hex")

/** `<db>.inbox.sqlite` beside the main database file (`:memory:` stays in memory). */
export const inboxPathFor = (mainPath: string): string =>
  mainPath === ":memory:" || mainPath === "" ? ":memory:" : `${mainPath.replace(/\.sqlite3?$|\.db$/, "")}.inbox.sqlite`

export const makeInbox = (db: Database): WebhookInbox => {
  const insert = db.prepare<[string, number, string, Uint8Array, string]>(
    "INSERT INTO inbox (source, received_at, headers, body, body_sha256) VALUES (?, ?, ?, ?, ?) ON CONFLICT (source, body_sha256) DO NOTHING"
  )
  const existing = db.prepare<[string, string], { id: number }>("SELECT id FROM inbox WHERE source = ? AND body_sha256 = ?")
  const pending = db.prepare<[number], InboxRow>("SELECT * FROM inbox WHERE state = 'pending' ORDER BY id LIMIT ?")
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
    "UPDATE inbox SET state = 'pending', reason = NULL, processed_at = NULL WHERE id = ? AND state = 'quarantined'"
  )
  const byId = db.prepare<[number], InboxRow>("SELECT * FROM inbox WHERE id = ?")
  const count = db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM inbox WHERE state = 'pending'")

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

  return {
    append: (body, headers, source, receivedAt) => retryBusy(() => store(body, headers, source, receivedAt)),
    appendGrouped: (body, headers, source, receivedAt) =>
      new Promise<Accepted>((resolve, reject) => {
        if (queue.length === 0) setImmediate(flush)
        queue.push({ args: [body, headers, source, receivedAt], resolve, reject })
      }),
    claimPending: (limit) => Effect.sync(() => pending.all(Math.max(0, Math.floor(limit))).map(toEntry)),
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
    pendingCount: () => Effect.sync(() => count.get()!.n)
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
): Promise<{ readonly db: Database; readonly inbox: WebhookInbox; readonly close: () => Promise<void> }> => {
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
