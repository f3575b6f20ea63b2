import { Schema } from "effect"
import { ProviderError } from "../dispatch/provider-gateway.js"
import type { Route } from "../routing/decide-route.js"
import { Wamid } from "../shared/ids.js"
import { EpochMillis } from "../shared/time.js"

/** A status Meta reports in a `statuses[]` webhook. `played` (voice) and others are not tracked. */
export const ObservedStatus = Schema.Literal("sent", "delivered", "read", "failed")
export type ObservedStatus = typeof ObservedStatus.Type

export const Pricing = Schema.Struct({
  category: Schema.NullOr(Schema.String),
  pricingModel: Schema.NullOr(Schema.String),
  type: Schema.NullOr(Schema.String),
  billable: Schema.NullOr(Schema.Boolean)
})
export type Pricing = typeof Pricing.Type

/** One status webhook about one message, with the webhook's own timestamp. */
export const StatusObservation = Schema.Struct({
  wamid: Wamid,
  status: ObservedStatus,
  timestamp: EpochMillis,
  recipient: Schema.NullOr(Schema.String),
  pricing: Schema.NullOr(Pricing),
  /** `conversation.origin.type`, present in payloads of Graph ≤ v23. */
  originType: Schema.NullOr(Schema.String),
  errors: Schema.Array(ProviderError),
  /**
   * Group messages: `recipient_type` (`"group"`; `recipient` is then the group's id) and
   * `recipient_participant_id`, the member the status is about. Absent when the webhook does not say
   * (one-to-one statuses), and in observations recorded before StatusObserved schema version 2.
   */
  recipientType: Schema.optionalWith(Schema.String, { exact: true }),
  participant: Schema.optionalWith(Schema.String, { exact: true }),
  /**
   * `recipient_user_id`: the user's BSUID, beside `recipient` (the number) or alone. Absent when the
   * webhook does not say, and in observations recorded before StatusObserved schema version 3.
   */
  recipientUserId: Schema.optionalWith(Schema.String, { exact: true })
})
export type StatusObservation = typeof StatusObservation.Type

/** The visible status of a message (docs/domain.md#message-lifecycle). */
export type MessageStatus =
  | "accepted"
  | "submitted"
  | "dispatch_unknown"
  | "sent"
  | "expired"
  | "failed"
  | "delivered"
  | "read"

/**
 * The join order of visible statuses: the visible status is the highest one any fact supports, so it
 * never depends on arrival order or duplicates and never moves backwards. `failed` beats `sent` but
 * never `delivered`/`read`; an expiry is superseded by what Meta reports later.
 */
export const STATUS_PRECEDENCE: Record<MessageStatus, number> = {
  accepted: 0,
  submitted: 1,
  dispatch_unknown: 2,
  sent: 3,
  expired: 4,
  failed: 5,
  delivered: 6,
  read: 7
}

/** Lifecycle rank (`accepted < submitted < sent < delivered < read`) used to pick which status speaks for pricing. */
const OBSERVATION_RANK: Record<ObservedStatus, number> = { failed: 0, sent: 1, delivered: 2, read: 3 }

/** `marketing_lite` means the MM API carried the message; any other category means the Cloud API. */
const routeOfCategory = (category: string): Route => category === "marketing_lite" ? "marketing_messages" : "cloud_api"

const better = (a: StatusObservation, b: StatusObservation, key: (o: StatusObservation) => string): boolean => {
  const rank = OBSERVATION_RANK[a.status] - OBSERVATION_RANK[b.status]
  return rank !== 0 ? rank > 0 : key(a) > key(b)
}

/**
 * Which route Meta really used, from `pricing.category` (or `conversation.origin.type` for older
 * payloads). When statuses disagree the highest-ranked status carrying pricing wins, so order does not
 * matter.
 */
export const observedRoute = (observations: ReadonlyArray<StatusObservation>): { route: Route; pricing: Pricing | null } | null => {
  let withPricing: StatusObservation | undefined
  let withOrigin: StatusObservation | undefined
  for (const o of observations) {
    if (o.pricing?.category != null && (withPricing === undefined || better(o, withPricing, (x) => x.pricing?.category ?? ""))) {
      withPricing = o
    }
    if (o.originType !== null && (withOrigin === undefined || better(o, withOrigin, (x) => x.originType ?? ""))) {
      withOrigin = o
    }
  }
  if (withPricing?.pricing?.category != null) {
    return { route: routeOfCategory(withPricing.pricing.category), pricing: withPricing.pricing }
  }
  if (withOrigin?.originType != null) return { route: routeOfCategory(withOrigin.originType), pricing: null }
  return null
}

/**
 * Two observations are the same fact when they say the same thing at the same time, about the same
 * group member: in a group, each member's `read` is its own status.
 */
export const observationKey = (o: StatusObservation): string =>
  [
    o.wamid,
    o.status,
    o.timestamp,
    o.pricing?.category ?? "",
    o.originType ?? "",
    o.errors.map((e) => e.code).sort((a, b) => a - b).join(","),
    // Only when present, so the keys of one-to-one observations stay what they were.
    ...(o.participant === undefined ? [] : [`participant:${o.participant}`])
  ].join("|")
