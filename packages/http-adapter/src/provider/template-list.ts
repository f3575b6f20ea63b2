import type { ProviderGateway } from "@mm-gateway/domain"
import { Effect, Redacted } from "effect"
import type { ProviderTransport } from "./transport.js"

/**
 * Meta's template list, `GET /{version}/{WABA_ID}/message_templates` (docs/provider.md#template-list),
 * every page. The next page is asked at our own Graph base with `paging.cursors.after`, never at the
 * URL in `paging.next` as given: the token goes to the configured host only.
 */

export const TEMPLATE_FIELDS = "name,language,category,status,message_send_ttl_seconds,id"
/** Templates per page asked for. */
export const TEMPLATE_PAGE_LIMIT = 100
/** A list longer than this many pages is taken for a paging loop. */
export const MAX_TEMPLATE_PAGES = 1_000

type Page =
  | {
    readonly _tag: "Page"
    readonly templates: ReadonlyArray<ProviderGateway.ListedTemplate>
    readonly skipped: ReadonlyArray<string>
    /** The cursor of the next page; `null` on the last. */
    readonly after: string | null
  }
  | { readonly _tag: "Failed"; readonly reason: string }

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value)
const text = (value: unknown): string | null => (typeof value === "string" && value !== "" ? value : null)

/**
 * One page of the list from Graph's answer. An error answer names its HTTP status and Graph code,
 * never its text (which could quote what was sent). An entry without a name or language, or with a
 * TTL that is not an integer, is skipped and described by its place (`page` counts from 1).
 */
export const templateListPageOf = (httpStatus: number, body: string, page: number): Page => {
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    return { _tag: "Failed", reason: `http_${httpStatus}_not_json` }
  }
  if (httpStatus < 200 || httpStatus > 299) {
    const code = isRecord(json) && isRecord(json["error"]) ? json["error"]["code"] : undefined
    return { _tag: "Failed", reason: typeof code === "number" ? `http_${httpStatus}_code_${code}` : `http_${httpStatus}` }
  }
  if (!isRecord(json) || !Array.isArray(json["data"])) return { _tag: "Failed", reason: "not_a_template_list" }
  const templates: Array<ProviderGateway.ListedTemplate> = []
  const skipped: Array<string> = []
  json["data"].forEach((entry: unknown, index) => {
    const where = `page ${page}, data[${index}]`
    if (!isRecord(entry)) return skipped.push(`${where}: not an object`)
    const name = text(entry["name"])
    const language = text(entry["language"])
    if (name === null || language === null) return skipped.push(`${where}: no ${name === null ? "name" : "language"}`)
    const ttl = entry["message_send_ttl_seconds"]
    if (ttl !== undefined && ttl !== null && !Number.isInteger(ttl)) return skipped.push(`${where} (${name}/${language}): message_send_ttl_seconds is not an integer`)
    const id = entry["id"]
    templates.push({
      id: typeof id === "string" || typeof id === "number" ? String(id) : null,
      name,
      language,
      category: text(entry["category"]),
      status: text(entry["status"]),
      ttlSeconds: typeof ttl === "number" ? ttl : null
    })
  })
  const paging = isRecord(json["paging"]) ? json["paging"] : {}
  const next = text(paging["next"])
  if (next === null) return { _tag: "Page", templates, skipped, after: null }
  const cursors = isRecord(paging["cursors"]) ? paging["cursors"] : {}
  let after = text(cursors["after"])
  if (after === null) {
    try {
      after = text(new URL(next).searchParams.get("after"))
    } catch {
      after = null
    }
  }
  return after === null ? { _tag: "Failed", reason: "paging_next_without_cursor" } : { _tag: "Page", templates, skipped, after }
}

/** Every page of WABA `wabaId`'s list from `base` (`{graph base}/{version}`) with its token. */
export const readTemplateList = (
  transport: typeof ProviderTransport.Service,
  base: { readonly url: string; readonly secret: Redacted.Redacted<string> },
  wabaId: string
): Effect.Effect<ProviderGateway.TemplateListResult> =>
  Effect.gen(function*() {
    const templates: Array<ProviderGateway.ListedTemplate> = []
    const skipped: Array<string> = []
    const seen = new Set<string>()
    let after: string | null = null
    for (let page = 1; page <= MAX_TEMPLATE_PAGES; page++) {
      const query = new URLSearchParams({ fields: TEMPLATE_FIELDS, limit: String(TEMPLATE_PAGE_LIMIT) })
      if (after !== null) query.set("after", after)
      const answer = yield* transport.get(`${base.url}/${encodeURIComponent(wabaId)}/message_templates?${query.toString()}`, {
        authorization: `Bearer ${Redacted.value(base.secret)}`,
        accept: "application/json"
      }).pipe(Effect.either)
      if (answer._tag === "Left") return { _tag: "Failed", reason: answer.left.reason } as const
      const read = templateListPageOf(answer.right.status, answer.right.text, page)
      if (read._tag === "Failed") return read
      templates.push(...read.templates)
      skipped.push(...read.skipped)
      if (read.after === null) return { _tag: "Read", templates, skipped, pages: page } as const
      if (seen.has(read.after)) return { _tag: "Failed", reason: "paging_repeated_cursor" } as const
      seen.add(read.after)
      after = read.after
    }
    return { _tag: "Failed", reason: "too_many_pages" } as const
  }).pipe(Effect.catchAllDefect(() => Effect.succeed({ _tag: "Failed", reason: "client_defect" } as const)))
