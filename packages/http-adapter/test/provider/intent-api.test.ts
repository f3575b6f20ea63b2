import { assert, describe, it } from "@effect/vitest"
import { IntentApi } from "@mm-gateway/domain"
import { ConfigProvider, Effect, Redacted } from "effect"
import { type IntentApiConfig, intentApiConfig, intentApiLayer, intentResultOf } from "../../src/provider/intent-api.js"
import { closedPort, graphError, startServer } from "./support.js"

const TOKEN = "EAAG-system-user-SECRET-42"

const config = (overrides: Partial<IntentApiConfig> = {}): IntentApiConfig => ({
  graphBaseUrl: "http://127.0.0.1:1",
  graphApiVersion: "v25.0",
  systemUserToken: Redacted.make(TOKEN),
  defaultSolutionId: null,
  requestTimeoutMs: 5_000,
  connectTimeoutMs: 2_000,
  ...overrides
})

const ask = (c: IntentApiConfig, request: IntentApi.IntentRequest) =>
  Effect.flatMap(IntentApi.IntentApi, (api) => api.requestOnboarding(request)).pipe(Effect.provide(intentApiLayer(c)))

describe("intentResultOf: Meta's answers to POST /{END_BUSINESS_ID}/onboard_partners_to_mm_lite", () => {
  const of = (status: number, body: unknown) => intentResultOf(status, JSON.stringify(body), "77", TOKEN)

  it("a request_id is a request taken (a numeric one too); 2xx without one is a Graph error", () => {
    assert.deepStrictEqual(of(200, { request_id: "893436979557695" }), { _tag: "Requested", requestId: "893436979557695", solutionId: "77" })
    assert.deepStrictEqual(of(200, { request_id: 893436979557695 }), { _tag: "Requested", requestId: "893436979557695", solutionId: "77" })
    assert.deepStrictEqual(of(200, { success: true }), { _tag: "GraphError", graph: { httpStatus: 200, code: null, message: "Meta's answer has no request_id" } })
  })

  it("1752041 is already invited, whatever its text", () => {
    assert.deepStrictEqual(of(400, graphError(1752041, "(#1752041) Duplicate Request")), { _tag: "AlreadyInvited", solutionId: "77" })
  })

  it("the documented refusals by their text, with the case of an invalid recipient type when the text names it", () => {
    const refused = (status: number, body: unknown) => {
      const result = of(status, body)
      assert.strictEqual(result._tag, "Refused")
      const r = result as Extract<IntentApi.IntentResult, { _tag: "Refused" }>
      return [r.reason, r.cause, r.graph.code] as const
    }
    const invalid = (msg: string) => ({ error: { message: "Invalid recipient type", type: "OAuthException", code: 100, error_user_msg: msg } })
    assert.deepStrictEqual(refused(400, invalid("The business has already accepted the terms.")), ["invalid_recipient_type", "already_signed", 100])
    assert.deepStrictEqual(refused(400, invalid("No WABA in an eligible country.")), ["invalid_recipient_type", "ineligible_country", 100])
    assert.deepStrictEqual(refused(400, invalid("No eligible WhatsApp Business Account is shared with you.")), ["invalid_recipient_type", "no_eligible_waba", 100])
    assert.deepStrictEqual(refused(400, graphError(100, "Invalid recipient type")), ["invalid_recipient_type", null, 100])
    assert.deepStrictEqual(refused(400, graphError(100, "Your business has already sent this request to this business.")), ["request_already_sent", null, 100])
    assert.deepStrictEqual(refused(403, graphError(10, "The app does not have sufficient permissions to send this request.")), ["insufficient_permissions", null, 10])
    // Graph's permission codes count as insufficient permissions whatever their text.
    assert.deepStrictEqual(refused(403, graphError(200, "(#200) Requires business_management permission")), ["insufficient_permissions", null, 200])
  })

  it("anything else is a Graph error with its status, code and text; the token never survives in the text", () => {
    assert.deepStrictEqual(of(500, graphError(1, "An unknown error has occurred.")), {
      _tag: "GraphError",
      graph: { httpStatus: 500, code: 1, message: "An unknown error has occurred." }
    })
    const quoting = of(400, graphError(190, `Malformed access token ${TOKEN}`))
    assert.deepStrictEqual(quoting, { _tag: "GraphError", graph: { httpStatus: 400, code: 190, message: "Malformed access token [redacted]" } })
    assert.deepStrictEqual(intentResultOf(502, "<html>bad gateway</html>", null, TOKEN), {
      _tag: "GraphError",
      graph: { httpStatus: 502, code: null, message: "Meta's answer is not JSON" }
    })
  })
})

describe("the IntentApi port over HTTP", () => {
  it.effect("POSTs to {base}/{version}/{businessId}/onboard_partners_to_mm_lite with the bearer token and the solution_id (the default when none is named)", () =>
    Effect.gen(function*() {
      const graph = yield* Effect.acquireRelease(
        Effect.promise(() => startServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ request_id: "1" })))),
        (s) => Effect.promise(() => s.close())
      )
      const c = config({ graphBaseUrl: graph.url, defaultSolutionId: "5550001" })
      assert.deepStrictEqual(yield* ask(c, { businessId: "271828182845904", solutionId: null }), { _tag: "Requested", requestId: "1", solutionId: "5550001" })
      assert.deepStrictEqual(yield* ask(c, { businessId: "271828182845904", solutionId: "42" }), { _tag: "Requested", requestId: "1", solutionId: "42" })
      assert.deepStrictEqual(yield* ask(config({ graphBaseUrl: graph.url }), { businessId: "271828182845904", solutionId: null }), {
        _tag: "Requested",
        requestId: "1",
        solutionId: null
      })
      assert.deepStrictEqual(graph.requests().map((r) => [r.method, r.url, r.headers.authorization, r.headers["content-type"], r.body]), [
        ["POST", "/v25.0/271828182845904/onboard_partners_to_mm_lite", `Bearer ${TOKEN}`, "application/json", "{\"solution_id\":\"5550001\"}"],
        ["POST", "/v25.0/271828182845904/onboard_partners_to_mm_lite", `Bearer ${TOKEN}`, "application/json", "{\"solution_id\":\"42\"}"],
        ["POST", "/v25.0/271828182845904/onboard_partners_to_mm_lite", `Bearer ${TOKEN}`, "application/json", "{}"]
      ])
    }).pipe(Effect.scoped))

  it.effect("without a token nothing is sent: NotConfigured names the setting", () =>
    Effect.gen(function*() {
      const graph = yield* Effect.acquireRelease(Effect.promise(() => startServer((_req, res) => res.writeHead(200).end("{}"))), (s) => Effect.promise(() => s.close()))
      const result = yield* ask(config({ graphBaseUrl: graph.url, systemUserToken: null }), { businessId: "1", solutionId: null })
      assert.deepStrictEqual(result, { _tag: "NotConfigured", setting: "MMGW_META_SYSTEM_USER_TOKEN" })
      assert.strictEqual(graph.requests().length, 0)
    }).pipe(Effect.scoped))

  it.effect("no answer: not sent when nothing listens, sent when the connection drops after the request", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(closedPort)
      const refused = yield* ask(config({ graphBaseUrl: `http://127.0.0.1:${port}` }), { businessId: "1", solutionId: null })
      assert.deepStrictEqual(refused, { _tag: "NoAnswer", sent: false, reason: "connection_refused" })
      const dropping = yield* Effect.acquireRelease(Effect.promise(() => startServer((req) => req.socket.destroy())), (s) => Effect.promise(() => s.close()))
      const dropped = yield* ask(config({ graphBaseUrl: dropping.url }), { businessId: "1", solutionId: null })
      assert.strictEqual(dropped._tag, "NoAnswer")
      assert.isTrue((dropped as Extract<IntentApi.IntentResult, { _tag: "NoAnswer" }>).sent)
    }).pipe(Effect.scoped))
})

describe("intentApiConfig", () => {
  const load = (env: Record<string, string>) => Effect.runSync(Effect.withConfigProvider(intentApiConfig, ConfigProvider.fromMap(new Map(Object.entries(env)))))

  it("has no token and no solution by default, and Graph's URL and version as the worker reads them", () => {
    assert.deepStrictEqual(load({}), {
      graphBaseUrl: "https://graph.facebook.com",
      graphApiVersion: "v25.0",
      systemUserToken: null,
      defaultSolutionId: null,
      requestTimeoutMs: 15_000,
      connectTimeoutMs: 5_000
    })
  })

  it("reads the token as a secret, the default solution id, Graph's URL, version and timeouts; an empty token is none", () => {
    const c = load({
      MMGW_META_SYSTEM_USER_TOKEN: TOKEN,
      MMGW_META_SOLUTION_ID: "5550001",
      MMGW_GRAPH_BASE_URL: "http://127.0.0.1:9000/",
      MMGW_GRAPH_API_VERSION: "v27.0",
      MMGW_PROVIDER_TIMEOUT_MS: "3000",
      MMGW_PROVIDER_CONNECT_TIMEOUT_MS: "1000"
    })
    assert.isTrue(Redacted.isRedacted(c.systemUserToken))
    assert.strictEqual(Redacted.value(c.systemUserToken!), TOKEN)
    assert.notInclude(String(c.systemUserToken), TOKEN)
    assert.deepStrictEqual({ ...c, systemUserToken: null }, {
      graphBaseUrl: "http://127.0.0.1:9000",
      graphApiVersion: "v27.0",
      systemUserToken: null,
      defaultSolutionId: "5550001",
      requestTimeoutMs: 3_000,
      connectTimeoutMs: 1_000
    })
    assert.isNull(load({ MMGW_META_SYSTEM_USER_TOKEN: " " }).systemUserToken)
    assert.throws(() => load({ MMGW_META_SOLUTION_ID: "not-an-id" }))
  })
})
