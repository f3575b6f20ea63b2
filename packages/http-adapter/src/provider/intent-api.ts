import { IntentApi } from "@mm-gateway/domain"
import { Config, Effect, Layer, Option, Redacted } from "effect"
import { providerClientConfig } from "./config.js"
import { ProviderTransport, providerTransportLayer } from "./transport.js"

/** The setting that holds the partner's system-user token. */
export const SYSTEM_USER_TOKEN_SETTING = "MMGW_META_SYSTEM_USER_TOKEN"

/** Where the api asks Meta's Intent API, with which token, and how long it waits (docs/provider.md#intent-api). */
export interface IntentApiConfig {
  /** Meta Graph, without a trailing slash. */
  readonly graphBaseUrl: string
  readonly graphApiVersion: string
  /** The partner's system-user token (advanced `whatsapp_business_management` and `whatsapp_business_messaging`); `null`: not configured. */
  readonly systemUserToken: Redacted.Redacted<string> | null
  /** The `solution_id` sent when a request names none; `null`: none. */
  readonly defaultSolutionId: string | null
  readonly requestTimeoutMs: number
  readonly connectTimeoutMs: number
}

/**
 * From the environment: `MMGW_META_SYSTEM_USER_TOKEN` (a secret, optional), `MMGW_META_SOLUTION_ID`
 * (optional), and Graph's base URL, version and the timeouts as the worker reads them
 * (`providerClientConfig`: `MMGW_GRAPH_BASE_URL`, `MMGW_GRAPH_API_VERSION`, `MMGW_PROVIDER_TIMEOUT_MS`,
 * `MMGW_PROVIDER_CONNECT_TIMEOUT_MS`).
 */
export const intentApiConfig: Config.Config<IntentApiConfig> = Config.all({
  client: providerClientConfig,
  systemUserToken: Config.option(Config.redacted(SYSTEM_USER_TOKEN_SETTING)),
  defaultSolutionId: Config.option(Config.string("MMGW_META_SOLUTION_ID").pipe(
    Config.validate({ message: "MMGW_META_SOLUTION_ID must be a Graph id (digits)", validation: (v) => /^\d{1,32}$/.test(v) })
  ))
}).pipe(Config.map(({ client, defaultSolutionId, systemUserToken }) => ({
  graphBaseUrl: client.graphBaseUrl,
  graphApiVersion: client.graphApiVersion,
  // An empty value is no token: asking for a request then says which setting is missing.
  systemUserToken: Option.getOrNull(Option.filter(systemUserToken, (t) => Redacted.value(t).trim() !== "")),
  defaultSolutionId: Option.getOrNull(defaultSolutionId),
  requestTimeoutMs: client.requestTimeoutMs,
  connectTimeoutMs: client.connectTimeoutMs
})))

/** Meta's answer to a duplicate request: a partner has already invited the business. */
export const DUPLICATE_REQUEST_CODE = 1752041

/**
 * The refusals Meta documents for the Intent API, by their text (Meta gives no code for them), and
 * Graph's permission codes (10, 200–299) for the last. First match wins.
 */
export const INTENT_REFUSALS: ReadonlyArray<{
  readonly reason: IntentApi.IntentRefusal
  readonly matches: (code: number | null, text: string) => boolean
}> = [
  { reason: "invalid_recipient_type", matches: (_, text) => /invalid recipient type/i.test(text) },
  { reason: "request_already_sent", matches: (_, text) => /already sent (this|the|a) request/i.test(text) },
  {
    reason: "insufficient_permissions",
    matches: (code, text) => /(sufficient|missing) permissions?/i.test(text) || code === 10 || (code !== null && code >= 200 && code <= 299)
  }
]

/** Which of the three cases of "invalid recipient type" Meta's text names, if it names one. */
const causeOf = (text: string): IntentApi.InvalidRecipientCause | null =>
  /already (signed|accepted)/i.test(text)
    ? "already_signed"
    : /country/i.test(text)
    ? "ineligible_country"
    : /(WABA|WhatsApp Business Account)/i.test(text)
    ? "no_eligible_waba"
    : null

const stringOrNull = (value: unknown): string | null => typeof value === "string" && value !== "" ? value : null

/**
 * A complete answer of the Intent API: `{request_id}` on 2xx; 1752041 is "already invited"; the
 * documented refusals by `INTENT_REFUSALS`; anything else a Graph error with its code and text.
 * `secret` is cut out of any text Meta sends back.
 */
export const intentResultOf = (
  httpStatus: number,
  text: string,
  solutionId: string | null,
  secret: string
): IntentApi.IntentResult => {
  let json: unknown = null
  try {
    json = JSON.parse(text)
  } catch {
    json = null
  }
  const clean = (value: string | null) => value === null || secret === "" ? value : value.split(secret).join("[redacted]")
  const body = typeof json === "object" && json !== null ? json as Record<string, unknown> : {}
  if (httpStatus >= 200 && httpStatus <= 299) {
    const id = body["request_id"]
    if (typeof id === "string" && id !== "") return { _tag: "Requested", requestId: id, solutionId }
    if (typeof id === "number" && Number.isSafeInteger(id)) return { _tag: "Requested", requestId: String(id), solutionId }
    return { _tag: "GraphError", graph: { httpStatus, code: null, message: "Meta's answer has no request_id" } }
  }
  const error = typeof body["error"] === "object" && body["error"] !== null ? body["error"] as Record<string, unknown> : {}
  const code = typeof error["code"] === "number" ? error["code"] : null
  if (code === DUPLICATE_REQUEST_CODE) return { _tag: "AlreadyInvited", solutionId }
  const message = clean(stringOrNull(error["message"]))
  const words = [message, clean(stringOrNull(error["error_user_title"])), clean(stringOrNull(error["error_user_msg"]))]
    .filter((w): w is string => w !== null)
    .join(" ")
  const graph = { httpStatus, code, message: words === "" ? (json === null ? "Meta's answer is not JSON" : null) : words }
  const refusal = INTENT_REFUSALS.find((r) => r.matches(code, words))
  if (refusal === undefined) return { _tag: "GraphError", graph }
  return { _tag: "Refused", reason: refusal.reason, cause: refusal.reason === "invalid_recipient_type" ? causeOf(words) : null, graph }
}

/**
 * The `IntentApi` port over a `ProviderTransport`: `POST {graphBaseUrl}/{version}/{businessId}/onboard_partners_to_mm_lite`
 * with the system-user token as bearer and `{"solution_id"}` when there is one. Never fails: without a
 * token nothing is sent (`NotConfigured`), and transport trouble is `NoAnswer` with its phase.
 */
export const makeIntentApi = (config: IntentApiConfig) =>
  Effect.map(ProviderTransport, (transport) =>
    IntentApi.IntentApi.of({
      requestOnboarding: (request) => {
        const token = config.systemUserToken
        if (token === null) return Effect.succeed<IntentApi.IntentResult>({ _tag: "NotConfigured", setting: SYSTEM_USER_TOKEN_SETTING })
        const solutionId = request.solutionId ?? config.defaultSolutionId
        const url = `${config.graphBaseUrl}/${encodeURIComponent(config.graphApiVersion)}/${encodeURIComponent(request.businessId)}/onboard_partners_to_mm_lite`
        return transport.post(url, {
          authorization: `Bearer ${Redacted.value(token)}`,
          accept: "application/json",
          "content-type": "application/json"
        }, JSON.stringify(solutionId === null ? {} : { solution_id: solutionId })).pipe(
          Effect.map((answer) => intentResultOf(answer.status, answer.text, solutionId, Redacted.value(token))),
          Effect.catchAll((failure) =>
            Effect.succeed<IntentApi.IntentResult>({ _tag: "NoAnswer", sent: failure.phase === "sent", reason: failure.reason })
          ),
          Effect.catchAllDefect(() => Effect.succeed<IntentApi.IntentResult>({ _tag: "NoAnswer", sent: true, reason: "client_defect" }))
        )
      }
    }))

/** The port over a given transport (tests swap it). */
export const intentApiLayerWith = (config: IntentApiConfig): Layer.Layer<IntentApi.IntentApi, never, ProviderTransport> =>
  Layer.effect(IntentApi.IntentApi, makeIntentApi(config))

/** The port with its own transport: one socket at a time is plenty for an operator's requests. */
export const intentApiLayer = (config: IntentApiConfig): Layer.Layer<IntentApi.IntentApi> =>
  intentApiLayerWith(config).pipe(Layer.provide(providerTransportLayer({
    requestTimeoutMs: config.requestTimeoutMs,
    connectTimeoutMs: config.connectTimeoutMs,
    maxSocketsPerOrigin: 4,
    idleSocketTimeoutMs: 4_000
  })))
