import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { layer } from "../src/layers.js"
import { Leases as WorkerLease } from "@mm-gateway/ports"

const withLease = <A, E>(effect: Effect.Effect<A, E, WorkerLease>) => Effect.provide(effect, layer({ path: ":memory:" }))

describe("worker lease", () => {
  it.effect("one holder at a time; another may take it only after it expires", () =>
    withLease(Effect.gen(function*() {
      const lease = yield* WorkerLease
      assert.isTrue(yield* lease.acquire("dispatcher", "worker-a", 1000, 0))
      assert.isFalse(yield* lease.acquire("dispatcher", "worker-b", 1000, 500))
      assert.strictEqual(yield* lease.holderOf("dispatcher", 500), "worker-a")
      assert.isTrue(yield* lease.renew("dispatcher", "worker-a", 1000, 900))
      assert.isFalse(yield* lease.acquire("dispatcher", "worker-b", 1000, 1500))
      assert.isTrue(yield* lease.acquire("dispatcher", "worker-b", 1000, 1900))
      assert.isFalse(yield* lease.renew("dispatcher", "worker-a", 1000, 1950))
      assert.strictEqual(yield* lease.holderOf("dispatcher", 1950), "worker-b")
    })))

  it.effect("release frees it at once, but only for its holder; leases are independent by name", () =>
    withLease(Effect.gen(function*() {
      const lease = yield* WorkerLease
      assert.isTrue(yield* lease.acquire("dispatcher", "a", 10_000, 0))
      assert.isTrue(yield* lease.acquire("timers", "b", 10_000, 0))
      yield* lease.release("dispatcher", "b")
      assert.isFalse(yield* lease.acquire("dispatcher", "b", 10_000, 1))
      yield* lease.release("dispatcher", "a")
      assert.isNull(yield* lease.holderOf("dispatcher", 2))
      assert.isTrue(yield* lease.acquire("dispatcher", "b", 10_000, 2))
      assert.strictEqual(yield* lease.holderOf("timers", 2), "b")
    })))
})
