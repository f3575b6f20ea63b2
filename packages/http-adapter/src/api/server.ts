import { HttpApiBuilder, HttpApiSwagger } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { layer as layerSqlite, inboxPathFor, layerInbox, SqliteDatabase, WebhookInbox, appliedMigrations } from "@mm-gateway/sqlite-projection"
import { headersToKeep } from "@mm-gateway/sqlite-projection"
import { make360dialogVerifier, makeHandshakeVerifier, makeMetaSignatureVerifier } from "@mm-gateway/webhook-adapter"
import { Context, Effect, Either, Layer, Redacted, Runtime } from "effect"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { layerCredentials } from "../credentials-store.js"
import { deriveCredentialsKey } from "../provider/credentials.js"
import { layerApiKeyStore } from "./api-keys.js"
import type { ApiConfig } from "./config.js"
import { ApiSettings } from "./context.js"
import { GatewayApi } from "./definition.js"
import { frameworkErrorsToEnvelope, internalErrorsToEnvelope } from "./envelope.js"
import { ApiKeysLive, AuthenticationLive, InboxLive, SettingsLive, SystemLive } from "./handlers-admin.js"
import { MessagesLive } from "./handlers-messages.js"
import { ChannelsLive, OnboardingLive, TemplatesLive } from "./handlers-onboarding.js"
import { layerMetrics, Metrics, routeLabel } from "./metrics.js"
import { makeWebhookIngress, webhookSourceOf } from "./webhook-ingress.js"

/** The running api: where it listens. */
export class ApiServer extends Context.Tag("@mm-gateway/http-adapter/ApiServer")<ApiServer, {
  readonly url: string
  readonly port: number
}>() {}

const configError = (e: { readonly setting: string; readonly reason: string }) => new Error(`${e.setting}: ${e.reason}`)

/**
 * The api process: HttpApi for `/v1`, `/openapi.json`, `/docs`, `/healthz`, `/readyz`; and, in front of
 * the framework, the lean webhook path (`POST /webhooks/*`) and `/metrics` on a plain `node:http`
 * server. Everything on SQLite (main database + the inbox's own file).
 */
export const layerApiServer = (config: ApiConfig): Layer.Layer<ApiServer, Error> => {
  const storage = Layer.mergeAll(
    layerSqlite({ path: config.database, durability: config.durability }),
    layerInbox({ path: inboxPathFor(config.database), durability: config.durability })
  )
  const key = deriveCredentialsKey(config.secretKey)
  const handshake = makeHandshakeVerifier(config.metaVerifyToken)
  const settings = Layer.effect(ApiSettings, Effect.map(Effect.orDieWith(Either.match(handshake, { onLeft: Effect.fail, onRight: Effect.succeed }), configError), (verify) =>
    ApiSettings.of({ adminToken: config.adminToken, onboardingLink: config.onboardingLink, handshake: verify })))

  const readiness = Effect.gen(function*() {
    const { db } = yield* SqliteDatabase
    return yield* Effect.try(() => ({ ok: true as const, migrations: appliedMigrations(db).length })).pipe(
      Effect.catchAll((e) => Effect.succeed({ ok: false as const, reason: e instanceof Error ? e.message : "database unreachable" }))
    )
  })

  const groups = Layer.mergeAll(
    ApiKeysLive,
    OnboardingLive,
    ChannelsLive,
    SettingsLive,
    TemplatesLive,
    MessagesLive,
    InboxLive,
    Layer.unwrapEffect(Effect.map(SqliteDatabase, (db) => SystemLive(Effect.provideService(readiness, SqliteDatabase, db))))
  )
  const api = HttpApiBuilder.api(GatewayApi).pipe(
    Layer.provide(groups),
    Layer.provide(AuthenticationLive)
  )

  const server = Layer.scoped(ApiServer, Effect.gen(function*() {
    const app = yield* HttpApiBuilder.httpApp
    const effectHandler = yield* NodeHttpServer.makeHandler(internalErrorsToEnvelope(app))
    const metrics = yield* Metrics
    const inbox = yield* WebhookInbox
    const runtime = yield* Effect.runtime<never>()
    const verifyMeta = Either.getOrThrowWith(makeMetaSignatureVerifier(config.metaAppSecret), configError)
    const verify360 = Either.getOrThrowWith(make360dialogVerifier({
      headerName: config.dialog360Header,
      headerSecret: config.dialog360Secret,
      platformSecret: config.dialog360PlatformSecret
    }), configError)
    const ingress = makeWebhookIngress({
      verify: { meta: verifyMeta, "360dialog": verify360 },
      store: (body, headers, source, receivedAt) => inbox.appendGrouped(body, headers, source, receivedAt),
      keepHeaders: headersToKeep,
      now: Date.now,
      onAnswer: metrics.webhook,
      onStoreError: (error) => Runtime.runFork(runtime)(Effect.logError("webhook inbox write failed", error))
    })
    const serveMetrics = (res: ServerResponse) => {
      Runtime.runPromise(runtime)(inbox.pendingCount()).then((pending) => {
        const body = metrics.render({
          mmgw_webhook_inbox_pending: { help: "Verified webhooks stored and not yet processed by the worker.", value: pending }
        })
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4" })
        res.end(body)
      }, () => {
        res.writeHead(500)
        res.end()
      })
    }
    const listener = (req: IncomingMessage, res: ServerResponse) => {
      const source = webhookSourceOf(req)
      if (source !== null) return ingress(req, res, source)
      const path = (req.url ?? "/").split("?", 1)[0]!
      if (req.method === "GET" && path === "/metrics") return serveMetrics(res)
      res.on("finish", () => metrics.request(req.method ?? "GET", routeLabel(path), res.statusCode))
      effectHandler(req, res)
    }
    const node = createServer({ keepAliveTimeout: 65_000 }, listener)
    yield* Effect.acquireRelease(
      Effect.async<void, Error>((resume) => {
        node.once("error", (e) => resume(Effect.fail(e)))
        node.listen(config.port, config.host, () => resume(Effect.void))
      }),
      () => Effect.async<void>((resume) => {
        node.close(() => resume(Effect.void))
        node.closeIdleConnections()
      })
    )
    const port = (node.address() as AddressInfo).port
    return { url: `http://${config.host}:${port}`, port }
  }))

  return server.pipe(
    Layer.provide(HttpApiSwagger.layer({ path: "/docs" })),
    Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
    Layer.provide(HttpApiBuilder.middleware(GatewayApi, frameworkErrorsToEnvelope as never)),
    Layer.provide(api),
    Layer.provide([HttpApiBuilder.Router.Live, HttpApiBuilder.Middleware.layer]),
    Layer.provide(NodeHttpServer.layerContext),
    Layer.provide(Layer.mergeAll(layerApiKeyStore, layerCredentials(key), settings)),
    Layer.provideMerge(Layer.mergeAll(storage, layerMetrics)),
    Layer.orDie
  ) as unknown as Layer.Layer<ApiServer, Error>
}

void Redacted
