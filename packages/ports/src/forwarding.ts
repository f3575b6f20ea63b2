import { Context, type Effect } from "effect"
import type { Page } from "./pagination.js"

/**
 * What a tenant's endpoint may receive (docs/forwarding.md#events): inbound customer messages, message
 * statuses, user actions (clicks), account updates (onboarding, bans, capability changes) and template
 * updates (status, category, quality).
 */
export const FORWARD_EVENTS = ["messages", "statuses", "clicks", "account", "templates"] as const
export type ForwardEvent = typeof FORWARD_EVENTS[number]

/** How long a webhook's deliveries are attempted when `MMGW_FORWARD_RETRY_FOR` is not set: a day. */
export const FORWARD_RETRY_FOR_DEFAULT_MS = 24 * 60 * 60_000

/** A tenant's own app that receives its webhooks, as the store keeps it. */
export interface WebhookEndpointRecord {
  readonly id: string
  readonly url: string
  readonly events: ReadonlyArray<ForwardEvent>
  /** The Business Managers whose WABAs' webhooks it receives. */
  readonly businessManagerIds: ReadonlyArray<string>
  /** Channels (phone number ids) whose webhooks it receives besides (a key scoped to channels). */
  readonly channelIds: ReadonlyArray<string>
  /** The signing secret, encrypted by the caller: the store never sees it in the clear. */
  readonly secretCiphertext: string
  /** Paused endpoints are not delivered to; their deliveries wait. */
  readonly paused: { readonly at: number; readonly reason: string } | null
  /** Since when every attempt failed; null once one succeeded (or before any). */
  readonly failingSince: number | null
  readonly createdAt: number
  readonly updatedAt: number
}

/** What `PATCH` may change; a field left out stays as it is. */
export interface WebhookEndpointChange {
  readonly url?: string
  readonly events?: ReadonlyArray<ForwardEvent>
  readonly secretCiphertext?: string
  readonly paused?: { readonly at: number; readonly reason: string } | null
}

/** The endpoints tenants registered. */
export class WebhookEndpoints extends Context.Tag("@mm-gateway/ports/WebhookEndpoints")<WebhookEndpoints, {
  readonly insert: (record: WebhookEndpointRecord) => Effect.Effect<void>
  readonly find: (id: string) => Effect.Effect<WebhookEndpointRecord | null>
  /**
   * By id, after `afterId` (exclusive); with `scope`, only those that cover one of its Business
   * Managers or channels (what a scoped key sees).
   */
  readonly list: (
    limit: number,
    afterId: string | null,
    scope: { readonly businessManagerIds: ReadonlyArray<string>; readonly channelIds: ReadonlyArray<string> } | null
  ) => Effect.Effect<ReadonlyArray<WebhookEndpointRecord>>
  /** Every endpoint, paused or not, covering one of these Business Managers or channels: where a webhook goes. */
  readonly covering: (businessManagerIds: ReadonlyArray<string>, channelIds: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<WebhookEndpointRecord>>
  /** The endpoint after the change, or null when there is none. */
  readonly update: (id: string, change: WebhookEndpointChange, at: number) => Effect.Effect<WebhookEndpointRecord | null>
  /** Gone with its deliveries; false when there was none. */
  readonly remove: (id: string) => Effect.Effect<boolean>
  /** An attempt's outcome: a success clears `failingSince`, a failure sets it when it was clear. */
  readonly recordAttempt: (id: string, succeeded: boolean, at: number) => Effect.Effect<WebhookEndpointRecord | null>
}>() {}

export type DeliveryState = "pending" | "delivered" | "failed"

/** A forwarded body to deliver: one endpoint's cut of one verified webhook. */
export interface NewDelivery {
  /** Made by the caller from the endpoint and the webhook, so processing a webhook again names the same delivery. */
  readonly id: string
  readonly endpointId: string
  /** The inbox row the body was cut from; null for a status the gateway made itself (docs/forwarding.md#the-gateways-own-statuses). */
  readonly inboxId: number | null
  /** The events the body holds. */
  readonly events: ReadonlyArray<ForwardEvent>
  readonly body: Uint8Array
  /** When the gateway acknowledged the webhook (its 200): where the delivery latency starts. */
  readonly receivedAt: number
  readonly createdAt: number
  /** No attempt after this: the delivery is given up (`failed`). */
  readonly deadline: number
}

export interface Delivery extends NewDelivery {
  readonly state: DeliveryState
  readonly attempts: number
  /** When the next attempt is due (pending only). */
  readonly nextAttemptAt: number | null
  readonly lastAttemptAt: number | null
  /** The endpoint's HTTP status of the last attempt; null when it did not answer. */
  readonly lastStatus: number | null
  readonly lastError: string | null
  readonly deliveredAt: number | null
  /** From the webhook's 200 to the endpoint's 2xx, for a delivery that was not replayed. */
  readonly latencyMs: number | null
  readonly replayedAt: number | null
}

/** Replay one delivery, or every one created in [from, to]. */
export type ReplaySelection =
  | { readonly _tag: "Delivery"; readonly deliveryId: string }
  | { readonly _tag: "Range"; readonly from: number; readonly to: number }

export interface ForwardingSummary {
  readonly pending: number
  /** Pending deliveries that failed at least once. */
  readonly retrying: number
  /** Given up (the retry window passed), until replayed. */
  readonly failed: number
  readonly oldestPendingAt: number | null
  /** Latency of the deliveries delivered within the window asked for, in milliseconds (null when none). */
  readonly latency: { readonly count: number; readonly p50: number | null; readonly p99: number | null }
}

/** The nearest-rank percentile `q` of ascending `sorted` values (what PostgreSQL's `percentile_disc` answers); null when empty. */
export const nearestRank = (sorted: ReadonlyArray<number>, q: number): number | null =>
  sorted.length === 0 ? null : sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!

export interface EndpointHealth {
  readonly endpointId: string
  readonly pending: number
  readonly failed: number
  readonly lastDeliveredAt: number | null
  readonly lastError: string | null
}

/**
 * The forwarding outbox (docs/forwarding.md): deliveries written in the transaction that processes
 * their webhook, claimed by the workers, attempted until delivered or past their deadline.
 */
export class ForwardingOutbox extends Context.Tag("@mm-gateway/ports/ForwardingOutbox")<ForwardingOutbox, {
  /** Idempotent by id: a webhook processed again (a replay, a crash before its marking) adds nothing. */
  readonly enqueue: (deliveries: ReadonlyArray<NewDelivery>) => Effect.Effect<void>
  /**
   * Pending deliveries due at `now` of endpoints not paused, that no claimant holds (`claimant` itself
   * included: what it claimed and has not recorded is in its hands) or whose claim lapsed, earliest
   * due first, now claimed by `claimant` until `now + ttlMs`. The due deliveries of paused endpoints
   * the claim passes on its way are held (pending, `nextAttemptAt` null): a paused endpoint's backlog
   * is passed over once, not by every claim, and never keeps another endpoint's deliveries back. Held
   * deliveries of an endpoint no longer paused are due again at `now` (docs/forwarding.md#delivery).
   */
  readonly claimDue: (limit: number, claimant: string, now: number, ttlMs: number) => Effect.Effect<ReadonlyArray<Delivery>>
  /** Delivered: attempts + 1, the claim released. */
  readonly delivered: (id: string, at: number, status: number) => Effect.Effect<void>
  /** An attempt failed: attempts + 1, pending again at `retryAt`, or `failed` when `retryAt` is null; the claim released. */
  readonly attemptFailed: (id: string, at: number, status: number | null, error: string, retryAt: number | null) => Effect.Effect<void>
  readonly get: (id: string) => Effect.Effect<Delivery | null>
  /** The endpoint's deliveries, newest first; `state` narrows them. */
  readonly list: (endpointId: string, limit: number, cursor: string | null, state: DeliveryState | null) => Effect.Effect<Page<Delivery>>
  /**
   * Delivered or failed deliveries of the endpoint back to pending, due at `now`, with a new deadline
   * (pending ones are left as they are); the number replayed.
   */
  readonly replay: (endpointId: string, selection: ReplaySelection, now: number, deadline: number) => Effect.Effect<number>
  /** After a resume: the endpoint's pending deliveries due at `now`, with a new deadline; how many. */
  readonly resume: (endpointId: string, now: number, deadline: number) => Effect.Effect<number>
  /** For the metrics: the outbox now, and the latency of what was delivered since `since`. */
  readonly summary: (since: number) => Effect.Effect<ForwardingSummary>
  readonly health: (endpointIds: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<EndpointHealth>>
  /**
   * Forgets up to `limit` delivered or failed deliveries created before `createdBefore` (the worker's
   * retention of the delivery log, `MMGW_FORWARD_LOG_KEEP`); how many. Pending ones stay.
   */
  readonly dropFinished: (createdBefore: number, limit: number) => Effect.Effect<number>
}>() {}

/** One attempt to deliver a body to an endpoint, as the app's answer (or its silence) decided it. */
export type DeliveryAttempt =
  | { readonly _tag: "Delivered"; readonly status: number }
  | {
    readonly _tag: "Failed"
    /** The endpoint's HTTP status; null when it did not answer (refused, timed out, not allowed). */
    readonly status: number | null
    /** What went wrong, for the delivery log: never the body, never a secret. */
    readonly error: string
    /** The endpoint asked for a pause (`Retry-After`), in milliseconds. */
    readonly retryAfterMs: number | null
  }

/**
 * What the worker asks of the outside to forward (docs/forwarding.md#delivery): `to` opens an
 * endpoint once (its URL checked, its secret decrypted by whoever holds the key) and gives the sender
 * of its deliveries: one POST of `body` each, signed with the secret, with the delivery id for the app
 * to deduplicate. Never fails: every outcome is an attempt (an endpoint that cannot be opened makes
 * every attempt a failed one, saying why).
 */
export class WebhookDeliverer extends Context.Tag("@mm-gateway/ports/WebhookDeliverer")<WebhookDeliverer, {
  readonly to: (
    endpoint: { readonly url: string; readonly secretCiphertext: string }
  ) => (deliveryId: string, body: Uint8Array) => Effect.Effect<DeliveryAttempt>
}>() {}
