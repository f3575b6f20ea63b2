import { HttpApiBuilder } from "@effect/platform"
import {
  clampLimit,
  decodeCursor,
  type Delivery,
  type EndpointHealth,
  encodeCursor,
  FORWARD_EVENTS,
  ForwardingOutbox,
  type WebhookEndpointRecord,
  WebhookEndpoints
} from "@mm-gateway/ports"
import { Clock, Effect } from "effect"
import { randomBytes } from "node:crypto"
import { registrationProblem } from "../forwarding/address-policy.js"
import { ApiSettings, iso, isoOrNull } from "./context.js"
import { CurrentPrincipal, GatewayApi, type Principal } from "./definition.js"
import { forbidden, invalidRequest, notFound } from "./errors.js"

const endpointView = (e: WebhookEndpointRecord, health: EndpointHealth | undefined) => ({
  id: e.id,
  url: e.url,
  events: e.events,
  businessManagerIds: e.businessManagerIds,
  channelIds: e.channelIds,
  state: e.paused === null ? "active" as const : "paused" as const,
  paused: e.paused === null ? null : { at: iso(e.paused.at), reason: e.paused.reason },
  failingSince: isoOrNull(e.failingSince),
  health: {
    pending: health?.pending ?? 0,
    failed: health?.failed ?? 0,
    lastDeliveredAt: isoOrNull(health?.lastDeliveredAt),
    lastError: health?.lastError ?? null
  },
  createdAt: iso(e.createdAt),
  updatedAt: iso(e.updatedAt)
})

const deliveryView = (d: Delivery) => ({
  id: d.id,
  endpointId: d.endpointId,
  events: d.events,
  state: d.state,
  attempts: d.attempts,
  receivedAt: iso(d.receivedAt),
  createdAt: iso(d.createdAt),
  nextAttemptAt: isoOrNull(d.nextAttemptAt),
  lastAttemptAt: isoOrNull(d.lastAttemptAt),
  lastStatus: d.lastStatus,
  lastError: d.lastError,
  deliveredAt: isoOrNull(d.deliveredAt),
  latencyMs: d.latencyMs,
  replayedAt: isoOrNull(d.replayedAt),
  deadline: iso(d.deadline),
  bytes: d.body.byteLength
})

/** A key sees an endpoint only when everything it covers is the key's: another tenant's is a 404. */
const seesEndpoint = (principal: Principal, e: WebhookEndpointRecord): boolean =>
  principal._tag === "Admin" ||
  (e.businessManagerIds.every((b) => principal.businessManagerIds.has(b)) && e.channelIds.every((c) => principal.channelIds.has(c)))

const visibleEndpoint = (id: string) =>
  Effect.gen(function*() {
    const principal = yield* CurrentPrincipal
    const found = yield* (yield* WebhookEndpoints).find(id)
    if (found === null || !seesEndpoint(principal, found)) return yield* Effect.fail(notFound("webhook endpoint", id))
    return found
  })

const withHealth = (endpoints: ReadonlyArray<WebhookEndpointRecord>) =>
  Effect.gen(function*() {
    const health = yield* (yield* ForwardingOutbox).health(endpoints.map((e) => e.id))
    return endpoints.map((e) => endpointView(e, health.find((h) => h.endpointId === e.id)))
  })

const checkUrl = (url: string) =>
  Effect.gen(function*() {
    const { allowHosts } = (yield* ApiSettings).forwarding
    const problem = yield* Effect.promise(() => registrationProblem({ allowHosts }, url))
    if (problem !== null) return yield* Effect.fail(invalidRequest("url", `url ${problem}`))
  })

/**
 * What an endpoint covers: a scoped key's own Business Managers and channels (naming others is
 * refused), or those the admin names.
 */
const coverage = (principal: Principal, asked: { readonly businessManagerIds?: ReadonlyArray<string> | undefined; readonly channelIds?: ReadonlyArray<string> | undefined }) =>
  Effect.gen(function*() {
    if (principal._tag === "Admin") {
      const businessManagerIds = [...new Set(asked.businessManagerIds ?? [])]
      const channelIds = [...new Set(asked.channelIds ?? [])]
      if (businessManagerIds.length === 0 && channelIds.length === 0) {
        return yield* Effect.fail(invalidRequest("businessManagerIds", "businessManagerIds or channelIds must name at least one Business Manager or channel"))
      }
      return { businessManagerIds, channelIds }
    }
    const foreign = [
      ...(asked.businessManagerIds ?? []).filter((b) => !principal.businessManagerIds.has(b)),
      ...(asked.channelIds ?? []).filter((c) => !principal.channelIds.has(c))
    ]
    if (foreign.length > 0) return yield* Effect.fail(forbidden("an API key's endpoint covers its own Business Managers and channels only"))
    return { businessManagerIds: [...principal.businessManagerIds], channelIds: [...principal.channelIds] }
  })

export const WebhookEndpointsLive = HttpApiBuilder.group(GatewayApi, "webhookEndpoints", (handlers) =>
  handlers
    .handle("createWebhookEndpoint", ({ payload }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const covered = yield* coverage(principal, payload)
        yield* checkUrl(payload.url)
        const now = yield* Clock.currentTimeMillis
        const record: WebhookEndpointRecord = {
          id: `whe_${randomBytes(12).toString("hex")}`,
          url: payload.url,
          events: [...new Set(payload.events ?? FORWARD_EVENTS)],
          ...covered,
          secretCiphertext: (yield* ApiSettings).forwarding.sealSecret(payload.secret),
          paused: null,
          failingSince: null,
          createdAt: now,
          updatedAt: now
        }
        yield* (yield* WebhookEndpoints).insert(record)
        return endpointView(record, undefined)
      }))
    .handle("listWebhookEndpoints", ({ urlParams }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const limit = clampLimit(urlParams.limit)
        const scope = principal._tag === "Admin" ? null : { businessManagerIds: [...principal.businessManagerIds], channelIds: [...principal.channelIds] }
        const rows = yield* (yield* WebhookEndpoints).list(limit + 1, decodeCursor<[string]>(urlParams.cursor)?.[0] ?? null, scope)
        const page = rows.slice(0, limit)
        return {
          items: yield* withHealth(page.filter((e) => seesEndpoint(principal, e))),
          nextCursor: rows.length > limit ? encodeCursor([page[page.length - 1]!.id]) : null
        }
      }))
    .handle("getWebhookEndpoint", ({ path }) =>
      Effect.flatMap(visibleEndpoint(path.id), (e) => Effect.map(withHealth([e]), (views) => views[0]!)))
    .handle("updateWebhookEndpoint", ({ path, payload }) =>
      Effect.gen(function*() {
        const found = yield* visibleEndpoint(path.id)
        if (payload.url !== undefined) yield* checkUrl(payload.url)
        const settings = yield* ApiSettings
        const now = yield* Clock.currentTimeMillis
        const pausing = payload.state === "paused" && found.paused === null
        const resuming = payload.state === "active" && found.paused !== null
        const updated = yield* (yield* WebhookEndpoints).update(path.id, {
          ...(payload.url === undefined ? {} : { url: payload.url }),
          ...(payload.events === undefined ? {} : { events: [...new Set(payload.events)] }),
          ...(payload.secret === undefined ? {} : { secretCiphertext: settings.forwarding.sealSecret(payload.secret) }),
          ...(pausing ? { paused: { at: now, reason: "paused by the operator" } } : resuming ? { paused: null } : {})
        }, now)
        if (updated === null) return yield* Effect.fail(notFound("webhook endpoint", path.id))
        // What waited while it was paused is due at once, with a new retry window.
        if (resuming) yield* (yield* ForwardingOutbox).resume(path.id, now, now + settings.forwarding.retryForMs)
        return (yield* withHealth([updated]))[0]!
      }))
    .handle("deleteWebhookEndpoint", ({ path }) =>
      Effect.gen(function*() {
        yield* visibleEndpoint(path.id)
        yield* (yield* WebhookEndpoints).remove(path.id)
      }))
    .handle("listDeliveries", ({ path, urlParams }) =>
      Effect.gen(function*() {
        yield* visibleEndpoint(path.id)
        const page = yield* (yield* ForwardingOutbox).list(path.id, clampLimit(urlParams.limit), urlParams.cursor ?? null, urlParams.state ?? null)
        return { items: page.items.map(deliveryView), nextCursor: page.nextCursor }
      }))
    .handle("replayDeliveries", ({ path, payload }) =>
      Effect.gen(function*() {
        yield* visibleEndpoint(path.id)
        const outbox = yield* ForwardingOutbox
        const now = yield* Clock.currentTimeMillis
        const deadline = now + (yield* ApiSettings).forwarding.retryForMs
        if (payload.deliveryId !== undefined) {
          const delivery = yield* outbox.get(payload.deliveryId)
          if (delivery === null || delivery.endpointId !== path.id) return yield* Effect.fail(notFound("delivery", payload.deliveryId))
          return { replayed: yield* outbox.replay(path.id, { _tag: "Delivery", deliveryId: payload.deliveryId }, now, deadline) }
        }
        if (payload.from === undefined || payload.to === undefined) {
          return yield* Effect.fail(invalidRequest(payload.from === undefined ? "from" : "to", "give deliveryId, or from and to"))
        }
        const from = Date.parse(payload.from)
        const to = Date.parse(payload.to)
        if (to < from) return yield* Effect.fail(invalidRequest("to", "to must not be before from"))
        return { replayed: yield* outbox.replay(path.id, { _tag: "Range", from, to }, now, deadline) }
      })))
