import type { HandshakeQuery, HandshakeRejected } from "@mm-gateway/webhook-adapter"
import { Context, Effect } from "effect"
import type { Either, Redacted } from "effect"
import { ConfigurationQueries, MessageQueries, OnboardingQueries } from "@mm-gateway/ports"
import { CurrentPrincipal, type Principal } from "./definition.js"
import { forbidden, notFound } from "./errors.js"

/** What the handlers need from the configuration. */
export class ApiSettings extends Context.Tag("@mm-gateway/http-adapter/ApiSettings")<ApiSettings, {
  readonly adminToken: Redacted.Redacted<string>
  readonly onboardingLink: string
  /** Meta's GET handshake: the challenge to answer, or why not (constant-time token check). */
  readonly handshake: (query: HandshakeQuery) => Either.Either<string, HandshakeRejected>
}>() {}

export const iso = (ms: number): string => new Date(ms).toISOString()
export const isoOrNull = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : iso(ms))

export const requireAdmin = Effect.gen(function*() {
  const principal = yield* CurrentPrincipal
  if (principal._tag !== "Admin") return yield* Effect.fail(forbidden("this endpoint is for the admin token only"))
})

export const sees = (principal: Principal, businessManagerId: string | null): boolean =>
  principal._tag === "Admin" || (businessManagerId !== null && principal.businessManagerIds.has(businessManagerId))

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
    const principal = yield* CurrentPrincipal
    const channel = yield* (yield* ConfigurationQueries).channel(phoneNumberId)
    if (channel === null) return yield* Effect.fail(notFound("channel", phoneNumberId))
    if (principal._tag !== "Admin") {
      const waba = yield* (yield* OnboardingQueries).waba(channel.wabaId, now)
      if (waba === null || !sees(principal, waba.businessManagerId)) return yield* Effect.fail(notFound("channel", phoneNumberId))
    }
    return channel
  })

export const visibleMessage = (messageId: string, now: number) =>
  Effect.gen(function*() {
    const principal = yield* CurrentPrincipal
    const message = yield* (yield* MessageQueries).message(messageId)
    if (message === null) return yield* Effect.fail(notFound("message", messageId))
    if (principal._tag !== "Admin") {
      const waba = yield* (yield* OnboardingQueries).waba(message.wabaId, now)
      if (waba === null || !sees(principal, waba.businessManagerId)) return yield* Effect.fail(notFound("message", messageId))
    }
    return message
  })
