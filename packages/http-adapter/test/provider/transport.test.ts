import { assert, describe, it } from "@effect/vitest"
import { Classify, ProviderGateway } from "@mm-gateway/domain"
import { Effect, Layer, TestClock } from "effect"
import { ChannelCredentials, inMemoryChannelCredentials, makeProviderClientConfig, providerGatewayLayer } from "../../src/provider/index.js"
import { ACCESS_TOKEN, closedPort, D360_KEY, gatewayLayer, graphError, PHONE, request, SANDBOX_TOKEN, sendOne, sendWith, startHttpsServer, startServer, startTcpServer, TLS_CERT } from "./support.js"

const body = { messaging_product: "whatsapp", to: "4915112341234", type: "text", text: { body: "hi" }, biz_opaque_callback_data: "msg-1" }

const use = <A>(acquire: () => Promise<A & { close: () => Promise<void> }>) =>
  Effect.acquireRelease(Effect.promise(acquire), (server) => Effect.promise(() => server.close()))

const tagOf = (result: ProviderGateway.ProviderSendResult) => result._tag
const reasonOf = (result: ProviderGateway.ProviderSendResult) => "reason" in result ? result.reason : ""

/** Whole seconds, as an HTTP date carries them. */
const NOW = Date.UTC(2026, 10, 25, 15, 0, 0)

const OK = JSON.stringify({ messaging_product: "whatsapp", contacts: [], messages: [{ id: "wamid.TEST1", message_status: "held_for_quality_assessment" }] })

describe("wire styles", () => {
  it.scoped("meta: POST {graph}/{version}/{phone}/marketing_messages with a bearer token, body as given", () =>
    Effect.gen(function*() {
      const server = yield* use(() => startServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(OK)))
      const result = yield* sendOne(
        { graphBaseUrl: `${server.url}/`, graphApiVersion: "v23.0" },
        request({ provider: "meta", credentialsRef: "meta", route: "marketing_messages", body })
      )
      assert.deepStrictEqual(result, { _tag: "Accepted", wamid: "wamid.TEST1", messageStatus: "held_for_quality_assessment" })
      const seen = server.requests()[0]!
      assert.strictEqual(seen.method, "POST")
      assert.strictEqual(seen.url, `/v23.0/${PHONE}/marketing_messages`)
      assert.strictEqual(seen.headers["authorization"], `Bearer ${ACCESS_TOKEN}`)
      assert.strictEqual(seen.headers["content-type"], "application/json")
      assert.deepStrictEqual(JSON.parse(seen.body), body)
    }))

  it.scoped("360dialog: POST {base}/messages with D360-API-KEY and no bearer", () =>
    Effect.gen(function*() {
      const server = yield* use(() => startServer((_req, res) => res.writeHead(200).end(OK)))
      yield* sendOne({ d360BaseUrl: server.url }, request({ provider: "360dialog", credentialsRef: "d360", route: "cloud_api", body }))
      const seen = server.requests()[0]!
      assert.strictEqual(seen.url, "/messages")
      assert.strictEqual(seen.headers["d360-api-key"], D360_KEY)
      assert.isUndefined(seen.headers["authorization"])
    }))

  it.scoped("missing credentials are reported as not sent, and nothing reaches the server", () =>
    Effect.gen(function*() {
      const server = yield* use(() => startServer((_req, res) => res.writeHead(200).end(OK)))
      const results = yield* sendWith({ graphBaseUrl: server.url, d360BaseUrl: server.url }, [
        request({ provider: "meta", credentialsRef: "nowhere", body }),
        request({ provider: "meta", credentialsRef: "d360", body }),
        request({ provider: "360dialog", credentialsRef: "empty", body })
      ])
      for (const result of results) assert.deepStrictEqual(result, { _tag: "ConnectionNotEstablished", reason: "credentials_unavailable" })
      assert.strictEqual(server.requests().length, 0)
    }))

  it.scoped("a failing credentials store and an unencodable body never reach the server", () =>
    Effect.gen(function*() {
      const server = yield* use(() => startServer((_req, res) => res.writeHead(200).end(OK)))
      const broken = Layer.succeed(ChannelCredentials, { resolve: () => Effect.die(new Error("store unavailable")) })
      const [fromBrokenStore] = yield* Effect.gen(function*() {
        const gateway = yield* ProviderGateway.ProviderGateway
        return [yield* gateway.send(request({ body }))]
      }).pipe(Effect.provide(providerGatewayLayer(makeProviderClientConfig({ sandboxBaseUrl: server.url })).pipe(Layer.provide(broken))))
      assert.deepStrictEqual(fromBrokenStore, { _tag: "ConnectionNotEstablished", reason: "credentials_unavailable" })
      const unencodable = yield* sendOne({ sandboxBaseUrl: server.url }, request({ body: { ...body, n: 1n } }))
      assert.deepStrictEqual(unencodable, { _tag: "NoDefinitiveAnswer", reason: "body_not_encodable" })
      assert.strictEqual(server.requests().length, 0)
    }))

  it.scoped("a credential Node refuses to put in a header is not sent, and not quoted", () =>
    Effect.gen(function*() {
      const server = yield* use(() => startServer((_req, res) => res.writeHead(200).end(OK)))
      const credentials = inMemoryChannelCredentials({ broken: { accessToken: "secret-part\r\nX-Injected: 1" } })
      const result = yield* Effect.gen(function*() {
        const gateway = yield* ProviderGateway.ProviderGateway
        return yield* gateway.send(request({ provider: "meta", credentialsRef: "broken", body }))
      }).pipe(Effect.provide(providerGatewayLayer(makeProviderClientConfig({ graphBaseUrl: server.url })).pipe(Layer.provide(credentials))))
      assert.strictEqual(result._tag, "ConnectionNotEstablished")
      assert.match(reasonOf(result), /^invalid_request/)
      assert.isFalse(JSON.stringify(result).includes("secret-part"))
      assert.strictEqual(server.requests().length, 0)
    }))

  it.scoped("a 2xx without a wamid is no definitive answer; a missing message_status is accepted", () =>
    Effect.gen(function*() {
      const answers = ["{}", "not json", JSON.stringify({ messages: [{ id: "wamid.X" }] })]
      const server = yield* use(() => startServer((_req, res) => res.writeHead(200).end(answers.shift())))
      const results = yield* sendWith({ sandboxBaseUrl: server.url }, [request({ body }), request({ body }), request({ body })])
      assert.deepStrictEqual(results.map(tagOf), ["NoDefinitiveAnswer", "NoDefinitiveAnswer", "Accepted"])
      assert.deepStrictEqual(results[2], { _tag: "Accepted", wamid: "wamid.X", messageStatus: "accepted" })
    }))
})

describe("errors and Retry-After", () => {
  it.scoped("Retry-After in seconds and as an HTTP date; non-JSON error bodies give error null", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW)
      const answers: Array<[number, Record<string, string>, string]> = [
        [429, { "retry-after": "7" }, JSON.stringify(graphError(130429, "(#130429) Rate limit hit"))],
        [503, { "retry-after": new Date(NOW + 3_600_000).toUTCString() }, "<html>Service Unavailable</html>"],
        [502, {}, ""]
      ]
      const server = yield* use(() =>
        startServer((_req, res) => {
          const [status, headers, text] = answers.shift()!
          res.writeHead(status, headers).end(text)
        })
      )
      const results = yield* sendWith({ sandboxBaseUrl: server.url }, [request({ body }), request({ body }), request({ body })])
      const [first, second, third] = results as Array<Extract<ProviderGateway.ProviderSendResult, { _tag: "HttpError" }>>
      assert.deepStrictEqual(first, {
        _tag: "HttpError",
        status: 429,
        error: { code: 130429, title: null, message: "(#130429) Rate limit hit", details: null },
        retryAfterMs: 7_000
      })
      assert.strictEqual(second!._tag, "HttpError")
      assert.strictEqual(second!.error, null)
      assert.strictEqual(second!.retryAfterMs, 3_600_000)
      assert.deepStrictEqual(third, { _tag: "HttpError", status: 502, error: null, retryAfterMs: null })
      assert.strictEqual(Classify.classifyProviderOutcome(third!, "cloud_api")._tag, "Unknown")
    }))
})

describe("secrets", () => {
  it.scoped("no outcome carries a credential, even when the provider quotes it back", () =>
    Effect.gen(function*() {
      const server = yield* use(() =>
        startServer((req, res) => {
          const quoted = String(req.headers["authorization"] ?? req.headers["d360-api-key"])
          res.writeHead(400).end(JSON.stringify(graphError(190, `Invalid token: ${quoted}`, `token ${quoted} expired`)))
        })
      )
      const port = yield* Effect.promise(closedPort)
      const results = yield* sendWith({ graphBaseUrl: server.url, d360BaseUrl: server.url, sandboxBaseUrl: `http://127.0.0.1:${port}` }, [
        request({ provider: "meta", credentialsRef: "meta", body }),
        request({ provider: "360dialog", credentialsRef: "d360", body }),
        request({ provider: "sandbox", credentialsRef: "sandbox", body })
      ])
      assert.deepStrictEqual(results.map(tagOf), ["HttpError", "HttpError", "ConnectionNotEstablished"])
      assert.strictEqual((results[0] as Extract<ProviderGateway.ProviderSendResult, { _tag: "HttpError" }>).error?.message, "Invalid token: Bearer [redacted]")
      const text = JSON.stringify(results)
      for (const secret of [ACCESS_TOKEN, D360_KEY, SANDBOX_TOKEN]) assert.isFalse(text.includes(secret), secret)
    }))
})

describe("not sent versus no definitive answer", () => {
  it.effect("connection refused is not sent", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(closedPort)
      const result = yield* sendOne({ sandboxBaseUrl: `http://127.0.0.1:${port}` }, request({ body }))
      assert.deepStrictEqual(result, { _tag: "ConnectionNotEstablished", reason: "connection_refused" })
      assert.strictEqual(Classify.classifyProviderOutcome(result as Extract<ProviderGateway.ProviderSendResult, { _tag: "ConnectionNotEstablished" }>, "cloud_api")._tag, "Retry")
    }))

  it.effect("an unresolvable host is not sent", () =>
    Effect.gen(function*() {
      const result = yield* sendOne({ sandboxBaseUrl: "http://mmgw-does-not-exist.invalid" }, request({ body }))
      assert.strictEqual(result._tag, "ConnectionNotEstablished")
      assert.strictEqual(reasonOf(result), "dns_failure")
    }))

  it.scoped("a failed TLS handshake (https to a plain http server) is not sent", () =>
    Effect.gen(function*() {
      const server = yield* use(() => startServer((_req, res) => res.writeHead(200).end(OK)))
      const result = yield* sendOne({ sandboxBaseUrl: `https://127.0.0.1:${server.port}` }, request({ body }))
      assert.strictEqual(result._tag, "ConnectionNotEstablished")
      assert.match(reasonOf(result), /^tls_handshake_failed \(/)
      assert.strictEqual(server.requests().length, 0)
    }))

  it.scoped("a TCP connection that never completes the TLS handshake times out as not sent", () =>
    Effect.gen(function*() {
      const server = yield* use(() => startTcpServer(() => {}))
      const result = yield* sendOne({ sandboxBaseUrl: `https://127.0.0.1:${server.port}`, connectTimeoutMs: 150, requestTimeoutMs: 2_000 }, request({ body }))
      assert.deepStrictEqual(result, { _tag: "ConnectionNotEstablished", reason: "connect_timeout" })
    }))

  it.scoped("a server that accepts and never answers is no definitive answer after the timeout", () =>
    Effect.gen(function*() {
      const server = yield* use(() => startTcpServer(() => {}))
      const result = yield* sendOne({ sandboxBaseUrl: server.url, requestTimeoutMs: 200 }, request({ body }))
      assert.deepStrictEqual(result, { _tag: "NoDefinitiveAnswer", reason: "timeout_after_send" })
    }))

  it.scoped("a connection reset after the request was read is no definitive answer", () =>
    Effect.gen(function*() {
      const server = yield* use(() => startServer((req) => req.socket.resetAndDestroy()))
      const result = yield* sendOne({ sandboxBaseUrl: server.url }, request({ body }))
      assert.strictEqual(result._tag, "NoDefinitiveAnswer")
      assert.match(reasonOf(result), /^connection_lost/)
      assert.strictEqual(server.requests().length, 1)
    }))

  it.scoped("a reset on a reused keep-alive connection is no definitive answer too", () =>
    Effect.gen(function*() {
      let answered = 0
      const server = yield* use(() =>
        startServer((req, res) => {
          if (answered++ === 0) res.writeHead(200).end(OK)
          else req.socket.resetAndDestroy()
        })
      )
      const results = yield* sendWith({ sandboxBaseUrl: server.url }, [request({ body }), request({ body })])
      assert.strictEqual(results[0]!._tag, "Accepted")
      assert.strictEqual(results[1]!._tag, "NoDefinitiveAnswer")
      assert.match(reasonOf(results[1]!), /^connection_lost_on_reused_socket/)
      assert.strictEqual(server.connections(), 1)
    }))

  it.scoped("a connection dropped in the middle of the answer is no definitive answer", () =>
    Effect.gen(function*() {
      const server = yield* use(() =>
        startServer((_req, res) => {
          res.writeHead(200, { "content-type": "application/json", "content-length": "500" })
          res.write(OK.slice(0, 20), () => res.socket?.destroy())
        })
      )
      const result = yield* sendOne({ sandboxBaseUrl: server.url }, request({ body }))
      assert.strictEqual(result._tag, "NoDefinitiveAnswer")
      assert.match(reasonOf(result), /^response_incomplete/)
    }))

  it.scoped("a malformed HTTP answer is no definitive answer", () =>
    Effect.gen(function*() {
      const server = yield* use(() =>
        startTcpServer((socket) => socket.once("data", () => socket.end("this is not http\r\n\r\n")))
      )
      const result = yield* sendOne({ sandboxBaseUrl: server.url }, request({ body }))
      assert.strictEqual(result._tag, "NoDefinitiveAnswer")
      assert.match(reasonOf(result), /^unparseable_response \(HPE_/)
    }))
})

describe("https", () => {
  it.scoped("a verified TLS origin answers, and keeps one connection for sequential requests", () =>
    Effect.gen(function*() {
      const server = yield* use(() => startHttpsServer((_req, res) => res.writeHead(200).end(OK)))
      const results = yield* sendWith({ graphBaseUrl: server.url, tlsCa: TLS_CERT }, [1, 2, 3].map(() => request({ provider: "meta", credentialsRef: "meta", body })))
      assert.deepStrictEqual(results.map(tagOf), ["Accepted", "Accepted", "Accepted"])
      assert.strictEqual(server.connections(), 1)
    }))

  it.scoped("after the handshake, silence is no definitive answer (not a connect timeout)", () =>
    Effect.gen(function*() {
      const server = yield* use(() => startHttpsServer(() => {}))
      // The handshake needs CPU: on a loaded machine it can take far longer than on an idle one, and a
      // handshake cut short would be "not sent". The connect timeout leaves it ample time.
      const result = yield* sendOne(
        { graphBaseUrl: server.url, tlsCa: TLS_CERT, connectTimeoutMs: 2_000, requestTimeoutMs: 2_000 },
        request({ provider: "meta", credentialsRef: "meta", body })
      )
      assert.deepStrictEqual(result, { _tag: "NoDefinitiveAnswer", reason: "timeout_after_send" })
    }))

  it.scoped("an untrusted certificate is not sent", () =>
    Effect.gen(function*() {
      const server = yield* use(() => startHttpsServer((_req, res) => res.writeHead(200).end(OK)))
      const result = yield* sendOne({ graphBaseUrl: server.url }, request({ provider: "meta", credentialsRef: "meta", body }))
      assert.strictEqual(result._tag, "ConnectionNotEstablished")
      assert.match(reasonOf(result), /^tls_handshake_failed \(/)
    }))
})

describe("keep-alive", () => {
  it.scoped("sequential requests share one connection", () =>
    Effect.gen(function*() {
      const server = yield* use(() => startServer((_req, res) => res.writeHead(200).end(OK)))
      const results = yield* sendWith({ sandboxBaseUrl: server.url }, Array.from({ length: 6 }, () => request({ body })))
      assert.deepStrictEqual(results.map(tagOf), Array(6).fill("Accepted"))
      assert.strictEqual(server.requests().length, 6)
      assert.strictEqual(server.connections(), 1)
    }))

  it.scoped("concurrent requests open at most maxSocketsPerOrigin connections", () =>
    Effect.gen(function*() {
      const server = yield* use(() => startServer((_req, res) => setTimeout(() => res.writeHead(200).end(OK), 20)))
      const results = yield* Effect.gen(function*() {
        const gateway = yield* ProviderGateway.ProviderGateway
        return yield* Effect.forEach(Array.from({ length: 8 }), () => gateway.send(request({ body })), { concurrency: "unbounded" })
      }).pipe(Effect.provide(gatewayLayer({ sandboxBaseUrl: server.url, maxSocketsPerOrigin: 2 })))
      assert.deepStrictEqual(results.map(tagOf), Array(8).fill("Accepted"))
      assert.isAtMost(server.connections(), 2)
    }))
})
