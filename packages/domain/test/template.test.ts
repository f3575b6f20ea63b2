import { assert, describe, it } from "@effect/vitest"
import { fold, Template, TtlOutOfRange } from "../src/index.js"
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
      spec.given([]).when({ ...cmd, ttlSeconds: 43_199 }).thenFails(new TtlOutOfRange({ category: "MARKETING", ttlSeconds: 43_199, min: 43_200, max: 2_592_000 })))
    it("rejects a marketing TTL above 30 days", () =>
      spec.given([]).when({ ...cmd, ttlSeconds: 2_592_001 }).thenFails(new TtlOutOfRange({ category: "MARKETING", ttlSeconds: 2_592_001, min: 43_200, max: 2_592_000 })))
    it("rejects -1 for marketing but allows it for utility", () => {
      spec.given([]).when({ ...cmd, ttlSeconds: -1 }).thenFails(new TtlOutOfRange({ category: "MARKETING", ttlSeconds: -1, min: 43_200, max: 2_592_000 }))
      spec.given([]).when({ ...cmd, category: "UTILITY", ttlSeconds: -1 }).then([
        Template.TemplateCategoryObserved.make({ ...key, category: "UTILITY", previousCategory: null, source: "operator", occurredAt: 1_000, at: 1_000 }),
        Template.TemplateTtlSet.make({ ...key, ttlSeconds: -1, at: 1_000 })
      ])
    })
    it("rejects an authentication TTL above 900 s", () =>
      spec.given([]).when({ ...cmd, category: "AUTHENTICATION", ttlSeconds: 901 }).thenFails(new TtlOutOfRange({ category: "AUTHENTICATION", ttlSeconds: 901, min: 30, max: 900 })))
    it("records a category change by the operator with its TTL", () =>
      spec.given([marketing, ttl]).when({ ...cmd, category: "UTILITY", ttlSeconds: 3_600, at: 2_000 }).then([
        Template.TemplateCategoryObserved.make({ ...key, category: "UTILITY", previousCategory: "MARKETING", source: "operator", occurredAt: 2_000, at: 2_000 }),
        Template.TemplateTtlSet.make({ ...key, ttlSeconds: 3_600, at: 2_000 })
      ]))
    it("judges the TTL by the category it comes with", () =>
      spec.given([marketing, ttl]).when({ ...cmd, category: "UTILITY", ttlSeconds: 86_400, at: 2_000 }).thenFails(
        new TtlOutOfRange({ category: "UTILITY", ttlSeconds: 86_400, min: 30, max: 43_200 })
      ))
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
    const impending = Template.TemplateRecategorizationImpending.make({
      ...key, currentCategory: "UTILITY", correctCategory: "MARKETING", effectiveAt: 90_000, occurredAt: 5_000, at: 6_000
    })
    it("notices it without changing the category used for routing", () => {
      spec.given([marketing]).when(cmd).then([impending])
      const state = fold(Template.TemplateDecider, [marketing, impending])
      assert.strictEqual(state.category, "MARKETING")
      assert.strictEqual(state.impending?.correctCategory, "MARKETING")
    })
    it("does nothing when repeated", () => spec.given([marketing, impending]).when(cmd).thenNothing())
    it("does nothing for a notice older than the category we know", () => spec.given([marketing]).when({ ...cmd, occurredAt: 1_000 }).thenNothing())
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
    const paused = Template.TemplateStatusChanged.make({ ...key, status: "PAUSED", reason: null, occurredAt: 5_000, at: 6_000 })
    it("a newer status update confirming the category moves the category's time forward", () => {
      const events = [
        paused,
        Template.TemplateCategoryObserved.make({ ...key, category: "MARKETING", previousCategory: "MARKETING", source: "status_update", occurredAt: 5_000, at: 6_000 })
      ]
      spec.given([marketing]).when(cmd).then(events)
      assert.strictEqual(fold(Template.TemplateDecider, [marketing, ...events]).categoryAt, 5_000)
    })
    it("learns a category change carried by a status update", () =>
      spec.given([marketing, ttl]).when({ ...cmd, category: "UTILITY" }).then([
        paused,
        Template.TemplateCategoryObserved.make({ ...key, category: "UTILITY", previousCategory: "MARKETING", source: "status_update", occurredAt: 5_000, at: 6_000 }),
        Template.TemplateTtlCleared.make({ ...key, reason: "recategorized", at: 6_000 })
      ]))
    it("ignores a status older than the one we know", () =>
      spec.given([marketing, paused]).when({ ...cmd, status: "APPROVED", category: null, occurredAt: 4_000 }).thenNothing())
  })
})
