import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeInbox } from "../src/inbox.js"
import { makeLeases } from "../src/leases.js"
import { freshPools } from "./support.js"

/**
 * What the ports' contracts ask of one store, asked of several processes on one database: each pool
 * here is a process's own sessions. The inbox's unique index and the leases' upsert decide between
 * them (docs/persistence.md#postgresql).
 */
describe("several processes on one PostgreSQL database", () => {
  it.effect("the same delivery accepted by six processes at once is stored once, and each is told its id", () =>
    Effect.scoped(Effect.gen(function*() {
      const inboxes = (yield* freshPools(6)).map(makeInbox)
      const body = new TextEncoder().encode('{"entry":[1]}')
      const results = yield* Effect.all(inboxes.map((inbox, i) => inbox.accept(body, {}, "meta", i)), { concurrency: "unbounded" })
      assert.strictEqual(new Set(results.map((r) => r.id)).size, 1)
      assert.strictEqual(results.filter((r) => !r.duplicate).length, 1)
      assert.strictEqual(yield* inboxes[0]!.pendingCount(), 1)
    })))

  it.effect("six processes racing for a free lease, then for the expired one: each time exactly one takes it", () =>
    Effect.scoped(Effect.gen(function*() {
      const racers = (yield* freshPools(6)).map(makeLeases)
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
