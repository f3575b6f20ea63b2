import type { BusinessManagerState } from "./business-manager.js"
import type { OnboardingFact, SuspensionKind, WabaState } from "./waba.js"

export type MmApiStatus = "not_onboarded" | "onboarded" | "suspended"
export type MmApiSource = "waba_webhook" | "business_webhook" | "manual" | "provider_error" | "meta_api"

export interface MmApiStatusView {
  readonly status: MmApiStatus
  /** When the current status began (webhook time for webhook facts). */
  readonly since: number | null
  readonly source: MmApiSource | null
  readonly reason: string | null
  /** When a time-bound suspension (a restriction's `expiration`) ends by itself, if it does. */
  readonly suspendedUntil: number | null
}

interface ActiveSuspension {
  readonly kind: SuspensionKind
  readonly since: number
  readonly expiresAt: number | null
  readonly reason: string | null
}

/**
 * The suspensions in force at `now`. Suspension facts are applied in the order of the webhook's own
 * time (`entry[].time`), arrival order only breaking ties, so delivery order does not matter.
 */
const activeSuspensions = (waba: WabaState, now: number): ReadonlyArray<ActiveSuspension> => {
  const ordered = [...waba.suspension].sort((a, b) => a.occurredAt - b.occurredAt || a.seq - b.seq)
  const active = new Map<SuspensionKind, ActiveSuspension>()
  for (const fact of ordered) {
    if (fact.action === "clear_all") active.clear()
    else if (fact.action === "reinstate") active.delete(fact.kind)
    else {
      const current = active.get(fact.kind)
      active.set(fact.kind, {
        kind: fact.kind,
        since: current?.since ?? fact.occurredAt,
        expiresAt: fact.expiresAt,
        reason: fact.reason
      })
    }
  }
  return [...active.values()]
    .filter((s) => s.expiresAt === null || s.expiresAt > now)
    .sort((a, b) => a.since - b.since)
}

const outcomeOf = (f: Pick<OnboardingFact, "onboarded" | "source">) => `${f.onboarded}:${f.source}`

/**
 * A WABA's Marketing Messages API status at `now`, from the WABA's facts and its Business Manager's
 * (business-level terms cover every WABA of the BM, those registered later too). The result is a
 * function of the set of facts: the latest fact by time decides, and `since` is where the trailing run
 * of facts with that same outcome began.
 */
export const mmApiStatus = (
  waba: WabaState,
  businessManager: BusinessManagerState | null,
  now: number
): MmApiStatusView => {
  const suspensions = activeSuspensions(waba, now)
  const first = suspensions[0]
  if (first !== undefined) {
    const ends = suspensions.map((s) => s.expiresAt)
    return {
      status: "suspended",
      since: first.since,
      source: first.kind === "manual" ? "manual" : "waba_webhook",
      reason: first.reason,
      suspendedUntil: ends.some((e) => e === null) ? null : Math.max(...(ends as Array<number>))
    }
  }
  const facts: Array<OnboardingFact> = [...waba.onboarding]
  if (businessManager?.termsSignedAt != null) {
    // Business-level facts sort before WABA facts of the same time.
    facts.push({ onboarded: true, source: "business_webhook", at: businessManager.termsSignedAt, reason: null, seq: -1 })
  }
  facts.sort((a, b) => a.at - b.at || a.seq - b.seq)
  const latest = facts[facts.length - 1]
  if (latest === undefined) {
    return { status: "not_onboarded", since: null, source: null, reason: null, suspendedUntil: null }
  }
  let since = latest.at
  for (let i = facts.length - 1; i >= 0 && outcomeOf(facts[i]!) === outcomeOf(latest); i--) since = facts[i]!.at
  return {
    status: latest.onboarded ? "onboarded" : "not_onboarded",
    since,
    source: latest.source,
    reason: latest.reason,
    suspendedUntil: null
  }
}
