import type { RouteContext } from "../application/send-message.js"
import type { FailureOutcome, MessageRecord } from "../lifecycle/message.js"
import { decideRoute, type Route, type RouteDecision, type RouteInput } from "../routing/decide-route.js"
import type { ErrorClassification } from "./classify.js"

/** What to record for a failure the classification wants to re-route (`RecordDispatchFailed`). */
export interface RerouteDecision {
  readonly outcome: Extract<FailureOutcome, { readonly _tag: "Reroute" | "Final" }>
  /** `RecordDispatchFailed.reason`: the classification's reason, or why the message may not go the other way. */
  readonly reason: string
}

const final = (reason: string): RerouteDecision => ({ outcome: { _tag: "Final" }, reason })

const allowedOrWhyNot = (decision: RouteDecision, to: Route, reroute: Extract<ErrorClassification, { _tag: "Reroute" }>) =>
  decision._tag === "Routed" && decision.route === to
    ? { outcome: { _tag: "Reroute", to, reason: reroute.reason }, reason: reroute.reason } satisfies RerouteDecision
    : final(`reroute_to_${to}_not_allowed: ${decision.reasons.join(", ")}`)

/**
 * Re-route once (docs/worker.md#re-route-once), asked of the routing policy: may a failure that
 * `classifyProviderOutcome` says to re-route really go the other way, given what is known now? The dispatcher
 * calls this with the route context loaded at the time of the failure (`loadRouteContext`) and records the
 * answer with `RecordDispatchFailed { outcome, reason }`.
 *
 * - Never twice, never under `STRICT` (the Message decider refuses both as well).
 * - To `marketing_messages` (131063 on `/messages`, "marketing templates disabled for the Cloud API"):
 *   only if eligible — `decideRoute` on the MM endpoint must route it there (WABA onboarded, partner
 *   routing on, no channel forced to the Cloud API, recipient not opted out or cooling down). Meta's
 *   131063 says the template is a marketing one, so it is judged as MARKETING.
 * - To `cloud_api` when the template is not a marketing one (131055/134100): as the policy routes a
 *   template Meta refused as not marketing — only a suspended WABA stops it.
 * - To `cloud_api` when the terms are not accepted (131055 "accept the terms"): as the policy routes a
 *   WABA that is not onboarded — the partner's TTL policy (`reject`), an opted-out recipient or a
 *   cooldown stop it.
 * - To `cloud_api` when the template is unavailable (134102): if the policy allows the Cloud API for
 *   it — `decideRoute` with the Cloud API forced, so a TTL under the `reject` policy, an opted-out
 *   recipient, a cooldown or a suspended WABA stop it.
 *
 * Not allowed → a final failure whose reason names the rules that stood in the way.
 */
export const decideReroute = (
  reroute: Extract<ErrorClassification, { _tag: "Reroute" }>,
  message: MessageRecord,
  context: RouteContext
): RerouteDecision => {
  const request = message.request
  if (request.productPolicy === "STRICT") return final(`${reroute.reason}: STRICT never re-routes`)
  if (message.rerouted.length > 0) return final(`${reroute.reason}: already re-routed once`)
  if (reroute.to === message.route) return final(`${reroute.reason}: already on ${reroute.to}`)
  const base: RouteInput = {
    endpoint: request.endpoint,
    template: context.template,
    wabaStatus: context.waba.status,
    settings: context.settings,
    channelRouting: context.channel.routing,
    productPolicy: request.productPolicy,
    recipient: context.recipient
  }
  // A template message's template is always in the context; a message without one is judged as such.
  const template = context.template ?? { category: null, categoryAt: null, ttlSeconds: null, refusedAsNotMarketing: false }
  switch (reroute.reason) {
    case "marketing_disabled_on_cloud_api":
      return allowedOrWhyNot(
        decideRoute({ ...base, endpoint: "marketing_messages", template: { ...template, category: "MARKETING", refusedAsNotMarketing: false } }),
        reroute.to,
        reroute
      )
    case "not_a_marketing_template":
      return allowedOrWhyNot(decideRoute({ ...base, endpoint: "messages", template: { ...template, refusedAsNotMarketing: true } }), reroute.to, reroute)
    case "terms_not_accepted":
      return allowedOrWhyNot(decideRoute({ ...base, endpoint: "messages", wabaStatus: base.wabaStatus === "suspended" ? "suspended" : "not_onboarded" }), reroute.to, reroute)
    case "template_unavailable":
      return allowedOrWhyNot(decideRoute({ ...base, endpoint: "messages", channelRouting: "cloud_api" }), reroute.to, reroute)
  }
}
