import { assert, describe, it } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import { Leases } from "../src/leases.js"

/**
 * The `Leases` contract (docs/worker.md#leases): one holder at a time per name, taken over only once it
 * has expired, renewed and released only by its holder. Holders are instance identities, compared
 * exactly. Times are passed in. `makeStore` must give fresh, empty leases each time it is built.
 */
export const leasesContract = (name: string, makeStore: () => Layer.Layer<Leases>) => {
  const run = <A, E>(effect: Effect.Effect<A, E, Leases>) => Effect.provide(effect, makeStore())

  describe(`Leases contract: ${name}`, () => {
    it.effect("a free lease is taken; it is held until it expires, and nobody holds it after", () =>
      run(Effect.gen(function*() {
        const leases = yield* Leases
        assert.isNull(yield* leases.holderOf("dispatcher", 0))
        assert.isTrue(yield* leases.acquire("dispatcher", "worker#1-a", 1_000, 0))
        assert.strictEqual(yield* leases.holderOf("dispatcher", 999), "worker#1-a")
        assert.isNull(yield* leases.holderOf("dispatcher", 1_000))
      })))

    it.effect("another instance cannot take a lease before it expires, and can from the moment it has", () =>
      run(Effect.gen(function*() {
        const leases = yield* Leases
        assert.isTrue(yield* leases.acquire("dispatcher", "worker#1-a", 1_000, 0))
        assert.isFalse(yield* leases.acquire("dispatcher", "worker#2-b", 1_000, 999))
        assert.strictEqual(yield* leases.holderOf("dispatcher", 999), "worker#1-a")
        assert.isTrue(yield* leases.acquire("dispatcher", "worker#2-b", 1_000, 1_000))
        assert.strictEqual(yield* leases.holderOf("dispatcher", 1_500), "worker#2-b")
        // The one it was taken from has lost it: it can neither renew nor take it back meanwhile.
        assert.isFalse(yield* leases.renew("dispatcher", "worker#1-a", 1_000, 1_100))
        assert.isFalse(yield* leases.acquire("dispatcher", "worker#1-a", 1_000, 1_100))
      })))

    it.effect("renew extends a lease still held; acquire by its holder renews it too", () =>
      run(Effect.gen(function*() {
        const leases = yield* Leases
        assert.isTrue(yield* leases.acquire("dispatcher", "a", 1_000, 0))
        assert.isTrue(yield* leases.renew("dispatcher", "a", 1_000, 900))
        assert.isFalse(yield* leases.acquire("dispatcher", "b", 1_000, 1_500))
        assert.strictEqual(yield* leases.holderOf("dispatcher", 1_899), "a")
        assert.isTrue(yield* leases.acquire("dispatcher", "a", 5_000, 1_800))
        assert.isFalse(yield* leases.acquire("dispatcher", "b", 1_000, 6_000))
        assert.strictEqual(yield* leases.holderOf("dispatcher", 6_799), "a")
      })))

    it.effect("a lease that expired cannot be renewed, even when nobody took it, but its holder may take it again", () =>
      run(Effect.gen(function*() {
        const leases = yield* Leases
        assert.isTrue(yield* leases.acquire("dispatcher", "a", 1_000, 0))
        assert.isFalse(yield* leases.renew("dispatcher", "a", 1_000, 1_000))
        assert.isNull(yield* leases.holderOf("dispatcher", 1_000))
        assert.isFalse(yield* leases.renew("dispatcher", "nobody", 1_000, 0))
        assert.isTrue(yield* leases.acquire("dispatcher", "a", 1_000, 1_000))
        assert.strictEqual(yield* leases.holderOf("dispatcher", 1_999), "a")
      })))

    it.effect("release frees a lease at once, but only for its holder", () =>
      run(Effect.gen(function*() {
        const leases = yield* Leases
        assert.isTrue(yield* leases.acquire("dispatcher", "a", 10_000, 0))
        yield* leases.release("dispatcher", "b")
        assert.strictEqual(yield* leases.holderOf("dispatcher", 1), "a")
        assert.isFalse(yield* leases.acquire("dispatcher", "b", 10_000, 1))
        yield* leases.release("dispatcher", "a")
        assert.isNull(yield* leases.holderOf("dispatcher", 2))
        assert.isTrue(yield* leases.acquire("dispatcher", "b", 10_000, 2))
        yield* leases.release("never-taken", "a")
        assert.isNull(yield* leases.holderOf("never-taken", 2))
      })))

    it.effect("holders are instance identities compared exactly: the same configured name in two processes is two holders", () =>
      run(Effect.gen(function*() {
        const leases = yield* Leases
        assert.isTrue(yield* leases.acquire("dispatcher", "worker-1#100-x1", 1_000, 0))
        assert.isFalse(yield* leases.acquire("dispatcher", "worker-1#200-y2", 1_000, 1))
        assert.isFalse(yield* leases.acquire("dispatcher", "WORKER-1#100-X1", 1_000, 1))
        assert.isFalse(yield* leases.renew("dispatcher", "worker-1", 1_000, 1))
        assert.isTrue(yield* leases.renew("dispatcher", "worker-1#100-x1", 1_000, 1))
      })))

    it.effect("leases are independent by name", () =>
      run(Effect.gen(function*() {
        const leases = yield* Leases
        assert.isTrue(yield* leases.acquire("dispatcher", "a", 1_000, 0))
        assert.isTrue(yield* leases.acquire("timers", "b", 5_000, 0))
        yield* leases.release("dispatcher", "a")
        assert.deepStrictEqual([yield* leases.holderOf("dispatcher", 10), yield* leases.holderOf("timers", 10)], [null, "b"])
        assert.isFalse(yield* leases.acquire("timers", "a", 1_000, 10))
      })))

    it.effect("instances racing for a free lease: exactly one takes it", () =>
      run(Effect.gen(function*() {
        const leases = yield* Leases
        const holders = ["a", "b", "c", "d", "e"]
        const won = yield* Effect.all(holders.map((h) => leases.acquire("dispatcher", h, 1_000, 0)), { concurrency: "unbounded" })
        assert.strictEqual(won.filter((w) => w).length, 1)
        assert.strictEqual(yield* leases.holderOf("dispatcher", 1), holders[won.indexOf(true)])
      })))
  })
}
