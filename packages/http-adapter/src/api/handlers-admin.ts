import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { handleCommand, PartnerSettingsStream, streamId } from "@mm-gateway/domain"
import { ReadModels, WebhookInbox } from "@mm-gateway/sqlite-projection"
import { Clock, Effect, Layer } from "effect"
import { ApiKeyStore, authenticate, newApiKey } from "./api-keys.js"
import { ApiSettings, iso, isoOrNull, requireAdmin } from "./context.js"
import { Authentication, GatewayApi } from "./definition.js"
import { forbidden, notFound, unauthorized } from "./errors.js"
import { inboxItemOf } from "./views.js"

export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.gen(function*() {
    const settings = yield* ApiSettings
    const store = yield* ApiKeyStore
    return Authentication.of({
      bearer: (token) =>
        authenticate(settings.adminToken, token).pipe(
          Effect.provideService(ApiKeyStore, store),
          Effect.flatMap((principal) => (principal === null ? Effect.fail(unauthorized()) : Effect.succeed(principal)))
        )
    })
  })
)

export const ApiKeysLive = HttpApiBuilder.group(GatewayApi, "apiKeys", (handlers) =>
  handlers
    .handle("createApiKey", ({ payload }) =>
      Effect.gen(function*() {
        yield* requireAdmin
        const key = newApiKey()
        const ids = [...new Set(payload.businessManagerIds)]
        yield* (yield* ApiKeyStore).insert({
          id: key.id,
          name: payload.name,
          businessManagerIds: ids,
          secretHash: key.secretHash,
          createdAt: yield* Clock.currentTimeMillis,
          revokedAt: null
        })
        return { id: key.id, name: payload.name, businessManagerIds: ids, secret: key.secret }
      }))
    .handle("listApiKeys", ({ urlParams }) =>
      Effect.gen(function*() {
        yield* requireAdmin
        const limit = urlParams.limit ?? 50
        const rows = yield* (yield* ApiKeyStore).list(limit + 1, urlParams.cursor ?? null)
        const items = rows.slice(0, limit)
        return {
          items: items.map((r) => ({ id: r.id, name: r.name, businessManagerIds: r.businessManagerIds, createdAt: iso(r.createdAt), revokedAt: isoOrNull(r.revokedAt) })),
          nextCursor: rows.length > limit ? items[items.length - 1]!.id : null
        }
      }))
    .handle("revokeApiKey", ({ path }) =>
      Effect.gen(function*() {
        yield* requireAdmin
        const revoked = yield* (yield* ApiKeyStore).revoke(path.id, yield* Clock.currentTimeMillis)
        if (!revoked) return yield* Effect.fail(notFound("api key", path.id))
      })))

export const SettingsLive = HttpApiBuilder.group(GatewayApi, "settings", (handlers) =>
  handlers
    .handle("getRoutingSettings", () => Effect.flatMap(ReadModels, (r) => r.routingSettings()))
    .handle("putRoutingSettings", ({ payload }) =>
      Effect.gen(function*() {
        yield* requireAdmin
        const handled = yield* handleCommand(PartnerSettingsStream, streamId.partnerSettings(), {
          _tag: "ChangeRoutingSettings",
          marketingViaMmApi: payload.marketingViaMmApi,
          ttlOnCloudFallback: payload.ttlOnCloudFallback,
          at: yield* Clock.currentTimeMillis
        })
        return handled.state
      })))

export const InboxLive = HttpApiBuilder.group(GatewayApi, "webhookInbox", (handlers) =>
  handlers
    .handle("listInbox", ({ urlParams }) =>
      Effect.gen(function*() {
        yield* requireAdmin
        const inbox = yield* WebhookInbox
        if (urlParams.state !== undefined && urlParams.state !== "quarantined") {
          return yield* Effect.fail(forbidden("only state=quarantined can be listed"))
        }
        const page = yield* inbox.listQuarantined(urlParams.limit ?? 50, urlParams.cursor ?? null)
        return { items: page.items.map(inboxItemOf), nextCursor: page.nextCursor }
      }))
    .handle("replayInbox", ({ path }) =>
      Effect.gen(function*() {
        yield* requireAdmin
        const inbox = yield* WebhookInbox
        const replayed = yield* inbox.replay(path.id)
        const entry = yield* inbox.get(path.id)
        if (!replayed || entry === null) return yield* Effect.fail(notFound("inbox entry", String(path.id)))
        return inboxItemOf(entry)
      })))

export const SystemLive = (readiness: Effect.Effect<{ readonly ok: true; readonly migrations: number } | { readonly ok: false; readonly reason: string }>) =>
  HttpApiBuilder.group(GatewayApi, "system", (handlers) =>
    handlers
      .handle("healthz", () => Effect.succeed({ status: "ok" as const }))
      .handle("readyz", () =>
        Effect.flatMap(readiness, (r) =>
          r.ok ? Effect.succeed({ status: "ready" as const, migrations: r.migrations }) : Effect.fail({ status: "not_ready" as const, reason: r.reason })))
      .handle("metrics", () => Effect.die(new Error("served by the api's own metrics route")))
      .handle("webhookHandshake", ({ urlParams }) =>
        Effect.gen(function*() {
          const answer = (yield* ApiSettings).handshake(urlParams)
          if (answer._tag === "Left") return yield* Effect.fail(forbidden(`webhook handshake refused: ${answer.left.reason}`))
          return HttpServerResponse.text(answer.right)
        })))
