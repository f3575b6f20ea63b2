import { assert, describe, it } from "@effect/vitest"
import { fold, Template } from "../src/index.js"
import { deciderSpec } from "../testing/index.js"
import { WABA } from "./fixtures.js"

const spec = deciderSpec(Template.TemplateDecider)
const key = { wabaId: WABA, name: "spring_sale", language: "en" }
const marketing = Template.TemplateCategoryObserved.make({ ...key, category: "MARKETING", previousCategory: null, source: "operator", occurredAt: 1_000, at: 1_000 })
const ttl = Template.TemplateTtlSet.make({ ...key, ttlSeconds: 86_400, at: 1_000 })

describe("Template decider", () => {
  describe("RecordTemplate", () => {
    const cmd = { _tag: "RecordTemplate", ...key, category: "MARKETING", ttlSeconds: 86_400, at: 1_000 } as const
    it("records category and TTL", () => spec.given([]).when(cmd).then([marketing, ttl]))
    it("does nothing when repeated", () => spec.given([marketing, ttl]).when({ ...cmd, at: 2_000 }).thenNothing())
    it("clears the TTL when the operator omits it", () =>
      spec.given([marketing, ttl]).when({ ...cmd, ttlSeconds: null, at: 2_000 }).then([
        Template.TemplateTtlCleared.make({ ...key, reason: "operator", at: 2_000 })
      ]))
    it("accepts the marketing bounds 43 200 and 2 592 000 s", () => {
      spec.given([]).when({ ...cmd, ttlSeconds: 43_200 }).events()
      spec.given([]).when({ ...cmd, ttlSeconds: 2_592_000 }).events()
    })
    it("rejects a marketing TTL below 12 h", () =>
      spec.given([]).when({ ...cmd, ttlSeconds: 43_199 }).thenFails("TtlOutOfRange", (e) => {
        assert.deepStrictEqual([e.min, e.max], [43_200, 2_592_000])
      }))
    it("rejects a marketing TTL above 30 days", () => spec.given([]).when({ ...cmd, ttlSeconds: 2_592_001 }).thenFails("TtlOutOfRange"))
    it("rejects -1 for marketing but allows it for utility", () => {
      spec.given([]).when({ ...cmd, ttlSeconds: -1 }).thenFails("TtlOutOfRange")
      spec.given([]).when({ ...cmd, category: "UTILITY", ttlSeconds: -1 }).events()
    })
    it("rejects an authentication TTL above 900 s", () =>
      spec.given([]).when({ ...cmd, category: "AUTHENTICATION", ttlSeconds: 901 }).thenFails("TtlOutOfRange"))
  })

  describe("RecordCategoryChange (completed recategorization)", () => {
    const cmd = { _tag: "RecordCategoryChange", ...key, previousCategory: "MARKETING", newCategory: "UTILITY", occurredAt: 5_000, at: 6_000 } as const
    it("records the new category and clears the TTL (Meta resets it on recategorization)", () =>
      spec.given([marketing, ttl]).when(cmd).then([
        Template.TemplateCategoryObserved.make({ ...key, category: "UTILITY", previousCategory: "MARKETING", source: "category_update", occurredAt: 5_000, at: 6_000 }),
        Template.TemplateTtlCleared.make({ ...key, reason: "recategorized", at: 6_000 })
      ]))
    it("does nothing when repeated", () => {
      const events = spec.given([marketing, ttl]).when(cmd).events()
      spec.given([marketing, ttl, ...events]).when(cmd).thenNothing()
    })
    it("ignores an update older than the category we know", () =>
      spec.given([marketing]).when({ ...cmd, occurredAt: 500 }).thenNothing())
    it("learns the category of a template it never saw", () =>
      spec.given([]).when(cmd).then([
        Template.TemplateCategoryObserved.make({ ...key, category: "UTILITY", previousCategory: null, source: "category_update", occurredAt: 5_000, at: 6_000 })
      ]))
  })

  describe("RecordImpendingRecategorization", () => {
    const cmd = { _tag: "RecordImpendingRecategorization", ...key, currentCategory: "UTILITY", correctCategory: "MARKETING", effectiveAt: 90_000, occurredAt: 5_000, at: 6_000 } as const
    it("notices it without changing the category used for routing", () => {
      const events = spec.given([marketing]).when(cmd).events()
      assert.deepStrictEqual(events.map((e) => e._tag), ["TemplateRecategorizationImpending"])
      const state = fold(Template.TemplateDecider, [marketing, ...events])
      assert.strictEqual(state.category, "MARKETING")
      assert.strictEqual(state.impending?.correctCategory, "MARKETING")
    })
    it("does nothing when repeated", () => {
      const events = spec.given([marketing]).when(cmd).events()
      spec.given([marketing, ...events]).when(cmd).thenNothing()
    })
  })

  describe("RecordTemplateStatus", () => {
    const cmd = { _tag: "RecordTemplateStatus", ...key, status: "PAUSED", reason: null, category: "MARKETING", occurredAt: 5_000, at: 6_000 } as const
    it("records the status", () =>
      spec.given([marketing]).when({ ...cmd, category: null }).then([
        Template.TemplateStatusChanged.make({ ...key, status: "PAUSED", reason: null, occurredAt: 5_000, at: 6_000 })
      ]))
    it("does nothing when repeated", () => {
      const events = spec.given([marketing]).when(cmd).events()
      spec.given([marketing, ...events]).when(cmd).thenNothing()
    })
    it("a newer status update confirming the category moves the category's time forward", () => {
      const events = spec.given([marketing]).when(cmd).events()
      assert.deepStrictEqual(events.map((e) => e._tag), ["TemplateStatusChanged", "TemplateCategoryObserved"])
      assert.strictEqual(fold(Template.TemplateDecider, [marketing, ...events]).categoryAt, 5_000)
    })
    it("learns a category change carried by a status update", () => {
      const events = spec.given([marketing, ttl]).when({ ...cmd, category: "UTILITY" }).events()
      assert.deepStrictEqual(events.map((e) => e._tag), ["TemplateStatusChanged", "TemplateCategoryObserved", "TemplateTtlCleared"])
    })
  })
})
