import { assert, describe, it } from "@effect/vitest"
import { Decider, Errors, Template } from "../src/index.js"
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
      spec.given([]).when({ ...cmd, ttlSeconds: 43_199 }).thenFails(new Errors.TtlOutOfRange({ category: "MARKETING", ttlSeconds: 43_199, min: 43_200, max: 2_592_000 })))
    it("rejects a marketing TTL above 30 days", () =>
      spec.given([]).when({ ...cmd, ttlSeconds: 2_592_001 }).thenFails(new Errors.TtlOutOfRange({ category: "MARKETING", ttlSeconds: 2_592_001, min: 43_200, max: 2_592_000 })))
    it("rejects -1 for marketing but allows it for utility", () => {
      spec.given([]).when({ ...cmd, ttlSeconds: -1 }).thenFails(new Errors.TtlOutOfRange({ category: "MARKETING", ttlSeconds: -1, min: 43_200, max: 2_592_000 }))
      spec.given([]).when({ ...cmd, category: "UTILITY", ttlSeconds: -1 }).then([
        Template.TemplateCategoryObserved.make({ ...key, category: "UTILITY", previousCategory: null, source: "operator", occurredAt: 1_000, at: 1_000 }),
        Template.TemplateTtlSet.make({ ...key, ttlSeconds: -1, at: 1_000 })
      ])
    })
    it("rejects an authentication TTL above 900 s", () =>
      spec.given([]).when({ ...cmd, category: "AUTHENTICATION", ttlSeconds: 901 }).thenFails(new Errors.TtlOutOfRange({ category: "AUTHENTICATION", ttlSeconds: 901, min: 30, max: 900 })))
    it("records a category change by the operator with its TTL", () =>
      spec.given([marketing, ttl]).when({ ...cmd, category: "UTILITY", ttlSeconds: 3_600, at: 2_000 }).then([
        Template.TemplateCategoryObserved.make({ ...key, category: "UTILITY", previousCategory: "MARKETING", source: "operator", occurredAt: 2_000, at: 2_000 }),
        Template.TemplateTtlSet.make({ ...key, ttlSeconds: 3_600, at: 2_000 })
      ]))
    it("judges the TTL by the category it comes with", () =>
      spec.given([marketing, ttl]).when({ ...cmd, category: "UTILITY", ttlSeconds: 86_400, at: 2_000 }).thenFails(
        new Errors.TtlOutOfRange({ category: "UTILITY", ttlSeconds: 86_400, min: 30, max: 43_200 })
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
      const state = Decider.fold(Template.TemplateDecider, [marketing, impending])
      assert.strictEqual(state.category, "MARKETING")
      assert.strictEqual(state.impending?.correctCategory, "MARKETING")
    })
    it("does nothing when repeated", () => spec.given([marketing, impending]).when(cmd).thenNothing())
    it("does nothing for a notice older than the category we know", () => spec.given([marketing]).when({ ...cmd, occurredAt: 1_000 }).thenNothing())
  })

  describe("RecordMetaTemplate (Meta's template list, GET /{WABA_ID}/message_templates)", () => {
    const listed = (over: Partial<{ category: "MARKETING" | "UTILITY" | "AUTHENTICATION" | null; status: string | null; ttlSeconds: number | null; readAt: number }> = {}) => {
      const readAt = over.readAt ?? 5_000
      return { _tag: "RecordMetaTemplate", ...key, category: "MARKETING", status: "APPROVED", ttlSeconds: 86_400, ...over, readAt, at: readAt + 100 } as const
    }
    const fromList = (category: "MARKETING" | "UTILITY", previousCategory: "MARKETING" | "UTILITY" | null, readAt = 5_000) =>
      Template.TemplateCategoryObserved.make({ ...key, category, previousCategory, source: "meta_api", occurredAt: readAt, at: readAt + 100 })
    const approved = Template.TemplateStatusChanged.make({ ...key, status: "APPROVED", reason: null, occurredAt: 5_000, at: 5_100 })

    it("learns a template it never saw: category (source meta_api), status and TTL, at the read's time", () => {
      const events = [fromList("MARKETING", null), approved, Template.TemplateTtlSet.make({ ...key, ttlSeconds: 86_400, at: 5_100 })]
      spec.given([]).when(listed()).then(events)
      const state = Decider.fold(Template.TemplateDecider, events)
      assert.deepStrictEqual([state.category, state.categorySource, state.categoryAt, state.status, state.ttlSeconds], ["MARKETING", "meta_api", 5_000, "APPROVED", 86_400])
    })
    it("an unchanged template adds nothing, however often it is read (idempotent passes)", () => {
      const events = spec.given([]).when(listed()).events()
      spec.given(events).when(listed({ readAt: 9_000 })).thenNothing()
      spec.given(events).when(listed()).thenNothing()
      // What the operator recorded and Meta agrees with adds nothing either.
      spec.given([marketing, ttl, approved]).when(listed({ readAt: 9_000 })).thenNothing()
    })
    it("records only what changed: a new category, a new status, Meta's TTL", () => {
      spec.given([marketing, ttl, approved]).when(listed({ category: "UTILITY", ttlSeconds: 3_600, readAt: 9_000 })).then([
        fromList("UTILITY", "MARKETING", 9_000),
        Template.TemplateTtlSet.make({ ...key, ttlSeconds: 3_600, at: 9_100 })
      ])
      spec.given([marketing, ttl, approved]).when(listed({ status: "PAUSED", readAt: 9_000 })).then([
        Template.TemplateStatusChanged.make({ ...key, status: "PAUSED", reason: null, occurredAt: 9_000, at: 9_100 })
      ])
    })
    it("a template without message_send_ttl_seconds in the list has its TTL cleared (Meta's word)", () =>
      spec.given([marketing, ttl, approved]).when(listed({ ttlSeconds: null, readAt: 9_000 })).then([
        Template.TemplateTtlCleared.make({ ...key, reason: "meta_api", at: 9_100 })
      ]))
    it("a category Meta names that the gateway does not know (null) and an unknown status are no crash: the status is kept as it is", () =>
      spec.given([marketing, approved]).when(listed({ category: null, status: "SOMETHING_NEW", ttlSeconds: null, readAt: 9_000 })).then([
        Template.TemplateStatusChanged.make({ ...key, status: "SOMETHING_NEW", reason: null, occurredAt: 9_000, at: 9_100 })
      ]))
    it("a list read older than a webhook's category fact does not undo it (nor its TTL)", () => {
      const completed = Template.TemplateCategoryObserved.make({ ...key, category: "MARKETING", previousCategory: "UTILITY", source: "category_update", occurredAt: 7_000, at: 7_000 })
      spec.given([fromList("UTILITY", null), completed]).when(listed({ category: "UTILITY", status: null, ttlSeconds: 600, readAt: 6_000 })).thenNothing()
      // A tie keeps the fact known.
      spec.given([completed]).when(listed({ category: "UTILITY", status: null, ttlSeconds: null, readAt: 7_000 })).thenNothing()
    })
    it("a webhook older than the list read does not undo it; a newer one does", () => {
      const read = [fromList("UTILITY", null, 9_000)]
      spec.given(read).when({ _tag: "RecordCategoryChange", ...key, previousCategory: "UTILITY", newCategory: "MARKETING", occurredAt: 8_000, at: 10_000 }).thenNothing()
      spec.given(read).when({ _tag: "RecordCategoryChange", ...key, previousCategory: "UTILITY", newCategory: "MARKETING", occurredAt: 9_500, at: 10_000 }).then([
        Template.TemplateCategoryObserved.make({ ...key, category: "MARKETING", previousCategory: "UTILITY", source: "category_update", occurredAt: 9_500, at: 10_000 })
      ])
    })
    it("a list read newer than the operator's record wins: Meta's list is the template's truth", () =>
      spec.given([marketing, ttl]).when(listed({ category: "UTILITY", status: null, ttlSeconds: null, readAt: 9_000 })).then([
        fromList("UTILITY", "MARKETING", 9_000),
        Template.TemplateTtlCleared.make({ ...key, reason: "meta_api", at: 9_100 })
      ]))
    it("an impending recategorization stays shown while the list still names the current category; a list naming the new one ends it", () => {
      const impending = Template.TemplateRecategorizationImpending.make({ ...key, currentCategory: "MARKETING", correctCategory: "UTILITY", effectiveAt: 90_000, occurredAt: 6_000, at: 6_000 })
      spec.given([marketing, impending]).when(listed({ status: null, ttlSeconds: null, readAt: 9_000 })).thenNothing()
      const changed = spec.given([marketing, impending]).when(listed({ category: "UTILITY", status: null, ttlSeconds: null, readAt: 95_000 })).events()
      const state = Decider.fold(Template.TemplateDecider, [marketing, impending, ...changed])
      assert.deepStrictEqual([state.category, state.impending], ["UTILITY", null])
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
    const paused = Template.TemplateStatusChanged.make({ ...key, status: "PAUSED", reason: null, occurredAt: 5_000, at: 6_000 })
    it("a newer status update confirming the category moves the category's time forward", () => {
      const events = [
        paused,
        Template.TemplateCategoryObserved.make({ ...key, category: "MARKETING", previousCategory: "MARKETING", source: "status_update", occurredAt: 5_000, at: 6_000 })
      ]
      spec.given([marketing]).when(cmd).then(events)
      assert.strictEqual(Decider.fold(Template.TemplateDecider, [marketing, ...events]).categoryAt, 5_000)
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

  describe("RecordRefusedAsNotMarketing (131055/134100 on the MM route)", () => {
    // The message was routed on the operator's MARKETING of time 1 000.
    const cmd = { _tag: "RecordRefusedAsNotMarketing", ...key, errorCode: 131055, routedOnCategoryAt: 1_000, occurredAt: 5_000, at: 5_000 } as const
    const refused = Template.TemplateRefusedAsNotMarketing.make({ ...key, errorCode: 131055, routedOnCategoryAt: 1_000, occurredAt: 5_000, at: 5_000 })
    const isRefused = (events: ReadonlyArray<Template.TemplateEvent>) => Template.isRefusedAsNotMarketing(Decider.fold(Template.TemplateDecider, events))
    it("records the provider's answer, without guessing a category", () => {
      spec.given([marketing, ttl]).when(cmd).then([refused])
      const state = Decider.fold(Template.TemplateDecider, [marketing, ttl, refused])
      assert.deepStrictEqual([state.category, state.ttlSeconds, Template.isRefusedAsNotMarketing(state)], ["MARKETING", 86_400, true])
    })
    it("records it for a template the gateway did not know", () => {
      const unknown = Template.TemplateRefusedAsNotMarketing.make({ ...key, errorCode: 134100, routedOnCategoryAt: null, occurredAt: 5_000, at: 5_000 })
      spec.given([]).when({ ...cmd, errorCode: 134100, routedOnCategoryAt: null }).then([unknown])
      assert.deepStrictEqual(Decider.fold(Template.TemplateDecider, [unknown]), {
        ...Template.initialState(),
        known: true,
        refusedAsNotMarketing: { errorCode: 134100, routedOnCategoryAt: null, occurredAt: 5_000 }
      })
    })
    it("repeated: nothing; the other failures of a campaign routed on the same knowledge add nothing either", () => {
      spec.given([marketing, refused]).when(cmd).thenNothing()
      spec.given([marketing, refused]).when({ ...cmd, errorCode: 134100, occurredAt: 6_000, at: 6_000 }).thenNothing()
    })
    it("does nothing when a category fact newer than the refuted one is known (the next message will tell)", () => {
      const newer = Template.TemplateCategoryObserved.make({ ...key, category: "MARKETING", previousCategory: "MARKETING", source: "category_update", occurredAt: 3_000, at: 3_000 })
      spec.given([marketing, newer]).when(cmd).thenNothing()
      spec.given([marketing]).when({ ...cmd, routedOnCategoryAt: null }).thenNothing()
    })
    it("a newer category fact ends it, also one that confirms the category; an older one does not", () => {
      const confirmed = Template.TemplateCategoryObserved.make({ ...key, category: "MARKETING", previousCategory: "MARKETING", source: "status_update", occurredAt: 6_000, at: 6_000 })
      assert.isFalse(isRefused([marketing, refused, confirmed]))
      const older = spec.given([marketing, refused]).when({
        _tag: "RecordCategoryChange", ...key, previousCategory: "UTILITY", newCategory: "MARKETING", occurredAt: 500, at: 8_000
      }).events()
      assert.isTrue(isRefused([marketing, refused, ...older]))
    })
    it("after a recategorization, a message routed on the new category that is refused again is recorded again", () => {
      const recategorized = Template.TemplateCategoryObserved.make({ ...key, category: "MARKETING", previousCategory: "UTILITY", source: "category_update", occurredAt: 7_000, at: 7_000 })
      spec.given([marketing, refused, recategorized]).when({ ...cmd, routedOnCategoryAt: 7_000, occurredAt: 9_000, at: 9_000 }).then([
        Template.TemplateRefusedAsNotMarketing.make({ ...key, errorCode: 131055, routedOnCategoryAt: 7_000, occurredAt: 9_000, at: 9_000 })
      ])
    })
    it("the operator recording the template again ends it, even with the same category", () => {
      const again = { _tag: "RecordTemplate", ...key, category: "MARKETING", ttlSeconds: 86_400, at: 9_000 } as const
      const confirmed = Template.TemplateCategoryObserved.make({ ...key, category: "MARKETING", previousCategory: "MARKETING", source: "operator", occurredAt: 9_000, at: 9_000 })
      spec.given([marketing, ttl, refused]).when(again).then([confirmed])
      assert.isFalse(isRefused([marketing, ttl, refused, confirmed]))
      spec.given([marketing, ttl, refused, confirmed]).when({ ...again, at: 9_500 }).thenNothing()
    })
    it("reads a folded state stored before the refusal existed (read models keep folded states)", () => {
      const { refusedAsNotMarketing: _, ...older } = Decider.fold(Template.TemplateDecider, [marketing])
      const state = Template.evolve(older as Template.TemplateState, Template.TemplateCategoryObserved.make({
        ...key, category: "UTILITY", previousCategory: "MARKETING", source: "category_update", occurredAt: 6_000, at: 6_000
      }))
      assert.deepStrictEqual([state.category, Template.isRefusedAsNotMarketing(state)], ["UTILITY", false])
    })
  })
})
