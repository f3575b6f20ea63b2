import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeLeases } from "../src/leases.js"
import { freshPools } from "./support.js"

/** The `Leases` port on PostgreSQL; times are passed in, as the port says. */
describe("leases on PostgreSQL", () => {
  const leasesOf = (count: number) => Effect.map(freshPools(count), (dbs) => dbs.map(makeLeases))

  it.effect("a free lease is taken and held until it expires; nobody else takes it meanwhile, anybody may after", () =>
    Effect.scoped(Effect.gen(function*() {
      const [leases] = yield* leasesOf(1)
      assert.isNull(yield* leases!.holderOf("dispatcher", 0))
      assert.isTrue(yield* leases!.acquire("dispatcher", "w#1", 1_000, 0))
      assert.isFalse(yield* leases!.acquire("dispatcher", "w#2", 1_000, 999))
      assert.deepStrictEqual([yield* leases!.holderOf("dispatcher", 999), yield* leases!.holderOf("dispatcher", 1_000)], ["w#1", null])
      assert.isTrue(yield* leases!.acquire("dispatcher", "w#2", 1_000, 1_000))
      // The one it was taken from can neither renew it nor take it back before it expires again.
      assert.isFalse(yield* leases!.renew("dispatcher", "w#1", 1_000, 1_100))
      assert.isFalse(yield* leases!.acquire("dispatcher", "w#1", 1_000, 1_100))
      assert.strictEqual(yield* leases!.holderOf("dispatcher", 1_999), "w#2")
    })))

  it.effect("its holder renews it (by renew or acquire) while it holds it, not once it has expired; release is the holder's only", () =>
    Effect.scoped(Effect.gen(function*() {
      const [leases] = yield* leasesOf(1)
      assert.isTrue(yield* leases!.acquire("dispatcher", "a", 1_000, 0))
      assert.isTrue(yield* leases!.renew("dispatcher", "a", 1_000, 900))
      assert.isTrue(yield* leases!.acquire("dispatcher", "a", 1_000, 1_800))
      assert.strictEqual(yield* leases!.holderOf("dispatcher", 2_799), "a")
      assert.isFalse(yield* leases!.renew("dispatcher", "a", 1_000, 2_800))
      assert.isFalse(yield* leases!.renew("dispatcher", "nobody", 1_000, 0))
      assert.isTrue(yield* leases!.acquire("dispatcher", "a", 10_000, 3_000))
      yield* leases!.release("dispatcher", "b")
      assert.strictEqual(yield* leases!.holderOf("dispatcher", 3_001), "a")
      yield* leases!.release("dispatcher", "a")
      assert.isNull(yield* leases!.holderOf("dispatcher", 3_002))
      assert.isTrue(yield* leases!.acquire("timers", "b", 1_000, 3_002))
      assert.isTrue(yield* leases!.acquire("dispatcher", "c", 1_000, 3_002))
      assert.deepStrictEqual([yield* leases!.holderOf("dispatcher", 3_003), yield* leases!.holderOf("timers", 3_003)], ["c", "b"])
    })))

  it.effect("processes racing for a free lease, then for the expired one: each time exactly one takes it", () =>
    Effect.scoped(Effect.gen(function*() {
      const racers = yield* leasesOf(6)
      const race = (now: number) =>
        Effect.all(racers.map((leases, i) => leases.acquire("dispatcher", `w#${i}-${now}`, 1_000, now)), { concurrency: "unbounded" })
      const first = yield* race(0)
      assert.strictEqual(first.filter((won) => won).length, 1)
      assert.strictEqual(yield* racers[0]!.holderOf("dispatcher", 1), `w#${first.indexOf(true)}-0`)
      const second = yield* race(5_000)
      assert.strictEqual(second.filter((won) => won).length, 1)
      assert.strictEqual(yield* racers[0]!.holderOf("dispatcher", 5_001), `w#${second.indexOf(true)}-5000`)
    })))
})
