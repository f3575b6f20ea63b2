import { HttpApi, HttpApiBuilder, HttpApiSwagger, HttpIncomingMessage } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import type { EventStore, UnitOfWork } from "@mm-gateway/domain"
import {
  type ApiKeyStore,
  type ClickQueries,
  type ConfigurationQueries,
  type CredentialStore,
  type ForwardingOutbox,
  headersToKeep,
  type Leases,
  type MessageQueries,
  type OnboardingQueries,
  type StoreHealth,
  type WebhookEndpoints,
  WebhookInbox
} from "@mm-gateway/ports"
import { make360dialogVerifier, makeHandshakeVerifier, makeMetaSignatureVerifier } from "@mm-gateway/webhook-adapter"
import { Context, Effect, Either, FiberRef, Layer, LogLevel, Option, Runtime } from "effect"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { layerCredentials } from "../credentials-store.js"
import { ENDPOINT_SECRET_PURPOSE } from "../forwarding/deliverer.js"
import { deriveCredentialsKey, sealSecret } from "../provider/credentials.js"
import { intentApiLayer } from "../provider/intent-api.js"
import { statusUpdateRelayLayer } from "../provider/status-relay.js"
import type { ApiConfig } from "./config.js"
import { CONSOLE_ROUTES, layerConsole } from "./console.js"
import { ApiSettings } from "./context.js"
import { GatewayApi } from "./definition.js"
import {
  frameworkErrorsToEnvelope,
  GraphJsonBodyBoundsLive,
  internalErrorsToEnvelope,
  JsonBodyBoundsLive,
  MAX_API_BODY_BYTES,
  tooLargeJson
} from "./envelope.js"
import { ApiKeysLive, AuthenticationLive, InboxLive, SettingsLive, SystemLive, WorkersLive } from "./handlers-admin.js"
import { Dialog360SendLive, DropInAuthenticationLive, GraphSendLive } from "./handlers-drop-in.js"
import { WebhookEndpointsLive } from "./handlers-forwarding.js"
import { MessagesLive } from "./handlers-messages.js"
import { ChannelsLive, OnboardingLive, TemplatesLive } from "./handlers-onboarding.js"
import { layerMetrics, makeRouteLabel, Metrics } from "./metrics.js"
import { makeWebhookIngress, webhookSourceOf } from "./webhook-ingress.js"

/** What the api asks of a store: the domain's ports and the read side, inbox, keys, credentials, health, and the workers' leases (`GET /v1/workers`). */
export type ApiStore =
  | EventStore.EventStore
  | UnitOfWork.UnitOfWork
  | OnboardingQueries
  | ConfigurationQueries
  | MessageQueries
  | ClickQueries
  | WebhookInbox
  | ApiKeyStore
  | CredentialStore
  | StoreHealth
  | Leases
  | WebhookEndpoints
  | ForwardingOutbox

/** What the app hands the server besides its configuration: the built console's directory, if it serves one (`/console`). */
export interface ApiAssets {
  readonly consoleDirectory?: string | null
}

/** The running api: where it listens. */
export class ApiServer extends Context.Tag("@mm-gateway/http-adapter/ApiServer")<ApiServer, {
  readonly url: string
  readonly port: number
}>() {}

const configError = (e: { readonly setting: string; readonly reason: string }) => new Error(`${e.setting}: ${e.reason}`)

/** Every route template of the API, for the metrics' route label. */
const routeTemplates = (): ReadonlyArray<string> => {
  const templates = ["/openapi.json", "/docs", ...CONSOLE_ROUTES]
  HttpApi.reflect(GatewayApi, { onGroup: () => {}, onEndpoint: ({ endpoint }) => void templates.push(endpoint.path) })
  return templates
}

const hasBody = (method: string | undefined) => method === "POST" || method === "PUT" || method === "PATCH"

/**
 * A body over the API's limit, declared up front: answered 413 without reading it into memory. What
 * arrives meanwhile is discarded, and Node closes the connection once the answer is flushed
 * (`connection: close`), so an endless upload costs nothing.
 */
const refuseTooLarge = (req: IncomingMessage, res: ServerResponse) => {
  const { status, body } = tooLargeJson(req.method, req.url)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body), connection: "close" })
  res.end(body)
  req.resume()
}

/**
 * The api process: HttpApi for `/v1`, `/openapi.json`, `/docs`, `/healthz`, `/readyz`, `/metrics` and the
 * webhook handshake, and the operator console at `/console` when the app hands over its directory; in
 * front of the framework, the lean webhook path (`POST /webhooks/*`) on the same
 * plain `node:http` server. It knows no store: the app provides one (`ApiStore`).
 */
export const layerApiServer = (config: ApiConfig, assets: ApiAssets = {}): Layer.Layer<ApiServer, Error, ApiStore> => {
  const key = deriveCredentialsKey(config.secretKey)
  const handshake = makeHandshakeVerifier(config.metaVerifyToken)
  const settings = Layer.effect(ApiSettings, Effect.map(Effect.orDieWith(Either.match(handshake, { onLeft: Effect.fail, onRight: Effect.succeed }), configError), (verify) =>
    ApiSettings.of({
      adminToken: config.adminToken,
      onboardingLink: config.onboardingLink,
      handshake: verify,
      forwarding: {
        allowHosts: config.forwardAllowHosts,
        retryForMs: config.forwardRetryForMs,
        sealSecret: (secret) => sealSecret(secret, key, ENDPOINT_SECRET_PURPOSE)
      }
    })))

  const groups = Layer.mergeAll(
    ApiKeysLive,
    OnboardingLive,
    ChannelsLive,
    SettingsLive,
    TemplatesLive,
    MessagesLive,
    InboxLive,
    WebhookEndpointsLive,
    WorkersLive,
    SystemLive,
    GraphSendLive,
    Dialog360SendLive
  )
  const api = HttpApiBuilder.api(GatewayApi).pipe(
    Layer.provide(groups),
    Layer.provide([AuthenticationLive, JsonBodyBoundsLive, DropInAuthenticationLive, GraphJsonBodyBoundsLive])
  )

  const server = Layer.scoped(ApiServer, Effect.gen(function*() {
    const app = yield* HttpApiBuilder.httpApp
    const effectHandler = yield* NodeHttpServer.makeHandler(
      HttpIncomingMessage.withMaxBodySize(internalErrorsToEnvelope(app), Option.some(MAX_API_BODY_BYTES))
    )
    const metrics = yield* Metrics
    const inbox = yield* WebhookInbox
    const runtime = yield* Effect.runtime<never>()
    const routeLabel = makeRouteLabel(routeTemplates())
    const runFork = Runtime.runFork(runtime)
    const runPromise = Runtime.runPromise(runtime)
    const accessLog = LogLevel.lessThanEqual(yield* FiberRef.get(FiberRef.currentMinimumLogLevel), LogLevel.Debug)
    const verifyMeta = Either.getOrThrowWith(makeMetaSignatureVerifier(config.metaAppSecret), configError)
    const verify360 = Either.getOrThrowWith(make360dialogVerifier({
      headerName: config.dialog360Header,
      headerSecret: config.dialog360Secret,
      platformSecret: config.dialog360PlatformSecret
    }), configError)
    const ingress = makeWebhookIngress({
      verify: { meta: verifyMeta, "360dialog": verify360 },
      // Answered once the inbox has committed the delivery (a store may commit several together).
      store: (body, headers, source, receivedAt) => runPromise(inbox.accept(body, headers, source, receivedAt)),
      keepHeaders: headersToKeep,
      now: Date.now,
      onAnswer: metrics.webhook,
      onError: (error) => runFork(Effect.logError("webhook delivery not stored", error))
    })
    const listener = (req: IncomingMessage, res: ServerResponse) => {
      const source = webhookSourceOf(req)
      if (source !== null) return ingress(req, res, source)
      const path = (req.url ?? "/").split("?", 1)[0]!
      res.on("finish", () => {
        const route = routeLabel(path)
        metrics.request(req.method ?? "GET", route, res.statusCode)
        // The route template, never the URL: a query string may carry a secret (hub.verify_token).
        if (accessLog) runFork(Effect.logDebug("request").pipe(Effect.annotateLogs({ method: req.method, route, status: res.statusCode })))
      })
      if (hasBody(req.method)) {
        if (Number(req.headers["content-length"]) > MAX_API_BODY_BYTES) return refuseTooLarge(req, res)
        // The API speaks JSON only: a body is read as JSON whatever its Content-Type says (curl -d sends
        // form encoding), so a client gets `invalid_json` or `invalid_request`, never a framework shape.
        req.headers["content-type"] = "application/json"
      }
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
    Layer.provide(assets.consoleDirectory == null ? Layer.empty : layerConsole(assets.consoleDirectory)),
    Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
    Layer.provide(HttpApiBuilder.middleware(GatewayApi, frameworkErrorsToEnvelope as never)),
    Layer.provide(api),
    Layer.provide([HttpApiBuilder.Router.Live, HttpApiBuilder.Middleware.layer]),
    Layer.provide(NodeHttpServer.layerContext),
    Layer.provide(Layer.mergeAll(
      Layer.provideMerge(statusUpdateRelayLayer(config.provider), layerCredentials(key)),
      settings,
      intentApiLayer(config.intentApi)
    )),
    Layer.provideMerge(layerMetrics),
    Layer.orDie
  ) as unknown as Layer.Layer<ApiServer, Error, ApiStore>
}
