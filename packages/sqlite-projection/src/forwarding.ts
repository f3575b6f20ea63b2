import {
  decodeCursor,
  type Delivery,
  type DeliveryState,
  encodeCursor,
  type ForwardEvent,
  ForwardingOutbox,
  nearestRank,
  type WebhookEndpointRecord,
  WebhookEndpoints
} from "@mm-gateway/ports"
import { Context, Effect, Layer } from "effect"
import { type Database, gated, immediate } from "./connection.js"
import { SqliteDatabase } from "./database.js"

interface EndpointRow {
  readonly id: string
  readonly url: string
  readonly events: string
  readonly business_manager_ids: string
  readonly channel_ids: string
  readonly secret_ciphertext: string
  readonly paused_at: number | null
  readonly paused_reason: string | null
  readonly failing_since: number | null
  readonly created_at: number
  readonly updated_at: number
}

const toEndpoint = (row: EndpointRow): WebhookEndpointRecord => ({
  id: row.id,
  url: row.url,
  events: JSON.parse(row.events) as Array<ForwardEvent>,
  businessManagerIds: JSON.parse(row.business_manager_ids) as Array<string>,
  channelIds: JSON.parse(row.channel_ids) as Array<string>,
  secretCiphertext: row.secret_ciphertext,
  paused: row.paused_at === null ? null : { at: row.paused_at, reason: row.paused_reason ?? "" },
  failingSince: row.failing_since,
  createdAt: row.created_at,
  updatedAt: row.updated_at
})

interface DeliveryRow {
  readonly id: string
  readonly endpoint_id: string
  readonly inbox_id: number | null
  readonly events: string
  readonly body: Buffer
  readonly received_at: number
  readonly created_at: number
  readonly deadline: number
  readonly state: DeliveryState
  readonly attempts: number
  readonly next_attempt_at: number | null
  readonly last_attempt_at: number | null
  readonly last_status: number | null
  readonly last_error: string | null
  readonly delivered_at: number | null
  readonly latency_ms: number | null
  readonly replayed_at: number | null
}

const toDelivery = (row: DeliveryRow): Delivery => ({
  id: row.id,
  endpointId: row.endpoint_id,
  inboxId: row.inbox_id,
  events: JSON.parse(row.events) as Array<ForwardEvent>,
  // The driver's Buffer is the row's own copy already.
  body: row.body,
  receivedAt: row.received_at,
  createdAt: row.created_at,
  deadline: row.deadline,
  state: row.state,
  attempts: row.attempts,
  nextAttemptAt: row.next_attempt_at,
  lastAttemptAt: row.last_attempt_at,
  lastStatus: row.last_status,
  lastError: row.last_error,
  deliveredAt: row.delivered_at,
  latencyMs: row.latency_ms,
  replayedAt: row.replayed_at
})

const DELIVERY_COLUMNS = `id, endpoint_id, inbox_id, events, body, received_at, created_at, deadline, state, attempts, next_attempt_at,
  last_attempt_at, last_status, last_error, delivered_at, latency_ms, replayed_at`

/** Whether an endpoint row (its JSON id lists) names one of the given Business Managers or channels. */
const COVERS = `(EXISTS (SELECT 1 FROM json_each(e.business_manager_ids) b WHERE b.value IN (SELECT value FROM json_each(?)))
  OR EXISTS (SELECT 1 FROM json_each(e.channel_ids) c WHERE c.value IN (SELECT value FROM json_each(?))))`

/** At most this many deliveries of paused endpoints are held by one claim (its transaction stays short); the next claim goes on. */
const MAX_HELD_PER_CLAIM = 10_000

/** Webhook endpoints (table `webhook_endpoints`) and their outbox (`forward_deliveries`) in the main database. */
export const makeForwarding = (db: Database) => {
  const insertEndpoint = db.prepare(
    `INSERT INTO webhook_endpoints (id, url, events, business_manager_ids, channel_ids, secret_ciphertext, paused_at, paused_reason,
      failing_since, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
  )
  const findEndpoint = db.prepare<[string], EndpointRow>("SELECT * FROM webhook_endpoints WHERE id = ?")
  const listAll = db.prepare<[string, number], EndpointRow>("SELECT * FROM webhook_endpoints e WHERE id > ? ORDER BY id LIMIT ?")
  const listScoped = db.prepare<[string, string, string, number], EndpointRow>(
    `SELECT * FROM webhook_endpoints e WHERE id > ? AND ${COVERS} ORDER BY id LIMIT ?`
  )
  const covering = db.prepare<[string, string], EndpointRow>(`SELECT * FROM webhook_endpoints e WHERE ${COVERS} ORDER BY id`)
  const updateEndpoint = db.prepare(
    `UPDATE webhook_endpoints SET url = ?, events = ?, secret_ciphertext = ?, paused_at = ?, paused_reason = ?, updated_at = ? WHERE id = ?`
  )
  const setFailingSince = db.prepare<[number | null, string]>("UPDATE webhook_endpoints SET failing_since = ? WHERE id = ?")
  const removeEndpoint = db.prepare<[string]>("DELETE FROM webhook_endpoints WHERE id = ?")
  const removeDeliveries = db.prepare<[string]>("DELETE FROM forward_deliveries WHERE endpoint_id = ?")

  const enqueue = db.prepare(
    `INSERT INTO forward_deliveries (id, endpoint_id, inbox_id, events, body, received_at, created_at, deadline, state, attempts, next_attempt_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?) ON CONFLICT (id) DO NOTHING`
  )
  // Earliest due first, with whether its endpoint is paused (or gone): those are held as the claim passes them.
  const due = db.prepare<[number, number], DeliveryRow & { held_back: number }>(
    `SELECT ${DELIVERY_COLUMNS},
       NOT EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = d.endpoint_id AND e.paused_at IS NULL) AS held_back
     FROM forward_deliveries d
     WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND (d.claimed_by IS NULL OR d.claimed_until <= ?)
     ORDER BY d.next_attempt_at, d.id`
  )
  const hold = db.prepare<[string]>("UPDATE forward_deliveries SET next_attempt_at = NULL WHERE id IN (SELECT value FROM json_each(?))")
  // By the active endpoints (the held index), not by the due index's entries without a time: those are every held delivery.
  const release = db.prepare<[number]>(
    `UPDATE forward_deliveries INDEXED BY forward_deliveries_held SET next_attempt_at = ? WHERE state = 'pending' AND next_attempt_at IS NULL
       AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE paused_at IS NULL)`
  )
  // One statement for the whole claim: the ids as one JSON array parameter.
  const claim = db.prepare<[string, number, string]>(
    "UPDATE forward_deliveries SET claimed_by = ?, claimed_until = ? WHERE id IN (SELECT value FROM json_each(?))"
  )
  const delivered = db.prepare<[number, number, number, number, string]>(
    `UPDATE forward_deliveries SET state = 'delivered', attempts = attempts + 1, next_attempt_at = NULL, last_attempt_at = ?, last_status = ?,
       last_error = NULL, delivered_at = ?, latency_ms = CASE WHEN replayed_at IS NULL THEN ? - received_at END,
       claimed_by = NULL, claimed_until = 0 WHERE id = ?`
  )
  const failed = db.prepare<[string, number | null, number, number | null, string, string]>(
    `UPDATE forward_deliveries SET state = ?, attempts = attempts + 1, next_attempt_at = ?, last_attempt_at = ?, last_status = ?, last_error = ?,
       claimed_by = NULL, claimed_until = 0 WHERE id = ?`
  )
  const get = db.prepare<[string], DeliveryRow>(`SELECT ${DELIVERY_COLUMNS} FROM forward_deliveries WHERE id = ?`)
  const list = db.prepare<[string, string | null, string | null, number, number, string, number], DeliveryRow>(
    `SELECT ${DELIVERY_COLUMNS} FROM forward_deliveries
     WHERE endpoint_id = ? AND (? IS NULL OR state = ?) AND (created_at < ? OR (created_at = ? AND id > ?))
     ORDER BY created_at DESC, id LIMIT ?`
  )
  const replayOne = db.prepare<[number, number, number, string, string]>(
    `UPDATE forward_deliveries SET state = 'pending', next_attempt_at = ?, deadline = ?, replayed_at = ?, claimed_by = NULL, claimed_until = 0
     WHERE endpoint_id = ? AND id = ? AND state <> 'pending'`
  )
  const replayRange = db.prepare<[number, number, number, string, number, number]>(
    `UPDATE forward_deliveries SET state = 'pending', next_attempt_at = ?, deadline = ?, replayed_at = ?, claimed_by = NULL, claimed_until = 0
     WHERE endpoint_id = ? AND created_at >= ? AND created_at <= ? AND state <> 'pending'`
  )
  const dropFinished = db.prepare<[number, number]>(
    `DELETE FROM forward_deliveries WHERE id IN (
       SELECT id FROM forward_deliveries INDEXED BY forward_deliveries_finished
       WHERE state <> 'pending' AND created_at < ? ORDER BY created_at, id LIMIT ?
     )`
  )
  const resume = db.prepare<[number, number, string]>(
    "UPDATE forward_deliveries SET next_attempt_at = ?, deadline = ? WHERE endpoint_id = ? AND state = 'pending'"
  )
  const counts = db.prepare<[], { pending: number; retrying: number; failed: number; oldest: number | null }>(
    `SELECT count(*) FILTER (WHERE state = 'pending') AS pending, count(*) FILTER (WHERE state = 'pending' AND attempts > 0) AS retrying,
       count(*) FILTER (WHERE state = 'failed') AS failed, min(created_at) FILTER (WHERE state = 'pending') AS oldest FROM forward_deliveries`
  )
  const latencies = db.prepare<[number], { latency_ms: number }>(
    "SELECT latency_ms FROM forward_deliveries WHERE delivered_at >= ? AND latency_ms IS NOT NULL ORDER BY latency_ms"
  )
  const health = db.prepare<[string], { pending: number; failed: number; last_delivered_at: number | null }>(
    `SELECT count(*) FILTER (WHERE state = 'pending') AS pending, count(*) FILTER (WHERE state = 'failed') AS failed,
       max(delivered_at) AS last_delivered_at FROM forward_deliveries WHERE endpoint_id = ?`
  )
  const lastError = db.prepare<[string], { last_error: string }>(
    `SELECT last_error FROM forward_deliveries WHERE endpoint_id = ? AND last_error IS NOT NULL ORDER BY last_attempt_at DESC LIMIT 1`
  )

  const endpoints = WebhookEndpoints.of({
    insert: (r) =>
      Effect.sync(() =>
        void insertEndpoint.run(
          r.id, r.url, JSON.stringify(r.events), JSON.stringify(r.businessManagerIds), JSON.stringify(r.channelIds), r.secretCiphertext,
          r.paused?.at ?? null, r.paused?.reason ?? null, r.failingSince, r.createdAt, r.updatedAt
        )
      ),
    find: (id) =>
      Effect.sync(() => {
        const row = findEndpoint.get(id)
        return row === undefined ? null : toEndpoint(row)
      }),
    list: (limit, afterId, scope) =>
      Effect.sync(() =>
        (scope === null
          ? listAll.all(afterId ?? "", limit)
          : listScoped.all(afterId ?? "", JSON.stringify(scope.businessManagerIds), JSON.stringify(scope.channelIds), limit)).map(toEndpoint)
      ),
    covering: (businessManagerIds, channelIds) =>
      Effect.sync(() => covering.all(JSON.stringify(businessManagerIds), JSON.stringify(channelIds)).map(toEndpoint)),
    update: (id, c, at) =>
      Effect.sync(() =>
        immediate(db, () => {
          const row = findEndpoint.get(id)
          if (row === undefined) return null
          const found = toEndpoint(row)
          const paused = c.paused === undefined ? found.paused : c.paused
          updateEndpoint.run(
            c.url ?? found.url, JSON.stringify(c.events ?? found.events), c.secretCiphertext ?? found.secretCiphertext,
            paused?.at ?? null, paused?.reason ?? null, at, id
          )
          return toEndpoint(findEndpoint.get(id)!)
        })
      ),
    remove: (id) =>
      Effect.sync(() =>
        immediate(db, () => {
          removeDeliveries.run(id)
          return removeEndpoint.run(id).changes > 0
        })
      ),
    recordAttempt: (id, succeeded, at) =>
      Effect.sync(() =>
        immediate(db, () => {
          const row = findEndpoint.get(id)
          if (row === undefined) return null
          const failingSince = succeeded ? null : row.failing_since ?? at
          if (failingSince !== row.failing_since) setFailingSince.run(failingSince, id)
          return toEndpoint({ ...row, failing_since: failingSince })
        })
      )
  })

  const outbox = ForwardingOutbox.of({
    enqueue: (made) =>
      Effect.sync(() =>
        immediate(db, () => {
          for (const d of made) {
            enqueue.run(d.id, d.endpointId, d.inboxId, JSON.stringify(d.events), Buffer.from(d.body), d.receivedAt, d.createdAt, d.deadline, d.createdAt)
          }
        })
      ),
    claimDue: (limit, claimant, now, ttlMs) =>
      Effect.sync(() =>
        immediate(db, () => {
          release.run(now)
          const claimed: Array<DeliveryRow> = []
          const held: Array<string> = []
          if (limit >= 1) {
            for (const row of due.iterate(now, now)) {
              if (row.held_back === 1) held.push(row.id)
              else claimed.push(row)
              if (claimed.length >= limit || held.length >= MAX_HELD_PER_CLAIM) break
            }
          }
          if (held.length > 0) hold.run(JSON.stringify(held))
          if (claimed.length > 0) claim.run(claimant, now + ttlMs, JSON.stringify(claimed.map((r) => r.id)))
          return claimed.map(toDelivery)
        })
      ),
    delivered: (id, at, status) => Effect.sync(() => void delivered.run(at, status, at, at, id)),
    attemptFailed: (id, at, status, error, retryAt) =>
      Effect.sync(() => void failed.run(retryAt === null ? "failed" : "pending", retryAt, at, status, error, id)),
    get: (id) =>
      Effect.sync(() => {
        const row = get.get(id)
        return row === undefined ? null : toDelivery(row)
      }),
    list: (endpointId, limit, cursor, state) =>
      Effect.sync(() => {
        const from = decodeCursor<[number, string]>(cursor) ?? [Number.MAX_SAFE_INTEGER, ""]
        const items = list.all(endpointId, state, state, from[0], from[0], from[1], limit).map(toDelivery)
        const last = items[items.length - 1]
        return { items, nextCursor: items.length >= limit && last !== undefined ? encodeCursor([last.createdAt, last.id]) : null }
      }),
    replay: (endpointId, selection, now, deadline) =>
      Effect.sync(() =>
        selection._tag === "Delivery"
          ? replayOne.run(now, deadline, now, endpointId, selection.deliveryId).changes
          : replayRange.run(now, deadline, now, endpointId, selection.from, selection.to).changes
      ),
    resume: (endpointId, now, deadline) => Effect.sync(() => resume.run(now, deadline, endpointId).changes),
    dropFinished: (createdBefore, limit) => Effect.sync(() => dropFinished.run(createdBefore, Math.max(0, Math.floor(limit))).changes),
    summary: (since) =>
      Effect.sync(() => {
        const c = counts.get()!
        const sorted = latencies.all(since).map((r) => r.latency_ms)
        return {
          pending: c.pending,
          retrying: c.retrying,
          failed: c.failed,
          oldestPendingAt: c.oldest,
          latency: { count: sorted.length, p50: nearestRank(sorted, 0.5), p99: nearestRank(sorted, 0.99) }
        }
      }),
    health: (endpointIds) =>
      Effect.sync(() =>
        endpointIds.map((endpointId) => {
          const h = health.get(endpointId)!
          return { endpointId, pending: h.pending, failed: h.failed, lastDeliveredAt: h.last_delivered_at, lastError: lastError.get(endpointId)?.last_error ?? null }
        })
      )
  })

  return { endpoints, outbox }
}

export const layerForwarding: Layer.Layer<WebhookEndpoints | ForwardingOutbox, never, SqliteDatabase> = Layer.effectContext(
  Effect.map(SqliteDatabase, ({ db }) => {
    const { endpoints, outbox } = makeForwarding(db)
    return Context.make(WebhookEndpoints, gated(db, endpoints)).pipe(Context.add(ForwardingOutbox, gated(db, outbox)))
  })
)
