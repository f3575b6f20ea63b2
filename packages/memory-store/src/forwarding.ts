import {
  decodeCursor,
  type Delivery,
  type EndpointHealth,
  encodeCursor,
  ForwardingOutbox,
  nearestRank,
  type WebhookEndpointRecord,
  WebhookEndpoints
} from "@mm-gateway/ports"
import { type Context, Effect } from "effect"
import { byKey, type Journal, Table } from "./journal.js"

interface Claimed extends Delivery {
  readonly claimedBy: string | null
  readonly claimedUntil: number
}

const covers = (e: WebhookEndpointRecord, businessManagerIds: ReadonlyArray<string>, channelIds: ReadonlyArray<string>) =>
  e.businessManagerIds.some((b) => businessManagerIds.includes(b)) || e.channelIds.some((c) => channelIds.includes(c))

const copyEndpoint = (e: WebhookEndpointRecord): WebhookEndpointRecord => ({
  ...e,
  events: [...e.events],
  businessManagerIds: [...e.businessManagerIds],
  channelIds: [...e.channelIds],
  paused: e.paused === null ? null : { ...e.paused }
})

const copyDelivery = ({ claimedBy: _by, claimedUntil: _until, ...d }: Claimed): Delivery => ({
  ...d,
  events: [...d.events],
  body: d.body.slice()
})

/** Webhook endpoints and their outbox in memory, in the store's unit of work like everything else. */
export const makeForwarding = (journal: Journal): {
  readonly endpoints: Context.Tag.Service<WebhookEndpoints>
  readonly outbox: Context.Tag.Service<ForwardingOutbox>
} => {
  const endpoints = new Table<string, WebhookEndpointRecord>(journal)
  const deliveries = new Table<string, Claimed>(journal)
  const sortedEndpoints = () => [...endpoints.values()].sort(byKey((e) => [e.id]))
  const change = (id: string, f: (d: Claimed) => Claimed) => {
    const found = deliveries.get(id)
    if (found !== undefined) deliveries.set(id, f(found))
  }

  return {
    endpoints: WebhookEndpoints.of({
      insert: (record) =>
        Effect.suspend(() =>
          endpoints.has(record.id)
            ? Effect.dieMessage(`a webhook endpoint ${record.id} exists already`)
            : Effect.sync(() => endpoints.set(record.id, copyEndpoint(record)))
        ),
      find: (id) =>
        Effect.sync(() => {
          const found = endpoints.get(id)
          return found === undefined ? null : copyEndpoint(found)
        }),
      list: (limit, afterId, scope) =>
        Effect.sync(() =>
          sortedEndpoints()
            .filter((e) => e.id > (afterId ?? "") && (scope === null || covers(e, scope.businessManagerIds, scope.channelIds)))
            .slice(0, Math.max(0, Math.floor(limit)))
            .map(copyEndpoint)
        ),
      covering: (businessManagerIds, channelIds) =>
        Effect.sync(() => sortedEndpoints().filter((e) => covers(e, businessManagerIds, channelIds)).map(copyEndpoint)),
      update: (id, c, at) =>
        Effect.sync(() => {
          const found = endpoints.get(id)
          if (found === undefined) return null
          const next: WebhookEndpointRecord = {
            ...found,
            ...(c.url === undefined ? {} : { url: c.url }),
            ...(c.events === undefined ? {} : { events: [...c.events] }),
            ...(c.secretCiphertext === undefined ? {} : { secretCiphertext: c.secretCiphertext }),
            ...(c.paused === undefined ? {} : { paused: c.paused === null ? null : { ...c.paused } }),
            updatedAt: at
          }
          endpoints.set(id, next)
          return copyEndpoint(next)
        }),
      remove: (id) =>
        Effect.sync(() => {
          if (!endpoints.has(id)) return false
          endpoints.delete(id)
          for (const d of [...deliveries.values()]) if (d.endpointId === id) deliveries.delete(d.id)
          return true
        }),
      recordAttempt: (id, succeeded, at) =>
        Effect.sync(() => {
          const found = endpoints.get(id)
          if (found === undefined) return null
          const failingSince = succeeded ? null : found.failingSince ?? at
          const next = failingSince === found.failingSince ? found : { ...found, failingSince }
          endpoints.set(id, next)
          return copyEndpoint(next)
        })
    }),

    outbox: ForwardingOutbox.of({
      enqueue: (made) =>
        Effect.sync(() => {
          for (const d of made) {
            if (deliveries.has(d.id)) continue
            deliveries.set(d.id, {
              ...d,
              events: [...d.events],
              body: d.body.slice(),
              state: "pending",
              attempts: 0,
              nextAttemptAt: d.createdAt,
              lastAttemptAt: null,
              lastStatus: null,
              lastError: null,
              deliveredAt: null,
              latencyMs: null,
              replayedAt: null,
              claimedBy: null,
              claimedUntil: 0
            })
          }
        }),
      claimDue: (limit, claimant, now, ttlMs) =>
        Effect.sync(() => {
          const paused = (d: Claimed) => endpoints.get(d.endpointId)?.paused !== null
          for (const d of [...deliveries.values()]) {
            if (d.state !== "pending") continue
            if (d.nextAttemptAt === null && !paused(d)) deliveries.set(d.id, { ...d, nextAttemptAt: now })
            else if (d.nextAttemptAt !== null && d.nextAttemptAt <= now && paused(d)) deliveries.set(d.id, { ...d, nextAttemptAt: null })
          }
          const due = [...deliveries.values()]
            .filter((d) => d.state === "pending" && d.nextAttemptAt !== null && d.nextAttemptAt <= now && (d.claimedBy === null || d.claimedUntil <= now))
            .sort(byKey((d) => [d.nextAttemptAt!, d.id]))
            .slice(0, Math.max(0, Math.floor(limit)))
          for (const d of due) deliveries.set(d.id, { ...d, claimedBy: claimant, claimedUntil: now + ttlMs })
          return due.map(copyDelivery)
        }),
      delivered: (id, at, status) =>
        Effect.sync(() =>
          change(id, (d) => ({
            ...d,
            state: "delivered",
            attempts: d.attempts + 1,
            nextAttemptAt: null,
            lastAttemptAt: at,
            lastStatus: status,
            lastError: null,
            deliveredAt: at,
            latencyMs: d.replayedAt === null ? at - d.receivedAt : null,
            claimedBy: null,
            claimedUntil: 0
          }))
        ),
      attemptFailed: (id, at, status, error, retryAt) =>
        Effect.sync(() =>
          change(id, (d) => ({
            ...d,
            state: retryAt === null ? "failed" : "pending",
            attempts: d.attempts + 1,
            nextAttemptAt: retryAt,
            lastAttemptAt: at,
            lastStatus: status,
            lastError: error,
            claimedBy: null,
            claimedUntil: 0
          }))
        ),
      get: (id) =>
        Effect.sync(() => {
          const found = deliveries.get(id)
          return found === undefined ? null : copyDelivery(found)
        }),
      list: (endpointId, limit, cursor, state) =>
        Effect.sync(() => {
          const from = decodeCursor<[number, string]>(cursor)
          const newestFirst = byKey((d: Claimed) => [-d.createdAt, d.id])
          const items = [...deliveries.values()]
            .filter((d) => d.endpointId === endpointId && (state === null || d.state === state))
            .sort(newestFirst)
            .filter((d) => from === null || d.createdAt < from[0] || (d.createdAt === from[0] && d.id > from[1]))
            .slice(0, Math.max(0, Math.floor(limit)))
          const last = items[items.length - 1]
          return {
            items: items.map(copyDelivery),
            nextCursor: items.length >= limit && last !== undefined ? encodeCursor([last.createdAt, last.id]) : null
          }
        }),
      replay: (endpointId, selection, now, deadline) =>
        Effect.sync(() => {
          let n = 0
          for (const d of [...deliveries.values()]) {
            if (d.endpointId !== endpointId || d.state === "pending") continue
            const chosen = selection._tag === "Delivery"
              ? d.id === selection.deliveryId
              : d.createdAt >= selection.from && d.createdAt <= selection.to
            if (!chosen) continue
            deliveries.set(d.id, { ...d, state: "pending", nextAttemptAt: now, deadline, replayedAt: now, claimedBy: null, claimedUntil: 0 })
            n++
          }
          return n
        }),
      resume: (endpointId, now, deadline) =>
        Effect.sync(() => {
          let n = 0
          for (const d of [...deliveries.values()]) {
            if (d.endpointId !== endpointId || d.state !== "pending") continue
            deliveries.set(d.id, { ...d, nextAttemptAt: now, deadline })
            n++
          }
          return n
        }),
      dropFinished: (createdBefore, limit) =>
        Effect.sync(() => {
          const finished = [...deliveries.values()]
            .filter((d) => d.state !== "pending" && d.createdAt < createdBefore)
            .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
            .slice(0, Math.max(0, Math.floor(limit)))
          for (const d of finished) deliveries.delete(d.id)
          return finished.length
        }),
      summary: (since) =>
        Effect.sync(() => {
          const all = [...deliveries.values()]
          const pending = all.filter((d) => d.state === "pending")
          const latencies = all
            .filter((d) => d.latencyMs !== null && d.deliveredAt !== null && d.deliveredAt >= since)
            .map((d) => d.latencyMs!)
            .sort((a, b) => a - b)
          return {
            pending: pending.length,
            retrying: pending.filter((d) => d.attempts > 0).length,
            failed: all.filter((d) => d.state === "failed").length,
            oldestPendingAt: pending.length === 0 ? null : Math.min(...pending.map((d) => d.createdAt)),
            latency: { count: latencies.length, p50: nearestRank(latencies, 0.5), p99: nearestRank(latencies, 0.99) }
          }
        }),
      health: (endpointIds) =>
        Effect.sync(() =>
          endpointIds.map((endpointId): EndpointHealth => {
            const mine = [...deliveries.values()].filter((d) => d.endpointId === endpointId)
            const lastDelivered = mine.filter((d) => d.deliveredAt !== null).sort(byKey((d) => [-d.deliveredAt!]))[0]
            const lastFailed = mine.filter((d) => d.lastError !== null && d.lastAttemptAt !== null).sort(byKey((d) => [-d.lastAttemptAt!]))[0]
            return {
              endpointId,
              pending: mine.filter((d) => d.state === "pending").length,
              failed: mine.filter((d) => d.state === "failed").length,
              lastDeliveredAt: lastDelivered?.deliveredAt ?? null,
              lastError: lastFailed?.lastError ?? null
            }
          })
        )
    })
  }
}
