/**
 * The Graph reads the sandbox plays (packages/sandbox/README.md#graph-reads): the MM API onboarding
 * status of a WABA and of a business portfolio, `GET /{id}?fields=marketing_messages_onboarding_status`.
 * By default a WABA is `ONBOARDED` (as every number is onboarded) and a portfolio has signed the terms;
 * the id's last four digits script the other answers, as the recipients' last four digits script sends.
 */

export const ONBOARDING_FIELD = "marketing_messages_onboarding_status"

/** A WABA's status by the last four digits of its id; anything else is `ONBOARDED`. */
export const WABA_STATUS_SCRIPTS: Readonly<Record<string, string>> = {
  "0001": "ELIGIBLE",
  "0002": "INELIGIBLE_COUNTRY_NOT_SUPPORTED",
  "0003": "PENDING_INTERNAL_SETUP",
  // A value Meta may add one day: the gateway keeps it as it is.
  "0004": "MM_STATUS_NOT_YET_KNOWN"
}

/** A business portfolio's status by the last four digits of its id; anything else has signed. */
export const BUSINESS_STATUS_SCRIPTS: Readonly<Record<string, string>> = {
  "0001": "NOT_STARTED",
  "0002": "REQUEST_SENT"
}

/** Ids ending so answer Graph's error for an object that cannot be read (code 100). */
export const UNREADABLE_ENDING = "0100"

/** Graph's answer for an object that does not exist or cannot be read (code 100, subcode 33). */
export const unsupportedGet = (id: string): Record<string, unknown> => ({
  error: {
    message: `Unsupported get request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
    type: "GraphMethodException",
    code: 100,
    error_subcode: 33,
    fbtrace_id: "sandbox"
  }
})

export type GraphRead =
  | { readonly status: 200; readonly body: Record<string, unknown> }
  | { readonly status: 400; readonly body: Record<string, unknown> }

/**
 * The answer for object `id`. `isBusiness`: the id is a business portfolio the sandbox knows (an owner
 * of its numbers). `notOnboardedWaba`: a number of this WABA was set not onboarded, so the WABA has not
 * accepted the terms yet (`ELIGIBLE`), unless a script says otherwise.
 */
export const graphRead = (id: string, fields: string | null, isBusiness: boolean, notOnboardedWaba: boolean): GraphRead => {
  const ending = id.slice(-4)
  if (ending === UNREADABLE_ENDING) {
    return { status: 400, body: unsupportedGet(id) }
  }
  const asked = (fields ?? "").split(",").map((f) => f.trim())
  if (!asked.includes(ONBOARDING_FIELD)) return { status: 200, body: { id } }
  const status = isBusiness
    ? { status: BUSINESS_STATUS_SCRIPTS[ending] ?? "TERM_OF_SERVICE_SIGNED", time: "2026-06-30" }
    : WABA_STATUS_SCRIPTS[ending] ?? (notOnboardedWaba ? "ELIGIBLE" : "ONBOARDED")
  return { status: 200, body: { [ONBOARDING_FIELD]: status, id } }
}
