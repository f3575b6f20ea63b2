import type { ProviderGateway } from "@mm-gateway/domain"

type JsonObject = Record<string, unknown>

const isObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

const stringOrNull = (value: unknown): string | null => typeof value === "string" && value.length > 0 ? value : null

const codeOf = (value: unknown): number | null => {
  if (typeof value === "number" && Number.isSafeInteger(value)) return value
  if (typeof value === "string" && /^\d{1,9}$/.test(value.trim())) return Number(value.trim())
  return null
}

/** A Meta error object (`{code, message, error_data: {details}, …}` or webhook-style `{code, title, details}`). */
const toProviderError = (candidate: unknown): ProviderGateway.ProviderError | null => {
  if (!isObject(candidate)) return null
  const code = codeOf(candidate["code"])
  if (code === null) return null
  const errorData = candidate["error_data"]
  const details = (isObject(errorData) ? stringOrNull(errorData["details"]) : stringOrNull(errorData))
    ?? stringOrNull(candidate["details"])
  return {
    code,
    title: stringOrNull(candidate["title"]) ?? stringOrNull(candidate["error_user_title"]),
    message: stringOrNull(candidate["message"]) ?? stringOrNull(candidate["error_user_msg"]),
    details
  }
}

/**
 * The Meta error inside an error answer: Graph's `{"error": {…}}`, 360dialog's
 * `{"detail": {"error": {…}}}` (and `{"detail": {…}}` with the code directly in it), or an
 * `{"errors": [{…}]}` list. Anything else, including a body that is not JSON, is `null`: the
 * caller then has only the HTTP status to go on.
 */
export const parseProviderError = (bodyText: string): ProviderGateway.ProviderError | null => {
  const body = parseJson(bodyText)
  if (!isObject(body)) return null
  const detail = body["detail"]
  const errors = body["errors"]
  const candidates: Array<unknown> = [
    body["error"],
    isObject(detail) ? detail["error"] : undefined,
    detail,
    Array.isArray(errors) ? errors[0] : undefined
  ]
  for (const candidate of candidates) {
    const error = toProviderError(candidate)
    if (error !== null) return error
  }
  return null
}

/** `Retry-After` as delta-seconds or an HTTP date, relative to `nowMs`; unreadable → null. */
export const parseRetryAfter = (header: string | undefined, nowMs: number): number | null => {
  if (header === undefined) return null
  const value = header.trim()
  if (/^\d+$/.test(value)) return Math.min(Number(value), 86_400) * 1_000
  if (!/[a-z]/i.test(value)) return null
  const at = Date.parse(value)
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs)
}

const MESSAGE_STATUSES = new Set(["accepted", "held_for_quality_assessment", "paused"])

/**
 * What one complete answer means. A 2xx counts as accepted only with a wamid in `messages[0].id`;
 * a 2xx without one says nothing we can rely on, so the outcome is unknown.
 */
export const interpretResponse = (
  status: number,
  bodyText: string,
  retryAfter: string | undefined,
  nowMs: number
): ProviderGateway.ProviderSendResult => {
  if (status >= 200 && status < 300) {
    const body = parseJson(bodyText)
    const messages = isObject(body) ? body["messages"] : undefined
    const first: unknown = Array.isArray(messages) ? messages[0] : undefined
    const wamid = isObject(first) ? stringOrNull(first["id"]) : null
    if (wamid === null || !isObject(first)) {
      return { _tag: "NoDefinitiveAnswer", reason: body === undefined ? `http_${status}_unparseable_body` : `http_${status}_without_wamid` }
    }
    const reported = first["message_status"]
    const messageStatus = typeof reported === "string" && MESSAGE_STATUSES.has(reported)
      ? reported as "accepted" | "held_for_quality_assessment" | "paused"
      : "accepted"
    return { _tag: "Accepted", wamid, messageStatus }
  }
  return { _tag: "HttpError", status, error: parseProviderError(bodyText), retryAfterMs: parseRetryAfter(retryAfter, nowMs) }
}
