import { assert, describe, it } from "@effect/vitest"
import { Classify, Ids, ProviderGateway } from "@mm-gateway/domain"
import type { Sandbox } from "@mm-gateway/sandbox"
import { startSandbox } from "@mm-gateway/sandbox"
import { Effect } from "effect"
import { afterAll, beforeAll, beforeEach } from "vitest"
import type { TestServer } from "./support.js"
import { gatewayLayer, request, SANDBOX_TOKEN, sendOne, sendWith, startSink, templateBody } from "./support.js"

const ProviderGatewayTag = ProviderGateway.ProviderGateway

let sandbox: Sandbox
let sink: TestServer

beforeAll(async () => {
  sink = await startSink()
  sandbox = await startSandbox({ port: 0, webhookUrl: `${sink.url}/webhooks/meta`, seed: 7, appSecret: "test-secret" })
})
afterAll(async () => {
  await sandbox.close()
  await sink.close()
})
beforeEach(() => sandbox.reset())

const config = () => ({ sandboxBaseUrl: sandbox.url, d360BaseUrl: sandbox.url, requestTimeoutMs: 5_000 })

const styles = [
  { style: "graph (sandbox provider)", provider: "sandbox" as const, credentialsRef: "sandbox", endpoint: "graph" },
  { style: "360dialog", provider: "360dialog" as const, credentialsRef: "d360", endpoint: "360dialog" }
]

const accepted = (result: ProviderGateway.ProviderSendResult) => {
  assert.strictEqual(result._tag, "Accepted")
  return result as Extract<ProviderGateway.ProviderSendResult, { _tag: "Accepted" }>
}

const httpError = (result: ProviderGateway.ProviderSendResult) => {
  assert.strictEqual(result._tag, "HttpError")
  return result as Extract<ProviderGateway.ProviderSendResult, { _tag: "HttpError" }>
}

describe.each(styles)("against the sandbox, $style style", ({ provider, credentialsRef, endpoint }) => {
  const send = (to: string, name: string, callback: string, route: "cloud_api" | "marketing_messages") =>
    sendOne(config(), request({ provider, credentialsRef, route, body: templateBody(to, name, callback) }))

  it.effect("an accepted send returns the wamid, and the callback data reaches the provider once", () =>
    Effect.gen(function*() {
      const result = accepted(yield* send("4915112341234", "spring_sale", `msg-${endpoint}-ok`, "marketing_messages"))
      assert.match(result.wamid, /^wamid\./)
      assert.strictEqual(result.messageStatus, "accepted")
      const stats = sandbox.stats()
      assert.deepStrictEqual(stats.byCallbackData[`msg-${endpoint}-ok`], { requests: 1, accepted: 1 })
      assert.strictEqual(stats.requests.byEndpoint[`${endpoint} /marketing_messages`], 1)
    }))

  it.effect("a message addressed by BSUID reaches the provider with recipient, and is accepted as Meta accepts it", () =>
    Effect.gen(function*() {
      const { to: _to, ...rest } = templateBody("0", "spring_sale", `msg-${endpoint}-bsuid`)
      const result = accepted(yield* sendOne(config(), request({ provider, credentialsRef, route: "marketing_messages", body: { ...rest, recipient: "US.13491208655302741918" } })))
      assert.match(result.wamid, /^wamid\./)
      assert.deepStrictEqual(sandbox.stats().byCallbackData[`msg-${endpoint}-bsuid`], { requests: 1, accepted: 1 })
    }))

  it.effect("cloud_api goes to /messages", () =>
    Effect.gen(function*() {
      accepted(yield* send("4915112341234", "utility_receipt", `msg-${endpoint}-cloud`, "cloud_api"))
      assert.strictEqual(sandbox.stats().requests.byEndpoint[`${endpoint} /messages`], 1)
    }))

  it.effect("a non-marketing template on /marketing_messages is 131055 and classifies as a reroute", () =>
    Effect.gen(function*() {
      const result = httpError(yield* send("4915112341234", "utility_receipt", `msg-${endpoint}-131055`, "marketing_messages"))
      assert.strictEqual(result.status, 400)
      assert.strictEqual(result.error?.code, 131055)
      assert.strictEqual(result.error?.details, "Only marketing template messages are supported")
      assert.deepStrictEqual(Classify.classifyProviderOutcome(result, "marketing_messages"), {
        _tag: "Reroute",
        to: "cloud_api",
        reason: "not_a_marketing_template"
      })
    }))

  it.effect("0429 answers 130429 twice, then accepts", () =>
    Effect.gen(function*() {
      const body = templateBody("4915112340429", "spring_sale", `msg-${endpoint}-0429`)
      const results = yield* sendWith(config(), [1, 2, 3].map(() => request({ provider, credentialsRef, route: "cloud_api", body })))
      assert.strictEqual(httpError(results[0]!).error?.code, 130429)
      assert.strictEqual(Classify.classifyProviderOutcome(httpError(results[1]!), "cloud_api")._tag, "Retry")
      accepted(results[2]!)
    }))

  it.effect("0500 is an HttpError 500 the classifier does not treat as sent or not sent blindly", () =>
    Effect.gen(function*() {
      const result = httpError(yield* send("4915112340500", "spring_sale", `msg-${endpoint}-0500`, "cloud_api"))
      assert.strictEqual(result.status, 500)
      // The sandbox says 131000 "Something went wrong": docs/worker.md#error-classification lists it as not processed.
      assert.strictEqual(result.error?.code, 131000)
      assert.strictEqual(Classify.classifyProviderOutcome(result, "cloud_api")._tag, "Retry")
      assert.strictEqual(Classify.classifyProviderOutcome({ ...result, error: null }, "cloud_api")._tag, "Unknown")
    }))

  it.effect("0999 (connection dropped after the request was read) is no definitive answer, though the sandbox accepted it", () =>
    Effect.gen(function*() {
      const result = yield* send("4915112340999", "spring_sale", `msg-${endpoint}-0999`, "cloud_api")
      assert.strictEqual(result._tag, "NoDefinitiveAnswer")
      assert.strictEqual(Classify.classifyProviderOutcome(result as Extract<ProviderGateway.ProviderSendResult, { _tag: "NoDefinitiveAnswer" }>, "cloud_api")._tag, "Unknown")
      assert.deepStrictEqual(sandbox.stats().byCallbackData[`msg-${endpoint}-0999`], { requests: 1, accepted: 1 })
    }))
})

describe("wire details", () => {
  it.effect("360dialog errors from /marketing_messages arrive wrapped in detail and are unwrapped", () =>
    Effect.gen(function*() {
      const result = yield* sendOne(
        config(),
        request({ provider: "360dialog", credentialsRef: "d360", route: "marketing_messages", body: templateBody("4915112340002", "spring_sale", "msg-wrapped") })
      )
      const error = httpError(result)
      assert.strictEqual(error.error?.code, 131009)
      assert.strictEqual(Classify.classifyProviderOutcome(error, "marketing_messages")._tag, "Final")
    }))

  it.effect("STRICT on a number without the MM terms: 131055 saying so, classified as terms not accepted", () =>
    Effect.gen(function*() {
      const phoneNumberId = "106540352240000"
      sandbox.setNumber(phoneNumberId, { onboarded: false })
      const result = yield* sendOne(
        config(),
        request({
          provider: "360dialog",
          credentialsRef: "d360-not-onboarded",
          phoneNumberId: Ids.PhoneNumberId.make(phoneNumberId),
          route: "marketing_messages",
          body: { ...templateBody("4915112341234", "spring_sale", "msg-strict"), product_policy: "STRICT" }
        })
      )
      const error = httpError(result)
      assert.strictEqual(error.error?.code, 131055)
      assert.deepStrictEqual(Classify.classifyProviderOutcome(error, "marketing_messages"), { _tag: "Reroute", to: "cloud_api", reason: "terms_not_accepted" })
    }))

  it.effect("a wrong 360dialog key is a 401 with the OAuth code, not a send", () =>
    Effect.gen(function*() {
      const result = yield* sendOne(
        config(),
        request({ provider: "360dialog", credentialsRef: "sandbox", route: "cloud_api", body: templateBody("4915112341234", "spring_sale", "msg-badkey") })
      )
      const error = httpError(result)
      assert.strictEqual(error.status, 401)
      assert.strictEqual(error.error?.code, 190)
      assert.isTrue(!JSON.stringify(result).includes(SANDBOX_TOKEN))
    }))

  it.effect("sequential sends reuse one keep-alive connection per origin", () =>
    Effect.gen(function*() {
      const bodies = [1, 2, 3, 4, 5].map((i) => templateBody("4915112341234", "spring_sale", `msg-seq-${i}`))
      const results = yield* sendWith(config(), bodies.map((body) => request({ body })))
      assert.deepStrictEqual(results.map((r) => r._tag), ["Accepted", "Accepted", "Accepted", "Accepted", "Accepted"])
      assert.strictEqual(new Set(results.map((r) => (r as { wamid: string }).wamid)).size, 5)
    }))
})

describe("reading the MM API onboarding status (Graph GET, played by the sandbox)", () => {
  const readStatus = (request: ProviderGateway.OnboardingStatusRequest) =>
    Effect.gen(function*() {
      const gateway = yield* ProviderGatewayTag
      return yield* gateway.readOnboardingStatus(request)
    }).pipe(Effect.provide(gatewayLayer({ ...config(), graphBaseUrl: sandbox.url })), Effect.scoped)

  it.effect("a Meta channel's token reads the WABA's and the portfolio's status, as Meta says them", () =>
    Effect.gen(function*() {
      sandbox.setNumber("106540352249901", { wabaId: "102290129340001", ownerBusinessId: "271828182840002" })
      assert.deepStrictEqual(
        yield* readStatus({ provider: "meta", credentialsRef: "meta", wabaId: "102290129340398", businessId: null }),
        { _tag: "Read", status: "ONBOARDED", businessStatus: null }
      )
      assert.deepStrictEqual(
        yield* readStatus({ provider: "meta", credentialsRef: "meta", wabaId: "102290129340001", businessId: "271828182840002" }),
        { _tag: "Read", status: "ELIGIBLE", businessStatus: "REQUEST_SENT" }
      )
      assert.deepStrictEqual(
        yield* readStatus({ provider: "sandbox", credentialsRef: "sandbox", wabaId: "102290129340004", businessId: null }),
        { _tag: "Read", status: "MM_STATUS_NOT_YET_KNOWN", businessStatus: null }
      )
    }))

  it.effect("failures are reasons without the token: Graph's error code, no credentials, a 360dialog channel", () =>
    Effect.gen(function*() {
      const unreadable = yield* readStatus({ provider: "meta", credentialsRef: "meta", wabaId: "102290129340100", businessId: null })
      assert.deepStrictEqual(unreadable, { _tag: "Failed", reason: "http_400_code_100" })
      assert.deepStrictEqual(
        yield* readStatus({ provider: "meta", credentialsRef: "empty", wabaId: "102290129340398", businessId: null }),
        { _tag: "Failed", reason: "credentials_unavailable" }
      )
      assert.deepStrictEqual(
        yield* readStatus({ provider: "360dialog", credentialsRef: "d360", wabaId: "102290129340398", businessId: null }),
        { _tag: "Failed", reason: "not_a_graph_channel" }
      )
    }))
})
