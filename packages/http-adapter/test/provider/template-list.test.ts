import { assert, describe, it } from "@effect/vitest"
import { ProviderGateway } from "@mm-gateway/domain"
import type { Sandbox } from "@mm-gateway/sandbox"
import { startSandbox } from "@mm-gateway/sandbox"
import { Effect } from "effect"
import { afterAll, beforeAll } from "vitest"
import type { ProviderClientConfig } from "../../src/provider/index.js"
import { ACCESS_TOKEN, gatewayLayer, startServer, startSink, type TestServer } from "./support.js"

/**
 * `ProviderGateway.listTemplates` (docs/provider.md#template-list): every page of
 * `GET /{version}/{WABA_ID}/message_templates`, against the sandbox (pages of two) and against
 * servers that answer what the sandbox does not.
 */

let sandbox: Sandbox
let sink: TestServer

beforeAll(async () => {
  sink = await startSink()
  sandbox = await startSandbox({ port: 0, webhookUrl: `${sink.url}/webhooks/meta`, seed: 7, appSecret: "test-secret", templatePageSize: 2 })
  sandbox.setTemplate("spring_sale", "en", { category: "MARKETING", ttlSeconds: 86_400 })
  sandbox.setTemplate("receipt", "en_US", { category: "UTILITY", status: "PAUSED" })
  sandbox.setTemplate("login_code", "de", { category: "AUTHENTICATION", ttlSeconds: 300 })
  sandbox.setTemplate("win_back", "en", { category: "MARKETING", status: "REJECTED", wabaId: "102290129349999" })
  sandbox.setTemplate("third", "en", { category: "MARKETING" })
})
afterAll(async () => {
  await sandbox.close()
  await sink.close()
})

const list = (overrides: Partial<ProviderClientConfig>, request: ProviderGateway.TemplateListRequest) =>
  Effect.gen(function*() {
    const gateway = yield* ProviderGateway.ProviderGateway
    return yield* gateway.listTemplates(request)
  }).pipe(Effect.provide(gatewayLayer(overrides)), Effect.scoped)

const meta = (wabaId: string): ProviderGateway.TemplateListRequest => ({ provider: "meta", credentialsRef: "meta", wabaId })

describe("listing a WABA's templates (Graph GET /{WABA_ID}/message_templates)", () => {
  it.effect("reads every page, following paging.next, with what Meta says of each template", () =>
    Effect.gen(function*() {
      const result = yield* list({ graphBaseUrl: sandbox.url }, meta("102290129340398"))
      assert.strictEqual(result._tag, "Read")
      if (result._tag !== "Read") return
      assert.deepStrictEqual(result.templates.map(({ id: _, ...t }) => t), [
        { name: "spring_sale", language: "en", category: "MARKETING", status: "APPROVED", ttlSeconds: 86_400 },
        { name: "receipt", language: "en_US", category: "UTILITY", status: "PAUSED", ttlSeconds: null },
        { name: "login_code", language: "de", category: "AUTHENTICATION", status: "APPROVED", ttlSeconds: 300 },
        { name: "third", language: "en", category: "MARKETING", status: "APPROVED", ttlSeconds: null }
      ])
      assert.isTrue(result.templates.every((t) => t.id !== null && /^\d+$/.test(t.id)))
      assert.deepStrictEqual([result.pages, result.skipped], [2, []])
      const other = yield* list({ graphBaseUrl: sandbox.url }, meta("102290129349999"))
      assert.deepStrictEqual(other._tag === "Read" ? [other.templates.length, other.pages] : other, [5, 3])
    }))

  it.effect("failures are reasons without the token: Graph's error code on the first or a later page, no credentials, a 360dialog channel", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* list({ graphBaseUrl: sandbox.url }, meta("102290129340100")), { _tag: "Failed", reason: "http_400_code_100" })
      assert.deepStrictEqual(yield* list({ graphBaseUrl: sandbox.url }, meta("102290129340101")), { _tag: "Failed", reason: "http_500_code_2" })
      assert.deepStrictEqual(yield* list({ graphBaseUrl: sandbox.url }, { ...meta("102290129340398"), credentialsRef: "empty" }), { _tag: "Failed", reason: "credentials_unavailable" })
      assert.deepStrictEqual(yield* list({ graphBaseUrl: sandbox.url }, { provider: "360dialog", credentialsRef: "d360", wabaId: "102290129340398" }), { _tag: "Failed", reason: "not_a_graph_channel" })
      const refused = yield* list({ graphBaseUrl: "http://127.0.0.1:9" }, meta("102290129340398"))
      assert.strictEqual(refused._tag, "Failed")
      assert.notInclude(JSON.stringify(refused), ACCESS_TOKEN)
    }))

  it.effect("the next page is asked at the configured host with the cursor, never at the host paging.next names; bad entries are skipped and named", () =>
    Effect.gen(function*() {
      const graph = yield* Effect.acquireRelease(
        Effect.promise(() =>
          startServer((req, res) => {
            const after = new URL(req.url ?? "/", "http://x").searchParams.get("after")
            const body = after === null
              ? {
                data: [{ name: "ok", language: "en", category: "NEW_CATEGORY", status: "SOMETHING_NEW", id: 17 }, { language: "en" }, { name: "ttl", language: "en", message_send_ttl_seconds: "1h" }],
                paging: { cursors: { after: "c1" }, next: "http://elsewhere.invalid/v25.0/1/message_templates?after=c1" }
              }
              : { data: [{ name: "last", language: "en" }], paging: { cursors: { before: "c1", after: "c2" } } }
            res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body))
          })
        ),
        (server) => Effect.promise(() => server.close())
      )
      const result = yield* list({ graphBaseUrl: graph.url }, meta("102290129340398"))
      assert.deepStrictEqual(result, {
        _tag: "Read",
        templates: [
          { id: "17", name: "ok", language: "en", category: "NEW_CATEGORY", status: "SOMETHING_NEW", ttlSeconds: null },
          { id: null, name: "last", language: "en", category: null, status: null, ttlSeconds: null }
        ],
        skipped: ["page 1, data[1]: no name", "page 1, data[2] (ttl/en): message_send_ttl_seconds is not an integer"],
        pages: 2
      })
      const urls = graph.requests().map((r) => r.url)
      assert.strictEqual(urls.length, 2)
      assert.match(urls[1]!, /^\/v\d+\.\d+\/102290129340398\/message_templates\?fields=name%2Clanguage%2Ccategory%2Cstatus%2Cmessage_send_ttl_seconds%2Cid&limit=100&after=c1$/)
      assert.strictEqual(graph.requests()[1]!.headers.authorization, `Bearer ${ACCESS_TOKEN}`)
    }).pipe(Effect.scoped))

  it.effect("a cursor that repeats is a paging loop, not an endless read", () =>
    Effect.gen(function*() {
      const graph = yield* Effect.acquireRelease(
        Effect.promise(() =>
          startServer((_req, res) => {
            res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ data: [], paging: { cursors: { after: "same" }, next: "http://x/next" } }))
          })
        ),
        (server) => Effect.promise(() => server.close())
      )
      assert.deepStrictEqual(yield* list({ graphBaseUrl: graph.url }, meta("102290129340398")), { _tag: "Failed", reason: "paging_repeated_cursor" })
      assert.strictEqual(graph.requests().length, 2)
    }).pipe(Effect.scoped))
})
