import { Headers, HttpClient, HttpClientError, HttpClientRequest } from "@effect/platform"
import { ProviderGateway } from "@mm-gateway/domain"
import { Clock, type ConfigError, Effect, Layer, Option, Redacted } from "effect"
import type { ProviderClientConfig } from "./config.js"
import { providerClientConfig } from "./config.js"
import { ChannelCredentials } from "./credentials.js"
import type { ChannelSecrets } from "./credentials.js"
import { interpretResponse } from "./response.js"
import { readTemplateList } from "./template-list.js"
import { ProviderTransport, providerTransportLayer, TransportFailure } from "./transport.js"

/** Where one request goes and how it authenticates; the secret stays redacted until the header is set. */
export interface WireTarget {
  readonly url: string
  readonly header: "authorization" | "d360-api-key"
  readonly secret: Redacted.Redacted<string>
}

const PATH: Record<ProviderGateway.ProviderRequest["route"], string> = {
  marketing_messages: "marketing_messages",
  cloud_api: "messages"
}

/**
 * Graph style for Meta and the sandbox (`{base}/{version}/{phone-number-id}/{endpoint}`, bearer);
 * 360dialog's `{base}/{endpoint}` with `D360-API-KEY` (the key names the number). `null` when the
 * channel's secrets lack what the style needs.
 */
export const wireTarget = (
  config: ProviderClientConfig,
  request: Pick<ProviderGateway.ProviderRequest, "provider" | "phoneNumberId" | "route">,
  secrets: ChannelSecrets
): WireTarget | null => {
  const endpoint = PATH[request.route]
  const graphPath = `${encodeURIComponent(config.graphApiVersion)}/${encodeURIComponent(request.phoneNumberId)}/${endpoint}`
  switch (request.provider) {
    case "meta": {
      const token = secrets.accessToken
      return token === undefined ? null : { url: `${config.graphBaseUrl}/${graphPath}`, header: "authorization", secret: token }
    }
    case "sandbox": {
      const token = secrets.apiKey ?? secrets.accessToken
      return token === undefined ? null : { url: `${config.sandboxBaseUrl}/${graphPath}`, header: "authorization", secret: token }
    }
    case "360dialog": {
      const key = secrets.apiKey
      return key === undefined ? null : { url: `${config.d360BaseUrl}/${endpoint}`, header: "d360-api-key", secret: key }
    }
  }
}

/** The headers of a JSON request to `target`: its credential in the header its style asks for. */
export const wireHeaders = (target: WireTarget): Record<string, string> => ({
  [target.header]: target.header === "authorization" ? `Bearer ${Redacted.value(target.secret)}` : Redacted.value(target.secret),
  accept: "application/json",
  "content-type": "application/json"
})

type NoAnswer = Extract<ProviderGateway.ProviderSendResult, { readonly _tag: "ConnectionNotEstablished" | "NoDefinitiveAnswer" }>

const unreachable = (reason: string): NoAnswer => ({ _tag: "ConnectionNotEstablished", reason })
const unknown = (reason: string): NoAnswer => ({ _tag: "NoDefinitiveAnswer", reason })

/** Node codes that mean the connection was never opened, for clients other than ours. */
const CONNECT_ONLY = /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EAI_FAIL|EAI_NONAME|ENETUNREACH|EHOSTUNREACH|UND_ERR_CONNECT_TIMEOUT)$/

/**
 * A client error as an outcome. Ours carries a `TransportFailure` with the phase; for any other
 * `HttpClient` only error codes that cannot happen after connecting count as not sent, and
 * everything else is unknown: guessing "not sent" could send a message twice.
 */
export const outcomeOfClientError = (error: HttpClientError.HttpClientError): NoAnswer => {
  if (error._tag === "RequestError") {
    if (error.reason === "Encode" || error.reason === "InvalidUrl") return unreachable(`request_${error.reason.toLowerCase()}`)
    const cause = error.cause
    if (cause instanceof TransportFailure) return cause.phase === "not_sent" ? unreachable(cause.reason) : unknown(cause.reason)
    const code = typeof cause === "object" && cause !== null ? (cause as { code?: unknown }).code : undefined
    if (typeof code === "string" && CONNECT_ONLY.test(code)) return unreachable(`connect_failed (${code})`)
    return unknown(typeof code === "string" ? `transport_error (${code})` : "transport_error")
  }
  return unknown(`response_${error.reason.toLowerCase()}`)
}

/** A provider that quotes the credential back in its error text must not carry it into our events. */
const scrub = (result: ProviderGateway.ProviderSendResult, secret: Redacted.Redacted<string>): ProviderGateway.ProviderSendResult => {
  if (result._tag !== "HttpError" || result.error === null) return result
  const value = Redacted.value(secret)
  const clean = (text: string | null) => text === null || value.length === 0 ? text : text.split(value).join("[redacted]")
  const { error } = result
  return { ...result, error: { ...error, title: clean(error.title), message: clean(error.message), details: clean(error.details) } }
}

/**
 * The `ProviderGateway` over a `ProviderTransport`. `send` never fails: missing credentials are
 * reported as `ConnectionNotEstablished { reason: "credentials_unavailable" }` (nothing was sent, so
 * the dispatcher may retry once they are stored), and transport trouble by its phase: not sent, or
 * no definitive answer. The body goes out as built by the domain.
 */
export const makeProviderGateway = (config: ProviderClientConfig) =>
  Effect.gen(function*() {
    const transport = yield* ProviderTransport
    const credentials = yield* ChannelCredentials

    const post = (target: WireTarget, json: string) =>
      transport.post(target.url, wireHeaders(target), json).pipe(
        Effect.flatMap((answer) =>
          Effect.map(Clock.currentTimeMillis, (now) => scrub(interpretResponse(answer.status, answer.text, answer.retryAfter, now), target.secret))
        ),
        Effect.catchAll((failure) => Effect.succeed(failure.phase === "not_sent" ? unreachable(failure.reason) : unknown(failure.reason)))
      )

    const send = (request: ProviderGateway.ProviderRequest): Effect.Effect<ProviderGateway.ProviderSendResult> =>
      credentials.resolve(request.credentialsRef).pipe(
        Effect.option,
        // Nothing has been sent while credentials are being looked up, whatever goes wrong there.
        Effect.catchAllDefect(() => Effect.succeed(Option.none())),
        Effect.flatMap((secrets) => {
          const target = Option.isSome(secrets) ? wireTarget(config, request, secrets.value) : null
          if (target === null) return Effect.succeed(unreachable("credentials_unavailable"))
          let json: string
          try {
            json = JSON.stringify(request.body)
          } catch {
            // Not sent, but sending again would fail the same way: leave it to an operator, not a retry loop.
            return Effect.succeed(unknown("body_not_encodable"))
          }
          return post(target, json).pipe(Effect.catchAllDefect(() => Effect.succeed(unknown("client_defect"))))
        })
      )

    const readOnboardingStatus = (
      request: ProviderGateway.OnboardingStatusRequest
    ): Effect.Effect<ProviderGateway.OnboardingStatusResult> =>
      credentials.resolve(request.credentialsRef).pipe(
        Effect.option,
        Effect.catchAllDefect(() => Effect.succeed(Option.none())),
        Effect.flatMap((secrets) => {
          const base = Option.isSome(secrets) ? graphObjectBase(config, request.provider, secrets.value) : null
          if (base === null) {
            return Effect.succeed<ProviderGateway.OnboardingStatusResult>({
              _tag: "Failed",
              reason: request.provider === "360dialog" ? "not_a_graph_channel" : "credentials_unavailable"
            })
          }
          const read = (id: string) =>
            transport.get(`${base.url}/${encodeURIComponent(id)}?fields=${ONBOARDING_FIELD}`, {
              authorization: `Bearer ${Redacted.value(base.secret)}`,
              accept: "application/json"
            }).pipe(
              Effect.map((answer) => onboardingStatusOf(answer.status, answer.text)),
              Effect.catchAll((failure) => Effect.succeed({ _tag: "Failed" as const, reason: failure.reason })),
              Effect.catchAllDefect(() => Effect.succeed({ _tag: "Failed" as const, reason: "client_defect" }))
            )
          return Effect.gen(function*() {
            const waba = yield* read(request.wabaId)
            if (waba._tag === "Failed") return waba
            const business = request.businessId === null ? null : yield* read(request.businessId)
            // The portfolio's status is extra: a failed read of it leaves the WABA's read standing.
            const result: ProviderGateway.OnboardingStatusResult = {
              _tag: "Read",
              status: waba.status,
              businessStatus: business !== null && business._tag === "Read" ? business.status : null
            }
            return result
          })
        })
      )

    const listTemplates = (request: ProviderGateway.TemplateListRequest): Effect.Effect<ProviderGateway.TemplateListResult> =>
      credentials.resolve(request.credentialsRef).pipe(
        Effect.option,
        Effect.catchAllDefect(() => Effect.succeed(Option.none())),
        Effect.flatMap((secrets) => {
          const base = Option.isSome(secrets) ? graphObjectBase(config, request.provider, secrets.value) : null
          return base === null
            ? Effect.succeed<ProviderGateway.TemplateListResult>({
              _tag: "Failed",
              reason: request.provider === "360dialog" ? "not_a_graph_channel" : "credentials_unavailable"
            })
            : readTemplateList(transport, base, request.wabaId)
        })
      )

    return ProviderGateway.ProviderGateway.of({ send, readOnboardingStatus, listTemplates })
  })

const ONBOARDING_FIELD = "marketing_messages_onboarding_status"

/** Graph's `{base}/{version}` for a Graph-style channel (Meta, the sandbox), with its token; `null` for 360dialog or without one. */
const graphObjectBase = (
  config: ProviderClientConfig,
  provider: ProviderGateway.ProviderRequest["provider"],
  secrets: ChannelSecrets
): { readonly url: string; readonly secret: Redacted.Redacted<string> } | null => {
  const version = encodeURIComponent(config.graphApiVersion)
  if (provider === "meta") return secrets.accessToken === undefined ? null : { url: `${config.graphBaseUrl}/${version}`, secret: secrets.accessToken }
  if (provider === "sandbox") {
    const token = secrets.apiKey ?? secrets.accessToken
    return token === undefined ? null : { url: `${config.sandboxBaseUrl}/${version}`, secret: token }
  }
  return null
}

/**
 * `marketing_messages_onboarding_status` from a Graph answer: a string for a WABA (`ONBOARDED`), an
 * object `{status, time}` for a business portfolio; kept as Meta said it. An error answer names its
 * code, never its text (which could quote what was sent).
 */
export const onboardingStatusOf = (
  httpStatus: number,
  text: string
): { readonly _tag: "Read"; readonly status: string | null } | { readonly _tag: "Failed"; readonly reason: string } => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { _tag: "Failed", reason: `http_${httpStatus}_not_json` }
  }
  if (httpStatus < 200 || httpStatus > 299) {
    const code = (json as { error?: { code?: unknown } } | null)?.error?.code
    return { _tag: "Failed", reason: typeof code === "number" ? `http_${httpStatus}_code_${code}` : `http_${httpStatus}` }
  }
  const field = (json as Record<string, unknown> | null)?.[ONBOARDING_FIELD]
  const status = typeof field === "string"
    ? field
    : typeof field === "object" && field !== null && typeof (field as { status?: unknown }).status === "string"
    ? (field as { status: string }).status
    : null
  return { _tag: "Read", status }
}

/** Secret headers the platform must never put into spans or inspected requests. */
const REDACTED_HEADERS = ["d360-api-key"]

/**
 * Any `HttpClient` as the transport. Its errors carry no phase unless they come from ours, so
 * `outcomeOfClientError` decides, erring towards "no definitive answer"; a backstop timeout covers
 * clients without their own.
 */
export const transportOverHttpClient = (client: HttpClient.HttpClient, requestTimeoutMs: number): typeof ProviderTransport.Service => {
  const execute = (request: HttpClientRequest.HttpClientRequest) =>
    Effect.gen(function*() {
      const response = yield* client.execute(request)
      const text = yield* response.text
      return { status: response.status, retryAfter: response.headers["retry-after"], text }
    }).pipe(
      Effect.scoped,
      Effect.mapError((error) => {
        const outcome = outcomeOfClientError(error)
        return new TransportFailure({ phase: outcome._tag === "ConnectionNotEstablished" ? "not_sent" : "sent", reason: outcome.reason })
      }),
      Effect.timeoutFail({
        duration: requestTimeoutMs + 1_000,
        onTimeout: () => new TransportFailure({ phase: "sent", reason: "timeout_without_phase" })
      }),
      Effect.locallyWith(Headers.currentRedactedNames, (names) => [...names, ...REDACTED_HEADERS])
    )
  return ProviderTransport.of({
    post: (url, headers, json) =>
      execute(HttpClientRequest.post(url).pipe(
        HttpClientRequest.setHeaders(headers),
        HttpClientRequest.bodyText(json, headers["content-type"] ?? "application/json")
      )),
    get: (url, headers) => execute(HttpClientRequest.get(url).pipe(HttpClientRequest.setHeaders(headers)))
  })
}

/** `transportOverHttpClient` as a layer, over the `HttpClient` in context. */
export const httpClientTransportLayer = (config: ProviderClientConfig): Layer.Layer<ProviderTransport, never, HttpClient.HttpClient> =>
  Layer.effect(ProviderTransport, Effect.map(HttpClient.HttpClient, (client) => transportOverHttpClient(client, config.requestTimeoutMs)))

/** The gateway over a given transport (tests swap it, e.g. for `httpClientTransportLayer`). */
export const providerGatewayLayerWith = (config: ProviderClientConfig): Layer.Layer<ProviderGateway.ProviderGateway, never, ProviderTransport | ChannelCredentials> =>
  Layer.effect(ProviderGateway.ProviderGateway, makeProviderGateway(config))

/** The gateway with its own keep-alive transport; needs only `ChannelCredentials`. */
export const providerGatewayLayer = (config: ProviderClientConfig): Layer.Layer<ProviderGateway.ProviderGateway, never, ChannelCredentials> =>
  providerGatewayLayerWith(config).pipe(Layer.provide(providerTransportLayer(config)))

/** The same, configured from the environment (`providerClientConfig`). */
export const providerGatewayLayerConfig: Layer.Layer<ProviderGateway.ProviderGateway, ConfigError.ConfigError, ChannelCredentials> = Layer.unwrapEffect(
  Effect.map(providerClientConfig, providerGatewayLayer)
)

