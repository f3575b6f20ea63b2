import { Headers, HttpClient, HttpClientError, HttpClientRequest } from "@effect/platform"
import { ProviderGateway } from "@mm-gateway/domain"
import type { ProviderRequest, ProviderSendResult } from "@mm-gateway/domain"
import { Clock, type ConfigError, Effect, Layer, Option, Redacted } from "effect"
import type { ProviderClientConfig } from "./config.js"
import { providerClientConfig } from "./config.js"
import { ChannelCredentials } from "./credentials.js"
import type { ChannelSecrets } from "./credentials.js"
import { interpretResponse } from "./response.js"
import { providerTransportLayer, TransportFailure } from "./transport.js"

/** Where one request goes and how it authenticates; the secret stays redacted until the header is set. */
export interface WireTarget {
  readonly url: string
  readonly header: "authorization" | "d360-api-key"
  readonly secret: Redacted.Redacted<string>
}

const PATH: Record<ProviderRequest["route"], string> = {
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
  request: Pick<ProviderRequest, "provider" | "phoneNumberId" | "route">,
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

const unreachable = (reason: string): ProviderSendResult => ({ _tag: "ConnectionNotEstablished", reason })
const unknown = (reason: string): ProviderSendResult => ({ _tag: "NoDefinitiveAnswer", reason })

/** Node codes that mean the connection was never opened, for clients other than ours. */
const CONNECT_ONLY = /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EAI_FAIL|EAI_NONAME|ENETUNREACH|EHOSTUNREACH|UND_ERR_CONNECT_TIMEOUT)$/

/**
 * A client error as an outcome. Ours carries a `TransportFailure` with the phase; for any other
 * `HttpClient` only error codes that cannot happen after connecting count as not sent, and
 * everything else is unknown: guessing "not sent" could send a message twice.
 */
export const outcomeOfClientError = (error: HttpClientError.HttpClientError): ProviderSendResult => {
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
const scrub = (result: ProviderSendResult, secret: Redacted.Redacted<string>): ProviderSendResult => {
  if (result._tag !== "HttpError" || result.error === null) return result
  const value = Redacted.value(secret)
  const clean = (text: string | null) => text === null || value.length === 0 ? text : text.split(value).join("[redacted]")
  const { error } = result
  return { ...result, error: { ...error, title: clean(error.title), message: clean(error.message), details: clean(error.details) } }
}

/** Secret headers the platform must never put into spans or inspected requests. */
const REDACTED_HEADERS = ["d360-api-key"]

/**
 * The `ProviderGateway` over an `HttpClient`. `send` never fails: missing credentials are reported
 * as `ConnectionNotEstablished { reason: "credentials_unavailable" }` (nothing was sent, so the
 * dispatcher may retry once they are stored), and transport trouble as described in
 * `outcomeOfClientError`. The body goes out as built by the domain.
 */
export const makeProviderGateway = (config: ProviderClientConfig) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const credentials = yield* ChannelCredentials
    // A backstop for clients without their own timeout; ours fires first and knows the phase.
    const backstopMs = config.requestTimeoutMs + 1_000

    const post = (target: WireTarget, json: string) =>
      Effect.gen(function*() {
        const request = HttpClientRequest.post(target.url).pipe(
          HttpClientRequest.setHeader(
            target.header,
            target.header === "authorization" ? `Bearer ${Redacted.value(target.secret)}` : Redacted.value(target.secret)
          ),
          HttpClientRequest.acceptJson,
          HttpClientRequest.bodyText(json, "application/json")
        )
        const response = yield* client.execute(request)
        const text = yield* response.text
        const now = yield* Clock.currentTimeMillis
        return scrub(interpretResponse(response.status, text, response.headers["retry-after"], now), target.secret)
      }).pipe(
        Effect.scoped,
        Effect.catchAll((error) => Effect.succeed(outcomeOfClientError(error))),
        Effect.timeoutTo({
          duration: backstopMs,
          onTimeout: () => unknown("timeout_without_phase"),
          onSuccess: (result) => result
        }),
        Effect.locallyWith(Headers.currentRedactedNames, (names) => [...names, ...REDACTED_HEADERS])
      )

    const send = (request: ProviderRequest): Effect.Effect<ProviderSendResult> =>
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

    return ProviderGateway.of({ send })
  })

/** The gateway over a given `HttpClient` (tests swap the transport). */
export const providerGatewayLayerWith = (config: ProviderClientConfig): Layer.Layer<ProviderGateway, never, HttpClient.HttpClient | ChannelCredentials> =>
  Layer.effect(ProviderGateway, makeProviderGateway(config))

/** The gateway with its own keep-alive transport; needs only `ChannelCredentials`. */
export const providerGatewayLayer = (config: ProviderClientConfig): Layer.Layer<ProviderGateway, never, ChannelCredentials> =>
  providerGatewayLayerWith(config).pipe(Layer.provide(providerTransportLayer(config)))

/** The same, configured from the environment (`providerClientConfig`). */
export const providerGatewayLayerConfig: Layer.Layer<ProviderGateway, ConfigError.ConfigError, ChannelCredentials> = Layer.unwrapEffect(
  Effect.map(providerClientConfig, providerGatewayLayer)
)

