import { assert, describe, it } from "@effect/vitest"
import { UnitOfWork } from "@mm-gateway/domain"
import { Deferred, Effect, Exit, Fiber, type Layer } from "effect"
import { ProjectionRunner } from "../src/projections.js"
import { MessageQueries, OnboardingQueries } from "../src/queries.js"
import { type ReadSide, registerBusinessManager, registerChannel, registerWaba, send } from "./facts.js"

const transact = <A, E, R>(work: Effect.Effect<A, E, R>) => Effect.flatMap(UnitOfWork.UnitOfWork, (u) => u.transact(work))

/**
 * The read side's consistency with the log (docs/api.md#read-your-writes, docs/persistence.md#projections):
 * what a command acknowledged is answered by the query ports at once, what a unit of work took back is
 * not, and the runner's catch-up applies only what is behind. `makeStore` must give a fresh, empty
 * store each time it is built.
 */
export const projectionRunnerContract = (name: string, makeStore: () => Layer.Layer<ReadSide<OnboardingQueries | MessageQueries>>) => {
  const run = <A, E>(effect: Effect.Effect<A, E, ReadSide<OnboardingQueries | MessageQueries>>) => Effect.provide(effect, makeStore())

  describe(`ProjectionRunner and read-your-writes contract: ${name}`, () => {
    it.effect("what a command acknowledged is in the read models when it returns, without a catch-up", () =>
      run(Effect.gen(function*() {
        const onboarding = yield* OnboardingQueries
        const messages = yield* MessageQueries
        yield* registerBusinessManager("1", 10, "Acme")
        assert.strictEqual((yield* onboarding.businessManager("1", 10))?.name, "Acme")
        yield* registerWaba("10", "1", 11)
        yield* registerChannel("100", "10", 12)
        yield* send({ id: "m1", channel: "100", at: 13 })
        assert.strictEqual((yield* messages.message("m1"))?.status, "accepted")
      })))

    it.effect("catching up when nothing is behind applies nothing and changes no answer", () =>
      run(Effect.gen(function*() {
        const runner = yield* ProjectionRunner
        const onboarding = yield* OnboardingQueries
        assert.strictEqual(yield* runner.catchUp(), 0)
        yield* registerBusinessManager("1", 10, "Acme")
        yield* registerWaba("10", "1", 11)
        const before = yield* onboarding.businessManager("1", 20)
        assert.strictEqual(yield* runner.catchUp(), 0)
        assert.strictEqual(yield* runner.catchUp(), 0)
        assert.deepStrictEqual(yield* onboarding.businessManager("1", 20), before)
      })))

    it.effect("a unit of work reads its own writes through the query ports, and a failed one leaves nothing in them", () =>
      run(Effect.gen(function*() {
        const runner = yield* ProjectionRunner
        const onboarding = yield* OnboardingQueries
        const messages = yield* MessageQueries
        yield* registerBusinessManager("1", 10, "Acme")
        const seenInside = yield* Effect.exit(transact(Effect.gen(function*() {
          yield* registerBusinessManager("1", 20, "Renamed")
          yield* registerWaba("10", "1", 21)
          yield* registerChannel("100", "10", 22)
          yield* send({ id: "m1", channel: "100", at: 23 })
          const inside = [(yield* onboarding.businessManager("1", 30))?.name, (yield* messages.message("m1"))?.id]
          return yield* Effect.fail(inside)
        })))
        assert.deepStrictEqual(seenInside, Exit.fail(["Renamed", "m1"]))
        yield* runner.catchUp()
        const bm = yield* onboarding.businessManager("1", 30)
        assert.deepStrictEqual([bm?.name, bm?.wabas], ["Acme", []])
        assert.isNull(yield* onboarding.waba("10", 30))
        assert.isNull(yield* messages.message("m1"))
        // The store goes on as if the unit of work had never been.
        yield* registerWaba("10", "1", 40)
        assert.deepStrictEqual((yield* onboarding.businessManager("1", 50))?.wabas.map((w) => w.id), ["10"])
      })))

    it.effect("while a unit of work waits, a reader outside it does not see its uncommitted facts", () =>
      run(Effect.gen(function*() {
        const onboarding = yield* OnboardingQueries
        const written = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const inside = yield* Effect.fork(Effect.exit(transact(Effect.gen(function*() {
          yield* registerBusinessManager("1", 10, "Acme")
          yield* Deferred.succeed(written, undefined)
          yield* Deferred.await(release)
          return yield* Effect.fail("rolled back" as const)
        }))))
        yield* Deferred.await(written)
        const outside = yield* Effect.fork(onboarding.businessManager("1", 20))
        yield* Deferred.succeed(release, undefined)
        assert.isTrue(Exit.isFailure(yield* Fiber.join(inside)))
        assert.isNull(yield* Fiber.join(outside))
        assert.isNull(yield* onboarding.businessManager("1", 20))
      })))

    it.effect("what a unit of work committed is answered together once it has", () =>
      run(Effect.gen(function*() {
        const onboarding = yield* OnboardingQueries
        yield* transact(Effect.all([registerBusinessManager("1", 10), registerWaba("10", "1", 11), registerWaba("11", "1", 12)]))
        assert.deepStrictEqual((yield* onboarding.businessManager("1", 20))?.wabas.map((w) => w.id), ["10", "11"])
      })))
  })
}
