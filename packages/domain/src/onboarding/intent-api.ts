import { Context, type Effect } from "effect"

/**
 * The partner asks Meta to invite a business portfolio's admins to accept the MM API terms: Meta's
 * Intent API, `POST /{END_BUSINESS_ID}/onboard_partners_to_mm_lite` with the partner's system-user token
 * (docs/provider.md#intent-api). The adapter holds the token and the default `solution_id`.
 */
export interface IntentRequest {
  /** The Business Manager (business portfolio) id, Meta's END_BUSINESS_ID. */
  readonly businessId: string
  /** The Multi-Partner Solution to name; `null`: the configured default, if any. */
  readonly solutionId: string | null
}

/** The documented refusals (docs/provider.md#intent-api). */
export type IntentRefusal = "invalid_recipient_type" | "request_already_sent" | "insufficient_permissions"

/** What "invalid recipient type" covers, when Meta's text says which. */
export type InvalidRecipientCause = "already_signed" | "ineligible_country" | "no_eligible_waba"

/** A Graph error as Meta gave it: its code and text (the text never carries the token). */
export interface GraphErrorSummary {
  readonly httpStatus: number
  readonly code: number | null
  readonly message: string | null
}

export type IntentResult =
  /** Meta took the request: its `request_id`, and the `solution_id` sent (`null`: none). */
  | { readonly _tag: "Requested"; readonly requestId: string; readonly solutionId: string | null }
  /** Meta's 1752041 "Duplicate Request": a partner has already invited the business; nothing to do. */
  | { readonly _tag: "AlreadyInvited"; readonly solutionId: string | null }
  /** One of the documented refusals. */
  | { readonly _tag: "Refused"; readonly reason: IntentRefusal; readonly cause: InvalidRecipientCause | null; readonly graph: GraphErrorSummary }
  /** Any other answer that is not a `request_id`. */
  | { readonly _tag: "GraphError"; readonly graph: GraphErrorSummary }
  /** No answer: `sent` false when nothing reached Meta, true when the request may have arrived. */
  | { readonly _tag: "NoAnswer"; readonly sent: boolean; readonly reason: string }
  /** The partner's system-user token is not configured: nothing was sent. `setting` names it. */
  | { readonly _tag: "NotConfigured"; readonly setting: string }

/** The outbound port for Meta's Intent API. It never fails in the error channel: every outcome is a value. */
export class IntentApi extends Context.Tag("@mm-gateway/domain/IntentApi")<IntentApi, {
  readonly requestOnboarding: (request: IntentRequest) => Effect.Effect<IntentResult>
}>() {}
