import { assert, describe, it } from "@effect/vitest"
import { Classify, Message, Reactions, Streams } from "../src/index.js"
import { MSG } from "./fixtures.js"
import { observation, request, stateOf, run } from "./message-builders.js"

const http = (status: number, code: number | null, message: string | null = null, details: string | null = null, retryAfterMs: number | null = null): Classify.ProviderOutcome => ({
  _tag: "HttpError",
  status,
  error: code === null ? null : { code, title: null, message, details },
  retryAfterMs
})
const tag = (c: Classify.ErrorClassification) =>
  c._tag === "Reroute" ? `Reroute:${c.to}:${c.reason}` : c._tag === "Final" ? `Final:${c.recipientEffect}` : c._tag === "Retry" ? `Retry:${c.scope}` : "Unknown"

describe("classifyProviderOutcome (docs/worker.md#error-classification)", () => {
  const cases: ReadonlyArray<[string, Classify.ProviderOutcome, "marketing_messages" | "cloud_api", string]> = [
    ["connection refused → retry", { _tag: "ConnectionNotEstablished", reason: "ECONNREFUSED" }, "cloud_api", "Retry:message"],
    ["timeout after connect → unknown, never retried blindly", { _tag: "NoDefinitiveAnswer", reason: "timeout" }, "cloud_api", "Unknown"],
    ["130429 rate limit → retry (channel)", http(400, 130429), "cloud_api", "Retry:channel"],
    ["131057 throughput upgrade → retry", http(400, 131057), "cloud_api", "Retry:channel"],
    ["131056 pair rate → per-recipient backoff", http(400, 131056), "cloud_api", "Retry:recipient"],
    ["5xx with code 131000 (not processed) → retry", http(500, 131000), "cloud_api", "Retry:message"],
    ["5xx with code 1 → retry", http(500, 1), "cloud_api", "Retry:message"],
    ["5xx with code 2 → retry", http(503, 2), "cloud_api", "Retry:message"],
    ["5xx with code 131016 → retry", http(503, 131016), "cloud_api", "Retry:message"],
    ["5xx without a code → unknown", http(502, null), "cloud_api", "Unknown"],
    ["5xx with another code → unknown", http(500, 999), "cloud_api", "Unknown"],
    ["131049 → final, cooldown", http(400, 131049), "marketing_messages", "Final:cooldown"],
    ["131050 → final, opt out", http(400, 131050), "marketing_messages", "Final:opt_out"],
    ["131026 → final", http(400, 131026), "cloud_api", "Final:null"],
    ["131009 → final", http(400, 131009), "cloud_api", "Final:null"],
    ["132018 → final", http(400, 132018), "cloud_api", "Final:null"],
    ["other 4xx with a code → final", http(400, 100), "cloud_api", "Final:null"],
    ["4xx without a code → final", http(404, null), "cloud_api", "Final:null"],
    ["131055 'not a marketing template' on the MM route → re-route to Cloud API",
      http(400, 131055, "(#131055) Method not allowed", "Only marketing template messages are supported"), "marketing_messages", "Reroute:cloud_api:not_a_marketing_template"],
    ["134100 on the MM route → re-route to Cloud API", http(400, 134100), "marketing_messages", "Reroute:cloud_api:not_a_marketing_template"],
    ["131055 'accept the terms' → terms not accepted, re-route",
      http(400, 131055, "(#200) You must accept the Marketing Messages Lite API terms to use the API."), "marketing_messages", "Reroute:cloud_api:terms_not_accepted"],
    ["131063 on /messages → re-route to the MM API", http(400, 131063), "cloud_api", "Reroute:marketing_messages:marketing_disabled_on_cloud_api"],
    ["134102 (HTTP 500) on the MM route → re-route by code, not status", http(500, 134102), "marketing_messages", "Reroute:cloud_api:template_unavailable"],
    ["134101 template syncing → retry (message)", http(400, 134101), "marketing_messages", "Retry:message"]
  ]
  for (const [name, outcome, route, expected] of cases) {
    it(name, () => assert.strictEqual(tag(Classify.classifyProviderOutcome(outcome, route)), expected))
  }

  it("134101 waits at least 10 minutes", () => {
    // docs/worker.md#error-classification: 134101, template still syncing — retry after 10 minutes.
    const c = Classify.classifyProviderOutcome(http(400, 134101), "marketing_messages")
    assert.isTrue(c._tag === "Retry" && Classify.retryDelayMs(c, 1, 0) >= 10 * 60_000)
  })
  it("honours Retry-After", () => {
    const c = Classify.classifyProviderOutcome(http(400, 130429, null, null, 30_000), "cloud_api")
    assert.isTrue(c._tag === "Retry" && Classify.retryDelayMs(c, 1, 0.5) >= 30_000)
  })
  it("backs off exponentially with jitter, capped", () => {
    const c = Classify.classifyProviderOutcome({ _tag: "ConnectionNotEstablished", reason: "x" }, "cloud_api")
    if (c._tag !== "Retry") return assert.fail("expected Retry")
    assert.isTrue(Classify.retryDelayMs(c, 1, 0) < Classify.retryDelayMs(c, 5, 0))
    assert.isAtMost(Classify.retryDelayMs(c, 40, 0.999), 60_000)
    assert.notStrictEqual(Classify.retryDelayMs(c, 4, 0), Classify.retryDelayMs(c, 4, 0.9))
  })
})

describe("reactionsTo (what a message failure means for other streams)", () => {
  const message = stateOf(run([request()]))
  const failed = (code: number, message_: string | null = null) => ({
    _tag: "StatusObserved" as const,
    messageId: MSG,
    observation: observation("failed", 5_000, { errors: [{ code, title: null, message: message_, details: null }] }),
    at: 6_000
  })
  it("131049 starts the recipient's cooldown from the webhook's time", () => {
    const [r] = Reactions.reactionsTo(failed(131049), message)
    assert.deepStrictEqual(r?.command, { _tag: "StartMarketingCooldown", wabaId: message.request.wabaId, recipient: message.request.to, failedAt: 5_000, at: 6_000 })
  })
  it("131050 opts the recipient out", () => {
    const [r] = Reactions.reactionsTo(failed(131050), message)
    assert.strictEqual(r?.command._tag, "RecordMarketingPreference")
  })
  it("terms not accepted marks the WABA not onboarded", () => {
    const [r] = Reactions.reactionsTo(failed(131055, "(#200) You must accept the Marketing Messages Lite API terms"), message)
    assert.deepStrictEqual([r?.stream, r?.command._tag], ["Waba", "RecordTermsNotAccepted"])
  })
  it("other failures change nothing elsewhere", () => assert.deepStrictEqual(Reactions.reactionsTo(failed(131026), message), []))

  const dispatchFailed = (code: number, route: "marketing_messages" | "cloud_api" | null, message_: string | null = null, details: string | null = null) =>
    Message.DispatchFailed.make({
      messageId: MSG,
      attempt: 1,
      route,
      httpStatus: 400,
      error: { code, title: null, message: message_, details },
      reason: "x",
      final: false,
      notBefore: null,
      at: 7_000
    })
  const refusal = (errorCode: number, routedOnCategoryAt: number | null): Reactions.Reaction => ({
    streamId: Streams.streamId.template(message.request.wabaId, "spring_sale", "en"),
    stream: "Template",
    command: { _tag: "RecordRefusedAsNotMarketing", wabaId: message.request.wabaId, name: "spring_sale", language: "en", errorCode, routedOnCategoryAt, occurredAt: 7_000, at: 7_000 }
  })
  it("a template the MM route refused as not marketing (131055, 134100) is recorded on the template, with the category fact it was routed on", () => {
    const routedOn = stateOf(run([request({ template: { name: "spring_sale", language: "en", category: "MARKETING", ttlSeconds: null, categoryAt: 900 } })]))
    assert.deepStrictEqual(
      Reactions.reactionsTo(dispatchFailed(131055, "marketing_messages", "(#131055) Method not allowed", "Only marketing template messages are supported"), routedOn),
      [refusal(131055, 900)]
    )
    assert.deepStrictEqual(Reactions.reactionsTo(dispatchFailed(134100, "marketing_messages", "(#134100) Only marketing messages supported"), routedOn), [refusal(134100, 900)])
    // A message requested before the category fact was recorded on it refutes "no category known".
    assert.deepStrictEqual(Reactions.reactionsTo(dispatchFailed(134100, "marketing_messages"), message), [refusal(134100, null)])
  })
  it("the terms answer marks the WABA, not the template", () =>
    assert.deepStrictEqual(
      Reactions.reactionsTo(dispatchFailed(131055, "marketing_messages", "(#200) You must accept the Marketing Messages Lite API terms"), message).map((r) => r.stream),
      ["Waba"]
    ))
  it("no template reaction off the MM route, for a failure stored without its route, or for a message without a template", () => {
    assert.deepStrictEqual(Reactions.reactionsTo(dispatchFailed(131055, "cloud_api", "(#131055) Method not allowed"), message), [])
    assert.deepStrictEqual(Reactions.reactionsTo(dispatchFailed(134100, null), message), [])
    const text = stateOf(run([request({ messageType: "text", template: null })]))
    assert.deepStrictEqual(Reactions.reactionsTo(dispatchFailed(134100, "marketing_messages"), text), [])
  })
})
