/**
 * Meta's Intent API as the sandbox plays it (packages/sandbox/README.md#intent-api):
 * `POST /{version}/{END_BUSINESS_ID}/onboard_partners_to_mm_lite`, optional `solution_id`. By default
 * Meta takes the request and answers `{request_id}`; a second request for the same business answers
 * 1752041 "Duplicate Request", as Meta does once a partner has invited it. The business id's last four
 * digits script the documented refusals, and two answers Meta does not document.
 */

export const INTENT_PATH = /^\/(?:v\d+\.\d+\/)?(\d+)\/onboard_partners_to_mm_lite$/

export type IntentScript =
  | { readonly _tag: "Answer"; readonly status: number; readonly error: Record<string, unknown> }
  /** The connection is destroyed after the request was read: the caller gets no answer. */
  | { readonly _tag: "Drop" }

const graphError = (status: number, code: number, message: string, user?: { readonly title: string; readonly msg: string }): IntentScript => ({
  _tag: "Answer",
  status,
  error: {
    message,
    type: "OAuthException",
    code,
    ...(user === undefined ? {} : { error_user_title: user.title, error_user_msg: user.msg }),
    fbtrace_id: "sandbox"
  }
})

const invalidRecipient = (msg: string) => graphError(400, 100, "Invalid recipient type", { title: "Invalid recipient type", msg })

/** Meta's answer to a duplicate request: some partner has already invited the business. */
export const duplicateRequest = (): IntentScript => graphError(400, 1752041, "(#1752041) Duplicate Request")

/** Scripted answers by the last four digits of the business id; anything else is taken. */
export const INTENT_SCRIPTS: Readonly<Record<string, IntentScript>> = {
  "1001": invalidRecipient("The business has already accepted the Marketing Messages API for WhatsApp terms of service."),
  "1002": invalidRecipient("The business has no WhatsApp Business Account in a country where Marketing Messages API for WhatsApp is available."),
  "1003": invalidRecipient("The business has no eligible WhatsApp Business Account shared with your business."),
  "1004": graphError(400, 100, "Your business has already sent this request to this business."),
  "1005": graphError(403, 10, "The app does not have sufficient permissions to send this request."),
  "1006": duplicateRequest(),
  // Answers Meta does not document for this endpoint: an unknown error, and no answer at all.
  "1007": graphError(500, 1, "An unknown error has occurred."),
  "1008": { _tag: "Drop" }
}

/** A `request_id` that looks like Meta's (15 digits), the same for the same business and request number in every run. */
export const requestIdFor = (businessId: string, sequence: number): string => {
  let hash = 0x811c9dc5
  for (const ch of `${businessId}:${sequence}`) hash = Math.imul(hash ^ ch.charCodeAt(0), 0x01000193) >>> 0
  return `89${String(hash).padStart(10, "0")}${String(sequence % 1000).padStart(3, "0")}`
}

/** The `solution_id` of a request body (JSON, or empty); an Error when the body is not one the sandbox reads. */
export const solutionIdOf = (raw: Buffer): string | null | Error => {
  const text = raw.toString("utf8").trim()
  if (text === "") return null
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return new Error("The request body is not valid JSON")
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) return new Error("The request body must be a JSON object")
  const value = (body as Record<string, unknown>)["solution_id"]
  if (value === undefined) return null
  return typeof value === "string" && /^\d+$/.test(value) ? value : new Error("Param solution_id must be a string of digits")
}
