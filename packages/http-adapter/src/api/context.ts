import type { HandshakeQuery, HandshakeRejected } from "@mm-gateway/webhook-adapter"
import { Context, Effect } from "effect"
import type { Either, Redacted } from "effect"
import { ConfigurationQueries, MessageQueries, OnboardingQueries, type TenantScope } from "@mm-gateway/ports"
import { CurrentPrincipal, type Principal } from "./definition.js"
import { forbidden, notFound } from "./errors.js"

/** What the handlers need from the configuration. */
export class ApiSettings extends Context.Tag("@mm-gateway/http-adapter/ApiSettings")<ApiSettings, {
  readonly adminToken: Redacted.Redacted<string>
  readonly onboardingLink: string
  /** Meta's GET handshake: the challenge to answer, or why not (constant-time token check). */
  readonly handshake: (query: HandshakeQuery) => Either.Either<string, HandshakeRejected>
  /** Forwarding (docs/forwarding.md): where endpoints may point, how long a replay is attempted, and the sealing of their secrets. */
  readonly forwarding: {
    readonly allowHosts: ReadonlyArray<string>
    readonly retryForMs: number
    readonly sealSecret: (secret: string) => string
  }
}>() {}

export const iso = (ms: number): string => new Date(ms).toISOString()
export const isoOrNull = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : iso(ms))

export const requireAdmin = Effect.gen(function*() {
  const principal = yield* CurrentPrincipal
  if (principal._tag !== "Admin") return yield* Effect.fail(forbidden("this endpoint is for the admin token only"))
})

/** A Business Manager and everything under it: the admin sees them all, a key those it is scoped to. */
export const sees = (principal: Principal, businessManagerId: string | null): boolean =>
  principal._tag === "Admin" || (businessManagerId !== null && principal.businessManagerIds.has(businessManagerId))

/** A channel with its messages and clicks: under a Business Manager the caller sees, or one of the key's own channels. */
const seesChannel = (principal: Principal, phoneNumberId: string): boolean =>
  principal._tag === "Admin" || principal.channelIds.has(phoneNumberId)

/** What a key sees, for the read ports; the admin (`null`) sees everything. */
export const scopeOf = (principal: Principal): TenantScope | null =>
  principal._tag === "Admin" ? null : { businessManagerIds: [...principal.businessManagerIds], channelIds: [...principal.channelIds] }

/** Whether the caller sees a channel of `wabaId`: one of its own channels, or under a Business Manager it sees. */
export const seesChannelOf = (phoneNumberId: string, wabaId: string, now: number) =>
  Effect.gen(function*() {
    const principal = yield* CurrentPrincipal
    if (seesChannel(principal, phoneNumberId)) return true
    const waba = yield* (yield* OnboardingQueries).waba(wabaId, now)
    return waba !== null && sees(principal, waba.businessManagerId)
  })

/**
 * The Business Manager that owns a WABA, if the caller may see it; otherwise a 404 (a scoped key must
 * not learn that another tenant's resource exists).
 */
export const visibleWaba = (wabaId: string, now: number) =>
  Effect.gen(function*() {
    const principal = yield* CurrentPrincipal
    const waba = yield* (yield* OnboardingQueries).waba(wabaId, now)
    if (waba === null || !sees(principal, waba.businessManagerId)) return yield* Effect.fail(notFound("waba", wabaId))
    return waba
  })

export const visibleChannel = (phoneNumberId: string, now: number) =>
  Effect.gen(function*() {
    const channel = yield* (yield* ConfigurationQueries).channel(phoneNumberId)
    if (channel === null || !(yield* seesChannelOf(phoneNumberId, channel.wabaId, now))) {
      return yield* Effect.fail(notFound("channel", phoneNumberId))
    }
    return channel
  })

export const visibleMessage = (messageId: string, now: number) =>
  Effect.gen(function*() {
    const message = yield* (yield* MessageQueries).message(messageId)
    if (message === null || !(yield* seesChannelOf(message.channel, message.wabaId, now))) {
      return yield* Effect.fail(notFound("message", messageId))
    }
    return message
  })
