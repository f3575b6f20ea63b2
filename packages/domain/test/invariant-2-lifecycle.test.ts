import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { Decider, Message, type Status } from "../src/index.js"
import { STATUS_PRECEDENCE } from "../src/lifecycle/status.js"
import { PROPERTY_TEST, propertySettings } from "../testing/index.js"
import { MSG, WAMID } from "./fixtures.js"
import { cloudPricing, mmPricing, observation, request } from "./message-builders.js"

/**
 * Invariant 2 (docs/invariants.md#invariant-2): for any multiset of status observations of a message, every
 * ordering and any duplication gives the same final state, and the visible status never moves backwards along
 * the applied sequence. The final timestamps are also checked against a model
 * (docs/domain.md#message-lifecycle: per status, the earliest webhook timestamp seen), since a rule that is
 * wrong the same way in every order — keeping the latest, say — would pass the ordering check alone.
 */
// Few statuses and a narrow time range: the same status often arrives with different timestamps.
const statusObservation: fc.Arbitrary<Status.StatusObservation> = fc.record({
  status: fc.constantFrom("sent", "delivered", "read", "failed"),
  timestamp: fc.integer({ min: 1_000, max: 1_020 }),
  pricing: fc.constantFrom(null, mmPricing, cloudPricing),
  originType: fc.constantFrom(null, "marketing_lite", "marketing"),
  errorCode: fc.constantFrom(131049, 131026, 131050)
}).map(({ errorCode, status, timestamp, pricing, originType }) =>
  observation(status, timestamp, {
    pricing,
    originType,
    errors: status === "failed" ? [{ code: errorCode, title: "failed", message: null, details: null }] : []
  })
)

type Step = Message.MessageCommand

/** The model: the earliest webhook timestamp of a status among the observations (`null` if none). */
const earliest = (observations: ReadonlyArray<Status.StatusObservation>, status: Status.StatusObservation["status"]): number | null => {
  const times = observations.filter((o) => o.status === status).map((o) => o.timestamp)
  return times.length === 0 ? null : Math.min(...times)
}

const applyAll = (steps: ReadonlyArray<Step>) => {
  const events: Array<Message.MessageEvent> = []
  const seen: Array<number> = []
  for (const step of steps) {
    const decided = Message.decide(step, Decider.fold(Message.MessageDecider, events))
    if (decided._tag === "Right") events.push(...decided.right)
    const state = Decider.fold(Message.MessageDecider, events)
    if (state._tag === "Requested") seen.push(STATUS_PRECEDENCE[Message.viewOf(state.message).status])
  }
  const state = Decider.fold(Message.MessageDecider, events)
  if (state._tag !== "Requested") throw new Error("not requested")
  return { view: Message.viewOf(state.message), seen }
}

describe("invariant 2: the lifecycle is a join, independent of order and duplicates", () => {
  it("every ordering and any duplication of the observations gives the same view, with the earliest webhook time per status; the status never moves backwards", PROPERTY_TEST, () => {
    const scenario = fc.uniqueArray(statusObservation, { minLength: 1, maxLength: 8, selector: (o) => JSON.stringify(o) }).chain((observations) => {
      const steps: Array<Step> = [
        ...observations.map((o, i): Step => ({ _tag: "ObserveStatus", messageId: MSG, observation: o, at: 5_000 + i })),
        { _tag: "RecordDispatchSucceeded", messageId: MSG, attempt: 1, wamid: WAMID, providerStatus: "accepted", at: 900 }
      ]
      return fc.tuple(
        fc.constant(observations),
        fc.constant(steps),
        fc.shuffledSubarray(steps, { minLength: steps.length, maxLength: steps.length }),
        fc.array(fc.constantFrom(...steps), { maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 6 })
      )
    })
    fc.assert(
      fc.property(scenario, ([observations, steps, shuffled, duplicates, positions]) => {
        const prefix: ReadonlyArray<Step> = [request(), { _tag: "StartDispatch", messageId: MSG, attempt: 1, at: 800 }]
        const withDuplicates = [...shuffled]
        duplicates.forEach((d, i) => withDuplicates.splice((positions[i] ?? 0) % (withDuplicates.length + 1), 0, d))
        const reference = applyAll([...prefix, ...steps])
        const other = applyAll([...prefix, ...withDuplicates])
        assert.deepStrictEqual(other.view, reference.view)
        const { deliveredAt, failedAt, readAt, sentAt } = reference.view.timestamps
        assert.deepStrictEqual({ sentAt, deliveredAt, readAt, failedAt }, {
          sentAt: earliest(observations, "sent"),
          // `read` implies delivered when Meta skipped the delivered webhook.
          deliveredAt: earliest(observations, "delivered") ?? earliest(observations, "read"),
          readAt: earliest(observations, "read"),
          failedAt: earliest(observations, "failed")
        })
        for (let i = 1; i < other.seen.length; i++) assert.isAtLeast(other.seen[i]!, other.seen[i - 1]!)
      }),
      propertySettings(1_000)
    )
  })
})
