import { assert, describe, it } from "@effect/vitest"
import { Classify, type Message, Reroute, type SendMessage } from "../src/index.js"
import { MSG, PHONE, WABA } from "./fixtures.js"
import { request, run, stateOf } from "./message-builders.js"

/**
 * Re-route once (docs/worker.md#re-route-once), asked of the routing policy: `decideReroute` turns a
 * classification that wants the other route into what the dispatcher records — the re-route, or a final
 * failure that says which rule stood in the way.
 */
const context = (overrides: Partial<SendMessage.RouteContext> = {}): SendMessage.RouteContext => ({
  channel: {
    _tag: "Registered",
    config: { phoneNumberId: PHONE, wabaId: WABA, displayPhoneNumber: "+1 555", provider: "sandbox", credentialsRef: "c1", throughputMps: 80 },
    routing: "inherit"
  },
  wabaId: WABA,
  waba: { status: "onboarded", since: 1, source: "waba_webhook", reason: null, suspendedUntil: null },
  template: { category: "MARKETING", categoryAt: 1, ttlSeconds: null, refusedAsNotMarketing: false },
  settings: { marketingViaMmApi: true, ttlOnCloudFallback: "warn" },
  recipient: { optedOut: false, inMarketingCooldown: false, bsuidOnly: false },
  ...overrides
})

const http = (code: number, message: string | null = null, details: string | null = null, status = 400): Classify.ProviderOutcome => ({
  _tag: "HttpError",
  status,
  error: { code, title: null, message, details },
  retryAfterMs: null
})

const reroute = (outcome: Classify.ProviderOutcome, route: "marketing_messages" | "cloud_api"): Extract<Classify.ErrorClassification, { _tag: "Reroute" }> => {
  const c = Classify.classifyProviderOutcome(outcome, route)
  if (c._tag !== "Reroute") throw new Error(`expected a re-route, got ${JSON.stringify(c)}`)
  return c
}

const onMm = stateOf(run([request()]))
const onCloud = stateOf(run([request({
  endpoint: "messages",
  decision: { _tag: "Routed", route: "cloud_api", reasons: ["template_category_unknown"], warnings: [], productPolicy: null, mmOptionsApply: false }
})]))
const notMarketing = reroute(http(131055, "(#131055) Method not allowed", "Only marketing template messages are supported"), "marketing_messages")
const onlyMarketing = reroute(http(134100, "(#134100) Only marketing messages supported"), "marketing_messages")
const terms = reroute(http(131055, "(#200) You must accept the Marketing Messages Lite API terms to use the API."), "marketing_messages")
const unavailable = reroute(http(134102, "(#134102) Template unavailable for use", null, 500), "marketing_messages")
const disabledOnCloud = reroute(http(131063, "(#131063) Marketing templates disabled for Cloud API"), "cloud_api")

const decide = (r: typeof notMarketing, message: Message.MessageRecord, ctx: SendMessage.RouteContext = context()) => Reroute.decideReroute(r, message, ctx)

describe("decideReroute (docs/worker.md#re-route-once: once, if the policy allows)", () => {
  describe("131063 on /messages → marketing_messages if eligible", () => {
    it("re-routes an eligible message", () =>
      assert.deepStrictEqual(decide(disabledOnCloud, onCloud), {
        outcome: { _tag: "Reroute", to: "marketing_messages", reason: "marketing_disabled_on_cloud_api" },
        reason: "marketing_disabled_on_cloud_api"
      }))
    it("judges the template as MARKETING (Meta says it is one), whatever the gateway knew", () =>
      assert.strictEqual(decide(disabledOnCloud, onCloud, context({ template: { category: "UTILITY", categoryAt: 1, ttlSeconds: null, refusedAsNotMarketing: true } })).outcome._tag, "Reroute"))
    const notEligible: ReadonlyArray<[string, Partial<SendMessage.RouteContext>, string]> = [
      ["a WABA not onboarded", { waba: { status: "not_onboarded", since: null, source: null, reason: null, suspendedUntil: null } }, "waba_not_onboarded"],
      ["partner routing disabled", { settings: { marketingViaMmApi: false, ttlOnCloudFallback: "warn" } }, "routing_disabled"],
      ["a channel forced to the Cloud API", { channel: { ...context().channel, routing: "cloud_api" } }, "channel_forced_cloud_api"],
      ["an opted-out recipient", { recipient: { optedOut: true, inMarketingCooldown: false, bsuidOnly: false } }, "recipient_opted_out"],
      ["a recipient in a 131049 cooldown", { recipient: { optedOut: false, inMarketingCooldown: true, bsuidOnly: false } }, "recipient_marketing_cooldown"],
      ["a suspended WABA", { waba: { status: "suspended", since: 1, source: "waba_webhook", reason: "disabled", suspendedUntil: null } }, "waba_suspended"]
    ]
    for (const [name, overrides, why] of notEligible) {
      it(`not eligible, ${name}: a final failure that says why`, () =>
        assert.deepStrictEqual(decide(disabledOnCloud, onCloud, context(overrides)), {
          outcome: { _tag: "Final" },
          reason: `reroute_to_marketing_messages_not_allowed: ${why}`
        }))
    }
  })

  describe("131055/134100 on the MM route, not a marketing template → cloud_api", () => {
    it("re-routes (131055 and 134100)", () => {
      for (const r of [notMarketing, onlyMarketing]) {
        assert.deepStrictEqual(decide(r, onMm), {
          outcome: { _tag: "Reroute", to: "cloud_api", reason: "not_a_marketing_template" },
          reason: "not_a_marketing_template"
        })
      }
    })
    it("the marketing rules no longer apply: an opted-out recipient or a TTL under the reject policy do not stop it", () =>
      assert.strictEqual(
        decide(notMarketing, onMm, context({
          template: { category: "MARKETING", categoryAt: 1, ttlSeconds: 86_400, refusedAsNotMarketing: false },
          settings: { marketingViaMmApi: true, ttlOnCloudFallback: "reject" },
          recipient: { optedOut: true, inMarketingCooldown: true, bsuidOnly: false }
        })).outcome._tag,
        "Reroute"
      ))
    it("a suspended WABA stops it", () =>
      assert.deepStrictEqual(decide(notMarketing, onMm, context({ waba: { status: "suspended", since: 1, source: "waba_webhook", reason: "disabled", suspendedUntil: null } })), {
        outcome: { _tag: "Final" },
        reason: "reroute_to_cloud_api_not_allowed: waba_suspended"
      }))
  })

  describe("131055 terms not accepted → cloud_api unless STRICT", () => {
    it("re-routes as a WABA not onboarded", () =>
      assert.deepStrictEqual(decide(terms, onMm), { outcome: { _tag: "Reroute", to: "cloud_api", reason: "terms_not_accepted" }, reason: "terms_not_accepted" }))
    it("the partner's TTL policy reject stops it", () =>
      assert.deepStrictEqual(decide(terms, onMm, context({
        template: { category: "MARKETING", categoryAt: 1, ttlSeconds: 86_400, refusedAsNotMarketing: false },
        settings: { marketingViaMmApi: true, ttlOnCloudFallback: "reject" }
      })), { outcome: { _tag: "Final" }, reason: "reroute_to_cloud_api_not_allowed: ttl_requires_mm_api" }))
  })

  describe("134102 template unavailable → cloud_api if the policy allows", () => {
    it("re-routes when the policy allows the Cloud API", () =>
      assert.deepStrictEqual(decide(unavailable, onMm), { outcome: { _tag: "Reroute", to: "cloud_api", reason: "template_unavailable" }, reason: "template_unavailable" }))
    const refused: ReadonlyArray<[string, Partial<SendMessage.RouteContext>, string]> = [
      ["a TTL under the reject policy", {
        template: { category: "MARKETING", categoryAt: 1, ttlSeconds: 86_400, refusedAsNotMarketing: false },
        settings: { marketingViaMmApi: true, ttlOnCloudFallback: "reject" }
      }, "ttl_requires_mm_api"],
      ["an opted-out recipient", { recipient: { optedOut: true, inMarketingCooldown: false, bsuidOnly: false } }, "recipient_opted_out"],
      ["a suspended WABA", { waba: { status: "suspended", since: 1, source: "waba_webhook", reason: "disabled", suspendedUntil: null } }, "waba_suspended"]
    ]
    for (const [name, overrides, why] of refused) {
      it(`not allowed, ${name}`, () =>
        assert.deepStrictEqual(decide(unavailable, onMm, context(overrides)), { outcome: { _tag: "Final" }, reason: `reroute_to_cloud_api_not_allowed: ${why}` }))
    }
  })

  describe("once, never under STRICT", () => {
    it("STRICT never re-routes", () =>
      assert.deepStrictEqual(decide(unavailable, stateOf(run([request({ productPolicy: "STRICT" })]))), {
        outcome: { _tag: "Final" },
        reason: "template_unavailable: STRICT never re-routes"
      }))
    it("a message re-routed once is not re-routed again", () => {
      const rerouted = stateOf(run([request(), { _tag: "StartDispatch", messageId: MSG, attempt: 1, at: 1_500 }, {
        _tag: "RecordDispatchFailed", messageId: MSG, attempt: 1, httpStatus: 400, error: null, reason: "not_a_marketing_template",
        outcome: { _tag: "Reroute", to: "cloud_api", reason: "not_a_marketing_template" }, at: 1_600
      }]))
      assert.deepStrictEqual(decide(disabledOnCloud, rerouted), { outcome: { _tag: "Final" }, reason: "marketing_disabled_on_cloud_api: already re-routed once" })
    })
  })
})
