/**
 * `GET /{version}/{WABA_ID}/message_templates` as the sandbox plays it (packages/sandbox/README.md#template-list):
 * the templates it was told about (`PUT /sandbox/templates/{name}/{language}`), in Graph's shape
 * `{data: [...], paging: {cursors: {before, after}, next?}}`, page by page. The WABA id's last four
 * digits script failures, like the Graph reads' (graph-reads.ts).
 */
import { unsupportedGet } from "./graph-reads.js"
import type { TemplateCategory } from "./send.js"

/** A template in the sandbox's registry, as its list shows it. */
export interface ListedTemplate {
  /** Graph's template id (digits). */
  readonly id: string
  readonly name: string
  readonly language: string
  readonly category: TemplateCategory
  /** Meta's status (`APPROVED`, `PAUSED`, …); kept as told (an open set). */
  readonly status: string
  /** `message_send_ttl_seconds`; `null`: not set, and then absent from the answer (as Graph leaves unset fields out). */
  readonly ttlSeconds: number | null
  /** Listed under this WABA only; `null`: under every WABA. */
  readonly wabaId: string | null
}

/** WABA ids ending so answer Graph's error 100 on the first page (as the Graph reads do). */
export const LIST_UNREADABLE_ENDING = "0100"
/** WABA ids ending so answer their first page, then Graph's error 2 (HTTP 500) on every further page. */
export const LIST_FAILS_AFTER_FIRST_PAGE_ENDING = "0101"

/** Graph's page size without `limit`. */
export const DEFAULT_TEMPLATE_PAGE = 25
const DEFAULT_FIELDS = ["name", "language", "status", "category", "id"]
const KNOWN_FIELDS = new Set([...DEFAULT_FIELDS, "message_send_ttl_seconds"])

export type TemplateListAnswer = { readonly status: number; readonly body: Record<string, unknown> }

const cursorOf = (offset: number) => Buffer.from(`offset:${offset}`).toString("base64url")
const offsetOf = (cursor: string): number | null => {
  const match = /^offset:(\d+)$/.exec(Buffer.from(cursor, "base64url").toString("utf8"))
  return match === null ? null : Number(match[1])
}

const invalidParameter = (message: string): TemplateListAnswer => ({
  status: 400,
  body: { error: { message: `(#100) ${message}`, type: "OAuthException", code: 100, fbtrace_id: "sandbox" } }
})

const temporarilyUnavailable: TemplateListAnswer = {
  status: 500,
  body: { error: { message: "An unexpected error has occurred. Please retry your request later.", type: "OAuthException", code: 2, is_transient: true, fbtrace_id: "sandbox" } }
}

/**
 * One page of WABA `wabaId`'s templates. `selfUrl` is the URL the page was asked at without its query
 * (the `next` link repeats it with the next cursor); `maxPageSize` caps `limit`
 * (`MMGW_SANDBOX_TEMPLATE_PAGE_SIZE`).
 */
export const templateListPage = (
  wabaId: string,
  registry: Iterable<ListedTemplate>,
  query: URLSearchParams,
  selfUrl: string,
  maxPageSize: number
): TemplateListAnswer => {
  const ending = wabaId.slice(-4)
  if (ending === LIST_UNREADABLE_ENDING) return { status: 400, body: unsupportedGet(wabaId) }
  const fieldsParam = query.get("fields")
  const fields = fieldsParam === null ? DEFAULT_FIELDS : fieldsParam.split(",").map((f) => f.trim()).filter((f) => f !== "")
  const unknown = fields.find((f) => !KNOWN_FIELDS.has(f))
  if (unknown !== undefined) return invalidParameter(`Tried accessing nonexisting field (${unknown}) on node type (WhatsAppMessageTemplate)`)
  const limitParam = query.get("limit")
  if (limitParam !== null && !/^[1-9]\d*$/.test(limitParam)) return invalidParameter("Param limit must be a positive integer")
  const limit = Math.min(limitParam === null ? DEFAULT_TEMPLATE_PAGE : Number(limitParam), maxPageSize)
  const after = query.get("after")
  const offset = after === null ? 0 : offsetOf(after)
  if (offset === null) return invalidParameter("Param after is not a valid cursor")
  if (offset > 0 && ending === LIST_FAILS_AFTER_FIRST_PAGE_ENDING) return temporarilyUnavailable

  const all = [...registry].filter((t) => t.wabaId === null || t.wabaId === wabaId)
  const page = all.slice(offset, offset + limit)
  const data = page.map((t) => {
    const shown: Record<string, unknown> = {}
    for (const field of fields) {
      if (field === "message_send_ttl_seconds") {
        if (t.ttlSeconds !== null) shown[field] = t.ttlSeconds
      } else shown[field] = t[field as "name" | "language" | "status" | "category" | "id"]
    }
    return shown
  })
  const end = offset + page.length
  const nextQuery = new URLSearchParams(query)
  nextQuery.set("limit", String(limit))
  nextQuery.set("after", cursorOf(end))
  const paging = page.length === 0
    ? {}
    : {
      paging: {
        cursors: { before: cursorOf(offset), after: cursorOf(end) },
        ...(end < all.length ? { next: `${selfUrl}?${nextQuery.toString()}` } : {})
      }
    }
  return { status: 200, body: { data, ...paging } }
}
