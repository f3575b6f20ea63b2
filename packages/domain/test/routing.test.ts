import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { PartnerSettings, Routing } from "../src/index.js"
import { PROPERTY_TEST, propertySettings } from "../testing/index.js"

const base: Routing.RouteInput = {
  endpoint: "messages",
  template: { category: "MARKETING", ttlSeconds: null, refusedAsNotMarketing: false },
  wabaStatus: "onboarded",
  settings: PartnerSettings.DEFAULT_ROUTING_SETTINGS,
  channelRouting: "inherit",
  productPolicy: null,
  recipient: { optedOut: false, inMarketingCooldown: false, bsuidOnly: false }
}
const route = (overrides: Partial<Routing.RouteInput>) => Routing.decideRoute({ ...base, ...overrides })

describe("decideRoute (docs/domain.md#routing-policy, the table of reasons)", () => {
  const cases: ReadonlyArray<[string, Partial<Routing.RouteInput>, unknown]> = [
    ["MARKETING template, onboarded WABA → MM API", {}, ["marketing_messages", ["mm_api_eligible"], []]],
    ["the same on the explicit /marketing_messages", { endpoint: "marketing_messages" }, ["marketing_messages", ["mm_api_eligible"], []]],
    ["non-template on /messages → Cloud API", { template: null }, ["cloud_api", ["not_a_template"], []]],
    ["UTILITY template on /messages → Cloud API", { template: { category: "UTILITY", ttlSeconds: null, refusedAsNotMarketing: false } }, ["cloud_api", ["template_not_marketing"], []]],
    ["non-template on /marketing_messages → rejected", { endpoint: "marketing_messages", template: null }, ["rejected", ["not_a_marketing_template"]]],
    ["AUTHENTICATION on /marketing_messages → rejected", { endpoint: "marketing_messages", template: { category: "AUTHENTICATION", ttlSeconds: null, refusedAsNotMarketing: false } }, ["rejected", ["not_a_marketing_template"]]],
    ["MARKETING template the provider refused as not marketing, on /messages → Cloud API", { template: { category: "MARKETING", ttlSeconds: null, refusedAsNotMarketing: true } }, ["cloud_api", ["template_not_marketing_per_provider"], []]],
    ["the same on /marketing_messages → rejected (Meta would refuse it again)", { endpoint: "marketing_messages", template: { category: "MARKETING", ttlSeconds: null, refusedAsNotMarketing: true } }, ["rejected", ["not_a_marketing_template"]]],
    ["unknown category refused by the provider: the client's vouching no longer counts", { endpoint: "marketing_messages", template: { category: null, ttlSeconds: null, refusedAsNotMarketing: true } }, ["rejected", ["not_a_marketing_template"]]],
    ["a refused template is not marketing for the recipient rules either", { template: { category: "MARKETING", ttlSeconds: 86_400, refusedAsNotMarketing: true }, recipient: { optedOut: true, inMarketingCooldown: true, bsuidOnly: false } }, ["cloud_api", ["template_not_marketing_per_provider"], []]],
    ["unknown category on /messages → Cloud API, never a guess", { template: { category: null, ttlSeconds: null, refusedAsNotMarketing: false } }, ["cloud_api", ["template_category_unknown"], []]],
    ["unknown category on /marketing_messages → MM API, unverified", { endpoint: "marketing_messages", template: { category: null, ttlSeconds: null, refusedAsNotMarketing: false } }, ["marketing_messages", ["mm_api_eligible"], ["template_category_unverified"]]],
    ["partner routing disabled → Cloud API", { settings: { marketingViaMmApi: false, ttlOnCloudFallback: "warn" } }, ["cloud_api", ["routing_disabled"], []]],
    ["channel forced to the Cloud API", { channelRouting: "cloud_api" }, ["cloud_api", ["channel_forced_cloud_api"], []]],
    ["channel forced to the MM API wins over a disabled partner setting and a WABA not onboarded", { channelRouting: "marketing_messages", wabaStatus: "not_onboarded", settings: { marketingViaMmApi: false, ttlOnCloudFallback: "warn" } }, ["marketing_messages", ["channel_forced_marketing_messages"], []]],
    ["WABA not onboarded → Cloud API", { wabaStatus: "not_onboarded" }, ["cloud_api", ["waba_not_onboarded"], []]],
    ["WABA not onboarded, STRICT → rejected, never a fallback", { wabaStatus: "not_onboarded", endpoint: "marketing_messages", productPolicy: "STRICT" }, ["rejected", ["mm_api_not_available"]]],
    ["WABA suspended → rejected", { wabaStatus: "suspended" }, ["rejected", ["waba_suspended"]]],
    ["WABA suspended also rejects a non-template", { wabaStatus: "suspended", template: null }, ["rejected", ["waba_suspended"]]],
    ["recipient opted out → rejected", { recipient: { optedOut: true, inMarketingCooldown: false, bsuidOnly: false } }, ["rejected", ["recipient_opted_out"]]],
    ["recipient opted out does not stop a utility template", { template: { category: "UTILITY", ttlSeconds: null, refusedAsNotMarketing: false }, recipient: { optedOut: true, inMarketingCooldown: false, bsuidOnly: false } }, ["cloud_api", ["template_not_marketing"], []]],
    ["recipient in a 131049 cooldown → rejected", { recipient: { optedOut: false, inMarketingCooldown: true, bsuidOnly: false } }, ["rejected", ["recipient_marketing_cooldown"]]],
    ["TTL on the Cloud API fallback → warning", { wabaStatus: "not_onboarded", template: { category: "MARKETING", ttlSeconds: 86_400, refusedAsNotMarketing: false } }, ["cloud_api", ["waba_not_onboarded"], ["ttl_not_applied_on_cloud_api"]]],
    ["TTL on the Cloud API fallback, partner policy reject → rejected", { wabaStatus: "not_onboarded", template: { category: "MARKETING", ttlSeconds: 86_400, refusedAsNotMarketing: false }, settings: { marketingViaMmApi: true, ttlOnCloudFallback: "reject" } }, ["rejected", ["ttl_requires_mm_api"]]],
    ["addressed by BSUID alone, MM route → a warning: no delivery optimization", { recipient: { optedOut: false, inMarketingCooldown: false, bsuidOnly: true } }, ["marketing_messages", ["mm_api_eligible"], ["bsuid_only_no_delivery_optimization"]]],
    ["addressed by BSUID alone, Cloud API → no such warning", { wabaStatus: "not_onboarded", recipient: { optedOut: false, inMarketingCooldown: false, bsuidOnly: true } }, ["cloud_api", ["waba_not_onboarded"], []]],
    ["TTL on the MM route → no warning", { template: { category: "MARKETING", ttlSeconds: 86_400, refusedAsNotMarketing: false } }, ["marketing_messages", ["mm_api_eligible"], []]],
    ["every rule that applied is listed, in the order of the table", { settings: { marketingViaMmApi: false, ttlOnCloudFallback: "warn" }, channelRouting: "cloud_api", wabaStatus: "not_onboarded" }, ["cloud_api", ["routing_disabled", "channel_forced_cloud_api", "waba_not_onboarded"], []]],
    ["all rejection reasons are listed", { wabaStatus: "suspended", recipient: { optedOut: true, inMarketingCooldown: true, bsuidOnly: false } }, ["rejected", ["waba_suspended", "recipient_opted_out", "recipient_marketing_cooldown"]]]
  ]
  for (const [name, input, expected] of cases) {
    it(name, () => {
      const d = route(input)
      assert.deepStrictEqual(d._tag === "Routed" ? [d.route, d.reasons, d.warnings] : ["rejected", d.reasons], expected)
    })
  }

  it("passes product_policy and the MM options only on the MM route", () => {
    const mm = route({ endpoint: "marketing_messages", productPolicy: "STRICT" })
    assert.isTrue(mm._tag === "Routed" && mm.productPolicy === "STRICT" && mm.mmOptionsApply)
    const cloud = route({ endpoint: "marketing_messages", productPolicy: "CLOUD_API_FALLBACK", wabaStatus: "not_onboarded" })
    assert.isTrue(cloud._tag === "Routed" && cloud.productPolicy === null && !cloud.mmOptionsApply)
  })
})

// ---- invariant 1 (docs/invariants.md#invariant-1) ----------------------------------------------------

const category = fc.constantFrom("MARKETING", "UTILITY", "AUTHENTICATION", null)
const routeInput: fc.Arbitrary<Routing.RouteInput> = fc.record({
  endpoint: fc.constantFrom("messages", "marketing_messages"),
  template: fc.option(
    fc.record({ category, ttlSeconds: fc.option(fc.integer({ min: 43_200, max: 2_592_000 })), refusedAsNotMarketing: fc.boolean() }),
    { nil: null }
  ),
  wabaStatus: fc.constantFrom("not_onboarded", "onboarded", "suspended"),
  settings: fc.record({ marketingViaMmApi: fc.boolean(), ttlOnCloudFallback: fc.constantFrom("warn", "reject") }),
  channelRouting: fc.constantFrom("inherit", "marketing_messages", "cloud_api"),
  productPolicy: fc.constantFrom("CLOUD_API_FALLBACK", "STRICT", null),
  recipient: fc.record({ optedOut: fc.boolean(), inMarketingCooldown: fc.boolean(), bsuidOnly: fc.boolean() })
})

describe("invariant 1: decideRoute never routes what it must not", () => {
  it("holds for every input", PROPERTY_TEST, () => {
    fc.assert(
      fc.property(routeInput, (input) => {
        const d = Routing.decideRoute(input)
        const marketingTemplate = input.template?.category === "MARKETING" && !input.template.refusedAsNotMarketing
        if (d._tag === "Routed") {
          assert.isAbove(d.reasons.length, 0)
          assert.strictEqual(d.mmOptionsApply, d.route === "marketing_messages")
          if (d.route === "marketing_messages") {
            // Never a non-template, a non-MARKETING category, an unknown category on /messages, or a
            // template the provider refused as not marketing.
            assert.isNotNull(input.template)
            assert.isFalse(input.template?.refusedAsNotMarketing)
            assert.isTrue(marketingTemplate || (input.template?.category === null && input.endpoint === "marketing_messages"))
            // Never for a WABA not onboarded unless the channel forces it.
            if (input.wabaStatus === "not_onboarded") assert.strictEqual(input.channelRouting, "marketing_messages")
          } else {
            assert.isNull(d.productPolicy)
          }
          // Nothing is sent for a suspended WABA or to an opted-out recipient of marketing.
          assert.notStrictEqual(input.wabaStatus, "suspended")
          if (marketingTemplate) assert.isFalse(input.recipient.optedOut)
          // The BSUID warning is on the MM route of a message addressed by BSUID alone, and only there.
          assert.strictEqual(d.warnings.includes("bsuid_only_no_delivery_optimization"), d.route === "marketing_messages" && input.recipient.bsuidOnly)
          // STRICT never yields the Cloud API.
          if (input.productPolicy === "STRICT") assert.strictEqual(d.route, "marketing_messages")
        } else {
          assert.isAbove(d.reasons.length, 0)
        }
      }),
      propertySettings(5_000)
    )
  })
})
