import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { BusinessManager, Decider, Waba } from "../src/index.js"
import { PROPERTY_TEST, propertySettings } from "../testing/index.js"
import { BM, WABA } from "./fixtures.js"

/**
 * Invariant 3 (docs/invariants.md#invariant-3): the MM status is a function of the set of facts (terms
 * signed; suspensions and reinstatements ordered by their webhook time), not of their arrival order; repeated
 * facts produce no events.
 */
type Fact = Waba.WabaCommand

const factAt = (kind: number, time: number): Fact => {
  const at = 1_000_000 + time
  switch (kind) {
    case 0:
      return { _tag: "RecordWabaTermsSigned", wabaId: WABA, ownerBusinessId: BM, signedAt: time, at }
    case 1:
      return { _tag: "RecordSuspension", wabaId: WABA, kind: "disabled", occurredAt: time, expiresAt: null, at }
    case 2:
      return { _tag: "RecordReinstatement", wabaId: WABA, kind: "disabled", occurredAt: time, at }
    case 3:
      return { _tag: "RecordSuspension", wabaId: WABA, kind: "account_restriction", occurredAt: time, expiresAt: time + 500, at }
    case 4:
      return { _tag: "RecordSuspension", wabaId: WABA, kind: "partner_removed", occurredAt: time, expiresAt: null, at }
    case 5:
      return { _tag: "RecordReinstatement", wabaId: WABA, kind: "partner_removed", occurredAt: time, at }
    default:
      return { _tag: "SetMmStatusManually", wabaId: WABA, status: (["onboarded", "not_onboarded", "suspended"] as const)[time % 3]!, reason: "ops", at: time }
  }
}

const registered = Waba.WabaRegistered.make({ wabaId: WABA, businessManagerId: BM, name: null, via: "operator", at: 0 })

const apply = (facts: ReadonlyArray<Fact>) => {
  const events: Array<Waba.WabaEvent> = [registered]
  let repeatedProducedEvents = false
  for (const fact of facts) {
    const before = events.length
    const decided = Waba.decide(fact, Decider.fold(Waba.WabaDecider, events))
    if (decided._tag === "Right") events.push(...decided.right)
    // Deciding the same fact again right away must be a no-op.
    const again = Waba.decide(fact, Decider.fold(Waba.WabaDecider, events))
    if (again._tag === "Right" && again.right.length > 0 && events.length > before) repeatedProducedEvents = true
  }
  return { state: Decider.fold(Waba.WabaDecider, events), repeatedProducedEvents, events }
}

describe("invariant 3: onboarding status is a function of the set of facts", () => {
  it("any arrival order and any repetition gives the same MM status; repeated facts produce no events", PROPERTY_TEST, () => {
    const facts = fc.uniqueArray(fc.integer({ min: 1, max: 5_000 }), { minLength: 1, maxLength: 10 }).chain((times) =>
      fc.tuple(...times.map((t) => fc.integer({ min: 0, max: 6 }).map((kind) => factAt(kind, t))))
    )
    const scenario = facts.chain((list) =>
      fc.tuple(
        fc.constant(list),
        fc.shuffledSubarray(list, { minLength: list.length, maxLength: list.length }),
        fc.array(fc.constantFrom(...list), { maxLength: 5 }),
        fc.option(fc.integer({ min: 1, max: 5_000 }), { nil: null }),
        fc.integer({ min: 0, max: 7_000 })
      )
    )
    fc.assert(
      fc.property(scenario, ([inOrder, shuffled, repeats, businessSignedAt, now]) => {
        const bm = businessSignedAt === null ? null : Decider.fold(BusinessManager.BusinessManagerDecider, [
          BusinessManager.BusinessTermsSigned.make({ businessManagerId: BM, signedAt: businessSignedAt, at: businessSignedAt })
        ])
        const a = apply(inOrder)
        const b = apply([...shuffled, ...repeats])
        assert.deepStrictEqual(Waba.mmApiStatus(b.state, bm, now), Waba.mmApiStatus(a.state, bm, now))
        assert.isFalse(a.repeatedProducedEvents || b.repeatedProducedEvents)
        // Repeats delivered later produce nothing either: the event log is the same size.
        assert.strictEqual(b.events.length, a.events.length)
      }),
      propertySettings(1_000)
    )
  })
})
