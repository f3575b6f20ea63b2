import { randomInt } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Either } from "effect"
import type { SandboxConfig } from "./config.js"
import { defaultConfig } from "./config.js"
import type { Prng } from "./prng.js"
import { mulberry32 } from "./prng.js"
import { graphRead } from "./graph-reads.js"
import { duplicateRequest, INTENT_PATH, INTENT_SCRIPTS, requestIdFor, solutionIdOf } from "./intent-api.js"
import { createRateLimiter } from "./rate-limit.js"
import type { TemplateCategory } from "./send.js"
import { callbackDataOf, defaultTemplateCategory, isStatusUpdateBody, parseSendBody, parseStatusUpdate, planOf, routeOf, scriptOf } from "./send.js"
import type { SandboxStats } from "./stats.js"
import { createStatsCollector } from "./stats.js"
import type { Endpoint, MessagesItem, NumberIdentity, Rejection, StatusPayload, WireStyle } from "./wire.js"
import { acceptedBody, errorBody, pricingFor, rejections, termsSignedWebhook, webhookErrors } from "./wire.js"
import { createWebhookDispatcher } from "./webhooks.js"
import { type ListedTemplate, templateListPage } from "./template-list.js"

export interface SandboxOptions extends Partial<SandboxConfig> {
  /** Milliseconds since the epoch; drives the rate limit, the stats windows and webhook timestamps. */
  readonly clock?: () => number
}

/** What the sandbox knows about a business phone number. */
export interface NumberRecord {
  readonly phoneNumberId: string
  readonly wabaId: string
  readonly displayPhoneNumber: string
  readonly ownerBusinessId?: string
  readonly onboarded: boolean
  /** Meta's WABA setting `disable_marketing_messages_on_cloud_api`: marketing templates on `/messages` get 131063. Absent = false. */
  readonly marketingDisabledOnCloudApi?: boolean
}

export interface NumberPatch {
  readonly wabaId?: string
  readonly displayPhoneNumber?: string
  readonly ownerBusinessId?: string
  readonly onboarded?: boolean
  readonly marketingDisabledOnCloudApi?: boolean
}

/** What `PUT /sandbox/templates/{name}/{language}` tells about a template; `status` defaults to `APPROVED`. */
export interface TemplatePatch {
  readonly category: TemplateCategory
  readonly status?: string
  readonly ttlSeconds?: number | null
  /** Listed under this WABA only; absent: under every WABA. */
  readonly wabaId?: string
}

/**
 * A run-time onboarding change. `phoneNumberId`, `wabaId` or (business level) `ownerBusinessId` pick the
 * numbers; `onboarded` (default true) is applied to them; `webhook` (default: true when signing and
 * `ownerBusinessId` is known) emits `MM_LITE_TERMS_SIGNED`, WABA-level when `wabaId` is given.
 */
export interface OnboardingChange {
  readonly phoneNumberId?: string
  readonly wabaId?: string
  readonly ownerBusinessId?: string
  readonly onboarded?: boolean
  readonly webhook?: boolean
}

/** A request the sandbox received on the Intent API, and what it answered. */
export interface IntentApiRequest {
  readonly businessId: string
  readonly solutionId: string | null
  /** `request_id` when taken; otherwise the Graph error code answered (`null`: no answer). */
  readonly requestId: string | null
  readonly errorCode: number | null
}

export interface OnboardingResult {
  readonly updated: ReadonlyArray<string>
  readonly webhook: boolean
}

export interface Sandbox {
  /** `http://host:port`, without a trailing slash. */
  readonly url: string
  readonly port: number
  /** The seed in use: pass it back as `seed` to repeat this run. */
  readonly seed: number
  readonly config: SandboxConfig
  readonly stats: () => SandboxStats
  /** Clears stats, scripted-number attempt counters and rate-limit buckets; keeps numbers and templates. */
  readonly reset: () => void
  readonly setTemplateCategory: (name: string, language: string, category: TemplateCategory) => void
  /** A template with what its list shows (template-list.ts); its category also decides sends, as `setTemplateCategory`. */
  readonly setTemplate: (name: string, language: string, template: TemplatePatch) => ListedTemplate
  readonly setNumber: (phoneNumberId: string, patch: NumberPatch) => NumberRecord
  readonly number: (phoneNumberId: string) => NumberRecord
  readonly onboarding: (change: OnboardingChange) => Either.Either<OnboardingResult, string>
  /** The Intent API requests received since the start or the last reset, in order. */
  readonly intentRequests: () => ReadonlyArray<IntentApiRequest>
  /** Stops listening, drops open connections and undelivered webhooks. */
  readonly close: () => Promise<void>
}

const MAX_BODY_BYTES = 1024 * 1024
// Graph takes a path with or without the version segment (without it, the oldest version available).
const GRAPH_SEND = /^\/(?:v\d+\.\d+\/)?(\d+)\/(messages|marketing_messages)$/
const GRAPH_OBJECT = /^\/(?:v\d+\.\d+\/)?(\d+)$/
const GRAPH_TEMPLATES = /^\/(?:v\d+\.\d+\/)?(\d+)\/message_templates$/
const TEMPLATE_PATH = /^\/sandbox\/templates\/([^/]+)\/([^/]+)$/
const NUMBER_PATH = /^\/sandbox\/numbers\/(\d+)$/
const API_KEY = /^sandbox-(\d+)$/
const CATEGORIES = new Set<string>(["MARKETING", "UTILITY", "AUTHENTICATION"])

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const writeJson = (res: http.ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
  res.end(text)
}

const controlError = (res: http.ServerResponse, status: number, message: string) =>
  writeJson(res, status, { error: { message } })

/** Looks like a real wamid (base64 of the recipient and a message key) and is unique per sandbox run. */
const makeWamid = (to: string, sequence: number, rng: Prng): string => {
  const key = sequence.toString(16).toUpperCase().padStart(8, "0") + rng.string(10, "0123456789ABCDEF")
  const bytes = Buffer.concat([
    Buffer.from([0x1c, 0x18, to.length]),
    Buffer.from(to),
    Buffer.from([0x15, 0x02, 0x00, 0x11, 0x18, 0x12]),
    Buffer.from(key),
    Buffer.from([0x00])
  ])
  return `wamid.${bytes.toString("base64")}`
}

const optionalDigits = (body: Record<string, unknown>, field: string): string | undefined | Error => {
  const value = body[field]
  if (value === undefined) return undefined
  return typeof value === "string" && /^\d+$/.test(value) ? value : new Error(`${field} must be a string of digits`)
}

export const startSandbox = async (options: SandboxOptions = {}): Promise<Sandbox> => {
  const { clock: clockOption, ...overrides } = options
  const seed = options.seed ?? randomInt(0, 2 ** 31)
  const config: SandboxConfig = { ...defaultConfig, ...overrides, seed }
  const clock = clockOption ?? Date.now
  const rng = mulberry32(seed)
  const limiter = createRateLimiter(config.rateLimitPerSecond, clock)
  const counters = createStatsCollector(clock)
  const dispatcher = createWebhookDispatcher({
    url: config.webhookUrl,
    appSecret: config.appSecret,
    batchSize: config.webhookBatchSize,
    batchIntervalMs: config.webhookBatchIntervalMs,
    maxAttempts: config.webhookMaxAttempts,
    retryBaseMs: config.webhookRetryBaseMs,
    concurrency: config.webhookConcurrency
  })
  const templates = new Map<string, TemplateCategory>()
  /** What the template list shows, by WABA (or every WABA), name and language, in the order told. */
  const listedTemplates = new Map<string, ListedTemplate>()
  let templateIds = 0
  const numbers = new Map<string, NumberRecord>()
  const attempts = new Map<string, number>()
  let sequence = 0
  // Businesses already invited through the Intent API: a second request is Meta's duplicate.
  const invited = new Set<string>()
  const intentLog: Array<IntentApiRequest> = []

  const defaultNumber = (phoneNumberId: string): NumberRecord => ({
    phoneNumberId,
    wabaId: config.defaultWabaId,
    displayPhoneNumber: `1555${phoneNumberId.slice(-7).padStart(7, "0")}`,
    onboarded: true
  })
  for (const id of config.notOnboarded) numbers.set(id, { ...defaultNumber(id), onboarded: false })

  const numberOf = (phoneNumberId: string): NumberRecord => numbers.get(phoneNumberId) ?? defaultNumber(phoneNumberId)

  const setNumber = (phoneNumberId: string, patch: NumberPatch): NumberRecord => {
    const record: NumberRecord = { ...numberOf(phoneNumberId), ...patch }
    numbers.set(phoneNumberId, record)
    return record
  }

  const templateKey = (name: string, language: string) => `${name}\u0000${language}`

  const setTemplate = (name: string, language: string, patch: TemplatePatch): ListedTemplate => {
    templates.set(templateKey(name, language), patch.category)
    const key = `${patch.wabaId ?? "*"}\u0000${templateKey(name, language)}`
    const known = listedTemplates.get(key)
    const listed: ListedTemplate = {
      id: known?.id ?? String(1_689_556_908_000_000 + ++templateIds),
      name,
      language,
      category: patch.category,
      status: patch.status ?? known?.status ?? "APPROVED",
      ttlSeconds: patch.ttlSeconds === undefined ? known?.ttlSeconds ?? null : patch.ttlSeconds,
      wabaId: patch.wabaId ?? null
    }
    listedTemplates.set(key, listed)
    return listed
  }

  const onboarding = (change: OnboardingChange): Either.Either<OnboardingResult, string> => {
    const onboarded = change.onboarded ?? true
    const webhook = change.webhook ?? (onboarded && change.ownerBusinessId !== undefined)
    if (webhook && change.ownerBusinessId === undefined) {
      return Either.left("ownerBusinessId is required to emit MM_LITE_TERMS_SIGNED")
    }
    if (webhook && !onboarded) return Either.left("MM_LITE_TERMS_SIGNED can only be emitted when onboarding")
    if (change.phoneNumberId === undefined && change.wabaId === undefined && change.ownerBusinessId === undefined) {
      return Either.left("give phoneNumberId, wabaId or ownerBusinessId")
    }
    const updated: Array<string> = []
    if (change.phoneNumberId !== undefined) {
      setNumber(change.phoneNumberId, {
        onboarded,
        ...(change.wabaId === undefined ? {} : { wabaId: change.wabaId }),
        ...(change.ownerBusinessId === undefined ? {} : { ownerBusinessId: change.ownerBusinessId })
      })
      updated.push(change.phoneNumberId)
    } else {
      // Terms are accepted per WABA or for a whole business: every registered number under it follows.
      for (const record of numbers.values()) {
        const matches =
          change.wabaId !== undefined
            ? record.wabaId === change.wabaId
            : record.ownerBusinessId === change.ownerBusinessId
        if (matches) {
          setNumber(record.phoneNumberId, { onboarded })
          updated.push(record.phoneNumberId)
        }
      }
    }
    if (webhook && change.ownerBusinessId !== undefined) {
      dispatcher.sendAccountUpdate(
        termsSignedWebhook(change.ownerBusinessId, change.wabaId, Math.floor(clock() / 1000))
      )
    }
    return Either.right({ updated, webhook })
  }

  const reset = () => {
    counters.reset()
    dispatcher.resetStats()
    attempts.clear()
    limiter.reset()
    invited.clear()
    intentLog.length = 0
  }

  const scheduleWebhooks = (
    number: NumberIdentity,
    wamid: string,
    to: { readonly id: string; readonly byBsuid: boolean },
    category: ReturnType<typeof pricingFor>["category"],
    callbackData: string | undefined,
    script: ReturnType<typeof scriptOf>
  ) => {
    // Both draws happen for every accepted message so the sequence of random numbers does not depend on the rates.
    const randomFailure = rng.next() < config.failureRate
    const randomClick = rng.next() < config.clickRate
    const plan = planOf(script, randomFailure, randomClick)
    const start = clock()
    let delay = 0
    const pricing = pricingFor(category)
    for (const step of plan.statuses) {
      delay += rng.int(config.webhookLatencyMs.min, config.webhookLatencyMs.max)
      const base = {
        id: wamid,
        timestamp: String(Math.floor((start + delay) / 1000)),
        ...(to.byBsuid ? { recipient_user_id: to.id } : { recipient_id: to.id }),
        ...(callbackData === undefined ? {} : { biz_opaque_callback_data: callbackData })
      }
      const status: StatusPayload =
        step === "failed_131049"
          ? { ...base, status: "failed", errors: [webhookErrors.perUserMarketingLimit()] }
          : step === "failed_131026"
            ? { ...base, status: "failed", errors: [webhookErrors.undeliverable()] }
            : step === "read"
              ? { ...base, status: "read" }
              : { ...base, status: step, pricing }
      dispatcher.schedule({ kind: "status", number, status }, delay)
    }
    // Link click tracking is the MM API's (marketing_lite): a message that went through the Cloud API gets no click.
    if (plan.click && category === "marketing_lite") {
      delay += rng.int(config.webhookLatencyMs.min, config.webhookLatencyMs.max)
      const item: MessagesItem = {
        kind: "user_action",
        number,
        action: {
          action_type: "marketing_messages_link_click",
          timestamp: String(Math.floor((start + delay) / 1000)),
          marketing_messages_link_click_data: {
            click_component: rng.next() < 0.5 ? "CTA" : "BODY",
            click_id: `IwAR${rng.string(40)}`,
            tracking_token: `AI@${rng.string(32)}`
          }
        }
      }
      dispatcher.schedule(item, delay)
    }
  }

  const handleSend = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    style: WireStyle,
    endpoint: Endpoint,
    pathNumberId: string | undefined,
    raw: Buffer
  ) => {
    const endpointName = `${style} /${endpoint}`
    counters.request(endpointName)
    const latency = rng.int(config.responseLatencyMs.min, config.responseLatencyMs.max)
    const answer = (status: number, body: unknown) => {
      if (latency === 0) writeJson(res, status, body)
      else setTimeout(() => writeJson(res, status, body), latency)
    }
    const reject = (rejection: Rejection) => {
      counters.rejected(rejection.error.code)
      answer(rejection.status, errorBody(style, endpoint, { ...rejection.error, fbtrace_id: `A${rng.string(22)}` }))
    }

    let phoneNumberId: string
    if (style === "graph") {
      const authorization = req.headers.authorization ?? ""
      if (!/^Bearer\s+\S+/i.test(authorization)) return reject(rejections.missingToken())
      phoneNumberId = pathNumberId as string
    } else {
      const match = API_KEY.exec(String(req.headers["d360-api-key"] ?? "").trim())
      if (match === null) return reject(rejections.invalidApiKey())
      phoneNumberId = match[1] as string
    }

    let json: unknown
    try {
      json = JSON.parse(raw.toString("utf8"))
    } catch {
      return reject(rejections.invalidJson())
    }
    // A read receipt or a typing indicator: `/messages` takes them, answers `{"success": true}`, sends no webhook.
    if (endpoint === "messages" && isStatusUpdateBody(json)) {
      const update = parseStatusUpdate(json as Record<string, unknown>)
      if (Either.isLeft(update)) return reject(update.left)
      counters.statusUpdate(update.right.messageId, update.right.typing)
      return answer(200, { success: true })
    }
    const callbackData = callbackDataOf(json)
    if (callbackData !== undefined) counters.callbackRequest(callbackData)

    if (!limiter.take(phoneNumberId)) {
      counters.rateLimited(phoneNumberId)
      return reject(rejections.rateLimitHit())
    }

    const parsed = parseSendBody(json)
    if (Either.isLeft(parsed)) return reject(parsed.left)
    const request = parsed.right
    const number = numberOf(phoneNumberId)
    const category =
      request.template === undefined
        ? undefined
        : (templates.get(templateKey(request.template.name, request.template.language)) ??
          defaultTemplateCategory(request.template.name))
    const route = routeOf(endpoint, request, category, number.onboarded, number.marketingDisabledOnCloudApi === true)
    if (Either.isLeft(route)) return reject(route.left)

    const script = scriptOf(request.to)
    if (script === "rejected_131009") return reject(rejections.scriptedInvalidValue())
    if (script === "rate_limited_twice" || script === "server_error_once") {
      const key = callbackData !== undefined ? `cb:${callbackData}` : `to:${phoneNumberId}:${request.to}`
      const seen = attempts.get(key) ?? 0
      attempts.set(key, seen + 1)
      if (script === "rate_limited_twice" && seen < 2) return reject(rejections.rateLimitHit())
      if (script === "server_error_once" && seen < 1) return reject(rejections.somethingWentWrong())
    }

    sequence++
    const wamid = makeWamid(request.to, sequence, rng)
    counters.accepted(endpointName, route.right, phoneNumberId, callbackData)
    scheduleWebhooks(
      { phoneNumberId, wabaId: number.wabaId, displayPhoneNumber: number.displayPhoneNumber },
      wamid,
      { id: request.to, byBsuid: request.byBsuid },
      route.right,
      callbackData,
      script
    )
    if (script === "connection_dropped") {
      counters.dropped()
      req.socket.destroy()
      return
    }
    answer(200, acceptedBody(request, wamid))
  }

  const handleControl = (req: http.IncomingMessage, res: http.ServerResponse, path: string, query: string, raw: Buffer) => {
    const method = req.method ?? "GET"
    const readJson = (): Record<string, unknown> | undefined => {
      try {
        const value: unknown = raw.length === 0 ? {} : JSON.parse(raw.toString("utf8"))
        if (isRecord(value)) return value
      } catch {
        // answered below
      }
      controlError(res, 400, "the body must be a JSON object")
      return undefined
    }

    if (path === "/healthz" && method === "GET") return writeJson(res, 200, { status: "ok" })
    if (path === "/sandbox/stats" && method === "GET") {
      const withCallbackData = new URLSearchParams(query).get("byCallbackData") !== "false"
      return writeJson(res, 200, counters.snapshot(dispatcher.stats(), withCallbackData))
    }
    if (path === "/sandbox/intent-requests" && method === "GET") return writeJson(res, 200, { items: intentLog })
    if (path === "/sandbox/reset" && method === "POST") {
      reset()
      return writeJson(res, 200, { status: "reset" })
    }

    const template = TEMPLATE_PATH.exec(path)
    if (template !== null && method === "PUT") {
      let name: string
      let language: string
      try {
        name = decodeURIComponent(template[1] as string)
        language = decodeURIComponent(template[2] as string)
      } catch {
        return controlError(res, 400, "template name and language must be URL-encoded")
      }
      const body = readJson()
      if (body === undefined) return
      const category = typeof body["category"] === "string" ? body["category"].toUpperCase() : undefined
      if (category === undefined || !CATEGORIES.has(category)) {
        return controlError(res, 400, "category must be MARKETING, UTILITY or AUTHENTICATION")
      }
      const status = body["status"]
      if (status !== undefined && (typeof status !== "string" || !/^[A-Z_]+$/.test(status))) {
        return controlError(res, 400, "status must be a template status in capitals, such as APPROVED or PAUSED")
      }
      const ttlSeconds = body["ttlSeconds"]
      if (ttlSeconds !== undefined && ttlSeconds !== null && !Number.isInteger(ttlSeconds)) {
        return controlError(res, 400, "ttlSeconds must be an integer or null")
      }
      const wabaId = optionalDigits(body, "wabaId")
      if (wabaId instanceof Error) return controlError(res, 400, wabaId.message)
      const listed = setTemplate(name, language, {
        category: category as TemplateCategory,
        ...(status === undefined ? {} : { status: status as string }),
        ...(ttlSeconds === undefined ? {} : { ttlSeconds: ttlSeconds as number | null }),
        ...(wabaId === undefined ? {} : { wabaId })
      })
      return writeJson(res, 200, listed)
    }

    const numberPath = NUMBER_PATH.exec(path)
    if (numberPath !== null) {
      const id = numberPath[1] as string
      if (method === "GET") return writeJson(res, 200, numberOf(id))
      if (method === "PUT") {
        const body = readJson()
        if (body === undefined) return
        const wabaId = optionalDigits(body, "wabaId")
        const ownerBusinessId = optionalDigits(body, "ownerBusinessId")
        const display = body["displayPhoneNumber"]
        const onboarded = body["onboarded"]
        const marketingDisabled = body["marketingDisabledOnCloudApi"]
        if (wabaId instanceof Error) return controlError(res, 400, wabaId.message)
        if (ownerBusinessId instanceof Error) return controlError(res, 400, ownerBusinessId.message)
        if (display !== undefined && (typeof display !== "string" || !/^\+?\d+$/.test(display))) {
          return controlError(res, 400, "displayPhoneNumber must be a phone number")
        }
        if (onboarded !== undefined && typeof onboarded !== "boolean") {
          return controlError(res, 400, "onboarded must be a boolean")
        }
        if (marketingDisabled !== undefined && typeof marketingDisabled !== "boolean") {
          return controlError(res, 400, "marketingDisabledOnCloudApi must be a boolean")
        }
        return writeJson(
          res,
          200,
          setNumber(id, {
            ...(wabaId === undefined ? {} : { wabaId }),
            ...(ownerBusinessId === undefined ? {} : { ownerBusinessId }),
            ...(display === undefined ? {} : { displayPhoneNumber: display.replace(/^\+/, "") }),
            ...(onboarded === undefined ? {} : { onboarded }),
            ...(marketingDisabled === undefined ? {} : { marketingDisabledOnCloudApi: marketingDisabled })
          })
        )
      }
    }

    if (path === "/sandbox/onboarding" && method === "POST") {
      const body = readJson()
      if (body === undefined) return
      const change: { -readonly [K in keyof OnboardingChange]: OnboardingChange[K] } = {}
      for (const field of ["phoneNumberId", "wabaId", "ownerBusinessId"] as const) {
        const value = optionalDigits(body, field)
        if (value instanceof Error) return controlError(res, 400, value.message)
        if (value !== undefined) change[field] = value
      }
      for (const field of ["onboarded", "webhook"] as const) {
        const value = body[field]
        if (value === undefined) continue
        if (typeof value !== "boolean") return controlError(res, 400, `${field} must be a boolean`)
        change[field] = value
      }
      const result = onboarding(change)
      return Either.isLeft(result) ? controlError(res, 400, result.left) : writeJson(res, 200, result.right)
    }

    return writeJson(res, 404, {
      error: { message: `Unknown path components: ${path}`, type: "OAuthException", code: 2500 }
    })
  }

  /** `GET /{version}/{id}?fields=…`: a WABA's or a business portfolio's MM API onboarding status (graph-reads.ts). */
  const handleGraphRead = (req: http.IncomingMessage, res: http.ServerResponse, id: string, query: string) => {
    const authorization = req.headers.authorization ?? ""
    if (!/^Bearer\s+\S+/i.test(authorization)) {
      const missing = rejections.missingToken()
      return writeJson(res, missing.status, { error: { ...missing.error, fbtrace_id: "sandbox" } })
    }
    const records = [...numbers.values()]
    const isBusiness = records.some((n) => n.ownerBusinessId === id)
    const notOnboarded = records.some((n) => n.wabaId === id && !n.onboarded)
    const answer = graphRead(id, new URLSearchParams(query).get("fields"), isBusiness, notOnboarded)
    return writeJson(res, answer.status, answer.body)
  }

  /** `GET /{version}/{WABA_ID}/message_templates`: the templates it was told about, page by page (template-list.ts). */
  const handleTemplateList = (req: http.IncomingMessage, res: http.ServerResponse, path: string, wabaId: string, query: string) => {
    const authorization = req.headers.authorization ?? ""
    if (!/^Bearer\s+\S+/i.test(authorization)) {
      const missing = rejections.missingToken()
      return writeJson(res, missing.status, { error: { ...missing.error, fbtrace_id: "sandbox" } })
    }
    const host = req.headers.host ?? `${config.host}:${config.port}`
    const answer = templateListPage(wabaId, listedTemplates.values(), new URLSearchParams(query), `http://${host}${path}`, config.templatePageSize)
    return writeJson(res, answer.status, answer.body)
  }

  /** `POST /{version}/{END_BUSINESS_ID}/onboard_partners_to_mm_lite` (intent-api.ts). */
  const handleIntent = (req: http.IncomingMessage, res: http.ServerResponse, businessId: string, raw: Buffer) => {
    const authorization = req.headers.authorization ?? ""
    if (!/^Bearer\s+\S+/i.test(authorization)) {
      const missing = rejections.missingToken()
      return writeJson(res, missing.status, { error: { ...missing.error, fbtrace_id: "sandbox" } })
    }
    const solutionId = solutionIdOf(raw)
    if (solutionId instanceof Error) {
      return writeJson(res, 400, { error: { message: `(#100) ${solutionId.message}`, type: "OAuthException", code: 100, fbtrace_id: "sandbox" } })
    }
    const script = INTENT_SCRIPTS[businessId.slice(-4)] ?? (invited.has(businessId) ? duplicateRequest() : null)
    if (script === null) {
      invited.add(businessId)
      const requestId = requestIdFor(businessId, intentLog.length + 1)
      intentLog.push({ businessId, solutionId, requestId, errorCode: null })
      return writeJson(res, 200, { request_id: requestId })
    }
    if (script._tag === "Drop") {
      intentLog.push({ businessId, solutionId, requestId: null, errorCode: null })
      return req.socket.destroy()
    }
    intentLog.push({ businessId, solutionId, requestId: null, errorCode: script.error["code"] as number })
    return writeJson(res, script.status, { error: script.error })
  }

  const server = http.createServer((req, res) => {
    const chunks: Array<Buffer> = []
    let size = 0
    let tooLarge = false
    req.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) tooLarge = true
      else chunks.push(chunk)
    })
    req.on("end", () => {
      if (tooLarge) return controlError(res, 413, "request body too large")
      const raw = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)
      const url = req.url ?? "/"
      const query = url.indexOf("?")
      const path = query === -1 ? url : url.slice(0, query)
      if (req.method === "POST") {
        const intent = INTENT_PATH.exec(path)
        if (intent !== null) return handleIntent(req, res, intent[1]!, raw)
        const graph = GRAPH_SEND.exec(path)
        if (graph !== null) return handleSend(req, res, "graph", graph[2] as Endpoint, graph[1], raw)
        if (path === "/messages") return handleSend(req, res, "360dialog", "messages", undefined, raw)
        if (path === "/marketing_messages") return handleSend(req, res, "360dialog", "marketing_messages", undefined, raw)
      }
      if (req.method === "GET") {
        const list = GRAPH_TEMPLATES.exec(path)
        if (list !== null) return handleTemplateList(req, res, path, list[1]!, query === -1 ? "" : url.slice(query + 1))
        const object = GRAPH_OBJECT.exec(path)
        if (object !== null) return handleGraphRead(req, res, object[1]!, query === -1 ? "" : url.slice(query + 1))
      }
      return handleControl(req, res, path, query === -1 ? "" : url.slice(query + 1), raw)
    })
  })
  // Clients keep connections open between sends; outlive their idle timeouts so they are not cut mid-reuse.
  server.keepAliveTimeout = 65_000
  server.headersTimeout = 66_000

  return new Promise<Sandbox>((resolve, reject) => {
    server.once("error", (error) => {
      dispatcher.close()
      reject(error)
    })
    server.listen(config.port, config.host, () => {
      const port = (server.address() as AddressInfo).port
      const host = config.host.includes(":") ? `[${config.host}]` : config.host
      resolve({
        url: `http://${host}:${port}`,
        port,
        seed,
        config,
        stats: () => counters.snapshot(dispatcher.stats()),
        reset,
        setTemplateCategory: (name, language, category) => {
          setTemplate(name, language, { category })
        },
        setTemplate,
        setNumber,
        number: numberOf,
        onboarding,
        intentRequests: () => [...intentLog],
        close: () =>
          new Promise<void>((done) => {
            dispatcher.close()
            server.close(() => done())
            server.closeAllConnections()
          })
      })
    })
  })
}
