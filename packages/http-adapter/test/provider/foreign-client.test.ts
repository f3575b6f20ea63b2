import { HttpClientError, HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ProviderGateway } from "@mm-gateway/domain"
import { Effect, Layer } from "effect"
import { httpClientTransportLayer, inMemoryChannelCredentials, makeProviderClientConfig, outcomeOfClientError, providerGatewayLayerWith, TransportFailure } from "../../src/provider/index.js"
import { closedPort, CREDENTIALS, request, startServer } from "./support.js"

const body = { messaging_product: "whatsapp", to: "4915112341234", type: "text", text: { body: "hi" } }
const req = HttpClientRequest.post("http://127.0.0.1/messages")

describe("outcomeOfClientError", () => {
  it("trusts the phase our transport records", () => {
    const error = (phase: "not_sent" | "sent") =>
      new HttpClientError.RequestError({ request: req, reason: "Transport", cause: new TransportFailure({ phase, reason: "r" }) })
    assert.deepStrictEqual(outcomeOfClientError(error("not_sent")), { _tag: "ConnectionNotEstablished", reason: "r" })
    assert.deepStrictEqual(outcomeOfClientError(error("sent")), { _tag: "NoDefinitiveAnswer", reason: "r" })
  })

  it("with a bare socket error, only connect-only codes count as not sent", () => {
    const error = (code: string) =>
      new HttpClientError.RequestError({ request: req, reason: "Transport", cause: Object.assign(new Error(code), { code }) })
    assert.strictEqual(outcomeOfClientError(error("ECONNREFUSED"))._tag, "ConnectionNotEstablished")
    assert.strictEqual(outcomeOfClientError(error("EAI_AGAIN"))._tag, "ConnectionNotEstablished")
    // ECONNRESET is "not sent" during a TLS handshake and "unknown" afterwards: without the phase, unknown.
    assert.strictEqual(outcomeOfClientError(error("ECONNRESET"))._tag, "NoDefinitiveAnswer")
    assert.strictEqual(outcomeOfClientError(error("ETIMEDOUT"))._tag, "NoDefinitiveAnswer")
    assert.strictEqual(outcomeOfClientError(new HttpClientError.RequestError({ request: req, reason: "Transport" }))._tag, "NoDefinitiveAnswer")
  })
})

describe("over the platform's NodeHttpClient", () => {
  const send = (baseUrl: string) => {
    const config = makeProviderClientConfig({ sandboxBaseUrl: baseUrl })
    return Effect.gen(function*() {
      const gateway = yield* ProviderGateway.ProviderGateway
      return yield* gateway.send(request({ body }))
    }).pipe(
      Effect.provide(
        providerGatewayLayerWith(config).pipe(
          Layer.provide(Layer.merge(httpClientTransportLayer(config).pipe(Layer.provide(NodeHttpClient.layer)), inMemoryChannelCredentials(CREDENTIALS)))
        )
      )
    )
  }

  it.effect("refused is still not sent, a reset still unknown", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(closedPort)
      const refused = yield* send(`http://127.0.0.1:${port}`)
      assert.deepStrictEqual(refused, { _tag: "ConnectionNotEstablished", reason: "connect_failed (ECONNREFUSED)" })
      const server = yield* Effect.acquireRelease(
        Effect.promise(() => startServer((r) => r.socket.resetAndDestroy())),
        (s) => Effect.promise(() => s.close())
      )
      const reset = yield* send(server.url)
      assert.strictEqual(reset._tag, "NoDefinitiveAnswer")
    }).pipe(Effect.scoped))
})
