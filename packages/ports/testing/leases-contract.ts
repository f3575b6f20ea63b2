import { assert, describe, it } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import { Leases } from "../src/leases.js"

/**
 * The `Leases` contract (docs/worker.md#many-workers): one holder at a time per name, taken over only
 * once it has expired, renewed and released only by its holder, all of a holder's at once too; the
 * leases held and since when; the workers' heartbeats. Holders are instance identities, compared
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

    it.effect("held: every lease held at `now`, by name, with its holder, since its holder took it, and until when", () =>
      run(Effect.gen(function*() {
        const leases = yield* Leases
        assert.deepStrictEqual(yield* leases.held(0), [])
        assert.isTrue(yield* leases.acquire("channel:2", "b#2-y", 5_000, 10))
        assert.isTrue(yield* leases.acquire("channel:1", "a#1-x", 1_000, 0))
        assert.deepStrictEqual(yield* leases.held(500), [
          { name: "channel:1", holder: "a#1-x", acquiredAt: 0, expiresAt: 1_000 },
          { name: "channel:2", holder: "b#2-y", acquiredAt: 10, expiresAt: 5_010 }
        ])
        // Renewed by its holder (acquire or renew), a lease keeps the time it was taken.
        assert.isTrue(yield* leases.acquire("channel:1", "a#1-x", 1_000, 900))
        assert.isTrue(yield* leases.renew("channel:2", "b#2-y", 5_000, 900))
        assert.deepStrictEqual(yield* leases.held(1_000), [
          { name: "channel:1", holder: "a#1-x", acquiredAt: 0, expiresAt: 1_900 },
          { name: "channel:2", holder: "b#2-y", acquiredAt: 10, expiresAt: 5_900 }
        ])
        // Lapsed, it is not held; taken again, by anybody, it is held from then.
        assert.deepStrictEqual((yield* leases.held(1_900)).map((l) => l.name), ["channel:2"])
        assert.isTrue(yield* leases.acquire("channel:1", "a#1-x", 1_000, 2_000))
        assert.deepStrictEqual((yield* leases.held(2_000))[0], { name: "channel:1", holder: "a#1-x", acquiredAt: 2_000, expiresAt: 3_000 })
        assert.isTrue(yield* leases.acquire("channel:1", "c#3-z", 1_000, 3_000))
        assert.deepStrictEqual((yield* leases.held(3_000))[0], { name: "channel:1", holder: "c#3-z", acquiredAt: 3_000, expiresAt: 4_000 })
      })))

    it.effect("renewAll extends every lease its holder still holds and names them; not one lapsed, released or another's", () =>
      run(Effect.gen(function*() {
        const leases = yield* Leases
        for (const name of ["channel:3", "channel:1", "timers", "channel:2"]) assert.isTrue(yield* leases.acquire(name, "a#1-x", 1_000, 0))
        assert.isTrue(yield* leases.acquire("channel:4", "b#2-y", 1_000, 0))
        assert.deepStrictEqual(yield* leases.renewAll("a#1-x", 1_000, 500), ["channel:1", "channel:2", "channel:3", "timers"])
        yield* leases.release("channel:2", "a#1-x")
        assert.deepStrictEqual(yield* leases.renewAll("a#1-x", 100, 1_400), ["channel:1", "channel:3", "timers"])
        assert.strictEqual(yield* leases.holderOf("channel:4", 999), "b#2-y")
        assert.isTrue(yield* leases.acquire("channel:1", "c#3-z", 1_000, 1_500))
        assert.deepStrictEqual(yield* leases.renewAll("a#1-x", 1_000, 1_500), [])
        assert.deepStrictEqual([yield* leases.holderOf("channel:1", 1_600), yield* leases.holderOf("channel:3", 1_600)], ["c#3-z", null])
        assert.deepStrictEqual(yield* leases.renewAll("nobody", 1_000, 0), [])
      })))

    it.effect("releaseAll frees every lease of its holder at once, and nobody else's", () =>
      run(Effect.gen(function*() {
        const leases = yield* Leases
        for (const name of ["channel:1", "channel:2", "timers"]) assert.isTrue(yield* leases.acquire(name, "a#1-x", 10_000, 0))
        assert.isTrue(yield* leases.acquire("channel:3", "b#2-y", 10_000, 0))
        yield* leases.releaseAll("a#1-x")
        assert.deepStrictEqual((yield* leases.held(1)).map((l) => [l.name, l.holder]), [["channel:3", "b#2-y"]])
        assert.isTrue(yield* leases.acquire("timers", "b#2-y", 10_000, 2))
        yield* leases.releaseAll("nobody")
        assert.strictEqual((yield* leases.held(3)).length, 2)
      })))

    it.effect("a worker is live from its first heartbeat until one lapses, by instance; retired, it is not", () =>
      run(Effect.gen(function*() {
        const leases = yield* Leases
        assert.deepStrictEqual(yield* leases.liveWorkers(0), [])
        yield* leases.heartbeat("b#2-y", 1_000, 100)
        yield* leases.heartbeat("a#1-x", 1_000, 0)
        assert.deepStrictEqual(yield* leases.liveWorkers(500), [
          { instance: "a#1-x", startedAt: 0, heartbeatAt: 0, expiresAt: 1_000 },
          { instance: "b#2-y", startedAt: 100, heartbeatAt: 100, expiresAt: 1_100 }
        ])
        yield* leases.heartbeat("a#1-x", 1_000, 900)
        assert.deepStrictEqual(yield* leases.liveWorkers(1_100), [{ instance: "a#1-x", startedAt: 0, heartbeatAt: 900, expiresAt: 1_900 }])
        yield* leases.retire("a#1-x")
        yield* leases.retire("nobody")
        assert.deepStrictEqual(yield* leases.liveWorkers(1_100), [])
        // Heartbeats are not leases.
        assert.deepStrictEqual(yield* leases.held(0), [])
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
