import { type Accepted, decodeCursor, type InboxEntry, type InboxSource, type InboxState, pageOf, WebhookInbox } from "@mm-gateway/ports"
import { type Context, Effect, Layer } from "effect"
import { createHash } from "node:crypto"
import { type Database, PostgresDatabase, type Session, statements } from "./connection.js"

interface InboxRow {
  readonly id: string
  readonly source: InboxSource
  readonly received_at: string
  readonly headers: Record<string, string>
  readonly body: Buffer
  readonly state: InboxState
  readonly reason: string | null
  readonly processed_at: string | null
}

const COLUMNS = "id, source, received_at, headers, body, state, reason, processed_at"

const toEntry = (r: InboxRow): InboxEntry => ({
  id: Number(r.id),
  source: r.source,
  receivedAt: Number(r.received_at),
  headers: r.headers,
  body: new Uint8Array(r.body.buffer, r.body.byteOffset, r.body.byteLength),
  state: r.state,
  reason: r.reason,
  processedAt: r.processed_at === null ? null : Number(r.processed_at)
})

const sha256 = (body: Uint8Array): string => createHash("sha256").update(body).digest("hex")

/**
 * Stores a delivery unless the same source delivered the same bytes before, and gives its id. A
 * duplicate arriving while the first is being committed waits for it at the unique index and then
 * finds nothing to insert; the look-up after it is a statement of its own, so it sees that commit.
 */
const store = async (session: Session, body: Uint8Array, headers: Readonly<Record<string, string>>, source: InboxSource, receivedAt: number): Promise<Accepted> => {
  const hash = sha256(body)
  const inserted = await session.query<{ id: string }>({
    name: "mmgw_inbox_insert",
    text: `INSERT INTO inbox (source, received_at, headers, body, body_sha256) VALUES ($1, $2, $3::json, $4, $5)
           ON CONFLICT (source, body_sha256) DO NOTHING RETURNING id`,
    // A copy of the bytes: the driver reads them when the statement goes out, maybe after the caller reused its buffer.
    values: [source, receivedAt, JSON.stringify(headers), Buffer.from(body), hash]
  })
  if (inserted[0] !== undefined) return { id: Number(inserted[0].id), duplicate: false }
  const existing = await session.query<{ id: string }>({
    name: "mmgw_inbox_existing",
    text: "SELECT id FROM inbox WHERE source = $1 AND body_sha256 = $2",
    values: [source, hash]
  })
  return { id: Number(existing[0]!.id), duplicate: true }
}

/**
 * The `WebhookInbox` port on PostgreSQL (table `inbox`). `accept` resolves once its row is committed
 * (its own statement's transaction, outside a unit of work); the server's own group commit lets
 * concurrent deliveries share a flush, so nothing is batched here.
 */
export const makeInbox = (db: Database): Context.Tag.Service<WebhookInbox> => {
  const rows = (name: string, text: string, values: ReadonlyArray<unknown>) =>
    statements(db, async (session) => (await session.query<InboxRow>({ name, text, values })).map(toEntry))
  const changed = (name: string, text: string, values: ReadonlyArray<unknown>) =>
    statements(db, async (session) => (await session.query({ name, text, values })).length)
  return {
    accept: (body, headers, source, receivedAt) => statements(db, (session) => store(session, body, headers, source, receivedAt)),
    claimPending: (limit, claimant, now, ttlMs) =>
      limit < 1 ? Effect.succeed([]) : Effect.map(
        rows(
          "mmgw_inbox_claim",
          // Rows another claimant is claiming at this moment are skipped, not waited for: the claimants
          // racing get disjoint rows, each as many as there are.
          `UPDATE inbox SET claimed_by = $1, claimed_until = $3
           WHERE id IN (
             SELECT id FROM inbox
             WHERE state = 'pending' AND (claimed_until IS NULL OR claimed_until <= $2 OR claimed_by = $1)
             ORDER BY id LIMIT $4
             FOR UPDATE SKIP LOCKED
           )
           RETURNING ${COLUMNS}`,
          [claimant, now, now + ttlMs, Math.floor(limit)]
        ),
        (entries) => [...entries].sort((a, b) => a.id - b.id)
      ),
    claims: (now) =>
      statements(db, async (session) =>
        (await session.query<{ claimant: string; bodies: string }>({
          name: "mmgw_inbox_claims",
          text: `SELECT claimed_by AS claimant, count(*) AS bodies FROM inbox
                 WHERE state = 'pending' AND claimed_until > $1 GROUP BY claimed_by ORDER BY claimed_by COLLATE "C"`,
          values: [now]
        })).map((r) => ({ claimant: r.claimant, bodies: Number(r.bodies) }))
      ),
    markProcessed: (ids, at) =>
      ids.length === 0 ? Effect.void : Effect.asVoid(changed(
        "mmgw_inbox_processed",
        "UPDATE inbox SET state = 'processed', reason = NULL, processed_at = $1 WHERE id = ANY($2::bigint[]) AND state = 'pending' RETURNING 1",
        [at, ids]
      )),
    quarantine: (id, reason, at) =>
      Effect.asVoid(changed(
        "mmgw_inbox_quarantine",
        "UPDATE inbox SET state = 'quarantined', reason = $2, processed_at = $3 WHERE id = $1 AND state = 'pending' RETURNING 1",
        [id, reason, at]
      )),
    listQuarantined: (limit, cursor) => {
      const after = decodeCursor<[number]>(cursor)?.[0] ?? 0
      const n = Math.max(1, Math.floor(limit))
      return Effect.map(
        rows("mmgw_inbox_quarantined", `SELECT ${COLUMNS} FROM inbox WHERE state = 'quarantined' AND id > $1 ORDER BY id LIMIT $2`, [after, n]),
        (entries) => pageOf(entries, n, (e) => [e.id])
      )
    },
    replay: (id) =>
      Effect.map(
        changed(
          "mmgw_inbox_replay",
          "UPDATE inbox SET state = 'pending', reason = NULL, processed_at = NULL, claimed_by = NULL, claimed_until = NULL WHERE id = $1 AND state = 'quarantined' RETURNING 1",
          [id]
        ),
        (n) => n === 1
      ),
    get: (id) => Effect.map(rows("mmgw_inbox_get", `SELECT ${COLUMNS} FROM inbox WHERE id = $1`, [id]), (found) => found[0] ?? null),
    pendingCount: () =>
      statements(db, async (session) => {
        const [row] = await session.query<{ n: string }>({ name: "mmgw_inbox_pending_count", text: "SELECT count(*) AS n FROM inbox WHERE state = 'pending'" })
        return Number(row!.n)
      }),
    dropProcessed: (processedBefore, limit) =>
      changed(
        "mmgw_inbox_drop_processed",
        // Among the oldest `limit` processed rows only (ids follow processing closely): the timers run
        // this every second, and a filter over every processed row would read the whole retention each time.
        `DELETE FROM inbox WHERE id IN (
           SELECT id FROM (SELECT id, processed_at FROM inbox WHERE state = 'processed' ORDER BY id LIMIT $2) AS oldest
           WHERE processed_at < $1
         ) RETURNING 1`,
        [processedBefore, Math.max(0, Math.floor(limit))]
      )
  }
}

export const layerInbox: Layer.Layer<WebhookInbox, never, PostgresDatabase> = Layer.effect(WebhookInbox, Effect.map(PostgresDatabase, makeInbox))
