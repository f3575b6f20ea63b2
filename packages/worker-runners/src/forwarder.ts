import {
  type Delivery,
  type DeliveryAttempt,
  DispatchQueue,
  ForwardingOutbox,
  type InboxEntry,
  MessageQueries,
  type NewDelivery,
  OnboardingQueries,
  WebhookDeliverer,
  type WebhookEndpointRecord,
  WebhookEndpoints
} from "@mm-gateway/ports"
import {
  cutForTarget,
  encodeLikeMeta,
  type ForwardableWebhook,
  gatewayFailedStatus,
  type KnownMessage,
  type Lookups,
  readForwardable
} from "@mm-gateway/webhook-adapter"
import type { UnitOfWork } from "@mm-gateway/domain"
import { Clock, Effect, Option, Queue, Random, type Scope } from "effect"
import { createHash } from "node:crypto"
import { eachJob, makeBatchWriter } from "./batch-writer.js"
import type { WorkerStats } from "./stats.js"

export type ForwardingRequirements = WebhookEndpoints | ForwardingOutbox | OnboardingQueries | MessageQueries | DispatchQueue

/** How forwarding runs (docs/forwarding.md#delivery); the app reads them from the `MMGW_FORWARD_RETRY_FOR`, `MMGW_FORWARD_PAUSE_AFTER` variables. */
export interface ForwardSettings {
  /** A delivery is attempted for this long after its webhook was acknowledged, then given up. */
  readonly retryForMs: number
  /** An endpoint whose every attempt failed for this long is paused. */
  readonly pauseAfterMs: number
  /** Deliveries in flight at once. */
  readonly concurrency: number
  readonly batchSize: number
  readonly pollIntervalMs: number
  readonly claimant: string
  readonly claimTtlMs: number
}

/**
 * The same endpoint, source (an inbox row, or a status the gateway makes) and piece of it always make
 * the same delivery id: processing a webhook again adds nothing.
 */
export const deliveryIdOf = (endpointId: string, source: string, piece: number): string =>
  `dlv_${createHash("sha256").update(`${endpointId}\u0000${source}\u0000${piece}`).digest("hex").slice(0, 24)}`

/** The Business Manager of each entry id: a WABA's owner, or the business itself (business-level updates). */
const ownersOf = (entryIds: ReadonlyArray<string>, now: number) =>
  Effect.gen(function*() {
    const onboarding = yield* OnboardingQueries
    const ownerOf = new Map<string, string>()
    for (const id of entryIds) {
      const waba = yield* onboarding.waba(id, now)
      if (waba !== null && waba.businessManagerId !== null) ownerOf.set(id, waba.businessManagerId)
      else if ((yield* onboarding.businessManager(id, now)) !== null) ownerOf.set(id, id)
    }
    return ownerOf
  })

/** The endpoints a webhook may go to: those covering its entries' owners or its channels. */
const endpointsFor = (webhook: ForwardableWebhook, ownerOf: ReadonlyMap<string, string>) =>
  Effect.flatMap(WebhookEndpoints, (endpoints) => endpoints.covering([...new Set(ownerOf.values())], webhook.channelIds))

/** Each endpoint's pieces of `webhook`, written to the outbox; how many. */
const enqueuePieces = (
  webhook: ForwardableWebhook,
  endpoints: ReadonlyArray<WebhookEndpointRecord>,
  lookups: Lookups,
  source: { readonly key: string; readonly inboxId: number | null; readonly receivedAt: number },
  retryForMs: number,
  now: number
) =>
  Effect.gen(function*() {
    const deliveries: Array<NewDelivery> = []
    for (const endpoint of endpoints) {
      for (const [i, piece] of cutForTarget(webhook, endpoint, lookups).entries()) {
        deliveries.push({
          id: deliveryIdOf(endpoint.id, source.key, i),
          endpointId: endpoint.id,
          inboxId: source.inboxId,
          events: [piece.event],
          body: encodeLikeMeta(piece.payload),
          receivedAt: source.receivedAt,
          createdAt: now,
          deadline: source.receivedAt + retryForMs
        })
      }
    }
    if (deliveries.length > 0) yield* (yield* ForwardingOutbox).enqueue(deliveries)
    return deliveries.length
  })

/**
 * The deliveries of one verified webhook: for each endpoint whose tenant owns part of it, that part
 * (`cutForTarget`), one item a delivery, in Meta's JSON. Run it in the transaction that applies the webhook, so the
 * deliveries are written exactly when the webhook is processed (docs/forwarding.md#nothing-lost).
 */
export const forwardWebhook = (entry: InboxEntry, retryForMs: number) =>
  Effect.gen(function*() {
    const webhook = readForwardable(entry.body)
    if (webhook === null) return 0
    const messages = yield* MessageQueries
    const now = yield* Clock.currentTimeMillis
    const ownerOf = yield* ownersOf(webhook.entryIds, now)
    const endpoints = yield* endpointsFor(webhook, ownerOf)
    if (endpoints.length === 0) return 0
    const known = new Map<string, KnownMessage>()
    for (const reference of webhook.references) {
      if (known.has(reference.wamid)) continue
      const byWamid = yield* messages.messagesByWamid(reference.wamid)
      let found = byWamid.find((m) => m.channel === reference.channel) ?? byWamid[0] ?? null
      // A status may come before the dispatch result that tells its wamid: the gateway's id it echoes names the message.
      if (found === null && reference.callbackData !== null) {
        const named = yield* messages.message(reference.callbackData)
        if (named !== null && (reference.channel === null || named.channel === reference.channel)) found = named
      }
      if (found !== null) known.set(reference.wamid, { id: found.id, clientCallbackData: found.clientCallbackData })
    }
    return yield* enqueuePieces(webhook, endpoints, { ownerOf, messages: known }, { key: `inbox:${entry.id}`, inboxId: entry.id, receivedAt: entry.receivedAt }, retryForMs, now)
  })

/**
 * The `failed` status of a message whose dispatch the provider refused for good, forwarded as Meta
 * would have sent it (docs/forwarding.md#the-gateways-own-statuses), with its last error. Run it in
 * the transaction that records the failure.
 */
export const forwardGatewayFailure = (messageId: string, at: number, retryForMs: number) =>
  Effect.gen(function*() {
    const message = yield* (yield* MessageQueries).message(messageId)
    const error = message?.errors.at(-1)
    if (message === null || error === undefined) return 0
    const channel = yield* (yield* DispatchQueue).channelForDispatch(message.channel)
    const ownerOf = yield* ownersOf([message.wabaId], at)
    const webhook = gatewayFailedStatus({
      wabaId: message.wabaId,
      phoneNumberId: message.channel,
      // Meta writes the number as digits only.
      displayPhoneNumber: (channel?.displayPhoneNumber ?? "").replace(/\D/g, ""),
      message: { id: message.id, clientCallbackData: message.clientCallbackData },
      recipient: { number: message.to, bsuid: message.recipient },
      at,
      error
    })
    return yield* enqueuePieces(webhook, yield* endpointsFor(webhook, ownerOf), { ownerOf, messages: new Map() }, { key: `failed:${messageId}`, inboxId: null, receivedAt: at }, retryForMs, at)
  })

/**
 * When a failed attempt is tried again: 1 s after the first failure, doubling up to an hour, each
 * with up to a quarter more at random (jitter, so endpoints coming back are not hit all at once);
 * an endpoint's `Retry-After` when it asks for longer.
 */
export const retryDelayMs = (attempts: number, retryAfterMs: number | null, jitter: number): number => {
  const base = Math.min(60 * 60_000, 1_000 * 2 ** Math.max(0, attempts - 1))
  return Math.max(Math.round(base * (1 + jitter / 4)), retryAfterMs ?? 0)
}

/**
 * The delivery loop: due deliveries claimed (several workers share them) into a buffer of
 * `batchSize`, from which `concurrency` senders each take the next one, POST it with the
 * `WebhookDeliverer` and record it as delivered, retried later or given up past its deadline; an
 * endpoint failing for `pauseAfterMs` is paused, and the operator sees why on the endpoint. The
 * buffer is claimed again when it is half empty, so a sender never waits for a claim; the records of
 * the attempts answered together share one unit of work (the batch writer).
 */
export interface Forwarder {
  /** Claims and delivers until interrupted; an attempt cut off stays claimed until its claim lapses, then is tried again. */
  readonly loop: Effect.Effect<void>
}

export const makeForwarder = (
  settings: ForwardSettings,
  stats: WorkerStats
): Effect.Effect<Forwarder, never, Scope.Scope | UnitOfWork.UnitOfWork | ForwardingOutbox | WebhookEndpoints | WebhookDeliverer> =>
  Effect.gen(function*() {
    const outbox = yield* ForwardingOutbox
    const endpoints = yield* WebhookEndpoints
    const deliverer = yield* WebhookDeliverer
    const writer = yield* makeBatchWriter(256, eachJob<void, ForwardingOutbox | WebhookEndpoints>)

    interface Claimed {
      readonly d: Delivery
      /** The endpoint as it was when the delivery was claimed. */
      readonly endpoint: WebhookEndpointRecord
      readonly deliver: (deliveryId: string, body: Uint8Array) => Effect.Effect<DeliveryAttempt>
    }
    const capacity = Math.max(1, settings.batchSize)
    const buffer = yield* Queue.bounded<Claimed>(capacity)
    /** Opened by a sender that took from the buffer and left it half empty or less: the claimer claims again. */
    const taken = yield* Effect.makeLatch(false)

    /** One attempt recorded: delivered, or failed and due again (or given up past its deadline); and what it makes of its endpoint. */
    const record = (endpoint: WebhookEndpointRecord, d: Delivery, at: number, result: DeliveryAttempt) =>
      Effect.gen(function*() {
        if (result._tag === "Delivered") {
          stats.forwarding.delivered++
          yield* outbox.delivered(d.id, at, result.status)
          if (endpoint.failingSince !== null) yield* endpoints.recordAttempt(endpoint.id, true, at)
          return
        }
        stats.forwarding.failed++
        const retryAt = at + retryDelayMs(d.attempts + 1, result.retryAfterMs, yield* Random.next)
        const givenUp = retryAt > d.deadline
        yield* outbox.attemptFailed(d.id, at, result.status, result.error, givenUp ? null : retryAt)
        if (givenUp) yield* Effect.logWarning(`delivery ${d.id} to endpoint ${d.endpointId} given up: ${result.error}`)
        const after = yield* endpoints.recordAttempt(endpoint.id, false, at)
        if (after !== null && after.paused === null && after.failingSince !== null && at - after.failingSince >= settings.pauseAfterMs) {
          const seconds = Math.round((at - after.failingSince) / 1_000)
          const reason = `every delivery failed for ${seconds < 120 ? `${seconds} s` : `${Math.round(seconds / 60)} min`}; last: ${result.error}`
          yield* endpoints.update(endpoint.id, { paused: { at, reason } }, at)
          yield* Effect.logWarning(`webhook endpoint ${endpoint.id} paused: ${reason}`)
        }
      })

    const send = ({ d, deliver, endpoint }: Claimed) =>
      Effect.flatMap(deliver(d.id, d.body), (result) =>
        Effect.flatMap(Clock.currentTimeMillis, (at) => writer.submit(record(endpoint, d, at, result))))

    const sender = Effect.forever(
      Effect.flatMap(Queue.take(buffer), (claimed) =>
        Effect.zipRight(
          // The claimer is woken once the buffer is half empty, not by every take.
          Effect.sync(() => {
            if (Option.getOrElse(buffer.unsafeSize(), () => 0) * 2 <= capacity) taken.unsafeOpen()
          }),
          send(claimed)
        ))
    )

    /** Claims what is due into the buffer's free places (endpoints read once a claim); how many it claimed, of how many asked. */
    const claim = Effect.gen(function*() {
      const room = capacity - (yield* Queue.size(buffer))
      const due = yield* outbox.claimDue(room, settings.claimant, yield* Clock.currentTimeMillis, settings.claimTtlMs)
      const opened = new Map<string, Omit<Claimed, "d"> | null>()
      for (const d of due) {
        if (!opened.has(d.endpointId)) {
          const endpoint = yield* endpoints.find(d.endpointId)
          opened.set(d.endpointId, endpoint !== null && endpoint.paused === null ? { endpoint, deliver: deliverer.to(endpoint) } : null)
        }
        // An endpoint paused or removed since: its delivery is left to its claim's lapse.
        const to = opened.get(d.endpointId)
        if (to !== null && to !== undefined) yield* Queue.offer(buffer, { d, ...to })
      }
      return { claimed: due.length, asked: room }
    })

    const claimer = Effect.forever(
      Effect.gen(function*() {
        taken.unsafeClose()
        if ((yield* Queue.size(buffer)) * 2 > capacity) return yield* taken.await
        const { asked, claimed } = yield* claim
        // Nothing more is due now: look again after the poll interval.
        if (claimed < asked) yield* Effect.sleep(settings.pollIntervalMs)
      })
    )

    const loop = Effect.asVoid(Effect.all([claimer, ...Array.from({ length: Math.max(1, settings.concurrency) }, () => sender)], { concurrency: "unbounded" }))
    return { loop } satisfies Forwarder
  })
