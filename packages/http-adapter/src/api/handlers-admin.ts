import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { CommandHandler, type EventStore, Streams } from "@mm-gateway/domain"
import {
  ApiKeyStore,
  channelOfLease,
  clampLimit,
  ConfigurationQueries,
  decodeCursor,
  encodeCursor,
  ForwardingOutbox,
  Leases,
  StoreHealth,
  TIMERS_LEASE,
  WebhookInbox
} from "@mm-gateway/ports"
import { Clock, Effect, Layer } from "effect"
import { authenticate, newApiKey } from "./api-keys.js"
import { ApiSettings, iso, isoOrNull, requireAdmin } from "./context.js"
import { Authentication, GatewayApi, type V1GroupLive } from "./definition.js"
import { conflict, forbidden, invalidRequest, notFound, ServiceUnavailable, unauthorized } from "./errors.js"
import { Metrics } from "./metrics.js"
import { inboxItemOf } from "./views.js"

export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.gen(function*() {
    const settings = yield* ApiSettings
    const store = yield* ApiKeyStore
    return Authentication.of({
      bearer: (token) =>
        authenticate(settings.adminToken, token).pipe(
          Effect.provideService(ApiKeyStore, store),
          Effect.flatMap((principal) => (principal === null ? Effect.fail(unauthorized()) : Effect.succeed(principal)))
        )
    })
  })
)

export const ApiKeysLive = HttpApiBuilder.group(GatewayApi, "apiKeys", (handlers) =>
  handlers
    .handle("createApiKey", ({ payload }) =>
      Effect.gen(function*() {
        yield* requireAdmin
        const businessManagerIds = [...new Set(payload.businessManagerIds ?? [])]
        const channelIds = [...new Set(payload.channelIds ?? [])]
        if (businessManagerIds.length === 0 && channelIds.length === 0) {
          return yield* Effect.fail(invalidRequest("businessManagerIds", "businessManagerIds or channelIds must name at least one Business Manager or channel"))
        }
        const key = newApiKey()
        yield* (yield* ApiKeyStore).insert({
          id: key.id,
          name: payload.name,
          businessManagerIds,
          channelIds,
          secretHash: key.secretHash,
          createdAt: yield* Clock.currentTimeMillis,
          revokedAt: null
        })
        return { id: key.id, name: payload.name, businessManagerIds, channelIds, secret: key.secret }
      }))
    .handle("listApiKeys", ({ urlParams }) =>
      Effect.gen(function*() {
        yield* requireAdmin
        const limit = clampLimit(urlParams.limit)
        const rows = yield* (yield* ApiKeyStore).list(limit + 1, decodeCursor<[string]>(urlParams.cursor)?.[0] ?? null)
        const items = rows.slice(0, limit)
        return {
          items: items.map((r) => ({
            id: r.id,
            name: r.name,
            businessManagerIds: r.businessManagerIds,
            channelIds: r.channelIds,
            createdAt: iso(r.createdAt),
            revokedAt: isoOrNull(r.revokedAt)
          })),
          nextCursor: rows.length > limit ? encodeCursor([items[items.length - 1]!.id]) : null
        }
      }))
    .handle("revokeApiKey", ({ path }) =>
      Effect.gen(function*() {
        yield* requireAdmin
        const revoked = yield* (yield* ApiKeyStore).revoke(path.id, yield* Clock.currentTimeMillis)
        if (!revoked) return yield* Effect.fail(notFound("api key", path.id))
      })))

export const SettingsLive: V1GroupLive<"settings", ConfigurationQueries | EventStore.EventStore> = HttpApiBuilder.group(GatewayApi, "settings", (handlers) =>
  handlers
    .handle("getRoutingSettings", () => Effect.flatMap(ConfigurationQueries, (r) => r.routingSettings()))
    .handle("putRoutingSettings", ({ payload }) =>
      Effect.gen(function*() {
        yield* requireAdmin
        const handled = yield* CommandHandler.handleCommand(Streams.PartnerSettingsStream, Streams.streamId.partnerSettings(), {
          _tag: "ChangeRoutingSettings",
          marketingViaMmApi: payload.marketingViaMmApi,
          ttlOnCloudFallback: payload.ttlOnCloudFallback,
          at: yield* Clock.currentTimeMillis
        })
        return handled.state
      })))

export const InboxLive = HttpApiBuilder.group(GatewayApi, "webhookInbox", (handlers) =>
  handlers
    .handle("listInbox", ({ urlParams }) =>
      Effect.gen(function*() {
        yield* requireAdmin
        const page = yield* (yield* WebhookInbox).listQuarantined(clampLimit(urlParams.limit), urlParams.cursor ?? null)
        return { items: page.items.map(inboxItemOf), nextCursor: page.nextCursor }
      }))
    .handle("replayInbox", ({ path }) =>
      Effect.gen(function*() {
        yield* requireAdmin
        const inbox = yield* WebhookInbox
        if (!(yield* inbox.replay(path.id))) {
          const entry = yield* inbox.get(path.id)
          return yield* Effect.fail(
            entry === null
              ? notFound("inbox entry", String(path.id))
              : conflict("not_quarantined", `inbox entry ${path.id} is ${entry.state}; only quarantined entries are replayed`)
          )
        }
        const entry = yield* inbox.get(path.id)
        if (entry === null) return yield* Effect.die(new Error("a replayed inbox entry vanished"))
        return inboxItemOf(entry)
      })))

export const WorkersLive = HttpApiBuilder.group(GatewayApi, "workers", (handlers) =>
  handlers.handle("listWorkers", () =>
    Effect.gen(function*() {
      yield* requireAdmin
      const leases = yield* Leases
      const now = yield* Clock.currentTimeMillis
      const [live, held, claims] = yield* Effect.all([leases.liveWorkers(now), leases.held(now), (yield* WebhookInbox).claims(now)])
      return {
        workers: live.map((w) => {
          const own = held.filter((l) => l.holder === w.instance)
          const timers = own.find((l) => l.name === TIMERS_LEASE)
          return {
            instance: w.instance,
            startedAt: iso(w.startedAt),
            lastHeartbeatAt: iso(w.heartbeatAt),
            expiresAt: iso(w.expiresAt),
            channels: own.flatMap((l) => {
              const channel = channelOfLease(l.name)
              return channel === null ? [] : [{ phoneNumberId: channel, since: iso(l.acquiredAt) }]
            }),
            timers: timers === undefined ? null : { since: iso(timers.acquiredAt) },
            inbox: { claimed: claims.find((c) => c.claimant === w.instance)?.bodies ?? 0 }
          }
        })
      }
    })))

/** The forwarding latency gauges cover what was delivered this long ago at most. */
const FORWARD_LATENCY_WINDOW_MS = 5 * 60_000

const notReady = (message: string, details: unknown) => new ServiceUnavailable({ error: { code: "not_ready", message, details } })

/** Ready when the store answers, every migration this build knows is applied, and the inbox answers. */
const readiness = Effect.gen(function*() {
  const inbox = yield* WebhookInbox
  const { migrations } = yield* (yield* StoreHealth).ready().pipe(Effect.mapError((e) => notReady(e.message, e.details)))
  yield* inbox.pendingCount().pipe(
    Effect.catchAllDefect((e) => Effect.fail(notReady("the inbox database is unreachable", { database: "inbox", reason: e instanceof Error ? e.message : String(e) })))
  )
  return { status: "ready" as const, migrations }
})

export const SystemLive = HttpApiBuilder.group(GatewayApi, "system", (handlers) =>
  handlers
    .handle("healthz", () => Effect.succeed({ status: "ok" as const }))
    .handle("readyz", () => readiness)
    .handle("metrics", () =>
      Effect.gen(function*() {
        const pending = yield* (yield* WebhookInbox).pendingCount()
        const now = yield* Clock.currentTimeMillis
        const outbox = yield* (yield* ForwardingOutbox).summary(now - FORWARD_LATENCY_WINDOW_MS)
        const seconds = (ms: number | null) => (ms === null ? Number.NaN : ms / 1_000)
        return (yield* Metrics).render({
          mmgw_webhook_inbox_pending: { help: "Verified webhooks stored and not yet processed by the worker.", value: pending },
          mmgw_forward_pending: { help: "Deliveries to tenants' webhook endpoints not yet delivered.", value: outbox.pending },
          mmgw_forward_retrying: { help: "Pending deliveries whose last attempt failed.", value: outbox.retrying },
          mmgw_forward_failed: { help: "Deliveries given up after their retry window (until replayed).", value: outbox.failed },
          mmgw_forward_oldest_pending_seconds: {
            help: "Age of the oldest pending delivery.",
            value: outbox.oldestPendingAt === null ? 0 : (now - outbox.oldestPendingAt) / 1_000
          },
          mmgw_forward_latency_p50_seconds: { help: "Median time from a webhook's 200 to its endpoint's 2xx, last 5 minutes.", value: seconds(outbox.latency.p50) },
          mmgw_forward_latency_p99_seconds: { help: "99th percentile of that time, last 5 minutes.", value: seconds(outbox.latency.p99) }
        })
      }))
    .handle("webhookHandshake", ({ urlParams }) =>
      Effect.gen(function*() {
        const answer = (yield* ApiSettings).handshake(urlParams)
        if (answer._tag === "Left") return yield* Effect.fail(forbidden(`webhook handshake refused: ${answer.left.reason}`))
        return HttpServerResponse.text(answer.right)
      })))
