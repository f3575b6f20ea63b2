import {
  decodeCursor,
  type Delivery,
  type DeliveryState,
  encodeCursor,
  type ForwardEvent,
  ForwardingOutbox,
  type WebhookEndpointRecord,
  WebhookEndpoints
} from "@mm-gateway/ports"
import { Context, Effect, Layer } from "effect"
import { type Database, PostgresDatabase, statements } from "./connection.js"

interface EndpointRow {
  readonly id: string
  readonly url: string
  readonly events: Array<ForwardEvent>
  readonly business_manager_ids: Array<string>
  readonly channel_ids: Array<string>
  readonly secret_ciphertext: string
  readonly paused_at: string | null
  readonly paused_reason: string | null
  readonly failing_since: string | null
  readonly created_at: string
  readonly updated_at: string
}

const num = (v: string | null): number | null => (v === null ? null : Number(v))

const toEndpoint = (row: EndpointRow): WebhookEndpointRecord => ({
  id: row.id,
  url: row.url,
  events: row.events,
  businessManagerIds: row.business_manager_ids,
  channelIds: row.channel_ids,
  secretCiphertext: row.secret_ciphertext,
  paused: row.paused_at === null ? null : { at: Number(row.paused_at), reason: row.paused_reason ?? "" },
  failingSince: num(row.failing_since),
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at)
})

interface DeliveryRow {
  readonly id: string
  readonly endpoint_id: string
  readonly inbox_id: string | null
  readonly events: Array<ForwardEvent>
  readonly body: Buffer
  readonly received_at: string
  readonly created_at: string
  readonly deadline: string
  readonly state: DeliveryState
  readonly attempts: number
  readonly next_attempt_at: string | null
  readonly last_attempt_at: string | null
  readonly last_status: number | null
  readonly last_error: string | null
  readonly delivered_at: string | null
  readonly latency_ms: string | null
  readonly replayed_at: string | null
}

const toDelivery = (row: DeliveryRow): Delivery => ({
  id: row.id,
  endpointId: row.endpoint_id,
  inboxId: num(row.inbox_id),
  events: row.events,
  body: new Uint8Array(row.body),
  receivedAt: Number(row.received_at),
  createdAt: Number(row.created_at),
  deadline: Number(row.deadline),
  state: row.state,
  attempts: row.attempts,
  nextAttemptAt: num(row.next_attempt_at),
  lastAttemptAt: num(row.last_attempt_at),
  lastStatus: row.last_status,
  lastError: row.last_error,
  deliveredAt: num(row.delivered_at),
  latencyMs: num(row.latency_ms),
  replayedAt: num(row.replayed_at)
})

const ENDPOINT_COLUMNS = `id, url, events, business_manager_ids, channel_ids, secret_ciphertext, paused_at, paused_reason, failing_since,
  created_at, updated_at`
const DELIVERY_COLUMNS = `id, endpoint_id, inbox_id, events, body, received_at, created_at, deadline, state, attempts, next_attempt_at,
  last_attempt_at, last_status, last_error, delivered_at, latency_ms, replayed_at`

/** At most this many deliveries of paused endpoints are held by one claim; the next claim goes on. */
const MAX_HELD_PER_CLAIM = 10_000
/** How far a claim's later scans look once it has passed a paused endpoint's deliveries. */
const HELD_SCAN = 1_000

/** Webhook endpoints (table `webhook_endpoints`) and their outbox (`forward_deliveries`, deleted with their endpoint). */
export const makeForwarding = (db: Database) => {
  const query = <R extends object>(name: string, text: string, values: ReadonlyArray<unknown>) =>
    statements(db, (session) => session.query<R>({ name, text, values: [...values] }))
  const endpointRows = (name: string, text: string, values: ReadonlyArray<unknown>) =>
    Effect.map(query<EndpointRow>(name, text, values), (rows) => rows.map(toEndpoint))
  const oneEndpoint = (name: string, text: string, values: ReadonlyArray<unknown>) =>
    Effect.map(endpointRows(name, text, values), (rows) => rows[0] ?? null)
  const count = (name: string, text: string, values: ReadonlyArray<unknown>) => Effect.map(query(name, text, values), (rows) => rows.length)

  const endpoints = WebhookEndpoints.of({
    insert: (r) =>
      Effect.asVoid(query(
        "mmgw_endpoint_insert",
        `INSERT INTO webhook_endpoints (${ENDPOINT_COLUMNS}) VALUES ($1, $2, $3::text[], $4::text[], $5::text[], $6, $7, $8, $9, $10, $11)`,
        [r.id, r.url, r.events, r.businessManagerIds, r.channelIds, r.secretCiphertext, r.paused?.at ?? null, r.paused?.reason ?? null, r.failingSince, r.createdAt, r.updatedAt]
      )),
    find: (id) => oneEndpoint("mmgw_endpoint", `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1`, [id]),
    list: (limit, afterId, scope) =>
      endpointRows(
        "mmgw_endpoints",
        `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints
         WHERE id > $1 AND ($2::boolean OR business_manager_ids && $3::text[] OR channel_ids && $4::text[])
         ORDER BY id LIMIT $5`,
        [afterId ?? "", scope === null, scope?.businessManagerIds ?? [], scope?.channelIds ?? [], Math.max(0, Math.floor(limit))]
      ),
    covering: (businessManagerIds, channelIds) =>
      endpointRows(
        "mmgw_endpoints_covering",
        `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE business_manager_ids && $1::text[] OR channel_ids && $2::text[] ORDER BY id`,
        [businessManagerIds, channelIds]
      ),
    update: (id, c, at) =>
      oneEndpoint(
        "mmgw_endpoint_update",
        `UPDATE webhook_endpoints SET url = coalesce($2, url), events = coalesce($3::text[], events),
           secret_ciphertext = coalesce($4, secret_ciphertext),
           paused_at = CASE WHEN $5::boolean THEN $6::bigint ELSE paused_at END,
           paused_reason = CASE WHEN $5::boolean THEN $7::text ELSE paused_reason END,
           updated_at = $8
         WHERE id = $1 RETURNING ${ENDPOINT_COLUMNS}`,
        [id, c.url ?? null, c.events ?? null, c.secretCiphertext ?? null, c.paused !== undefined, c.paused?.at ?? null, c.paused?.reason ?? null, at]
      ),
    remove: (id) => Effect.map(count("mmgw_endpoint_remove", "DELETE FROM webhook_endpoints WHERE id = $1 RETURNING 1", [id]), (n) => n > 0),
    recordAttempt: (id, succeeded, at) =>
      oneEndpoint(
        "mmgw_endpoint_attempt",
        `UPDATE webhook_endpoints SET failing_since = CASE WHEN $2::boolean THEN NULL ELSE coalesce(failing_since, $3) END
         WHERE id = $1 RETURNING ${ENDPOINT_COLUMNS}`,
        [id, succeeded, at]
      )
  })

  const outbox = ForwardingOutbox.of({
    enqueue: (made) =>
      made.length === 0 ? Effect.void : Effect.asVoid(query(
        "mmgw_delivery_enqueue",
        `INSERT INTO forward_deliveries (id, endpoint_id, inbox_id, events, body, received_at, created_at, deadline, state, attempts, next_attempt_at)
         SELECT d.id, d.endpoint_id, d.inbox_id, array(SELECT jsonb_array_elements_text(d.events)), decode(d.body, 'base64'),
           d.received_at, d.created_at, d.deadline, 'pending', 0, d.created_at
         FROM jsonb_to_recordset($1::jsonb) AS d(id text, endpoint_id text, inbox_id bigint, events jsonb, body text,
           received_at bigint, created_at bigint, deadline bigint)
         ON CONFLICT (id) DO NOTHING`,
        [JSON.stringify(made.map((d) => ({
          id: d.id,
          endpoint_id: d.endpointId,
          inbox_id: d.inboxId,
          events: d.events,
          body: Buffer.from(d.body).toString("base64"),
          received_at: d.receivedAt,
          created_at: d.createdAt,
          deadline: d.deadline
        })))]
      )),
    claimDue: (limit, claimant, now, ttlMs) =>
      limit < 1 ? Effect.succeed([]) : Effect.gen(function*() {
        yield* query(
          "mmgw_delivery_release",
          `UPDATE forward_deliveries SET next_attempt_at = $1 WHERE state = 'pending' AND next_attempt_at IS NULL
             AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE paused_at IS NULL)`,
          [now]
        )
        const claimed: Array<Delivery> = []
        let held = 0
        // The first scan asks for what is wanted; when it passed a paused endpoint's deliveries (now
        // held), the next scans look further, up to MAX_HELD_PER_CLAIM held in one claim.
        for (let scan = Math.floor(limit); claimed.length < limit && held < MAX_HELD_PER_CLAIM; scan = HELD_SCAN) {
          const rows = yield* query<DeliveryRow & { held: string }>(
            "mmgw_delivery_claim",
            // Rows another claimant is claiming at this moment are skipped, not waited for.
            `WITH scanned AS (
               SELECT d.id, d.next_attempt_at,
                 NOT EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = d.endpoint_id AND e.paused_at IS NULL) AS held_back
               FROM forward_deliveries d
               WHERE d.state = 'pending' AND d.next_attempt_at <= $2 AND (d.claimed_by IS NULL OR d.claimed_until <= $2)
               ORDER BY d.next_attempt_at, d.id COLLATE "C" LIMIT $4
               FOR UPDATE OF d SKIP LOCKED
             ), held AS (
               UPDATE forward_deliveries SET next_attempt_at = NULL WHERE id IN (SELECT id FROM scanned WHERE held_back) RETURNING 1
             ), claimed AS (
               UPDATE forward_deliveries SET claimed_by = $1, claimed_until = $3
               WHERE id IN (SELECT id FROM scanned WHERE NOT held_back ORDER BY next_attempt_at, id COLLATE "C" LIMIT $5)
               RETURNING ${DELIVERY_COLUMNS}
             )
             SELECT c.*, h.held FROM (SELECT count(*) AS held FROM held) h LEFT JOIN claimed c ON true`,
            [claimant, now, now + ttlMs, scan, Math.floor(limit) - claimed.length]
          )
          for (const row of rows) if (row.id !== null) claimed.push(toDelivery(row))
          const heldNow = Number(rows[0]?.held ?? 0)
          held += heldNow
          if (heldNow === 0) break
        }
        return claimed.sort((a, b) => a.nextAttemptAt! - b.nextAttemptAt! || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      }),
    delivered: (id, at, status) =>
      Effect.asVoid(query(
        "mmgw_delivery_delivered",
        `UPDATE forward_deliveries SET state = 'delivered', attempts = attempts + 1, next_attempt_at = NULL, last_attempt_at = $2,
           last_status = $3, last_error = NULL, delivered_at = $2, latency_ms = CASE WHEN replayed_at IS NULL THEN $2 - received_at END,
           claimed_by = NULL, claimed_until = 0
         WHERE id = $1`,
        [id, at, status]
      )),
    attemptFailed: (id, at, status, error, retryAt) =>
      Effect.asVoid(query(
        "mmgw_delivery_failed",
        `UPDATE forward_deliveries SET state = CASE WHEN $5::bigint IS NULL THEN 'failed' ELSE 'pending' END, attempts = attempts + 1,
           next_attempt_at = $5, last_attempt_at = $2, last_status = $3, last_error = $4, claimed_by = NULL, claimed_until = 0
         WHERE id = $1`,
        [id, at, status, error, retryAt]
      )),
    get: (id) =>
      Effect.map(
        query<DeliveryRow>("mmgw_delivery", `SELECT ${DELIVERY_COLUMNS} FROM forward_deliveries WHERE id = $1`, [id]),
        (rows) => (rows[0] === undefined ? null : toDelivery(rows[0]))
      ),
    list: (endpointId, limit, cursor, state) => {
      const from = decodeCursor<[number, string]>(cursor) ?? [Number.MAX_SAFE_INTEGER, ""]
      return Effect.map(
        query<DeliveryRow>(
          "mmgw_deliveries",
          `SELECT ${DELIVERY_COLUMNS} FROM forward_deliveries
           WHERE endpoint_id = $1 AND ($2::text IS NULL OR state = $2) AND (created_at < $3 OR (created_at = $3 AND id COLLATE "C" > $4))
           ORDER BY created_at DESC, id COLLATE "C" LIMIT $5`,
          [endpointId, state, from[0], from[1], Math.max(0, Math.floor(limit))]
        ),
        (rows) => {
          const items = rows.map(toDelivery)
          const last = items[items.length - 1]
          return { items, nextCursor: items.length >= limit && last !== undefined ? encodeCursor([last.createdAt, last.id]) : null }
        }
      )
    },
    replay: (endpointId, selection, now, deadline) =>
      count(
        "mmgw_delivery_replay",
        `UPDATE forward_deliveries SET state = 'pending', next_attempt_at = $2, deadline = $3, replayed_at = $2, claimed_by = NULL, claimed_until = 0
         WHERE endpoint_id = $1 AND state <> 'pending'
           AND (($4::text IS NOT NULL AND id = $4) OR ($4::text IS NULL AND created_at >= $5 AND created_at <= $6))
         RETURNING 1`,
        selection._tag === "Delivery"
          ? [endpointId, now, deadline, selection.deliveryId, 0, 0]
          : [endpointId, now, deadline, null, selection.from, selection.to]
      ),
    resume: (endpointId, now, deadline) =>
      count(
        "mmgw_delivery_resume",
        "UPDATE forward_deliveries SET next_attempt_at = $2, deadline = $3 WHERE endpoint_id = $1 AND state = 'pending' RETURNING 1",
        [endpointId, now, deadline]
      ),
    dropFinished: (createdBefore, limit) =>
      count(
        "mmgw_delivery_drop_finished",
        `DELETE FROM forward_deliveries WHERE id IN (
           SELECT id FROM forward_deliveries WHERE state <> 'pending' AND created_at < $1 ORDER BY created_at, id LIMIT $2
         ) RETURNING 1`,
        [createdBefore, Math.max(0, Math.floor(limit))]
      ),
    summary: (since) =>
      Effect.map(
        query<{ pending: string; retrying: string; failed: string; oldest: string | null; n: string; p50: string | null; p99: string | null }>(
          "mmgw_delivery_summary",
          `SELECT count(*) FILTER (WHERE state = 'pending') AS pending,
             count(*) FILTER (WHERE state = 'pending' AND attempts > 0) AS retrying,
             count(*) FILTER (WHERE state = 'failed') AS failed,
             min(created_at) FILTER (WHERE state = 'pending') AS oldest,
             l.n, l.p50, l.p99
           FROM forward_deliveries,
             (SELECT count(*) AS n, percentile_disc(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50,
                percentile_disc(0.99) WITHIN GROUP (ORDER BY latency_ms) AS p99
              FROM forward_deliveries WHERE delivered_at >= $1 AND latency_ms IS NOT NULL) AS l
           GROUP BY l.n, l.p50, l.p99`,
          [since]
        ),
        (rows) => {
          const r = rows[0]
          return {
            pending: Number(r?.pending ?? 0),
            retrying: Number(r?.retrying ?? 0),
            failed: Number(r?.failed ?? 0),
            oldestPendingAt: num(r?.oldest ?? null),
            latency: { count: Number(r?.n ?? 0), p50: num(r?.p50 ?? null), p99: num(r?.p99 ?? null) }
          }
        }
      ),
    health: (endpointIds) =>
      Effect.map(
        query<{ id: string; pending: string; failed: string; last_delivered_at: string | null; last_error: string | null }>(
          "mmgw_delivery_health",
          `SELECT ids.id,
             count(d.id) FILTER (WHERE d.state = 'pending') AS pending,
             count(d.id) FILTER (WHERE d.state = 'failed') AS failed,
             max(d.delivered_at) AS last_delivered_at,
             (SELECT last_error FROM forward_deliveries f WHERE f.endpoint_id = ids.id AND f.last_error IS NOT NULL
              ORDER BY f.last_attempt_at DESC LIMIT 1) AS last_error
           FROM unnest($1::text[]) AS ids(id) LEFT JOIN forward_deliveries d ON d.endpoint_id = ids.id
           GROUP BY ids.id`,
          [endpointIds]
        ),
        (rows) => {
          const byId = new Map(rows.map((r) => [r.id, r]))
          return endpointIds.map((endpointId) => {
            const r = byId.get(endpointId)
            return {
              endpointId,
              pending: Number(r?.pending ?? 0),
              failed: Number(r?.failed ?? 0),
              lastDeliveredAt: num(r?.last_delivered_at ?? null),
              lastError: r?.last_error ?? null
            }
          })
        }
      )
  })

  return { endpoints, outbox }
}

export const layerForwarding: Layer.Layer<WebhookEndpoints | ForwardingOutbox, never, PostgresDatabase> = Layer.effectContext(
  Effect.map(PostgresDatabase, (db) => {
    const { endpoints, outbox } = makeForwarding(db)
    return Context.make(WebhookEndpoints, endpoints).pipe(Context.add(ForwardingOutbox, outbox))
  })
)
