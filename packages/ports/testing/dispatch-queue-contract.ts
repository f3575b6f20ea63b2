import { assert, describe, it } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import { DispatchQueue } from "../src/queries.js"
import { accepted, begin, caughtUp, dispatch, noAnswer, type ReadSide, recordTemplate, refused, send, status, twoTenants } from "./facts.js"
import { walkPages } from "./pages.js"

const TTL_SECONDS = 43_200

/**
 * The `DispatchQueue` contract: the worker's look-ups — messages ready at `now` oldest first and paged
 * by `after`, a channel with its credentials reference, messages by dispatch phase, TTL expiry due, and
 * messages to one recipient within a time window. `makeStore` must give a fresh, empty store each
 * time it is built.
 */
export const dispatchQueueContract = (name: string, makeStore: () => Layer.Layer<ReadSide<DispatchQueue>>) => {
  const run = <A, E>(effect: Effect.Effect<A, E, ReadSide<DispatchQueue>>) => Effect.provide(effect, makeStore())

  describe(`DispatchQueue contract: ${name}`, () => {
    it.effect("ready messages oldest first (then by id), backing-off ones once their backoff has ended, none in flight or answered", () =>
      run(Effect.gen(function*() {
        const queue = yield* DispatchQueue
        yield* twoTenants
        yield* send({ id: "b-ready", channel: "100", at: 5 })
        yield* send({ id: "a-ready", channel: "200", at: 5, to: "16505550002" })
        yield* send({ id: "first", channel: "100", at: 1, to: "16505550003" })
        yield* send({ id: "backoff", channel: "100", at: 2, to: "16505550004" })
        yield* send({ id: "in-flight", channel: "100", at: 3, to: "16505550005" })
        yield* send({ id: "submitted", channel: "100", at: 3, to: "16505550006" })
        const retry = yield* dispatch("backoff", 1, 10, refused(130429))
        yield* begin("in-flight", 1, 10)
        yield* dispatch("submitted", 1, 10, accepted("w.submitted"))
        assert.strictEqual(retry._tag, "RetryLater")
        const notBefore = retry._tag === "RetryLater" ? retry.notBefore : 0
        yield* caughtUp
        const before = yield* queue.dispatchable(notBefore - 1, 10)
        assert.deepStrictEqual(before.map((w) => w.id), ["first", "a-ready", "b-ready"])
        assert.deepStrictEqual(before[1], { id: "a-ready", channel: "200", acceptedAt: 5, attempt: 1, phaseSince: null, expiryDeadline: null })
        assert.deepStrictEqual((yield* queue.dispatchable(notBefore, 10)).map((w) => [w.id, w.attempt]), [
          ["first", 1],
          ["backoff", 2],
          ["a-ready", 1],
          ["b-ready", 1]
        ])
      })))

    it.effect("ready messages page by page: `after` goes on from the last message of the previous page", () =>
      run(Effect.gen(function*() {
        const queue = yield* DispatchQueue
        yield* twoTenants
        for (const [id, at] of [["m3", 3], ["m1", 1], ["m2b", 2], ["m2a", 2], ["m4", 4]] as const) {
          yield* send({ id, channel: "100", at, to: `165055500${at}${id.length}` })
        }
        yield* caughtUp
        const seen: Array<string> = []
        let after: { readonly acceptedAt: number; readonly id: string } | null = null
        for (let i = 0; i < 10; i++) {
          const page: ReadonlyArray<{ readonly id: string; readonly acceptedAt: number }> = yield* queue.dispatchable(100, 2, after)
          assert.isAtMost(page.length, 2)
          seen.push(...page.map((w) => w.id))
          const last = page[page.length - 1]
          if (last === undefined) break
          after = { acceptedAt: last.acceptedAt, id: last.id }
        }
        assert.deepStrictEqual(seen, ["m1", "m2a", "m2b", "m3", "m4"])
        assert.deepStrictEqual(yield* queue.dispatchable(100, 0), [])
        assert.deepStrictEqual(yield* queue.dispatchable(100, 10, { acceptedAt: 4, id: "m4" }), [])
      })))

    it.effect("a channel for dispatch carries its credentials reference; an unknown one is not found", () =>
      run(Effect.gen(function*() {
        const queue = yield* DispatchQueue
        yield* twoTenants
        yield* caughtUp
        assert.deepStrictEqual(yield* queue.channelForDispatch("101"), {
          phoneNumberId: "101",
          wabaId: "10",
          displayPhoneNumber: "+1 555 101",
          provider: "sandbox",
          routing: "cloud_api",
          throughputMps: 80,
          registeredAt: 1,
          updatedAt: 1,
          credentialsRef: "ref-101"
        })
        assert.isNull(yield* queue.channelForDispatch("999"))
      })))

    it.effect("messages by dispatch phase, by id and page by page, with the time they entered it", () =>
      run(Effect.gen(function*() {
        const queue = yield* DispatchQueue
        yield* twoTenants
        for (const [i, id] of ["u3", "u1", "u2", "flying", "ready"].entries()) yield* send({ id, channel: "100", at: 1, to: `1650555000${i}` })
        yield* dispatch("u3", 1, 30, noAnswer)
        yield* dispatch("u1", 1, 10, noAnswer)
        yield* dispatch("u2", 1, 20, noAnswer)
        yield* begin("flying", 1, 40)
        yield* caughtUp
        const unknown = yield* walkPages(2, (cursor) => queue.inDispatchPhase("OutcomeUnknown", { limit: 2, cursor }))
        assert.deepStrictEqual(unknown.map((w) => [w.id, w.attempt, w.phaseSince]), [["u1", 1, 11], ["u2", 1, 21], ["u3", 1, 31]])
        assert.deepStrictEqual((yield* queue.inDispatchPhase("InFlight")).items.map((w) => [w.id, w.phaseSince]), [["flying", 40]])
        assert.deepStrictEqual((yield* queue.inDispatchPhase("Ready")).items.map((w) => [w.id, w.phaseSince]), [["ready", null]])
        assert.deepStrictEqual(yield* queue.inDispatchPhase("DispatchUnknown"), { items: [], nextCursor: null })
      })))

    it.effect("expiry is due once the TTL has run out for a message still only submitted or sent, by deadline", () =>
      run(Effect.gen(function*() {
        const queue = yield* DispatchQueue
        yield* twoTenants
        yield* recordTemplate("10", "flash", "MARKETING", 1, { ttlSeconds: TTL_SECONDS })
        for (const [i, id] of ["late", "early", "sent", "delivered", "no-ttl"].entries()) {
          yield* send({ id, channel: "100", at: 1, to: `1650555000${i}`, template: id === "no-ttl" ? "spring_sale" : "flash" })
        }
        yield* dispatch("late", 1, 20, accepted("w.late"))
        yield* dispatch("early", 1, 10, accepted("w.early"))
        yield* dispatch("sent", 1, 10, accepted("w.sent"))
        yield* dispatch("delivered", 1, 10, accepted("w.delivered"))
        yield* dispatch("no-ttl", 1, 10, accepted("w.no-ttl"))
        yield* status({ channel: "100", wamid: "w.sent", status: "sent", timestamp: 100, recipient: "16505550002" })
        yield* status({ channel: "100", wamid: "w.delivered", status: "delivered", timestamp: 100, recipient: "16505550003" })
        yield* caughtUp
        const deadline = 11 + TTL_SECONDS * 1000
        assert.deepStrictEqual(yield* queue.expiryDue(deadline - 1, 10), [])
        assert.deepStrictEqual((yield* queue.expiryDue(deadline, 10)).map((w) => [w.id, w.expiryDeadline]), [["early", deadline], ["sent", deadline]])
        assert.deepStrictEqual((yield* queue.expiryDue(deadline + 10, 10)).map((w) => w.id), ["early", "sent", "late"])
        assert.deepStrictEqual((yield* queue.expiryDue(deadline + 10, 1)).map((w) => w.id), ["early"])
      })))

    it.effect("messages to one recipient from one channel accepted within [from, to], oldest first", () =>
      run(Effect.gen(function*() {
        const queue = yield* DispatchQueue
        yield* twoTenants
        yield* send({ id: "m2", channel: "100", at: 200, to: "16505550001" })
        yield* send({ id: "m1", channel: "100", at: 100, to: "16505550001" })
        yield* send({ id: "m3", channel: "100", at: 300, to: "16505550001" })
        yield* send({ id: "other-recipient", channel: "100", at: 200, to: "16505550002" })
        yield* send({ id: "other-channel", channel: "101", at: 200, to: "16505550001" })
        yield* caughtUp
        assert.deepStrictEqual((yield* queue.messagesToRecipient("100", "16505550001", 100, 300)).map((m) => m.id), ["m1", "m2", "m3"])
        assert.deepStrictEqual((yield* queue.messagesToRecipient("100", "16505550001", 101, 299)).map((m) => m.id), ["m2"])
        assert.deepStrictEqual(yield* queue.messagesToRecipient("100", "16505550001", 301, 400), [])
        assert.deepStrictEqual((yield* queue.messagesToRecipient("101", "16505550001", 0, 1_000)).map((m) => m.id), ["other-channel"])
      })))
  })
}
