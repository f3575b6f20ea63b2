import { Context, type Effect } from "effect"
import type { Page } from "./pagination.js"

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

/** How many pending deliveries a claimant holds claimed at some moment. */
export interface InboxClaims {
  readonly claimant: string
  readonly bodies: number
}

/**
 * The durable webhook inbox: every verified delivery is stored raw before it is answered, and the
 * worker turns pending rows into commands. Identical deliveries (same source, same body bytes) are
 * stored once and answered as accepted again.
 */
export class WebhookInbox extends Context.Tag("@mm-gateway/ports/WebhookInbox")<WebhookInbox, {
  /**
   * Stores a delivery durably: the effect completes once it is committed, and only then may the
   * delivery be acknowledged. A store may commit the deliveries of one moment together (group commit).
   */
  readonly accept: (
    body: Uint8Array,
    headers: Readonly<Record<string, string>>,
    source: InboxSource,
    receivedAt: number
  ) => Effect.Effect<Accepted>
  /**
   * The oldest pending deliveries no other claimant holds (never claimed, claimed by `claimant`, or
   * whose claim lapsed at `now`), in arrival order, now claimed by `claimant` until `now + ttlMs`.
   * Several workers claiming at once get disjoint sets. Rows stay pending until marked, so a crash
   * only delays them until the claim lapses, and applying one twice must be harmless.
   */
  readonly claimPending: (limit: number, claimant: string, now: number, ttlMs: number) => Effect.Effect<ReadonlyArray<InboxEntry>>
  /** Pending deliveries claimed at `now`, per claimant, by claimant. */
  readonly claims: (now: number) => Effect.Effect<ReadonlyArray<InboxClaims>>
  readonly markProcessed: (ids: ReadonlyArray<number>, at: number) => Effect.Effect<void>
  readonly quarantine: (id: number, reason: string, at: number) => Effect.Effect<void>
  readonly listQuarantined: (limit: number, cursor: string | null) => Effect.Effect<Page<InboxEntry>>
  /** Back to pending and unclaimed (after an upgrade taught the decoder what it could not read). False when no such quarantined row. */
  readonly replay: (id: number) => Effect.Effect<boolean>
  readonly get: (id: number) => Effect.Effect<InboxEntry | null>
  /** For the `mmgw_webhook_inbox_pending` gauge. */
  readonly pendingCount: () => Effect.Effect<number>
  /**
   * Forgets those of the oldest `limit` processed deliveries (by id) processed before
   * `processedBefore` (the worker's retention, `MMGW_INBOX_KEEP`); returns how many, so work per call
   * stays bounded however many are kept. Pending and quarantined ones stay. A body forgotten is new
   * again if it comes again.
   */
  readonly dropProcessed: (processedBefore: number, limit: number) => Effect.Effect<number>
}>() {}

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
