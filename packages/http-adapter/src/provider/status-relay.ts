import type { ProviderGateway } from "@mm-gateway/domain"
import { Context, Effect, Layer, Option, Redacted } from "effect"
import type { ProviderClientConfig } from "./config.js"
import { ChannelCredentials } from "./credentials.js"
import { wireHeaders, wireTarget } from "./gateway.js"
import { ProviderTransport, providerTransportLayer } from "./transport.js"

/** The channel a status update is for, as its registration stored it. */
export type RelayChannel = Pick<ProviderGateway.ProviderRequest, "provider" | "phoneNumberId" | "credentialsRef">

/** What became of a relayed status update: the provider's own answer, or why there is none. */
export type RelayAnswer =
  | { readonly _tag: "Answered"; readonly status: number; readonly text: string }
  /** Nothing reached the provider (no usable credentials, no connection). */
  | { readonly _tag: "NotSent"; readonly reason: string }
  /** Sent, but no complete answer came back. */
  | { readonly _tag: "NoAnswer"; readonly reason: string }

/**
 * Relays a status update (a read receipt, with a typing indicator or not; docs/api.md#status-updates)
 * to the channel's provider on its `/messages`, with the channel's own credentials, as the worker
 * sends messages (`wireTarget`). The body goes as the client sent it. Never fails.
 */
export class StatusUpdateRelay extends Context.Tag("@mm-gateway/http-adapter/StatusUpdateRelay")<StatusUpdateRelay, {
  readonly relay: (channel: RelayChannel, body: string) => Effect.Effect<RelayAnswer>
}>() {}

/** A provider that quotes the credential back must not carry it to the client. */
const scrubbed = (text: string, secret: Redacted.Redacted<string>): string => {
  const value = Redacted.value(secret)
  return value.length === 0 ? text : text.split(value).join("[redacted]")
}

export const makeStatusUpdateRelay = (config: ProviderClientConfig) =>
  Effect.gen(function*() {
    const transport = yield* ProviderTransport
    const credentials = yield* ChannelCredentials
    return StatusUpdateRelay.of({
      relay: (channel, body) =>
        credentials.resolve(channel.credentialsRef).pipe(
          Effect.option,
          Effect.flatMap((secrets) => {
            const target = Option.isSome(secrets) ? wireTarget(config, { ...channel, route: "cloud_api" }, secrets.value) : null
            if (target === null) return Effect.succeed<RelayAnswer>({ _tag: "NotSent", reason: "credentials_unavailable" })
            return transport.post(target.url, wireHeaders(target), body).pipe(
              Effect.map((answer): RelayAnswer => ({ _tag: "Answered", status: answer.status, text: scrubbed(answer.text, target.secret) })),
              Effect.catchAll((failure) =>
                Effect.succeed<RelayAnswer>(failure.phase === "not_sent" ? { _tag: "NotSent", reason: failure.reason } : { _tag: "NoAnswer", reason: failure.reason })
              )
            )
          }),
          Effect.catchAllDefect(() => Effect.succeed<RelayAnswer>({ _tag: "NoAnswer", reason: "client_defect" }))
        )
    })
  })

/** The relay with a keep-alive transport of its own, set up as the worker's provider clients are. */
export const statusUpdateRelayLayer = (config: ProviderClientConfig): Layer.Layer<StatusUpdateRelay, never, ChannelCredentials> =>
  Layer.effect(StatusUpdateRelay, makeStatusUpdateRelay(config)).pipe(Layer.provide(providerTransportLayer(config)))
